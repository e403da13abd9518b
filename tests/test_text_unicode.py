"""The generated Unicode tables: reproducible from the generator, and equal to
Hugging Face's BERT normalizer over every code point except where HF's own
tables are a different Unicode version than Python's unicodedata."""

import os
import subprocess
import sys
import unicodedata

import pytest

from fastprep.text import BERTTokenizer, _corpus

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN = os.path.join(ROOT, "csrc", "text", "unicode", "gen_tables.py")
HEADER = os.path.join(ROOT, "csrc", "text", "unicode", "bert_tables.h")


def _header_unicode_version():
    with open(HEADER) as f:
        head = f.read(400)
    return head.split("(Unicode ")[1].split(")")[0]


def test_generator_reproduces_committed_header(tmp_path):
    if _header_unicode_version() != unicodedata.unidata_version:
        pytest.skip(f"header is Unicode {_header_unicode_version()}, this Python has {unicodedata.unidata_version}")
    out = tmp_path / "bert_tables.h"
    subprocess.run([sys.executable, GEN, "--output", str(out)], check=True)
    with open(HEADER, "rb") as a, open(out, "rb") as b:
        assert a.read() == b.read(), "bert_tables.h drifted from gen_tables.py: re-run the generator"


VOCAB = _corpus.bert_vocab_path()


@pytest.mark.skipif(VOCAB is None, reason="bert-base-uncased vocab.txt not found")
@pytest.mark.parametrize("lowercase, strip", [(True, None), (False, False)])
def test_every_code_point_matches_hf_or_is_a_unicode_version_difference(lowercase, strip):
    from tokenizers import BertWordPieceTokenizer
    from tokenizers.normalizers import BertNormalizer
    from tokenizers.pre_tokenizers import BertPreTokenizer

    sys.path.insert(0, os.path.dirname(GEN))
    import gen_tables as g

    ours = BERTTokenizer(VOCAB, do_lower_case=lowercase, strip_accents=strip, return_tokens=True)
    ref = BertWordPieceTokenizer(VOCAB, lowercase=lowercase, strip_accents=strip)
    norm = BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=strip, lowercase=lowercase)
    pre = BertPreTokenizer()
    do_strip = lowercase if strip is None else strip
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    # "a<c>b": the character between letters shows removal, splitting and isolation, and its word piece.
    lines = ["a" + chr(c) + "b" for c in cps]
    got = ours(lines)
    want = [e.tokens for e in ref.encode_batch(lines, add_special_tokens=False)]

    def model(c):  # the Unicode-14 rule our tables encode, for the character alone
        f = g.flags_of(c)
        if f & g.REMOVE:
            return ""
        if f & g.WHITESPACE:
            return " "
        ch = chr(c)
        m = g.lower(g.strip(ch)) if (do_strip and lowercase) else g.strip(ch) if do_strip else g.lower(ch) if lowercase else ch
        return " " + m + " " if f & g.CJK else m

    unexplained, version_diffs = [], []
    for c, a, b in zip(cps, got, want):
        if a == b:
            continue
        m = model(c)
        hf_norm = norm.normalize_str(chr(c))
        hf_punct = len(pre.pre_tokenize_str("a" + chr(c) + "b")) == 3
        our_punct = bool(g.flags_of(c) & g.PUNCT) and not (g.flags_of(c) & (g.REMOVE | g.WHITESPACE))
        if hf_norm != m or (hf_punct != our_punct and m == chr(c)):
            version_diffs.append(c)
        else:
            unexplained.append((hex(c), unicodedata.category(chr(c)), a, b))
    assert not unexplained, unexplained[:20]
    # HF's category tables predate Unicode 14 (and its case tables follow a newer Rust): a few hundred
    # rarely used code points differ; every one of them is outside the common scripts.
    assert len(version_diffs) < 700
    assert all(c >= 0x7FD for c in version_diffs)
