"""Drop-in replacement for torchtext (vocab, tokenizers, transforms, functional)."""
