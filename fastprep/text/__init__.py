"""Drop-in replacement for torchtext (vocab, tokenizers, transforms, functional)."""

from fastprep.text import functional, transforms
from fastprep.text.tokenizers import BERTTokenizer, get_tokenizer
from fastprep.text.vocab import Vocab, build_vocab_from_iterator, vocab

__all__ = [
    "Vocab",
    "vocab",
    "build_vocab_from_iterator",
    "get_tokenizer",
    "BERTTokenizer",
    "functional",
    "transforms",
]
