"""get_tokenizer('basic_english') against torchtext's published rule: lowercase,
then its regex list applied in order, then str.split(). That list (from
torchtext/data/utils.py) is the reference, written out here."""

import itertools
import re
from collections import OrderedDict

import pytest
import torch
from hypothesis import given, settings, strategies as st

from fastprep.text import build_vocab_from_iterator, get_tokenizer, vocab
from fastprep.text import _corpus
from fastprep.text.functional import basic_english_to_ids

_PATTERNS = [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:", r"\s+"]
_REPLACEMENTS = [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "]
_COMPILED = [(re.compile(p), r) for p, r in zip(_PATTERNS, _REPLACEMENTS)]


def torchtext_basic_english(line):
    line = line.lower()
    for pattern_re, replaced_str in _COMPILED:
        line = pattern_re.sub(replaced_str, line)
    return line.split()


EDGE = [
    "",
    "   ",
    "Hello, World!",
    "I don't like \"quotes\" (really)?",
    "line<br />break<BR />again<br/>not<br  />not",
    'tricky<br "/>joined and <br" />',
    "a.b,c;d:e!f?g(h)i",
    "ΟΔΟΣ Σ ΣΑΣ. ΑΣ'Σ",
    # U+03A3 lowercases to final sigma by its neighbours, skipping case-ignorable ones (' U+0301 U+00AD ...)
    "AΣ A'Σ' A\u0301Σ\u0301b ΣA 1Σ ςΣΣ Σ\u00ad \u00adΣ aΣ😀 😀Σa 日Σ Σ日 .Σ. İΣ ǅΣ Σ",
    "Σ",
    "aΣ",
    "a'\u0301\u00adΣ",
    "a\u00adΣ\u00ad",
    "a\u00adΣ\u00adb",
    "İSTANBUL ǅ ẞ Ω",
    "tabs\tand\nnewlines\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u3000end",
    "NUL\x00inside",
    "emoji 😀🥰 CJK 日本語 Ａｂｃ",
    "x" * 5000,
    'wö"rld É"a "é" é<br "/>x Ωmega"Σ aé" 日本"語',  # '"' dropped inside non-ASCII tokens (copied, not sliced)
]


@pytest.mark.parametrize("line", EDGE)
def test_matches_torchtext_regexes_on_edges(line):
    assert get_tokenizer("basic_english")(line) == torchtext_basic_english(line)


def test_matches_torchtext_regexes_on_corpora():
    tok = get_tokenizer("basic_english")
    for line in _corpus.english_lines()[:500] + _corpus.multilingual_lines(500):
        assert tok(line) == torchtext_basic_english(line), line


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aAbΣσς.,'\"()!?;:<>/ br\t\nİ\u0301\u00adé日😀")) | st.characters(
    blacklist_categories=("Cs",)), max_size=40))
def test_matches_torchtext_regexes_on_random_text(line):
    assert get_tokenizer("basic_english")(line) == torchtext_basic_english(line)


# ASCII lines take their own path, which finds token ends 16 bytes at a time: every ASCII byte in every lane of
# a block and of the tail, and "<br />" (also split by '"') across block edges.
@pytest.mark.parametrize("byte", range(128))
def test_ascii_byte_in_every_lane_matches_torchtext(byte):
    tok = get_tokenizer("basic_english")
    for k in range(40):
        line = "wordy" * 8
        line = line[:k] + chr(byte) + line[k + 1:]
        assert tok(line) == torchtext_basic_english(line), (byte, k)


@pytest.mark.parametrize("br", ["<br />", "<BR />", '<b"r />', "<br /"])
def test_br_at_every_offset_matches_torchtext(br):
    tok = get_tokenizer("basic_english")
    for k in range(40):
        line = "x" * k + br + "Tail. end"
        assert tok(line) == torchtext_basic_english(line), k


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["<br />", "<BR />", "<br", " />", "<", "a", "B", "word", "Seventeen", ".", ",",
                                 "'", '"', "(", ")", "!", "?", ";", ":", " ", "  ", "\t", "\x1c", "\x0b", "\x00",
                                 "x" * 15]), max_size=60).map("".join))
def test_matches_torchtext_regexes_on_random_ascii(line):
    assert get_tokenizer("basic_english")(line) == torchtext_basic_english(line)


def test_split_and_none_tokenizers():
    for name in (None, "split"):
        assert get_tokenizer(name)("a  b\tc\u3000d") == "a  b\tc\u3000d".split()


def test_callable_passes_through_and_unknown_name_raises():
    f = lambda s: [s]  # noqa: E731
    assert get_tokenizer(f) is f
    with pytest.raises(ValueError, match="Unsupported tokenizer"):
        get_tokenizer("spacy")
    with pytest.raises(ValueError, match="only available for Enlish"):
        get_tokenizer("basic_english", language="de")


def test_tokenizer_scripts():
    tok = get_tokenizer("basic_english")
    scripted = torch.jit.script(tok)
    assert scripted("Hello, World!") == ["hello", ",", "world", "!"]


def test_basic_english_to_ids_matches_tokenize_then_lookup():
    lines = _corpus.english_lines()[:300] + _corpus.multilingual_lines(300) + EDGE
    tok = get_tokenizer("basic_english")
    v = build_vocab_from_iterator((tok(x) for x in lines[::2]), specials=["<unk>"])
    v.set_default_index(v["<unk>"])
    ids, lengths = basic_english_to_ids(lines, v, padding_value=-1)
    expected = [v(tok(x)) for x in lines]
    assert lengths.tolist() == [len(e) for e in expected]
    assert ids.shape == (len(lines), max(len(e) for e in expected))
    for row, n, e in zip(ids.tolist(), lengths.tolist(), expected):
        assert row[:n] == e and all(x == -1 for x in row[n:])


def test_basic_english_to_ids_unknown_without_default_raises():
    v = vocab(OrderedDict([("hello", 1)]))
    with pytest.raises(RuntimeError, match="Token world not found and default index is not set"):
        basic_english_to_ids(["hello", "Hello world"], v)


def test_basic_english_to_ids_empty_batch():
    v = vocab(OrderedDict([("a", 1)]))
    ids, lengths = basic_english_to_ids([], v)
    assert ids.shape == (0, 0) and lengths.shape == (0,)
    v.set_default_index(0)
    ids, lengths = basic_english_to_ids(["", "..."], v)
    assert lengths.tolist() == [0, 3]


def test_basic_english_to_ids_scripts():
    v = build_vocab_from_iterator([["hello", "world"]])
    from fastprep.text.transforms import BasicEnglishToIds

    f = torch.jit.script(BasicEnglishToIds(v, padding_value=0))
    ids, lengths = f(["Hello world", "world"])
    assert ids.tolist() == [[v["hello"], v["world"]], [v["world"], 0]] and lengths.tolist() == [2, 1]


def test_basic_english_lookup_ragged_matches_padded():
    from fastprep.text.functional import basic_english_lookup

    lines = EDGE + _corpus.english_lines()[:50]
    v = build_vocab_from_iterator(get_tokenizer("basic_english")(x) for x in lines)
    ids, offsets = basic_english_lookup(lines, v)
    padded, lengths = basic_english_to_ids(lines, v, padding_value=-5)
    assert offsets[0] == 0 and torch.equal(offsets[1:] - offsets[:-1], lengths)
    for i in range(len(lines)):
        assert ids[offsets[i]:offsets[i + 1]].tolist() == padded[i, : lengths[i]].tolist()


def test_lookup_index_follows_vocab_edits_and_long_tokens():
    # basic_english_lookup uses the Vocab's own string index: it must follow insert/append and agree with
    # __getitem__ on tokens of every length (the hash reads 8 bytes at a time) and on duplicates-free misses.
    from fastprep.text.functional import basic_english_lookup

    words = ["a", "bb", "seven77", "eight888", "nine99999", "x" * 16, "y" * 17, "日本語", "émigré"]
    v = vocab(OrderedDict((w, 1) for w in words), specials=["<unk>"])
    v.set_default_index(0)
    line = " ".join(words + ["missing", "x" * 15, "eight88"])
    ids, _ = basic_english_lookup([line], v)
    assert ids.tolist() == [v[w] for w in get_tokenizer("basic_english")(line)]
    v.insert_token("missing", 3)
    v.append_token("eight88")
    ids, _ = basic_english_lookup([line], v)
    assert ids.tolist() == [v[w] for w in get_tokenizer("basic_english")(line)]
    assert ids.tolist()[len(words)] == 3 and ids.tolist()[-1] == len(v) - 1


# The eager entry (fastprep._C._basic_english_lookup_fast, str read in place) and the registered op must give
# torchtext's ids: the rule's regex list + a dict lookup, on real corpora, with unknown tokens.
def _torchtext_ids(lines, v):
    stoi, default = v.get_stoi(), v.get_default_index()
    return [[stoi.get(t, default) for t in torchtext_basic_english(x)] for x in lines]


@pytest.mark.parametrize("corpus", ["english", "multilingual"])
@pytest.mark.parametrize("threads", [1, 2])
def test_lookup_matches_torchtext_rule_on_corpora(corpus, threads):
    from fastprep.text.functional import basic_english_lookup

    lines = (_corpus.english_lines(3000) if corpus == "english" else _corpus.multilingual_lines(3000)) + EDGE
    # A vocab of half the lines: the other half has unknown tokens, which take the default index.
    v = build_vocab_from_iterator((torchtext_basic_english(x) for x in lines[::2]), specials=["<unk>"])
    v.set_default_index(0)
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        ids, offsets = basic_english_lookup(lines, v)
        op_ids, op_offsets = torch.ops.fastprep.basic_english_lookup(lines, v.vocab)
    finally:
        torch.set_num_threads(prev)
    assert _corpus.ragged_rows(ids, offsets) == _torchtext_ids(lines, v)
    assert torch.equal(ids, op_ids) and torch.equal(offsets, op_offsets)


def _bmp_block_lines():
    # Every BMP character, 256 per line, alone, inside ASCII, doubled and next to a changing 2-byte character: the
    # UTF-8 path's per-character tables (2-byte table, 3-byte keep bitmap) and U+03A3's final-sigma rule against
    # str.lower() + the regex list on every one of them.
    lines = []
    for block in range(0x80, 0x10000, 256):
        chars = [chr(c) for c in range(max(block, 0x80), block + 256) if not 0xD800 <= c <= 0xDFFF]
        if chars:
            lines.append(" ".join(f"{ch} x{ch}Y {ch}{ch}É{ch}" for ch in chars))
    return lines


def test_every_bmp_character_matches_torchtext_rule():
    from fastprep.text.functional import basic_english_lookup

    lines = _bmp_block_lines()
    tok = get_tokenizer("basic_english")
    for line in lines:
        assert tok(line) == torchtext_basic_english(line), hex(ord(line[0]))
    v = build_vocab_from_iterator((torchtext_basic_english(x) for x in lines[::2]), specials=["<unk>"])
    v.set_default_index(0)
    assert _corpus.ragged_rows(*basic_english_lookup(lines, v)) == _torchtext_ids(lines, v)


def test_fast_entry_takes_lists_and_tuples_of_str():
    from fastprep import _C

    v = build_vocab_from_iterator([["hello", "world", "."]], specials=["<unk>"])
    v.set_default_index(0)
    lines = ["Hello, world.", "", "wörld Hello"]
    for seq in (lines, tuple(lines)):
        out = _C._basic_english_lookup_fast(seq, v.vocab)
        assert out is not NotImplemented
        ids, offsets = out
        assert _corpus.ragged_rows(ids, offsets) == _torchtext_ids(lines, v)
        assert ids.dtype == offsets.dtype == torch.int64


# Lone surrogates (no UTF-8 form) in 2- and 4-byte str, alone and after 300 good lines (the parallel path).
_SURROGATES = [["x \ud800 a"], ["\U0001f600 \udfff"], ["Привет мир"] * 300 + ["мир \ud834"]]


@pytest.mark.parametrize("bad", [["a", 1], "abc", None, [b"bytes"], *_SURROGATES])
def test_fast_entry_leaves_other_input_to_the_op(bad):
    # Not a list/tuple of str with a UTF-8 form: the eager entry declines and the op's own behaviour stands
    # (its "Expected a value of type 'List[str]'" error, or a str taken as a sequence of characters).
    from fastprep import _C
    from fastprep.text.functional import basic_english_lookup

    v = build_vocab_from_iterator([["a", "b", "c"]], specials=["<unk>"])
    v.set_default_index(0)
    assert _C._basic_english_lookup_fast(bad, v.vocab) is NotImplemented
    try:
        expected = torch.ops.fastprep.basic_english_lookup(bad, v.vocab)
    except Exception as e:  # noqa: BLE001 - whatever the op raises, the wrapper must raise the same
        with pytest.raises(type(e), match=re.escape(str(e)[:60])):
            basic_english_lookup(bad, v)
    else:
        got = basic_english_lookup(bad, v)
        assert all(torch.equal(a, b) for a, b in zip(got, expected))


def _new_str(s):
    return (s + " ")[:-1]  # a new str object, with no UTF-8 cached in it


def _cache_utf8(s):
    # What C extensions do to a str (PyUnicode_AsUTF8AndSize): CPython keeps the encoding inside the object.
    import ctypes

    f = ctypes.pythonapi.PyUnicode_AsUTF8AndSize
    f.argtypes, f.restype = [ctypes.py_object, ctypes.c_void_p], ctypes.c_void_p
    f(s, None)
    return s


@pytest.mark.parametrize("threads", [1, 2])
def test_fast_entry_reads_every_kind_of_str(threads):
    # CPython stores a str as 1-, 2- or 4-byte code units (Latin-1, BMP, astral) and caches its UTF-8 only when
    # asked; the eager entry encodes uncached ones itself on the worker threads. Fresh, cached and mixed lists
    # all give torchtext's ids.
    from fastprep.text.functional import basic_english_lookup

    lines = ["Café, naïve FAÇADE.", "Привет, МИР! ΣΊΣΥΦΟΣ ΟΔΟΣ", "emoji 😀 and 𝔘𝔫𝔦 TEXT.", "plain ascii", "",
             "ÿ\x85x\xa0y", "日本語のテキスト、です。", "x" * 5000 + "Я" * 3000 + "😀" * 1000] * 40
    v = build_vocab_from_iterator((torchtext_basic_english(x) for x in lines[:5]), specials=["<unk>"])
    v.set_default_index(0)
    expected = _torchtext_ids(lines, v)
    fresh = [_new_str(x) for x in lines]
    cached = [_cache_utf8(_new_str(x)) for x in lines]
    mixed = [c if i % 3 else f for i, (f, c) in enumerate(zip(fresh, cached))]
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for batch, want in ((fresh, expected), (cached, expected), (mixed, expected), (fresh[1:2], expected[1:2]),
                            (cached[-1:], expected[-1:])):
            assert _corpus.ragged_rows(*basic_english_lookup(batch, v)) == want
    finally:
        torch.set_num_threads(prev)


@pytest.mark.parametrize("threads", [1, 2])
def test_pack_strings_entry_is_each_str_utf8(threads):
    # The BERT ops' input: the eager entry (fastprep._C._pack_strings_fast, used by pack_strings) encodes every
    # kind of str, cached or not, exactly as str.encode() does, and agrees with the registered op.
    from fastprep import _C
    from fastprep._ops.text import pack_strings

    base = ["Café", "Привет, МИР!", "😀 𝔘𝔫𝔦", "ascii", "", "\x00\x7f\x80\u07ff\u0800\uffff\U00010000\U0010ffff"]
    texts = [_new_str(x) for x in base * 500] + [_cache_utf8(_new_str(x)) for x in base * 500]
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for batch in (texts, texts[:1], texts[4:5], []):
            data, offsets = pack_strings(batch)
            blob = b"".join(x.encode("utf-8") for x in batch)
            assert bytes(data.numpy().tobytes()) == blob and data.dtype == torch.uint8
            assert offsets.tolist() == [0] + list(itertools.accumulate(len(x.encode("utf-8")) for x in batch))
            op = torch.ops.fastprep._pack_strings(batch)
            assert torch.equal(data, op[0]) and torch.equal(offsets, op[1])
    finally:
        torch.set_num_threads(prev)
    for bad in (["a", 1], "abc", *_SURROGATES):
        assert _C._pack_strings_fast(bad) is NotImplemented


# The str encoder (csrc/text/cpu/utf8_encode.cpp) works 16 code units at a time where the CPU has AVX-512
# VBMI2: every UTF-8 length boundary at every lane of a block and of a tail, in each kind of str, and a lone
# surrogate at every lane, give str.encode()'s bytes / the decline. Also run with that path turned off.
_BOUNDARIES = {1: ["a", "\x7f", "\x80", "\xff"],
               2: ["a", "\x7f", "\x80", "\u07ff", "\u0800", "\ud7ff", "\ue000", "\uffff"],
               4: ["a", "\x80", "\u0800", "\uffff", "\U00010000", "\U0010ffff"]}
_WIDEST = {1: "\xe9", 2: "\u044f", 4: "\U0001f600"}  # forces the str's kind


def test_str_encoder_lanes_and_tails():
    from fastprep import _C

    texts = []
    for kind, chars in _BOUNDARIES.items():
        for n in range(0, 50):
            for ch in chars:
                for at in range(n):
                    s = [_WIDEST[kind]] * n
                    s[at] = ch
                    texts.append(_new_str("".join(s)))
    data, offsets = _C._pack_strings_fast(texts)
    assert bytes(data.numpy().tobytes()) == b"".join(x.encode("utf-8") for x in texts)
    assert offsets.tolist() == [0] + list(itertools.accumulate(len(x.encode("utf-8")) for x in texts))
    v = build_vocab_from_iterator([["a"]], specials=["<unk>"])
    v.set_default_index(0)
    for kind, wide in ((2, "\u044f"), (4, "\U0001f600")):
        for n in (1, 15, 16, 17, 33):
            for at in range(n):
                s = [wide] * n
                s[at] = "\udfff"
                bad = [_new_str("".join(s))]
                assert _C._pack_strings_fast(bad) is NotImplemented, (kind, n, at)
                assert _C._basic_english_lookup_fast(bad, v.vocab) is NotImplemented, (kind, n, at)


def test_str_encoder_without_avx512():
    from reliability_utils import run_child

    rc, out = run_child(f"""
        import sys, pytest
        sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", {__file__!r},
                              "-k", "test_str_encoder_lanes_and_tails or reads_every_kind or pack_strings_entry"]))
        """, timeout=600, env={"FASTPREP_CPU_ISA": "avx2"})
    assert rc == 0 and "5 passed" in out, out[-3000:]


def test_basic_english_refuses_bytes_like_torchtext():
    # torchtext's str regexes raise TypeError on bytes; eager torch would decode them into a str.
    with pytest.raises(TypeError):
        get_tokenizer("basic_english")(b"Hello")
    assert torch.jit.script(get_tokenizer("basic_english"))("Hello") == ["hello"]


def test_fast_entry_rejects_a_non_vocab():
    from fastprep import _C

    with pytest.raises(RuntimeError, match="fastprep.Vocab"):
        _C._basic_english_lookup_fast(["a"], object())
    with pytest.raises(TypeError, match="takes 2 arguments"):
        _C._basic_english_lookup_fast(["a"])


def test_fast_entry_unknown_without_default_raises():
    from fastprep.text.functional import basic_english_lookup

    v = vocab(OrderedDict([("hello", 1)]))
    with pytest.raises(RuntimeError, match="Token wörld not found and default index is not set"):
        basic_english_lookup(["hello"] * 200 + ["Hello wörld"], v)


def test_fast_entry_from_python_threads():
    # The GIL is released while tokenizing: concurrent calls on one Vocab give the same ids as a lone call.
    from concurrent.futures import ThreadPoolExecutor

    from fastprep.text.functional import basic_english_lookup

    lines = _corpus.english_lines(2000) + _corpus.multilingual_lines(2000)
    v = build_vocab_from_iterator((torchtext_basic_english(x) for x in lines[::3]), specials=["<unk>"])
    v.set_default_index(0)
    ref = basic_english_lookup(lines, v)
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda _: basic_english_lookup(lines, v), range(8)))
    for ids, offsets in outs:
        assert torch.equal(ids, ref[0]) and torch.equal(offsets, ref[1])
