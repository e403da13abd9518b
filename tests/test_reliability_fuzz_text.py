"""Property tests: fastprep.text against Hugging Face tokenizers' BERT WordPiece (the reference)
on drawn Unicode text (every plane except surrogates, control and format characters, combining
marks, CJK, emoji, special tokens written in the text, very long words and lines), and the Vocab
against the mapping it defines."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from fastprep.text import BERTTokenizer, build_vocab_from_iterator, get_tokenizer, vocab as make_vocab
from fastprep.text import _corpus

tokenizers = pytest.importorskip("tokenizers")
from tokenizers import BertWordPieceTokenizer  # noqa: E402

VOCAB = _corpus.bert_vocab_path()
pytestmark = pytest.mark.skipif(VOCAB is None, reason="bert-base-uncased vocab.txt not found")

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FRAGMENTS = [
    "[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]", "[cls]", "##", "##ing", " ", "\t", "\n", "\r\n", "\u00a0",
    "\u3000", "\u2028", "\u200b", "\ufeff", "\x00", "\x7f", "\x85", "e\u0301", "\u0301", "İ", "ß", "ǅ", "ﬁ",
    "日本", "中文", "한국어", "😀", "👩‍👩‍👧", "🇫🇷", "Ω", "К", "unaffable", "Héllo", "naïve", "x" * 101, "a.b",
    "(", ")", "'", "\"", "$", "¥", "\U00020000", "\U0010fffd", "\ufffd",
]

# Any code point that can be UTF-8 encoded (surrogates cannot: HF rejects them, as do we).
CHARS = st.characters(codec="utf-8")
TEXT = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(CHARS, max_size=12)), max_size=20).map("".join)


@pytest.fixture(scope="module")
def pair():
    return BERTTokenizer(VOCAB), BertWordPieceTokenizer(VOCAB, lowercase=True)


def _gap_chars(run_ours, run_ref, lines):
    """The characters of ``lines`` that alone ("a" + c + "b") already tokenize differently."""
    chars = sorted(set("".join(lines)))
    probe = ["a" + c + "b" for c in chars]
    return {c for c, g, w in zip(chars, run_ours(probe), run_ref(probe)) if g != w}


def _assert_equal_modulo_unicode_gap(run_ours, run_ref, lines):
    """Equal outputs, or a difference explained only by characters that alone ("a" + c + "b") already
    tokenize differently: the documented Unicode-version gap (docs/text.md; bounded by
    test_text_unicode.py). Without those characters the outputs must be equal."""
    if run_ours(lines) == run_ref(lines):
        return
    bad = _gap_chars(run_ours, run_ref, lines)
    assert bad, f"differs from HF on {lines!r}"
    lines = ["".join(c for c in line if c not in bad) for line in lines]
    assert run_ours(lines) == run_ref(lines)


def _without_unicode_gap(pair, lines):
    """``lines`` without the characters of the documented Unicode-version gap (those that alone, "a" + c + "b",
    already give other ids than HF's), for the tests that compare whole padded batches."""
    ours, ref = pair
    ref.no_truncation()
    ref.no_padding()
    bad = _gap_chars(ours, lambda ls: [[str(i) for i in e.ids] for e in ref.encode_batch(ls, add_special_tokens=False)],
                     lines)
    return ["".join(c for c in line if c not in bad) for line in lines]


@SETTINGS
@given(lines=st.lists(TEXT, min_size=0, max_size=8))
def test_bert_ids_match_hf(pair, lines):
    ours, ref = pair
    ref.no_truncation()
    ref.no_padding()
    _assert_equal_modulo_unicode_gap(
        ours, lambda ls: [[str(i) for i in e.ids] for e in ref.encode_batch(ls, add_special_tokens=False)], lines)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(TEXT, min_size=1, max_size=6),
    max_length=st.sampled_from([None, 0, 1, 2, 3, 7, 64]),
    padding=st.sampled_from(["longest", "max_length"]),
    truncation=st.booleans(),
    add_special_tokens=st.booleans(),
)
def test_bert_encode_matches_hf_encode_batch(pair, lines, max_length, padding, truncation, add_special_tokens):
    ours, ref = pair
    lines = _without_unicode_gap(pair, lines)
    if padding == "max_length" and max_length is None:
        max_length = 16
    if truncation and add_special_tokens and max_length is not None and max_length < 2:
        max_length = 2  # we raise ValueError there (tested in test_text_bert.py); HF 0.23 skips truncation
    ref.no_truncation()
    ref.no_padding()
    if truncation:
        ref.enable_truncation(max_length if max_length is not None else 512)
    if padding == "longest":
        ref.enable_padding(pad_id=0, pad_token="[PAD]")
    else:
        ref.enable_padding(pad_id=0, pad_token="[PAD]", length=max_length)
    enc = ref.encode_batch(lines, add_special_tokens=add_special_tokens)
    ids, mask = ours.encode(
        lines, max_length=max_length, padding=padding, truncation=truncation, add_special_tokens=add_special_tokens)
    # HF pads to a fixed length but leaves longer (untruncated) rows longer: ragged lists. A tensor pads
    # those rows to the longest instead; every row must still be HF's row followed by [PAD] / mask 0.
    width = max(len(e.ids) for e in enc)
    assert ids.shape == (len(lines), width)
    assert ids.tolist() == [e.ids + [0] * (width - len(e.ids)) for e in enc]
    assert mask.tolist() == [e.attention_mask + [0] * (width - len(e.ids)) for e in enc]


_NORMALIZER_PAIRS = {}


@pytest.mark.parametrize("strip_accents, lowercase", [(None, True), (False, True), (True, False), (None, False)])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(TEXT, min_size=1, max_size=4))
def test_bert_tokens_match_hf_normalizer_options(lines, strip_accents, lowercase):
    key = (strip_accents, lowercase)
    if key not in _NORMALIZER_PAIRS:
        _NORMALIZER_PAIRS[key] = (
            BERTTokenizer(VOCAB, do_lower_case=lowercase, strip_accents=strip_accents, return_tokens=True),
            BertWordPieceTokenizer(VOCAB, lowercase=lowercase, strip_accents=strip_accents))
    ours, ref = _NORMALIZER_PAIRS[key]
    _assert_equal_modulo_unicode_gap(
        ours, lambda ls: [e.tokens for e in ref.encode_batch(ls, add_special_tokens=False)], lines)


def test_very_long_text_matches_hf(pair):
    # ~1 MB lines: word, punctuation, CJK and accent runs repeated; one 300 KB "word"; 100k short words.
    ours, ref = pair
    ref.no_truncation()
    ref.no_padding()
    unit = "The quick brown fox, naïve café 日本語 😀 unaffable! "
    lines = [unit * 15000, "y" * 300_000, ("ab " * 100_000).strip()]
    expected = [[str(i) for i in e.ids] for e in ref.encode_batch(lines, add_special_tokens=False)]
    assert ours(lines) == expected


@SETTINGS
@given(
    tokens=st.lists(st.text(CHARS, max_size=6), unique=True, max_size=40),
    queries=st.lists(st.text(CHARS, max_size=6), max_size=20),
    default=st.one_of(st.none(), st.integers(0, 39)),
)
def test_vocab_is_the_mapping_it_was_built_from(tokens, queries, default):
    # Spec (torchtext.vocab.Vocab): itos is the token list, stoi its inverse, unknowns map to the default.
    v = make_vocab({t: 1 for t in tokens})
    assert v.get_itos() == tokens and len(v) == len(tokens)
    assert dict(v.get_stoi()) == {t: i for i, t in enumerate(tokens)}
    if default is not None and default < len(tokens):
        v.set_default_index(default)
        assert v.lookup_indices(queries) == [tokens.index(q) if q in tokens else default for q in queries]
    else:
        for q in queries:
            if q in tokens:
                assert v[q] == tokens.index(q)
            else:
                with pytest.raises(RuntimeError):
                    v[q]
    assert v.lookup_tokens(list(range(len(tokens)))) == tokens


@SETTINGS
@given(lines=st.lists(st.text(CHARS, max_size=40), max_size=10))
def test_basic_english_vocab_roundtrip(lines):
    tok = get_tokenizer("basic_english")
    v = build_vocab_from_iterator((tok(line) for line in lines), specials=["<unk>"])
    v.set_default_index(0)
    for line in lines:
        words = tok(line)
        assert v.lookup_tokens(v(words)) == words
