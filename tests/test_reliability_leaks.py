"""No leaks: resident memory (/proc/self/statm) stays flat across 10,000 calls of each op.

Tolerance: after a warm-up of WARMUP calls (allocator pools, lazily built tables), 10,000 more calls
may grow RSS by at most TOL_MB. Inputs are sized so that leaking one output, one input copy or one
intermediate buffer per call (>= 2 KB) would exceed it several times over. Error paths count too: a
check that throws after allocating must not leak.
"""

import gc
import os

import pytest
import torch

import fastprep.audio as FA
import fastprep.transforms.functional as FF
from fastprep._ops import text as text_ops
from fastprep._ops import vision as vision_ops
from fastprep.text import BERTTokenizer, get_tokenizer, vocab as make_vocab
from fastprep.text import _corpus
from reliability_utils import rss_bytes

CALLS = 10_000
WARMUP = 500
TOL_MB = 12

pytestmark = pytest.mark.skipif(
    os.environ.get("FASTPREP_SANITIZED") == "1", reason="ASan's quarantine holds freed memory: RSS is meaningless")

_IMG = torch.randint(0, 256, (3, 24, 40), dtype=torch.uint8)
_IMGF = _IMG.float()
_WAVE = torch.randn(2, 800)


def _vocab():
    return make_vocab({f"tok{i}": 1 for i in range(500)})


_V = _vocab()
_LINES = ["The quick brown fox jumps over the lazy dog, naïve café 日本語 😀 unaffable!"] * 4


def _bert():
    path = _corpus.bert_vocab_path()
    return BERTTokenizer(path) if path else None


_TOK = _bert()
_BASIC = get_tokenizer("basic_english")


def _raises(fn):
    def call():
        try:
            fn()
        except (RuntimeError, ValueError, TypeError, IndexError, NotImplementedError):
            return
        raise AssertionError("expected an error")

    return call


OPS = {
    "normalize": lambda: FF.normalize(_IMGF, [1.0, 2.0, 3.0], [2.0, 2.0, 2.0]),
    "crop_outside": lambda: FF.crop(_IMG, -4, -4, 30, 50),
    "horizontal_flip": lambda: FF.horizontal_flip(_IMG),
    "vertical_flip": lambda: FF.vertical_flip(_IMG),
    "to_dtype_scale": lambda: FF.to_dtype(_IMG, torch.float32, scale=True),
    "crop_mirror_normalize": lambda: FF.crop_mirror_normalize(
        _IMG, -2, 3, 20, 20, True, True, [0.5, 0.5, 0.5], [0.2, 0.2, 0.2], channels_last=True),
    "crop_mirror_normalize_batched": lambda: vision_ops.crop_mirror_normalize_batched(
        _IMG.expand(2, 3, 24, 40), torch.tensor([[0, 0, 16, 16], [-1, 5, 16, 16]]),
        torch.tensor([[True, False], [False, True]]), 16, 16),
    "spectrogram": lambda: FA.functional.spectrogram(
        _WAVE, 0, torch.hann_window(256), 256, 64, 256, 2.0, False),
    "spectrogram_complex": lambda: FA.functional.spectrogram(
        _WAVE, 0, torch.hann_window(256), 256, 64, 256, None, False),
    "mel_spectrogram": (lambda m: lambda: m(_WAVE))(FA.MelSpectrogram(n_fft=256, hop_length=64, n_mels=32)),
    "amplitude_to_db": (lambda m: lambda: m(_WAVE.abs()))(FA.AmplitudeToDB(top_db=80.0)),
    "mel_spectrogram_backward": (lambda m: lambda: m(_WAVE.clone().requires_grad_()).sum().backward())(
        FA.MelSpectrogram(n_fft=256, hop_length=64, n_mels=32)),
    "vocab_lookup": lambda: _V.lookup_indices([f"tok{i}" for i in range(0, 500, 25)]),
    "vocab_lookup_tokens": lambda: _V.lookup_tokens(list(range(0, 500, 25))),
    "vocab_build": lambda: _vocab(),
    "vocab_pickle_roundtrip": (lambda: __import__("pickle").loads(__import__("pickle").dumps(_V))),
    "basic_english": lambda: _BASIC(_LINES[0] * 4),
    "bert_tokenize": lambda: _TOK(_LINES) if _TOK else None,
    "bert_encode": lambda: _TOK.encode(_LINES, max_length=32, truncation=True, padding="max_length") if _TOK else None,
    "pack_strings": lambda: text_ops.pack_strings(_LINES),
    # Error paths: the op allocates, then a check throws.
    "error_vocab_unknown": _raises(lambda: _V["<missing>"]),
    "error_vocab_bad_index": _raises(lambda: _V.lookup_token(10**6)),
    "error_normalize_bad_mean": _raises(lambda: vision_ops.normalize(_IMGF, [1.0, 2.0], [1.0, 1.0])),
    "error_crop_rank": _raises(lambda: vision_ops.crop(torch.zeros(5), 0, 0, 2, 2)),
    "error_spectrogram_hop": _raises(lambda: FA.functional.spectrogram(
        _WAVE, 0, torch.hann_window(256), 256, 0, 256, 2.0, False)),
    "error_bert_offsets": _raises(lambda: text_ops.bert_tokenize(
        torch.zeros(10, dtype=torch.uint8), torch.tensor([0, 99]), *_TOK._table(torch.device("cpu")),
        [], True, True, 100) if _TOK else (_ for _ in ()).throw(RuntimeError())),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_rss_flat_over_10000_calls(name):
    fn = OPS[name]
    with torch.no_grad() if "backward" not in name else torch.enable_grad():
        for _ in range(WARMUP):
            fn()
        gc.collect()
        before = rss_bytes()
        for _ in range(CALLS):
            fn()
        gc.collect()
        grown = (rss_bytes() - before) / 2**20
    assert grown < TOL_MB, f"{name}: RSS grew {grown:.1f} MB over {CALLS} calls (tolerance {TOL_MB} MB)"
