"""torchtext.vocab replacement: Vocab (an nn.Module around the C++ fastprep.Vocab),
vocab() and build_vocab_from_iterator()."""

from collections import Counter, OrderedDict
from typing import Dict, Iterable, List, Optional

import torch
import torch.nn as nn

import fastprep._extension  # noqa: F401  (loads the library that defines torch.classes.fastprep.Vocab)


class Vocab(nn.Module):
    r"""Creates a vocab object which maps tokens to indices.

    Mirrors ``torchtext.vocab.Vocab``: the C++ object is held as ``self.vocab``
    (``torch.classes.fastprep.Vocab``), so the module scripts, pickles,
    ``torch.save``\ s and survives ``torch.jit.save`` / ``torch.jit.load`` (also
    from C++). Its hash table is sized to the vocabulary.

    Args:
        vocab (torch.classes.fastprep.Vocab): a C++ vocab object.

    .. devices:: CPU
    .. properties:: TorchScript
    """

    __jit_unused_properties__ = ["is_jitable"]

    def __init__(self, vocab) -> None:
        super().__init__()
        self.vocab = vocab

    @property
    def is_jitable(self):
        return isinstance(self.vocab, torch._C.ScriptObject)

    @torch.jit.export
    def forward(self, tokens: List[str]) -> List[int]:
        r"""Calls the `lookup_indices` method."""
        return self.lookup_indices(tokens)

    @torch.jit.export
    def __len__(self) -> int:
        return self.vocab.__len__()

    @torch.jit.export
    def __contains__(self, token: str) -> bool:
        if not torch.jit.is_scripting():
            _check_token(token)
        return self.vocab.__contains__(token)

    @torch.jit.export
    def __getitem__(self, token: str) -> int:
        if not torch.jit.is_scripting():
            _check_token(token)
        return self.vocab.__getitem__(token)

    @torch.jit.export
    def set_default_index(self, index: Optional[int]) -> None:
        self.vocab.set_default_index(index)

    @torch.jit.export
    def get_default_index(self) -> Optional[int]:
        return self.vocab.get_default_index()

    @torch.jit.export
    def insert_token(self, token: str, index: int) -> None:
        self.vocab.insert_token(token, index)

    @torch.jit.export
    def append_token(self, token: str) -> None:
        self.vocab.append_token(token)

    @torch.jit.export
    def lookup_token(self, index: int) -> str:
        return self.vocab.lookup_token(index)

    @torch.jit.export
    def lookup_tokens(self, indices: List[int]) -> List[str]:
        return self.vocab.lookup_tokens(indices)

    @torch.jit.export
    def lookup_indices(self, tokens: List[str]) -> List[int]:
        if not torch.jit.is_scripting():
            _check_token_list(tokens)
        return self.vocab.lookup_indices(tokens)

    @torch.jit.export
    def get_stoi(self) -> Dict[str, int]:
        return self.vocab.get_stoi()

    @torch.jit.export
    def get_itos(self) -> List[str]:
        return self.vocab.get_itos()


@torch.jit.unused
def _check_token(token) -> None:
    # torchtext's binding takes a str; torch's would raise a RuntimeError naming a schema for anything else.
    if not isinstance(token, str):
        raise TypeError(f"a Vocab token must be a str, got {type(token).__name__}")


@torch.jit.unused
def _check_token_list(tokens) -> None:
    # Eager torch would take a str as the list of its characters; torchtext's binding refuses it.
    if isinstance(tokens, str):
        raise TypeError(f"lookup_indices expects a list of str tokens, got a str: {tokens[:40]!r}")


def _make(tokens: List[str], default_index: Optional[int] = None) -> Vocab:
    for t in tokens:
        if not isinstance(t, str):
            raise TypeError(f"Vocab tokens must be str, got {type(t).__name__}: {t!r}")
    return Vocab(torch.classes.fastprep.Vocab(tokens, default_index))


def vocab(
    ordered_dict: Dict, min_freq: int = 1, specials: Optional[List[str]] = None, special_first: bool = True
) -> Vocab:
    r"""Factory method for creating a vocab object which maps tokens to indices (torchtext.vocab.vocab).

    Tokens keep the insertion order of ``ordered_dict``; those with frequency
    below ``min_freq`` are dropped; ``specials`` are added first (or last).
    """
    specials = specials or []
    ordered_dict = OrderedDict(ordered_dict)
    for token in specials:
        ordered_dict.pop(token, None)
    tokens = [token for token, freq in ordered_dict.items() if freq >= min_freq]
    if special_first:
        tokens[0:0] = specials
    else:
        tokens.extend(specials)
    return _make(tokens)


def build_vocab_from_iterator(
    iterator: Iterable,
    min_freq: int = 1,
    specials: Optional[List[str]] = None,
    special_first: bool = True,
    max_tokens: Optional[int] = None,
) -> Vocab:
    r"""Build a Vocab from an iterator of token lists (torchtext.vocab.build_vocab_from_iterator).

    Tokens are ordered by descending frequency, ties broken by the token itself.
    """
    counter = Counter()
    for tokens in iterator:
        counter.update(tokens)
    specials = specials or []
    ordered = sorted(counter.items(), key=lambda x: (-x[1], x[0]))
    if max_tokens is not None:
        assert len(specials) < max_tokens, "len(specials) >= max_tokens, so the vocab will be entirely special tokens."
        ordered = ordered[: max_tokens - len(specials)]
    return vocab(OrderedDict(ordered), min_freq=min_freq, specials=specials, special_first=special_first)


def load_vocab_file(path: str) -> List[str]:
    """Tokens of a BERT-style vocab.txt: one per line, the line number is the id."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise FileNotFoundError(f"cannot read vocab file {path!r}: {e}") from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"vocab file {path!r} is not valid UTF-8: {e}") from e
    tokens = text.split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    tokens = [t.rstrip() for t in tokens]  # HF WordPiece.read_file trims the line end
    if not tokens:
        raise ValueError(f"vocab file {path!r} is empty")
    return tokens
