"""torchtext.transforms replacements: VocabTransform, Truncate, AddToken, ToTensor,
BERTTokenizer, and BERTEncode (batch straight to padded tensors)."""

from typing import Any, List, Optional, Tuple, Union

import torch
from torch import Tensor
from torch.nn import Module

from fastprep._ops import text as _text_ops
from fastprep.text import functional as F
from fastprep.text.tokenizers import BERTTokenizer
from fastprep.text.vocab import Vocab

__all__ = ["VocabTransform", "Truncate", "AddToken", "ToTensor", "Sequential", "BERTTokenizer", "BERTEncode", "BasicEnglishToIds"]


class VocabTransform(Module):
    r"""Vocab transform to convert input batch of tokens into corresponding token ids.

    .. properties:: TorchScript
    """

    def __init__(self, vocab: Vocab) -> None:
        super().__init__()
        assert isinstance(vocab, Vocab)
        self.vocab = vocab

    def forward(self, input: Any) -> Any:
        if not torch.jit.is_scripting():
            return self._forward_eager(input)
        if torch.jit.isinstance(input, List[str]):
            return self.vocab.lookup_indices(input)
        elif torch.jit.isinstance(input, List[List[str]]):
            output: List[List[int]] = []
            for tokens in input:
                output.append(self.vocab.lookup_indices(tokens))
            return output
        else:
            raise TypeError("Input type not supported")


    @torch.jit.unused
    def _forward_eager(self, input: Any) -> Any:
        # torch.jit.isinstance stops Dynamo; plain checks let torch.compile trace the Vocab's (fake) lookups.
        kind = F._list_kind(input)
        if kind == "str" or (kind == "int" and len(input) == 0):
            return self.vocab.lookup_indices(list(input))
        if kind == "str2" or kind == "int2":
            if kind == "int2" and any(len(x) > 0 for x in input):
                raise TypeError("Input type not supported")
            return [self.vocab.lookup_indices(list(tokens)) for tokens in input]
        raise TypeError("Input type not supported")


class ToTensor(Module):
    r"""Convert input to torch tensor.

    Args:
        padding_value: Pad value to make each input in the batch of length equal to the longest sequence.
        dtype: torch.dtype of output tensor.

    .. properties:: TorchScript
    """

    def __init__(self, padding_value: Optional[int] = None, dtype: torch.dtype = torch.long) -> None:
        super().__init__()
        self.padding_value = padding_value
        self.dtype = dtype

    def forward(self, input: Any) -> Tensor:
        return F.to_tensor(input, padding_value=self.padding_value, dtype=self.dtype)


class Truncate(Module):
    r"""Truncate input sequence.

    .. properties:: TorchScript
    """

    def __init__(self, max_seq_len: int) -> None:
        super().__init__()
        self.max_seq_len = max_seq_len

    def forward(self, input: Any) -> Any:
        return F.truncate(input, self.max_seq_len)


class AddToken(Module):
    r"""Add token to beginning or end of sequence.

    .. properties:: TorchScript
    """

    def __init__(self, token: Union[int, str], begin: bool = True) -> None:
        super().__init__()
        self.token = token
        self.begin = begin

    def forward(self, input: Any) -> Any:
        return F.add_token(input, self.token, self.begin)


class BERTEncode(Module):
    r"""Texts to BERT ``input_ids`` and ``attention_mask`` [B, L] int64 in one call, as HF
    ``encode_batch`` with the same options (see :meth:`BERTTokenizer.encode`).

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """

    def __init__(
        self,
        tokenizer: BERTTokenizer,
        max_length: Optional[int] = None,
        padding: Union[bool, str] = "longest",
        truncation: bool = False,
        add_special_tokens: bool = True,
        device: Optional[torch.device] = None,
    ) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.padding = padding
        self.truncation = truncation
        self.add_special_tokens = add_special_tokens
        self.device = device

    def forward(self, texts: List[str]) -> Tuple[Tensor, Tensor]:
        return self.tokenizer.encode(
            texts, self.max_length, self.padding, self.truncation, self.add_special_tokens, self.device
        )


class Sequential(torch.nn.Sequential):
    r"""A container to host a sequence of text transforms (torchtext.transforms.Sequential):
    unlike nn.Sequential it scripts with non-tensor inputs.

    .. properties:: TorchScript
    """

    def forward(self, input: Any) -> Any:
        for module in self:
            input = module(input)
        return input


class BasicEnglishToIds(Module):
    r"""``get_tokenizer('basic_english')`` + ``VocabTransform`` + ``ToTensor(padding_value)`` fused:
    a batch of lines to padded ids [B, L] and lengths [B], in C++, lines in parallel.

    .. devices:: CPU
    .. properties:: TorchScript
    """

    def __init__(self, vocab: Vocab, padding_value: int = 0) -> None:
        super().__init__()
        self.vocab = vocab
        self.padding_value = padding_value

    def forward(self, lines: List[str]) -> Tuple[Tensor, Tensor]:
        if torch.jit.is_scripting():
            ids, offsets = torch.ops.fastprep.basic_english_lookup(lines, self.vocab.vocab)
        else:
            ids, offsets = _text_ops._basic_english_lookup_eager(lines, self.vocab.vocab)
        lengths = offsets[1:] - offsets[:-1]
        width = int(lengths.max()) if lengths.numel() > 0 else 0
        out = torch.full((lengths.numel(), width), self.padding_value, dtype=torch.long)
        mask = torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)
        out[mask] = ids
        return out, lengths
