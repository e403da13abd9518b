"""text ops: typed wrappers over torch.ops.fastprep and their fake kernels.

The BERT ops take the text as packed UTF-8 (bytes + offsets) and the vocab as
its hash-table tensors, so they dispatch on the device of those tensors and
torch.compile / opcheck can trace them. The string ops (basic_english,
_pack_strings, basic_english_lookup) have no tensor inputs and run on the CPU.
"""

from typing import List, Tuple

import torch
from torch import Tensor
from torch._library.fake_class_registry import register_fake_class

from fastprep import _C
from fastprep._extension import check_device

_ops = torch.ops.fastprep


def pack_strings(texts: List[str]) -> Tuple[Tensor, Tensor]:
    """UTF-8 bytes of all texts back to back, and offsets [B + 1] into them."""
    if not torch.jit.is_scripting():
        return _pack_strings_eager(texts)
    return _ops._pack_strings(texts)  # TorchScript has no .default


@torch.jit.unused
def _pack_strings_eager(texts: List[str]) -> Tuple[Tensor, Tensor]:
    # Eager calls read the str objects in place and encode them in parallel (fastprep._C); traced code keeps the
    # op. NotImplemented: not a list of str with a UTF-8 form, the op decides.
    if not torch.compiler.is_compiling():
        out = _C._pack_strings_fast(texts)
        if out is not NotImplemented:
            return out
    return _ops._pack_strings.default(texts)


def basic_english(line: str) -> List[str]:
    return _ops.basic_english.default(line)


def basic_english_lookup(lines: List[str], vocab: torch.ScriptObject) -> Tuple[Tensor, Tensor]:
    """Flat ids of every line's basic_english tokens and row offsets [B + 1]."""
    if not torch.jit.is_scripting():
        return _basic_english_lookup_eager(lines, vocab)
    return _ops.basic_english_lookup.default(lines, vocab)


@torch.jit.unused
def _basic_english_lookup_eager(lines: List[str], vocab: torch.ScriptObject) -> Tuple[Tensor, Tensor]:
    # Eager calls read the str objects in place (fastprep._C, no boxing into c10::List<std::string>); traced
    # code keeps the op, which Dynamo and export can see. NotImplemented: not a list of str, the op decides.
    if not torch.compiler.is_compiling():
        out = _C._basic_english_lookup_fast(lines, vocab)
        if out is not NotImplemented:
            return out
    return _ops.basic_english_lookup.default(lines, vocab)


def ragged_to_padded(ids: Tensor, offsets: Tensor, padding_value: int) -> Tuple[Tensor, Tensor]:
    """[B, L] padded rows and lengths [B] from flat ids and offsets [B + 1], without a Python loop."""
    lengths = offsets[1:] - offsets[:-1]
    width = int(lengths.max()) if lengths.numel() > 0 else 0
    out = torch.full((lengths.numel(), width), padding_value, dtype=ids.dtype, device=ids.device)
    mask = torch.arange(width, device=ids.device).unsqueeze(0) < lengths.unsqueeze(1)
    out[mask] = ids
    return out, lengths


def bert_encode(
    text_bytes: Tensor,
    text_offsets: Tensor,
    vocab_bytes: Tensor,
    vocab_offsets: Tensor,
    vocab_slots: Tensor,
    special_ids: List[int],
    lowercase: bool,
    strip_accents: bool,
    unk_id: int,
    cls_id: int,
    sep_id: int,
    pad_id: int,
    max_length: int,
    pad_to: int,
    add_special_tokens: bool,
) -> Tuple[Tensor, Tensor]:
    check_device(text_bytes, "bert_encode")
    return _ops.bert_encode.default(
        text_bytes, text_offsets, vocab_bytes, vocab_offsets, vocab_slots, special_ids, lowercase, strip_accents,
        unk_id, cls_id, sep_id, pad_id, max_length, pad_to, add_special_tokens,
    )


def bert_tokenize(
    text_bytes: Tensor,
    text_offsets: Tensor,
    vocab_bytes: Tensor,
    vocab_offsets: Tensor,
    vocab_slots: Tensor,
    special_ids: List[int],
    lowercase: bool,
    strip_accents: bool,
    unk_id: int,
) -> Tuple[Tensor, Tensor]:
    check_device(text_bytes, "bert_tokenize")
    return _ops.bert_tokenize.default(
        text_bytes, text_offsets, vocab_bytes, vocab_offsets, vocab_slots, special_ids, lowercase, strip_accents,
        unk_id,
    )


def _check_bert_fake(text_bytes, text_offsets, vocab_bytes, vocab_offsets, vocab_slots):
    for t, dtype, name in (
        (text_bytes, torch.uint8, "text_bytes"),
        (text_offsets, torch.int64, "text_offsets"),
        (vocab_bytes, torch.uint8, "vocab_bytes"),
        (vocab_offsets, torch.int64, "vocab_offsets"),
        (vocab_slots, torch.int32, "vocab_slots"),
    ):
        torch._check(t.dtype == dtype, lambda: f"{name} must be {dtype}, got {t.dtype}")
        torch._check(t.dim() == 1, lambda: f"{name} must be 1-D, got {t.dim()}-D")
    torch._check(text_offsets.numel() >= 1, lambda: "text_offsets must hold B + 1 offsets")


@torch.library.register_fake("fastprep::_pack_strings")
def _pack_strings_fake(texts):
    # No tensor inputs, so fake mode cannot infer a device: the packed buffer is always on the CPU, and its
    # size is known at trace time (the strings are constants of the graph).
    total = sum(len(t.encode("utf-8")) for t in texts)
    return torch.empty((total,), dtype=torch.uint8, device="cpu"), torch.empty(
        (len(texts) + 1,), dtype=torch.int64, device="cpu"
    )


@torch.library.register_fake("fastprep::bert_encode")
def _bert_encode_fake(
    text_bytes, text_offsets, vocab_bytes, vocab_offsets, vocab_slots, special_ids, lowercase, strip_accents,
    unk_id, cls_id, sep_id, pad_id, max_length, pad_to, add_special_tokens,
):
    _check_bert_fake(text_bytes, text_offsets, vocab_bytes, vocab_offsets, vocab_slots)
    batch = text_offsets.shape[0] - 1
    if max_length >= 0 and pad_to >= max_length:
        width = pad_to  # truncation caps every row at max_length, so the padded width is known
    else:
        width = torch.library.get_ctx().new_dynamic_size()  # the longest row: data-dependent
    ids = text_offsets.new_empty((batch, width))
    return ids, ids.new_empty((batch, width))


@torch.library.register_fake("fastprep::bert_tokenize")
def _bert_tokenize_fake(
    text_bytes, text_offsets, vocab_bytes, vocab_offsets, vocab_slots, special_ids, lowercase, strip_accents, unk_id
):
    _check_bert_fake(text_bytes, text_offsets, vocab_bytes, vocab_offsets, vocab_slots)
    total = torch.library.get_ctx().new_dynamic_size()  # number of word pieces: data-dependent
    return text_offsets.new_empty((total,)), text_offsets.new_empty(text_offsets.shape)


@register_fake_class("fastprep::Vocab")
class FakeVocab:
    """The Vocab as torch.compile / torch.export see it: rebuilt from the C++ object's ``__obj_flatten__``
    (itos and the default index) and answering every read-only method as the C++ class does, so traced
    lookups give the real ids. Lookups of constant strings are folded into the graph; the mutators are
    refused inside a traced region (they would change only this copy)."""

    def __init__(self, itos: List[str], default_index: List[int]) -> None:
        self.itos = list(itos)
        self.stoi = {}
        for i, t in enumerate(self.itos):
            self.stoi.setdefault(t, i)
        self.default_index = default_index[0] if len(default_index) > 0 else None

    @classmethod
    def __obj_unflatten__(cls, flat):
        return cls(**dict(flat))

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        i = self.stoi.get(token)
        if i is not None:
            return i
        if self.default_index is None:
            raise RuntimeError(f"Token {token} not found and default index is not set")
        return self.default_index

    def get_default_index(self):
        return self.default_index

    def lookup_indices(self, tokens: List[str]) -> List[int]:
        return [self.__getitem__(t) for t in tokens]

    def lookup_token(self, index: int) -> str:
        if not 0 <= index < len(self.itos):
            raise RuntimeError(f"Specified index {index} is out of bounds for vocab of size {len(self.itos)}")
        return self.itos[index]

    def lookup_tokens(self, indices: List[int]) -> List[str]:
        return [self.lookup_token(i) for i in indices]

    def get_stoi(self):
        return dict(self.stoi)

    def get_itos(self) -> List[str]:
        return list(self.itos)

    def _table(self, device):
        # Shapes of the C++ table: token bytes, offsets [V + 1], power-of-two slots >= 2 V + 2.
        cap = 2
        while cap < 2 * len(self.itos) + 2:
            cap <<= 1
        nbytes = sum(len(t.encode("utf-8")) for t in self.itos)
        return [
            torch.empty((nbytes,), dtype=torch.uint8, device=device),
            torch.empty((len(self.itos) + 1,), dtype=torch.int64, device=device),
            torch.empty((cap,), dtype=torch.int32, device=device),
        ]

    def _refuse(self, name):
        raise RuntimeError(f"Vocab.{name} cannot run inside torch.compile / torch.export: call it before tracing")

    def set_default_index(self, index) -> None:
        self._refuse("set_default_index")

    def insert_token(self, token: str, index: int) -> None:
        self._refuse("insert_token")

    def append_token(self, token: str) -> None:
        self._refuse("append_token")
