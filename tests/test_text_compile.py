"""torch.compile / torch.export of text pipelines that hold a Vocab: the C++ class has a fake
(fastprep._ops.text.FakeVocab, rebuilt from __obj_flatten__), so Dynamo traces its methods."""

from collections import OrderedDict

import pytest
import torch

import fastprep  # noqa: F401
from fastprep.text import build_vocab_from_iterator, transforms as T, vocab as make_vocab
from fastprep.text import functional as F

BATCH = [["hello", "world", "zzz"], ["world"], []]


@pytest.fixture()
def v():
    v = build_vocab_from_iterator([["hello", "world", "hello"], ["a", "b"]], specials=["<unk>", "<pad>"])
    v.set_default_index(v["<unk>"])
    return v


def test_fake_vocab_matches_real_methods(v):
    from fastprep._ops.text import FakeVocab

    fake = FakeVocab.__obj_unflatten__(v.vocab.__obj_flatten__())
    assert len(fake) == len(v)
    assert fake.get_itos() == v.get_itos() and fake.get_stoi() == v.get_stoi()
    assert fake.get_default_index() == v.get_default_index()
    toks = ["hello", "zzz", "<pad>", ""]
    assert fake.lookup_indices(toks) == v.lookup_indices(toks)
    assert fake.lookup_tokens([0, 3]) == v.lookup_tokens([0, 3])
    assert [t in fake for t in toks] == [t in v for t in toks]
    real_table = v.vocab._table(torch.device("cpu"))
    assert [t.shape for t in fake._table("cpu")] == [t.shape for t in real_table]
    assert [t.dtype for t in fake._table("cpu")] == [t.dtype for t in real_table]
    with pytest.raises(RuntimeError, match="out of bounds"):
        fake.lookup_token(len(v))
    bare = make_vocab(OrderedDict([("a", 1)]))
    fake_bare = FakeVocab.__obj_unflatten__(bare.vocab.__obj_flatten__())
    with pytest.raises(RuntimeError, match="Token q not found and default index is not set"):
        fake_bare["q"]
    with pytest.raises(RuntimeError, match="Token q not found and default index is not set"):
        bare["q"]


def test_vocab_transform_to_tensor_compile_fullgraph(v):
    pipe = T.Sequential(T.VocabTransform(v), T.ToTensor(padding_value=v["<pad>"]))
    expect = pipe(BATCH)
    torch._dynamo.reset()
    compiled = torch.compile(pipe, fullgraph=True, backend="eager")
    assert torch.equal(compiled(BATCH), expect)
    other = [["a", "b", "hello", "b"]]
    assert torch.equal(compiled(other), pipe(other))  # strings are graph constants: a new batch re-traces
    assert expect.tolist() == [[2, 5, 0], [5, 1, 1], [1, 1, 1]]


def test_vocab_transform_single_list_and_errors_eager(v):
    assert T.VocabTransform(v)(["hello", "q"]) == [2, 0]
    assert T.VocabTransform(v)([]) == []
    with pytest.raises(TypeError):
        T.VocabTransform(v)([1, 2])
    with pytest.raises(TypeError):
        F.to_tensor([["a"]])
    assert F.to_tensor([[1, 2], []], padding_value=0).tolist() == [[1, 2], [0, 0]]
    assert F.to_tensor([1, 2]).dtype == torch.long


def test_export_module_with_vocab(v):
    class WithVocab(torch.nn.Module):
        def __init__(self, vocab):
            super().__init__()
            self.vocab = vocab

        def forward(self, x):
            ids = torch.tensor(self.vocab.lookup_indices(["hello", "zzz", "world"]))
            return x + ids

    m = WithVocab(v)
    x = torch.zeros(3, dtype=torch.long)
    ep = torch.export.export(m, (x,))
    assert torch.equal(ep.module()(x), m(x))
    assert any(n.op == "placeholder" and "vocab" in n.name for n in ep.graph.nodes)  # the Vocab is a graph input


def test_vocab_mutation_refused_inside_compile(v):
    def f(x):
        v.vocab.append_token("new")
        return x + 1

    torch._dynamo.reset()
    with pytest.raises(Exception, match="append_token"):
        torch.compile(f, fullgraph=True, backend="eager")(torch.zeros(1))
    assert "new" not in v


def test_scripted_pipeline_still_scripts(v):
    pipe = T.Sequential(T.VocabTransform(v), T.ToTensor(padding_value=1))
    scripted = torch.jit.script(pipe)
    batch = BATCH[:2]  # TorchScript cannot type an empty list passed as Any
    assert torch.equal(scripted(batch), pipe(batch))
