"""fastprep.text.Vocab and its factories against torchtext's documented behaviour.

torchtext does not install beside current torch, so its rules are written out
here as the reference: vocab() keeps the OrderedDict order, drops tokens under
min_freq, puts specials first/last; build_vocab_from_iterator orders by
frequency descending, ties by token; errors and messages as torchtext's C++ Vocab.
"""

import io
import pickle
from collections import Counter, OrderedDict

import pytest
import torch

from fastprep.text import Vocab, build_vocab_from_iterator, vocab


def _torchtext_order(token_lists, min_freq=1, specials=(), special_first=True, max_tokens=None):
    counter = Counter()
    for t in token_lists:
        counter.update(t)
    ordered = sorted(counter.items(), key=lambda x: (-x[1], x[0]))
    if max_tokens is not None:
        ordered = ordered[: max_tokens - len(specials)]
    tokens = [t for t, f in ordered if f >= min_freq and t not in specials]
    return list(specials) + tokens if special_first else tokens + list(specials)


CORPUS = [["b", "a", "c", "a"], ["c", "d", "a", "é", "日本"], ["b", "b", "z", ""]]


@pytest.mark.parametrize("min_freq", [1, 2, 3])
@pytest.mark.parametrize("specials", [None, ["<unk>"], ["<pad>", "<unk>", "a"]])
@pytest.mark.parametrize("special_first", [True, False])
@pytest.mark.parametrize("max_tokens", [None, 4])
def test_build_vocab_from_iterator_order(min_freq, specials, special_first, max_tokens):
    v = build_vocab_from_iterator(iter(CORPUS), min_freq, specials, special_first, max_tokens)
    assert v.get_itos() == _torchtext_order(CORPUS, min_freq, specials or [], special_first, max_tokens)
    assert v.get_stoi() == {t: i for i, t in enumerate(v.get_itos())}


def test_build_vocab_max_tokens_must_leave_room():
    with pytest.raises(AssertionError, match="entirely special tokens"):
        build_vocab_from_iterator(CORPUS, specials=["<a>", "<b>"], max_tokens=2)


def test_vocab_factory_keeps_insertion_order():
    od = OrderedDict([("z", 5), ("a", 1), ("m", 3), ("<unk>", 9)])
    v = vocab(od, min_freq=2, specials=["<unk>"])
    assert v.get_itos() == ["<unk>", "z", "m"]
    assert vocab(od, specials=["<unk>"], special_first=False).get_itos() == ["z", "a", "m", "<unk>"]
    assert "a" in od  # the caller's dict is not modified


def test_lookup_api():
    v = vocab(OrderedDict([("hello", 3), ("world", 2), ("日本", 1)]))
    assert len(v) == 3 and "world" in v and "nope" not in v
    assert v["日本"] == 2 and v(["world", "hello"]) == [1, 0]
    assert v.lookup_indices(["hello", "日本"]) == [0, 2]
    assert v.lookup_token(1) == "world" and v.lookup_tokens([2, 0]) == ["日本", "hello"]
    assert v.get_default_index() is None
    v.set_default_index(0)
    assert v["nope"] == 0 and v.get_default_index() == 0
    v.set_default_index(None)
    assert v.get_default_index() is None


def test_unknown_token_without_default_raises_naming_it():
    v = vocab(OrderedDict([("a", 1)]))
    with pytest.raises(RuntimeError, match="Token missing not found and default index is not set"):
        v["missing"]
    with pytest.raises(RuntimeError, match="Token gone not found"):
        v(["a", "gone"])


def test_duplicate_tokens_rejected():
    with pytest.raises(RuntimeError, match="Duplicate token found in tokens list: x"):
        Vocab(torch.classes.fastprep.Vocab(["x", "y", "x"], None))
    v = vocab(OrderedDict([("a", 1), ("b", 1)]))
    with pytest.raises(RuntimeError, match="Token b already exists in the Vocab with index: 1"):
        v.append_token("b")
    with pytest.raises(RuntimeError, match="Token a already exists in the Vocab with index: 0"):
        v.insert_token("a", 1)


def test_insert_and_append_shift_ids():
    v = vocab(OrderedDict([("a", 1), ("b", 1)]))
    v.insert_token("<unk>", 0)
    assert v.get_itos() == ["<unk>", "a", "b"] and v["b"] == 2
    v.append_token("c")
    v.insert_token("mid", 2)
    assert v.get_itos() == ["<unk>", "a", "mid", "b", "c"]
    assert all(v[t] == i for i, t in enumerate(v.get_itos()))


@pytest.mark.parametrize("index", [-1, 3, 10**12])
def test_out_of_range_indices_raise(index):
    v = vocab(OrderedDict([("a", 1), ("b", 1), ("c", 1)]))
    with pytest.raises(RuntimeError, match=f"Specified index {index} is out of bounds for vocab of size 3"):
        v.lookup_token(index)
    with pytest.raises(RuntimeError, match="out of bounds"):
        v.lookup_tokens([0, index])
    if index != 3:
        with pytest.raises(RuntimeError, match="out of bounds"):
            v.insert_token("new", index)


def test_default_index_is_any_int_like_torchtext(tmp_path):
    # torchtext's own docs mark out-of-vocabulary tokens with -1; it stores whatever int it is given.
    v = vocab(OrderedDict([("a", 1)]))
    v.set_default_index(-1)
    assert v["zzz"] == -1 and v(["a", "zzz"]) == [0, -1] and v.get_default_index() == -1
    assert pickle.loads(pickle.dumps(v))(["zzz"]) == [-1]
    torch.save(v, tmp_path / "v.pt")
    assert torch.load(tmp_path / "v.pt", weights_only=False)(["zzz"]) == [-1]
    empty = vocab(OrderedDict())
    empty.set_default_index(7)
    assert empty["x"] == 7


def test_eager_type_errors_like_torchtext():
    # torchtext's pybind signatures take a str token / a list of str; eager torch would take a str as a list of
    # its characters and answer an int key with a schema error.
    v = vocab(OrderedDict([("<unk>", 1), ("h", 1), ("i", 1)]))
    v.set_default_index(0)
    for call in (lambda: v("hi"), lambda: v.lookup_indices("hi"), lambda: v[0], lambda: 0 in v):
        with pytest.raises(TypeError):
            call()
    assert torch.jit.script(v)(["h", "i"]) == [1, 2]


def test_empty_vocab():
    v = vocab(OrderedDict())
    assert len(v) == 0 and "a" not in v and v.get_itos() == [] and v([]) == []
    v.append_token("a")
    assert v["a"] == 0


def test_table_is_sized_to_the_vocabulary():
    v = build_vocab_from_iterator([[f"tok{i}" for i in range(1000)]])
    _, _, slots = v.vocab._table(torch.device("cpu"))
    assert 2000 <= slots.numel() <= 4096


def test_large_vocab_lookup():
    toks = [f"w{i}" for i in range(200000)]
    v = Vocab(torch.classes.fastprep.Vocab(toks, None))
    assert v.lookup_indices(toks[::997]) == list(range(0, 200000, 997))


def _roundtrip_all(v):
    out = [pickle.loads(pickle.dumps(v))]
    buf = io.BytesIO()
    torch.save(v, buf)
    buf.seek(0)
    out.append(torch.load(buf, weights_only=False))
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(v), buf)
    buf.seek(0)
    out.append(torch.jit.load(buf))
    return out


def test_survives_pickle_torch_save_and_jit_save_load():
    v = build_vocab_from_iterator(CORPUS, specials=["<unk>"])
    v.set_default_index(v["<unk>"])
    for w in _roundtrip_all(v):
        assert w.get_itos() == v.get_itos()
        assert w.get_default_index() == 0
        assert w(["a", "never-seen"]) == v(["a", "never-seen"])


class _Pipeline(torch.nn.Module):
    def __init__(self, v):
        super().__init__()
        self.v = v

    def forward(self, tokens: list[str]) -> list[int]:
        return self.v(tokens) + [len(self.v)]


def test_scripted_module_holding_vocab_saves_and_loads(tmp_path):
    v = build_vocab_from_iterator(CORPUS)
    m = torch.jit.script(_Pipeline(v))
    path = str(tmp_path / "p.pt")
    m.save(path)
    assert torch.jit.load(path)(["a", "b"]) == [v["a"], v["b"], len(v)]


@pytest.mark.parametrize(
    "state, match",
    [
        ((1, ["a"], [0, 0]), "holds 2 default indices"),
        ((2, ["a"], []), "format version 2"),
        ((1, ["a", "a"], []), "Duplicate token"),
    ],
)
def test_rejects_bad_pickled_state(state, match):
    with pytest.raises((ValueError, RuntimeError), match=match):
        pickle.loads(pickle.dumps(_Forged(state)))


class _Forged:
    """Pickles as a fastprep.Vocab carrying an arbitrary state, like a tampered or corrupted file."""

    def __init__(self, state):
        self.state = state

    def __reduce__(self):
        _, _, (_, qualname), *_ = torch.classes.fastprep.Vocab(["a"], None).__reduce_ex__(2)
        return _restore, (self.state, qualname)


def _restore(state, qualname):
    # What unpickling a ScriptObject does: __newobj__, then __setstate__((state, qualified name)).
    obj = torch.ScriptObject.__new__(torch.ScriptObject)
    obj.__setstate__((state, qualname))
    return obj


@pytest.mark.parametrize("state", [(1, "not a list", []), ("x",), (1, ["a"], ["zero"]), (1, [3], [])])
def test_rejects_wrong_state_types(state):
    with pytest.raises(RuntimeError):
        pickle.loads(pickle.dumps(_Forged(state)))


def test_rejects_non_string_tokens():
    with pytest.raises(TypeError, match="must be str"):
        vocab(OrderedDict([(1, 5)]))
