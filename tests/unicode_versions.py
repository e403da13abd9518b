"""Where Hugging Face `tokenizers` and our tables read a code point differently because of Unicode versions:
our tables come from Python's unicodedata (Unicode 14 on Python 3.11), HF's category tables are older (its
`unicode_categories` crate: e.g. U+061D, Po since Unicode 14, is a letter to it) and its case tables newer
(docs/text.md, "Unicode"). Tests that compare with HF on arbitrary text leave these code points out."""

import functools
import os
import sys

GEN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "csrc", "text", "unicode")


@functools.lru_cache(maxsize=None)
def _tools(lowercase, strip):
    from tokenizers.normalizers import BertNormalizer
    from tokenizers.pre_tokenizers import BertPreTokenizer

    sys.path.insert(0, GEN_DIR)
    import gen_tables

    norm = BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=strip, lowercase=lowercase)
    return gen_tables, norm, BertPreTokenizer()


def our_model(c, lowercase=True, strip=None):
    """What our tables make of code point c alone: the Unicode-14 rule, from the generator itself."""
    g, _, _ = _tools(lowercase, strip)
    do_strip = lowercase if strip is None else strip
    f = g.flags_of(c)
    if f & g.REMOVE:
        return ""
    if f & g.WHITESPACE:
        return " "
    ch = chr(c)
    m = g.lower(g.strip(ch)) if (do_strip and lowercase) else g.strip(ch) if do_strip else g.lower(ch) if lowercase else ch
    return " " + m + " " if f & g.CJK else m


@functools.lru_cache(maxsize=None)
def differs(c, lowercase=True, strip=None):
    """True when HF's normalizer or punctuation split treats code point c otherwise than our tables."""
    g, norm, pre = _tools(lowercase, strip)
    m = our_model(c, lowercase, strip)
    hf_punct = len(pre.pre_tokenize_str("a" + chr(c) + "b")) == 3
    f = g.flags_of(c)
    our_punct = bool(f & g.PUNCT) and not (f & (g.REMOVE | g.WHITESPACE))
    return norm.normalize_str(chr(c)) != m or (hf_punct != our_punct and m == chr(c))
