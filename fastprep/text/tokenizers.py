"""torchtext's tokenizers: get_tokenizer('basic_english' | None | 'split') and
BERTTokenizer with Hugging Face BERT WordPiece semantics, plus batch encoding
straight to padded id / mask tensors on the CPU or the GPU."""

from typing import Any, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor

from fastprep._ops import text as _text_ops
from fastprep.text.vocab import _make, load_vocab_file

_ops = torch.ops.fastprep


def _is_ascii_space(c: str) -> bool:
    # By code (a "\v" literal would not survive TorchScript's serialized source).
    o = ord(c)
    return o == 32 or (o >= 9 and o <= 13)


def _split_tokenizer(x: str) -> List[str]:
    return x.split()


def _basic_english_normalize(line: str) -> List[str]:
    r"""torchtext's basic_english: lowercase, then its regex list
    (' -> " ' ", " -> "", . , ( ) ! ? isolated, "<br />" ; : -> space), then split()."""
    if not torch.jit.is_scripting():
        _check_line(line)
    return _ops.basic_english(line)


@torch.jit.unused
def _check_line(line) -> None:
    # torchtext's str regexes refuse bytes; eager torch would decode them silently.
    if not isinstance(line, str):
        raise TypeError(f"basic_english takes a str, got {type(line).__name__}")


def get_tokenizer(tokenizer, language: str = "en"):
    r"""Generate tokenizer function for a string sentence (torchtext.data.utils.get_tokenizer).

    Args:
        tokenizer: None or "split" (str.split), "basic_english" (C++), or a callable (returned as is).
        language: only "en" is supported by basic_english.

    .. devices:: CPU
    .. properties:: TorchScript (the returned functions script)
    """
    if tokenizer is None or tokenizer == "split":
        return _split_tokenizer
    if callable(tokenizer):
        return tokenizer
    if tokenizer == "basic_english":
        if language != "en":
            raise ValueError("Basic normalization is only available for Enlish(en)")
        return _basic_english_normalize
    raise ValueError(
        f"Unsupported tokenizer {tokenizer!r}: fastprep provides None/'split' and 'basic_english' "
        "(spacy, moses, toktok, revtok and subword are not bundled)"
    )


def _check_texts(texts) -> None:
    # TorchScript types List[str] itself; eager torch would turn bytes into str silently, where HF raises.
    if not isinstance(texts, (list, tuple)):
        raise TypeError(f"texts must be a list of str, got {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts must be a list of str, got {type(t).__name__} at index {i}")


def _padding_code(padding: Union[bool, str], max_length: Optional[int]) -> int:
    """-1 longest, -2 none, >= 0 fixed width (transformers' padding argument)."""
    if isinstance(padding, bool):
        return -1 if padding else -2
    if padding == "longest":
        return -1
    if padding == "do_not_pad":
        return -2
    if padding == "max_length":
        if max_length is None:
            raise ValueError("padding='max_length' needs max_length")
        return max_length
    raise ValueError("padding must be True, False, 'longest', 'max_length' or 'do_not_pad', got '" + padding + "'")


class BERTTokenizer(nn.Module):
    r"""BERT tokenizer (torchtext.transforms.BERTTokenizer's interface) with
    Hugging Face BERT WordPiece semantics (``BertWordPieceTokenizer``).

    Normalization: control characters removed, whitespace split, CJK ideographs
    isolated, accents stripped through NFD when ``strip_accents`` (default: as
    ``do_lower_case``), lowercase; punctuation split; WordPiece longest match
    first with ``##`` pieces; ``[UNK]`` for unmatched words and words over 100
    characters. [UNK], [SEP], [CLS], [PAD] and [MASK] written in the text are
    kept whole, as HF's special tokens. Unlike torchtext, ``strip_accents=False`` keeps accents (as HF).

    Args:
        vocab_path: a vocab.txt (one token per line; the line number is the id).
        do_lower_case: lowercase the text.
        strip_accents: strip accents; None follows do_lower_case.
        return_tokens: forward returns word pieces instead of ids (as strings, like torchtext).
        never_split: words passed through whole where ASCII whitespace (or the text's start/end) delimits them:
            not lowercased nor split, looked up as is ([UNK] when absent); in forward() and encode() alike.

    ``encode(texts, max_length, padding, truncation, add_special_tokens, device)``
    returns ``input_ids`` [B, L] int64 and ``attention_mask``, as HF ``encode_batch``.

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """

    __jit_unused_properties__ = ["is_jitable"]
    _never_split: List[str]
    _special_ids: List[int]
    _cpu_table: List[Tensor]

    def __init__(
        self,
        vocab_path: str,
        do_lower_case: bool = True,
        strip_accents: Optional[bool] = None,
        return_tokens=False,
        never_split: Optional[List[str]] = None,
    ) -> None:
        super().__init__()
        if never_split is None:
            never_split = []
        tokens = load_vocab_file(vocab_path)
        self.vocab = _make(tokens).vocab
        self._return_tokens: bool = bool(return_tokens)
        self._vocab_path = vocab_path
        self._do_lower_case: bool = do_lower_case
        self._strip_accents: Optional[bool] = strip_accents
        self._strip: bool = do_lower_case if strip_accents is None else bool(strip_accents)
        self._never_split: List[str] = list(never_split)
        self._unk_id: int = self._required_id("[UNK]")
        self._cls_id: int = self.vocab.__getitem__("[CLS]") if "[CLS]" in tokens else -1
        self._sep_id: int = self.vocab.__getitem__("[SEP]") if "[SEP]" in tokens else -1
        self._pad_id: int = self.vocab.__getitem__("[PAD]") if "[PAD]" in tokens else 0
        # HF's BertWordPieceTokenizer registers these as special tokens: matched whole in the raw text.
        self._special_ids: List[int] = [
            self.vocab.__getitem__(t) for t in ("[UNK]", "[SEP]", "[CLS]", "[PAD]", "[MASK]") if t in tokens
        ]
        # Batches smaller than this run on the CPU even when device is CUDA: the GPU pays only at scale.
        self.gpu_min_batch: int = 2048
        # Held as plain tensors so torch.compile/export trace the CPU path without calling into the
        # TorchBind object (a method call on it would need a fake class simulating its hash table).
        self._cpu_table = self.vocab._table(torch.device("cpu"))

    def _required_id(self, token: str) -> int:
        if not self.vocab.__contains__(token):
            raise ValueError(f"vocab file {self._vocab_path!r} has no {token} token")
        return self.vocab.__getitem__(token)

    @property
    def is_jitable(self):
        return True

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(vocab_path={self._vocab_path!r}, do_lower_case={self._do_lower_case}, "
            f"strip_accents={self._strip_accents}, return_tokens={self._return_tokens})"
        )

    def _table(self, device: torch.device) -> List[Tensor]:
        if device.type == "cpu":
            return self._cpu_table
        return self.vocab._table(device)

    def _ragged_ids(self, texts: List[str]) -> Tuple[Tensor, Tensor]:
        data, offsets = _text_ops.pack_strings(texts)
        table = self._table(torch.device("cpu"))
        return _ops.bert_tokenize(
            data, offsets, table[0], table[1], table[2], self._special_ids, self._do_lower_case, self._strip,
            self._unk_id,
        )

    def _batch_ids(self, texts: List[str]) -> List[List[int]]:
        if len(self._never_split) == 0:
            ids, offsets = self._ragged_ids(texts)
            flat: List[int] = ids.tolist()
            ends: List[int] = offsets.tolist()
            return [flat[ends[i] : ends[i + 1]] for i in range(len(texts))]
        out: List[List[int]] = []
        for text in texts:
            out.append(self._ids_never_split(text))
        return out

    def _next_never_split(self, text: str, pos: int) -> Tuple[int, int]:
        # Leftmost never_split word at pos or later, delimited by ASCII whitespace or the text's ends: (start, end)
        # or (-1, -1). ASCII only, because TorchScript indexes strings by UTF-8 byte (never inside a multi-byte
        # character for an ASCII byte) where Python indexes by code point; both then split the same way.
        best = -1
        best_end = -1
        n = len(text)
        for w in self._never_split:
            if len(w) == 0:
                continue
            j = text.find(w, pos)
            while j >= 0 and (best < 0 or j < best):
                e = j + len(w)
                if (j == 0 or _is_ascii_space(text[j - 1])) and (e == n or _is_ascii_space(text[e])):
                    best = j
                    best_end = e
                    break
                j = text.find(w, j + 1)
        return best, best_end

    def _ids_never_split(self, text: str) -> List[int]:
        # never_split words are looked up whole ([UNK] when absent); the text between them is tokenized as is.
        row: List[int] = []
        pos = 0
        while True:
            start, end = self._next_never_split(text, pos)
            if start < 0:
                break
            if start > pos:
                row.extend(self._batch_ids_plain([text[pos:start]])[0])
            word = text[start:end]
            row.append(self.vocab.__getitem__(word) if self.vocab.__contains__(word) else self._unk_id)
            pos = end
        if pos < len(text):
            row.extend(self._batch_ids_plain([text[pos:]])[0])
        return row

    def _batch_ids_plain(self, texts: List[str]) -> List[List[int]]:
        ids, offsets = self._ragged_ids(texts)
        flat: List[int] = ids.tolist()
        ends: List[int] = offsets.tolist()
        return [flat[ends[i] : ends[i + 1]] for i in range(len(texts))]

    @torch.jit.export
    def _batch_encode(self, text: List[str]) -> List[List[str]]:
        return [[str(i) for i in row] for row in self._batch_ids(text)]

    @torch.jit.export
    def _batch_tokenize(self, text: List[str]) -> List[List[str]]:
        return [self.vocab.lookup_tokens(row) for row in self._batch_ids(text)]

    @torch.jit.export
    def _encode(self, text: str) -> List[str]:
        return self._batch_encode([text])[0]

    @torch.jit.export
    def _tokenize(self, text: str) -> List[str]:
        return self._batch_tokenize([text])[0]

    def forward(self, input: Any) -> Any:
        """Word pieces (return_tokens=True) or their ids as strings, for a str or a List[str] (as torchtext)."""
        if torch.jit.isinstance(input, List[str]):
            if self._return_tokens:
                return self._batch_tokenize(input)
            return self._batch_encode(input)
        elif torch.jit.isinstance(input, str):
            if self._return_tokens:
                return self._tokenize(input)
            return self._encode(input)
        else:
            raise TypeError("Input type not supported")

    def _encode_rows(
        self, rows: List[List[int]], trunc_len: int, pad_to: int, add_special_tokens: bool
    ) -> Tuple[Tensor, Tensor]:
        # The never_split path: rows come from forward()'s tokenization; same truncation and padding as bert_encode.
        extra = 2 if add_special_tokens else 0
        budget = -1
        if trunc_len >= 0:
            if trunc_len < extra:
                raise ValueError(
                    "max_length=" + str(trunc_len) + " leaves no room for the " + str(extra) + " special tokens"
                )
            budget = trunc_len - extra
        full: List[List[int]] = []
        for row in rows:
            r = row if budget < 0 else row[:budget]
            full.append([self._cls_id] + r + [self._sep_id] if add_special_tokens else r)
        lengths = [len(r) for r in full]
        longest = max(lengths) if len(lengths) > 0 else 0
        if pad_to == -2 and len(lengths) > 0 and min(lengths) != longest:
            raise ValueError(
                "Unable to create tensor: without padding the rows must have equal lengths, got lengths from "
                + str(min(lengths)) + " to " + str(longest) + "; use padding='longest' or 'max_length' (and truncation=True)"
            )
        width = max(longest, pad_to) if pad_to >= 0 else longest
        ids = torch.full((len(full), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(full), width), dtype=torch.long)
        for i, r in enumerate(full):
            if len(r) > 0:
                ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
                mask[i, : len(r)] = 1
        return ids, mask

    @torch.jit.export
    def encode(
        self,
        texts: List[str],
        max_length: Optional[int] = None,
        padding: Union[bool, str] = "longest",
        truncation: bool = False,
        add_special_tokens: bool = True,
        device: Optional[torch.device] = None,
    ) -> Tuple[Tensor, Tensor]:
        r"""``input_ids`` [B, L] int64 and ``attention_mask`` [B, L] int64, as HF ``encode_batch``.

        Args:
            max_length: truncation length (with ``truncation``) and ``padding='max_length'`` width; counts
                [CLS]/[SEP]. ``truncation=True`` without it uses 512 (BERT's limit, transformers' default).
            padding: True/'longest', 'max_length', or False/'do_not_pad' (rows must then agree in length).
            truncation: cut each row to ``max_length``.
            add_special_tokens: wrap each row in [CLS] ... [SEP].
            device: where the tensors go. CUDA batches of at least ``gpu_min_batch`` lines are
                tokenized by the CUDA kernel (one packed H2D copy); smaller ones on the CPU.
        """
        if not torch.jit.is_scripting():
            _check_texts(texts)
        if max_length is not None and max_length < 0:
            raise ValueError("max_length must be >= 0, got " + str(max_length))
        if add_special_tokens and (self._cls_id < 0 or self._sep_id < 0):
            raise ValueError("add_special_tokens=True needs [CLS] and [SEP] in the vocab")
        trunc_len = -1
        if truncation:
            trunc_len = max_length if max_length is not None else 512
        pad_to = _padding_code(padding, max_length)
        dev = torch.device("cpu") if device is None else device
        if len(self._never_split) > 0:
            ids, mask = self._encode_rows(self._batch_ids(texts), trunc_len, pad_to, add_special_tokens)
            return ids.to(dev), mask.to(dev)
        data, offsets = _text_ops.pack_strings(texts)
        run_on = torch.device("cpu")
        if dev.type == "cuda" and len(texts) >= self.gpu_min_batch:
            run_on = dev
            data = data.to(dev, non_blocking=True)
            offsets = offsets.to(dev, non_blocking=True)
        table = self._table(run_on)
        ids, mask = _ops.bert_encode(
            data, offsets, table[0], table[1], table[2], self._special_ids, self._do_lower_case, self._strip,
            self._unk_id, self._cls_id, self._sep_id, self._pad_id, trunc_len, pad_to, add_special_tokens,
        )
        return ids.to(dev), mask.to(dev)
