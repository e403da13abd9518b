"""torchtext.functional: to_tensor, truncate, add_token; plus encode() and the
fused basic_english + vocab lookup."""

from typing import Any, List, Optional, Tuple, Union

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from fastprep._ops import text as _text_ops
from fastprep.text.tokenizers import BERTTokenizer
from fastprep.text.vocab import Vocab


def _list_kind(input: Any) -> str:
    # Eager / torch.compile stand-in for torch.jit.isinstance, which Dynamo refuses to trace:
    # "int", "str", "int2", "str2" for List[int], List[str], List[List[int]], List[List[str]], else "".
    if not isinstance(input, (list, tuple)):
        return ""
    if all(isinstance(x, int) for x in input):  # bools too, as torch.jit.isinstance(x, List[int]) says eagerly
        return "int"
    if all(isinstance(x, str) for x in input):
        return "str"
    if all(isinstance(x, (list, tuple)) for x in input):
        inner = [_list_kind(x) for x in input]
        if all(k == "int" for k in inner):
            return "int2"
        if all(k in ("str", "int") and (k == "str" or len(x) == 0) for k, x in zip(inner, input)):
            return "str2"
    return ""


@torch.jit.unused
def _to_tensor_eager(input: Any, padding_value: Optional[int], dtype: torch.dtype) -> Tensor:
    kind = _list_kind(input)
    if kind == "int":
        return torch.tensor(input, dtype=torch.long)
    if kind == "int2":
        if padding_value is None:
            return torch.tensor(input, dtype=dtype)
        return pad_sequence(
            [torch.tensor(ids, dtype=dtype) for ids in input], batch_first=True, padding_value=float(padding_value)
        )
    raise TypeError("Input type not supported")


def to_tensor(input: Any, padding_value: Optional[int] = None, dtype: torch.dtype = torch.long) -> Tensor:
    r"""Convert input to torch tensor (torchtext.functional.to_tensor).

    A List[int] becomes a long tensor (torchtext ignores ``dtype`` there); a List[List[int]] is
    padded with ``padding_value`` when given.

    .. properties:: TorchScript, torch.compile
    """
    if not torch.jit.is_scripting():
        return _to_tensor_eager(input, padding_value, dtype)
    if torch.jit.isinstance(input, List[int]):
        return torch.tensor(input, dtype=torch.long)
    elif torch.jit.isinstance(input, List[List[int]]):
        if padding_value is None:
            return torch.tensor(input, dtype=dtype)
        return pad_sequence(
            [torch.tensor(ids, dtype=dtype) for ids in input], batch_first=True, padding_value=float(padding_value)
        )
    else:
        raise TypeError("Input type not supported")


def truncate(input: Any, max_seq_len: int) -> Any:
    r"""Truncate input sequence or batch (torchtext.functional.truncate).

    .. properties:: TorchScript
    """
    if torch.jit.isinstance(input, List[int]):
        return input[:max_seq_len]
    elif torch.jit.isinstance(input, List[str]):
        return input[:max_seq_len]
    elif torch.jit.isinstance(input, List[List[int]]):
        out_i: List[List[int]] = []
        for ids in input:
            out_i.append(ids[:max_seq_len])
        return out_i
    elif torch.jit.isinstance(input, List[List[str]]):
        out_s: List[List[str]] = []
        for ids in input:
            out_s.append(ids[:max_seq_len])
        return out_s
    else:
        raise TypeError("Input type not supported")


def add_token(input: Any, token_id: Any, begin: bool = True) -> Any:
    r"""Add token to start or end of sequence (torchtext.functional.add_token).

    .. properties:: TorchScript
    """
    if torch.jit.isinstance(input, List[int]) and torch.jit.isinstance(token_id, int):
        if begin:
            return [token_id] + input
        return input + [token_id]
    elif torch.jit.isinstance(input, List[str]) and torch.jit.isinstance(token_id, str):
        if begin:
            return [token_id] + input
        return input + [token_id]
    elif torch.jit.isinstance(input, List[List[int]]) and torch.jit.isinstance(token_id, int):
        out_i: List[List[int]] = []
        for ids in input:
            out_i.append([token_id] + ids if begin else ids + [token_id])
        return out_i
    elif torch.jit.isinstance(input, List[List[str]]) and torch.jit.isinstance(token_id, str):
        out_s: List[List[str]] = []
        for ids in input:
            out_s.append([token_id] + ids if begin else ids + [token_id])
        return out_s
    else:
        raise TypeError("Input type not supported")


def encode(
    tokenizer: BERTTokenizer,
    texts: List[str],
    max_length: Optional[int] = None,
    padding: Union[bool, str] = "longest",
    truncation: bool = False,
    add_special_tokens: bool = True,
    device: Optional[torch.device] = None,
) -> Tuple[Tensor, Tensor]:
    r"""BERT ``input_ids`` and ``attention_mask`` [B, L] for a batch, as HF ``encode_batch``
    (see :meth:`BERTTokenizer.encode`).

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """
    return tokenizer.encode(texts, max_length, padding, truncation, add_special_tokens, device)


def basic_english_to_ids(lines: List[str], vocab: Vocab, padding_value: int = 0) -> Tuple[Tensor, Tensor]:
    r"""``get_tokenizer('basic_english')`` then ``vocab`` on every line, fused in C++ and
    run over the batch in parallel: ids padded with ``padding_value`` [B, L] and lengths [B].
    An unknown token without a default index raises RuntimeError naming it, as Vocab does.
    In TorchScript use the module form, :class:`fastprep.text.transforms.BasicEnglishToIds`.

    .. devices:: CPU
    """
    ids, offsets = _text_ops.basic_english_lookup(lines, vocab.vocab)
    return _text_ops.ragged_to_padded(ids, offsets, padding_value)


def basic_english_lookup(lines: List[str], vocab: Vocab) -> Tuple[Tensor, Tensor]:
    r"""The ragged form of :func:`basic_english_to_ids`: flat ids of all lines and row offsets [B + 1]
    (row ``i`` is ``ids[offsets[i]:offsets[i + 1]]``), with no padding work.

    .. devices:: CPU
    """
    return _text_ops.basic_english_lookup(lines, vocab.vocab)
