"""Hostile input: tampered saved Vocab state, hostile strings (NUL, invalid UTF-8, 100 MB lines),
corrupted packed-text / vocab tables fed to the raw ops. (Tensors: test_reliability_hostile_tensors.py.)

Loads of tampered files run in a subprocess: a crash (signal) is then a failed test with the
child's output, not a dead test run."""

import os
import pickletools
import struct
import zipfile

import pytest
import torch
from hypothesis import assume, given, settings, strategies as st

from fastprep.text import BERTTokenizer, get_tokenizer, vocab as make_vocab
from fastprep.text import _corpus
import unicode_versions

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
    return b"\x8a\x08" + v.to_bytes(8, "little", signed=True)  # LONG1 (torch's unpickler wants 8 bytes)


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


_LOADER = """
import sys, torch, fastprep
for name, path in zip(sys.argv[1::2], sys.argv[2::2]):
    print("START", name, flush=True)
    try:
        m = torch.jit.load(path)
        print("RESULT", name, "LOADED", m(["alpha", "beta", "zzz"]), flush=True)
    except Exception as e:
        msg = str(e).strip().splitlines()
        print("RESULT", name, "ERROR", type(e).__name__, " | ".join(msg[:3]), flush=True)
"""


def _load_all_in_children(cases):
    """{name: (outcome line or None, crash output or None)} for {name: path}. One child loads every file in
    turn; a child that dies blames the file it had started and the rest go to a new child."""
    import subprocess
    import sys

    import fastprep as fp

    root = os.path.dirname(os.path.dirname(os.path.abspath(fp.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(x for x in (root, os.environ.get("PYTHONPATH")) if x))
    results, todo = {}, list(cases.items())
    while todo:
        argv = [a for name, path in todo for a in (name, str(path))]
        p = subprocess.run([sys.executable, "-c", _LOADER, *argv], cwd=root, env=env, capture_output=True,
                           text=True, timeout=300)
        started = None
        for line in p.stdout.splitlines():
            if line.startswith("START "):
                started = line.split(" ", 2)[1]
            elif line.startswith("RESULT "):
                name = line.split(" ", 2)[1]
                results[name] = (line, None)
                started = None
        if started is not None:  # died inside this load
            results[started] = (None, f"returncode {p.returncode}\n{(p.stdout + p.stderr)[-3000:]}")
        elif p.returncode != 0 and len(results) < len(cases):
            raise AssertionError(f"loader child failed before any load:\n{p.stdout + p.stderr}")
        todo = [(n, path) for n, path in todo if n not in results]
    return results


def _edit_int_at(which, value):
    def edit(pkl):
        return _replace_op(pkl, _state_ops(pkl)[which], _encode_int(value))

    return edit


def _edit_token(token, new_bytes):
    def edit(pkl):
        return _replace_op(pkl, _find_string_op(pkl, token), new_bytes)

    return edit


def _edit_flips(seed):
    def edit(pkl):
        import random

        rng = random.Random(seed)
        ops = _ops_of(pkl)
        lo, hi = ops[_state_ops(pkl)[0]][2], ops[_state_ops(pkl)[2] + 1][2]  # the Vocab state's bytes only
        b = bytearray(pkl)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(lo, hi)] = rng.randrange(256)
        return bytes(b)

    return edit


def _utf8(s):
    return b"X" + struct.pack("<I", len(s)) + s


# name -> (edit of data.pkl, expectation): "error" = clean error naming the needle (or None), "no-crash" = any
# outcome but a crash. The name says what the tampering is.
TAMPER_CASES = {}
# Any default index is a valid state (torchtext stores any int; it is only ever returned, never indexed with).
for _d in [3, 10**6, -1, -(2**40), 2**62]:
    TAMPER_CASES[f"default_index={_d}"] = (_edit_int_at(2, _d), ("loads", str(_d)))
for _v in [0, 2, -1, 2**40]:
    TAMPER_CASES[f"version={_v}"] = (_edit_int_at(0, _v), ("error", "version"))
for _n, _b in [("int", b"K\x07"), ("bool", b"\x88"), ("none", b"N"), ("float", b"G" + struct.pack(">d", 1.5))]:
    TAMPER_CASES[f"token_is_{_n}"] = (_edit_token("beta", _b), ("error", None))
TAMPER_CASES["default_index_is_str"] = (
    lambda pkl: _replace_op(pkl, _state_ops(pkl)[2], _utf8(b"abc")), ("error", None))
for _l in [2**31 - 1, 2**32 - 1, 10**6]:
    TAMPER_CASES[f"string_length={_l}"] = (_edit_token("beta", b"X" + struct.pack("<I", _l) + b"beta"),
                                           ("error", None))
TAMPER_CASES["duplicate_tokens"] = (_edit_token("gamma", _utf8(b"alpha")), ("error", "duplicate"))
TAMPER_CASES["invalid_utf8_token"] = (_edit_token("beta", _utf8(b"\xff\xfe\x00\xc3")), ("no-crash", None))
TAMPER_CASES["truncated_pickle"] = (lambda pkl: pkl[: len(pkl) // 2], ("error", None))
TAMPER_CASES["untampered"] = (lambda pkl: pkl, ("loads", None))
for _seed in range(8):
    TAMPER_CASES[f"random_flips_{_seed}"] = (_edit_flips(_seed), ("no-crash", None))


@pytest.fixture(scope="module")
def tamper_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tamper")
    src = _saved_vocab_archive(tmp)
    paths = {}
    for name, (edit, _) in TAMPER_CASES.items():
        paths[name] = tmp / f"{len(paths)}.pt"
        _rewrite_archive(src, paths[name], edit)
    return _load_all_in_children(paths)


@pytest.mark.parametrize("case", list(TAMPER_CASES))
def test_tampered_vocab_archive_fails_cleanly(tamper_results, case):
    line, crash = tamper_results[case]
    assert crash is None, f"loading the {case} archive crashed the interpreter: {crash}"
    kind, needle = TAMPER_CASES[case][1]
    if kind == "loads":
        assert f"LOADED [0, 1, {needle or 1}]" in line, line
    elif kind == "error":
        assert " ERROR " in line, f"the {case} archive loaded: {line}"
        if needle:
            assert needle.lower() in line.lower(), f"the error does not say {needle!r}: {line}"


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


_PAIR = []


def _bert_pair():
    if not _PAIR:
        from tokenizers import BertWordPieceTokenizer

        _PAIR.extend([BERTTokenizer(VOCAB), BertWordPieceTokenizer(VOCAB, lowercase=True)])
    return _PAIR


@needs_bert_vocab
@settings(max_examples=80, deadline=None)
@given(raw=st.lists(st.binary(max_size=40), max_size=6))
def test_invalid_utf8_in_packed_text_behaves_as_replacement_chars(raw):
    # HF sees Python's decoding with U+FFFD for malformed bytes; BERT's normalizer removes U+FFFD, so how
    # many replacement characters a malformed run becomes does not matter.
    texts = [r.decode("utf-8", "replace") for r in raw]
    # Valid sequences can spell a code point of the documented Unicode-version gap (b"\xd8\x9d" is U+061D).
    assume(not any(unicode_versions.differs(ord(c)) for t in texts for c in t if ord(c) >= 0x80))
    tok, ref = _bert_pair()
    data = torch.tensor(list(b"".join(raw)), dtype=torch.uint8)
    offsets = torch.tensor([0] + list(torch.tensor([len(r) for r in raw], dtype=torch.int64).cumsum(0).tolist()),
                           dtype=torch.int64)
    table = tok.vocab._table(torch.device("cpu"))
    ids, offs = torch.ops.fastprep.bert_tokenize(data, offsets, *table, tok._special_ids, True, True, tok._unk_id)
    ids, offs = ids.tolist(), offs.tolist()
    ours = [ids[offs[i]:offs[i + 1]] for i in range(len(raw))]
    expected = [e.ids for e in ref.encode_batch(texts, add_special_tokens=False)]
    assert ours == expected


@needs_bert_vocab
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_corrupted_offsets_and_tables_raise_or_return_never_crash(data):
    # Random offsets / vocab tables straight into the raw op: ValueError/TypeError or a result, never a
    # read out of range (the ASan run of this suite checks the "never").
    tok = _bert_pair()[0]
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


@pytest.mark.slow
@needs_bert_vocab
def test_100mb_single_word_bert_is_unk():
    # One 100 MB "word" (no spaces, no punctuation): HF maps a word over 100 characters to [UNK].
    tok = BERTTokenizer(VOCAB)
    ids = tok.encode(["x" * (100 * 2**20)], add_special_tokens=False)[0]
    assert ids.tolist() == [[tok._unk_id]]


@pytest.mark.slow
def test_100mb_line_basic_english_and_vocab():
    # Long words keep the token list small (100k tokens) while the line is 100 MB.
    tok = get_tokenizer("basic_english")
    unit = "Hello," + "x" * 1000 + " "
    reps = 100 * 2**20 // len(unit)
    words = tok(unit * reps)
    unit_words = tok(unit)
    assert unit_words == ["hello", ",", "x" * 1000]
    assert len(words) == len(unit_words) * reps
    assert words[:3] == unit_words and words[-3:] == unit_words
    v = make_vocab({"<unk>": 1})
    v.set_default_index(0)
    assert v(["y" * (100 * 2**20)]) == [0]
