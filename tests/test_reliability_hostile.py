"""Hostile input: tampered saved Vocab state, hostile strings (NUL, invalid UTF-8, 100 MB lines),
corrupted packed-text / vocab tables fed to the raw ops, and zero-stride / overlapping tensors.

Loads of tampered files run in a subprocess: a crash (signal) is then a failed test with the
child's output, not a dead test run."""

import os
import pickletools
import struct
import zipfile

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import fastprep
from fastprep.text import BERTTokenizer, get_tokenizer, vocab as make_vocab
from fastprep.text import _corpus
from reliability_utils import run_child

VOCAB = _corpus.bert_vocab_path()
needs_bert_vocab = pytest.mark.skipif(VOCAB is None, reason="bert-base-uncased vocab.txt not found")


# ---------------------------------------------------------------------------------------------
# Tampered torch.jit.save archives

class _VocabHolder(torch.nn.Module):
    def __init__(self, v):
        super().__init__()
        self.v = v

    def forward(self, tokens: list[str]) -> list[int]:
        return self.v(tokens)


def _saved_vocab_archive(tmp_path, tokens=("alpha", "beta", "gamma"), default=1):
    v = make_vocab({t: 1 for t in tokens})
    if default is not None:
        v.set_default_index(default)
    path = tmp_path / "vocab.pt"
    torch.jit.save(torch.jit.script(_VocabHolder(v)), str(path))
    return path


def _data_pkl_name(zf):
    names = [n for n in zf.namelist() if n.endswith("/data.pkl")]
    assert len(names) == 1, zf.namelist()
    return names[0]


def _rewrite_archive(src, dst, edit):
    """Copies the zip, passing data.pkl's bytes through ``edit``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        target = _data_pkl_name(zin)
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == target:
                data = edit(data)
            zout.writestr(info, data)


def _ops_of(pkl):
    return list(pickletools.genops(pkl))


def _encode_int(v):
    if 0 <= v < 256:
        return b"K" + bytes([v])  # BININT1
    if -(2**31) <= v < 2**31:
        return b"J" + struct.pack("<i", v)  # BININT
    b = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(b)]) + b  # LONG1


def _replace_op(pkl, op_index, new_bytes):
    ops = _ops_of(pkl)
    start = ops[op_index][2]
    end = ops[op_index + 1][2] if op_index + 1 < len(ops) else len(pkl)
    return pkl[:start] + new_bytes + pkl[end:]


def _find_string_op(pkl, s):
    for i, (op, arg, _) in enumerate(_ops_of(pkl)):
        if op.name in ("BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8") and arg == s:
            return i
    raise AssertionError(f"{s!r} not found in data.pkl")


def _state_ops(pkl):
    """Indices of the Vocab state tuple's pieces: (version int, first token, default index int)."""
    ops = _ops_of(pkl)
    first = _find_string_op(pkl, "alpha")
    # The version is the last int pushed before the itos list's first token.
    version = max(i for i in range(first) if ops[i][0].name in ("BININT1", "BININT", "BININT2", "LONG1"))
    last = _find_string_op(pkl, "gamma")
    default = min(i for i in range(last, len(ops)) if ops[i][0].name in ("BININT1", "BININT", "BININT2", "LONG1"))
    return version, first, default


def _load_in_child(path):
    return run_child(f"""
        import torch, fastprep
        try:
            m = torch.jit.load({str(path)!r})
            print("LOADED", m(["alpha", "beta", "zzz"]))
        except Exception as e:
            print("ERROR", type(e).__name__, str(e).splitlines()[0] if str(e) else "")
    """)


def test_untampered_archive_loads(tmp_path):
    path = _saved_vocab_archive(tmp_path)
    rc, out = _load_in_child(path)
    assert rc == 0 and "LOADED [0, 1, 1]" in out, out


def _tampered(tmp_path, edit):
    src = _saved_vocab_archive(tmp_path)
    dst = tmp_path / "tampered.pt"
    _rewrite_archive(src, dst, edit)
    return _load_in_child(dst)


def _assert_clean_error(rc, out, *needles):
    assert rc == 0, f"the load crashed the interpreter (returncode {rc}):\n{out[-3000:]}"
    assert "ERROR" in out and "LOADED" not in out, f"a tampered archive loaded:\n{out[-3000:]}"
    for n in needles:
        assert n.lower() in out.lower(), f"error does not mention {n!r}:\n{out[-3000:]}"


@pytest.mark.parametrize("default", [3, 10**6, -1, -(2**40), 2**62])
def test_tampered_default_index_out_of_range_is_rejected(tmp_path, default):
    def edit(pkl):
        return _replace_op(pkl, _state_ops(pkl)[2], _encode_int(default))

    rc, out = _tampered(tmp_path, edit)
    _assert_clean_error(rc, out, "default index")


@pytest.mark.parametrize("version", [0, 2, -1, 2**40])
def test_tampered_format_version_is_rejected(tmp_path, version):
    def edit(pkl):
        return _replace_op(pkl, _state_ops(pkl)[0], _encode_int(version))

    rc, out = _tampered(tmp_path, edit)
    _assert_clean_error(rc, out, "version")


@pytest.mark.parametrize("replacement", [b"K\x07", b"\x88", b"N", b"G" + struct.pack(">d", 1.5)],
                         ids=["int", "bool", "none", "float"])
def test_tampered_token_of_wrong_type_is_rejected(tmp_path, replacement):
    def edit(pkl):
        return _replace_op(pkl, _find_string_op(pkl, "beta"), replacement)

    rc, out = _tampered(tmp_path, edit)
    _assert_clean_error(rc, out)


def test_tampered_default_index_of_wrong_type_is_rejected(tmp_path):
    def edit(pkl):
        return _replace_op(pkl, _state_ops(pkl)[2], b"X" + struct.pack("<I", 3) + b"abc")  # a str

    rc, out = _tampered(tmp_path, edit)
    _assert_clean_error(rc, out)


@pytest.mark.parametrize("length", [2**31 - 1, 2**32 - 1, 10**6])
def test_tampered_huge_string_length_is_rejected(tmp_path, length):
    # The BINUNICODE length field claims far more bytes than the archive holds.
    def edit(pkl):
        i = _find_string_op(pkl, "beta")
        return _replace_op(pkl, i, b"X" + struct.pack("<I", length) + b"beta")

    rc, out = _tampered(tmp_path, edit)
    _assert_clean_error(rc, out)


def test_tampered_duplicate_tokens_are_rejected(tmp_path):
    def edit(pkl):
        i = _find_string_op(pkl, "gamma")
        return _replace_op(pkl, i, b"X" + struct.pack("<I", 5) + b"alpha")

    rc, out = _tampered(tmp_path, edit)
    _assert_clean_error(rc, out, "duplicate")


def test_tampered_invalid_utf8_token_loads_or_fails_cleanly(tmp_path):
    # Token bytes that are not UTF-8: either a clean error or a Vocab that still answers lookups.
    def edit(pkl):
        i = _find_string_op(pkl, "beta")
        return _replace_op(pkl, i, b"X" + struct.pack("<I", 4) + b"\xff\xfe\x00\xc3")

    rc, out = _tampered(tmp_path, edit)
    assert rc == 0, f"crashed (returncode {rc}):\n{out[-3000:]}"


def test_truncated_archive_fails_cleanly(tmp_path):
    def edit(pkl):
        return pkl[: len(pkl) // 2]

    rc, out = _tampered(tmp_path, edit)
    _assert_clean_error(rc, out)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_byte_flips_in_state_never_crash(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("flip")
    src = _saved_vocab_archive(tmp)
    with zipfile.ZipFile(src) as z:
        pkl = z.read(_data_pkl_name(z))
    # Flip bytes inside the Vocab state region only (the rest is torch's own module pickle).
    lo = _ops_of(pkl)[_state_ops(pkl)[0]][2]
    hi = _ops_of(pkl)[_state_ops(pkl)[2] + 1][2]
    flips = data.draw(st.lists(st.tuples(st.integers(lo, hi - 1), st.integers(0, 255)), min_size=1, max_size=4))

    def edit(b):
        b = bytearray(b)
        for pos, val in flips:
            b[pos] = val
        return bytes(b)

    dst = tmp / "flipped.pt"
    _rewrite_archive(src, dst, edit)
    rc, out = _load_in_child(dst)
    assert rc == 0, f"crashed (returncode {rc}) with flips {flips}:\n{out[-3000:]}"


# ---------------------------------------------------------------------------------------------
# Hostile strings

def test_nul_bytes_are_ordinary_characters_in_vocab(tmp_path):
    tokens = ["a", "a\x00", "a\x00b", "\x00", "", "b"]
    v = make_vocab({t: 1 for t in tokens})
    assert [v[t] for t in tokens] == list(range(len(tokens)))
    assert "a\x00c" not in v
    v.set_default_index(5)
    assert v(["a\x00c", "\x00\x00"]) == [5, 5]
    path = tmp_path / "nul.pt"
    torch.jit.save(torch.jit.script(_VocabHolder(v)), str(path))
    loaded = torch.jit.load(str(path))
    assert loaded(tokens) == list(range(len(tokens)))


@needs_bert_vocab
def test_nul_and_control_bytes_in_bert_text_match_hf():
    from tokenizers import BertWordPieceTokenizer

    ref = BertWordPieceTokenizer(VOCAB, lowercase=True)
    ours = BERTTokenizer(VOCAB)
    lines = ["\x00", "a\x00b", "\x00hello\x00 world\x00", "\x00" * 1000, "x\x00\x00\x00y z"]
    assert ours(lines) == [[str(i) for i in e.ids] for e in ref.encode_batch(lines, add_special_tokens=False)]


def test_nul_bytes_in_basic_english():
    tok = get_tokenizer("basic_english")
    # The torchtext rule (lower, regex table, split) leaves NUL as a plain character.
    assert tok("A\x00B c\x00") == ["a\x00b", "c\x00"]


@needs_bert_vocab
@settings(max_examples=150, deadline=None)
@given(raw=st.lists(st.binary(max_size=40), max_size=6))
def test_invalid_utf8_in_packed_text_behaves_as_replacement_chars(raw):
    # HF sees Python's decoding with U+FFFD for malformed bytes; BERT's normalizer removes U+FFFD, so how
    # many replacement characters a malformed run becomes does not matter.
    from tokenizers import BertWordPieceTokenizer

    ref = BertWordPieceTokenizer(VOCAB, lowercase=True)
    tok = BERTTokenizer(VOCAB)
    data = torch.tensor(list(b"".join(raw)), dtype=torch.uint8)
    offsets = torch.tensor([0] + list(torch.tensor([len(r) for r in raw], dtype=torch.int64).cumsum(0).tolist()),
                           dtype=torch.int64)
    table = tok.vocab._table(torch.device("cpu"))
    ids, offs = torch.ops.fastprep.bert_tokenize(data, offsets, *table, tok._special_ids, True, True, tok._unk_id)
    ids, offs = ids.tolist(), offs.tolist()
    ours = [ids[offs[i]:offs[i + 1]] for i in range(len(raw))]
    expected = [e.ids for e in ref.encode_batch([r.decode("utf-8", "replace") for r in raw],
                                                add_special_tokens=False)]
    assert ours == expected


@needs_bert_vocab
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_corrupted_offsets_and_tables_raise_or_return_never_crash(data):
    # Random offsets / vocab tables straight into the raw op: ValueError/TypeError or a result, never a
    # read out of range (the ASan run of this suite checks the "never").
    tok = BERTTokenizer(VOCAB)
    vb, vo, vs = tok.vocab._table(torch.device("cpu"))
    text = torch.tensor(list(b"hello world unaffable \xe6\x97\xa5"), dtype=torch.uint8)
    n = text.numel()
    offsets = torch.tensor(data.draw(st.lists(st.integers(-3, n + 3), min_size=1, max_size=5)), dtype=torch.int64)
    which = data.draw(st.sampled_from(["none", "offsets", "slots", "bytes"]))
    if which == "offsets":
        vo = vo.clone()
        idx = data.draw(st.lists(st.integers(0, vo.numel() - 1), min_size=1, max_size=50))
        vo[idx] = torch.tensor(data.draw(st.lists(st.integers(-(2**62), 2**62), min_size=len(idx),
                                                   max_size=len(idx))), dtype=torch.int64)
    elif which == "slots":
        vs = torch.tensor(data.draw(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=1)),
                          dtype=torch.int32).expand(data.draw(st.sampled_from([1, 2, 64, 1024])))
    elif which == "bytes":
        vb = vb[: data.draw(st.integers(0, vb.numel()))]
    try:
        torch.ops.fastprep.bert_encode(text, offsets, vb, vo, vs, [], True, True, 100, 101, 102, 0, -1, -1, True)
        torch.ops.fastprep.bert_tokenize(text, offsets, vb, vo, vs, [], True, True, 100)
    except (ValueError, TypeError, IndexError):
        pass


@pytest.mark.slow
@needs_bert_vocab
def test_100mb_line_bert():
    # 100 MB in one line; every unit ends in a space, so the ids are the unit's ids repeated.
    from tokenizers import BertWordPieceTokenizer

    unit = "The quick brown fox, naïve café 日本語 😀 unaffable! "
    reps = 100 * 2**20 // len(unit.encode())
    ref_unit = BertWordPieceTokenizer(VOCAB, lowercase=True).encode(unit, add_special_tokens=False).ids
    ids = BERTTokenizer(VOCAB).encode([unit * reps], add_special_tokens=False)[0][0]
    assert ids.numel() == len(ref_unit) * reps
    assert torch.equal(ids.view(reps, -1), torch.tensor(ref_unit).expand(reps, -1))


@needs_bert_vocab
def test_100mb_single_word_bert_is_unk():
    # One 100 MB "word" (no spaces, no punctuation): HF maps a word over 100 characters to [UNK].
    tok = BERTTokenizer(VOCAB)
    ids = tok.encode(["x" * (100 * 2**20)], add_special_tokens=False)[0]
    assert ids.tolist() == [[tok._unk_id]]


def test_100mb_line_basic_english_and_vocab():
    tok = get_tokenizer("basic_english")
    unit = "Hello, World! it's (a) test. "
    reps = 100 * 2**20 // len(unit)
    words = tok(unit * reps)
    unit_words = tok(unit)
    assert len(words) == len(unit_words) * reps and words[: len(unit_words)] == unit_words
    assert words[-len(unit_words):] == unit_words
    v = make_vocab({"<unk>": 1})
    v.set_default_index(0)
    assert v(["y" * (100 * 2**20)]) == [0]


# ---------------------------------------------------------------------------------------------
# Zero strides, overlapping memory, in-place

def _vision():
    import torchvision.transforms.v2.functional as TVF

    import fastprep.transforms.functional as FF
    from fastprep._ops import vision as vision_ops

    return TVF, FF, vision_ops


def _expanded_image():
    return torch.rand(3, 1, 8).expand(3, 6, 8)


def test_inplace_normalize_on_expanded_view_rejected_like_torchvision():
    TVF, FF, vision_ops = _vision()
    x = _expanded_image()
    with pytest.raises(RuntimeError) as ref:
        TVF.normalize(x, [0.5] * 3, [0.2] * 3, inplace=True)
    with pytest.raises(RuntimeError) as ours:
        FF.normalize(x, [0.5] * 3, [0.2] * 3, inplace=True)
    assert "single memory location" in str(ref.value) and "single memory location" in str(ours.value)


def test_out_variant_rejects_zero_stride_out():
    TVF, FF, vision_ops = _vision()
    x = torch.rand(3, 6, 8)
    out = torch.empty(3, 1, 8).expand(3, 6, 8)
    with pytest.raises(RuntimeError, match="single memory location"):
        torch.sub(x, 0.5, out=out)  # torch's rule
    with pytest.raises(RuntimeError, match="single memory location"):
        torch.ops.fastprep.normalize.out(x, [0.5] * 3, [0.2] * 3, out=out)


@pytest.mark.xfail(strict=True, reason="DEVIATION: normalize.out computes into a temporary and copies, so an `out` "
                   "that partially overlaps `input` gives the right values instead of torch's "
                   "'unsupported operation: some elements of the input tensor and the written-to tensor refer to a "
                   "single memory location' RuntimeError")
def test_out_variant_rejects_partial_overlap_like_torch():
    TVF, FF, vision_ops = _vision()
    buf = torch.rand(3, 7, 8)
    x, out = buf[:, :6], buf[:, 1:]
    with pytest.raises(RuntimeError, match="single memory location"):
        torch.sub(x, 0.5, out=out)
    with pytest.raises(RuntimeError, match="single memory location"):
        torch.ops.fastprep.normalize.out(x, [0.5] * 3, [0.2] * 3, out=out)


def test_out_variant_full_alias_is_inplace():
    TVF, FF, vision_ops = _vision()
    # out is input: the same as torch's x.sub_(...) semantics, computed before anything is written.
    x = torch.rand(3, 6, 8)
    expected = TVF.normalize(x.clone(), [0.5] * 3, [0.2] * 3)
    torch.ops.fastprep.normalize.out(x, [0.5] * 3, [0.2] * 3, out=x)
    torch.testing.assert_close(x, expected, rtol=0, atol=0)


@pytest.mark.parametrize("op", ["normalize", "crop", "hflip", "vflip", "cmn"])
def test_zero_stride_inputs_everywhere(op):
    TVF, FF, vision_ops = _vision()
    # Every dim (even C, H and W) broadcast: values must equal the materialized input's result.
    base = torch.rand(1, 1, 1, 1)
    for shape in [(2, 3, 5, 7), (1, 3, 1, 7), (4, 1, 9, 1)]:
        x = base.expand(shape)
        m = [0.1] * shape[1]
        s = [0.3] * shape[1]
        fns = {
            "normalize": (lambda t: FF.normalize(t, m, s), lambda t: TVF.normalize(t, m, s)),
            "crop": (lambda t: FF.crop(t, -1, -2, 4, 9), lambda t: TVF.crop(t, -1, -2, 4, 9)),
            "hflip": (FF.horizontal_flip, TVF.horizontal_flip),
            "vflip": (FF.vertical_flip, TVF.vertical_flip),
            "cmn": (lambda t: vision_ops.crop_mirror_normalize(t, 0, -1, 3, 3, True, True, m, s),
                    lambda t: TVF.normalize(TVF.vertical_flip(TVF.horizontal_flip(TVF.crop(t, 0, -1, 3, 3))), m, s)),
        }
        ours_fn, ref_fn = fns[op]
        torch.testing.assert_close(ours_fn(x), ref_fn(x.contiguous()), rtol=0, atol=0)


def test_outputs_never_alias_a_zero_stride_input():
    TVF, FF, vision_ops = _vision()
    # Writing into our output must not write through to the input's single element.
    x = torch.zeros(1, 1, 1).expand(3, 4, 5)
    for out in (FF.horizontal_flip(x), FF.vertical_flip(x), FF.crop(x, -1, -1, 3, 3)):
        out.fill_(7)
        assert x.sum() == 0
