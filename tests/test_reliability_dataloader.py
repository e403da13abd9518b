"""fastprep inside torch.utils.data.DataLoader with num_workers=2, under the fork and spawn start
methods: the batches equal the single-process ones, and random transforms draw the same numbers as
torchvision's in each worker (the DataLoader seeds every worker the same way for both)."""

import multiprocessing

import pytest
import torch
from torch.utils.data import DataLoader

from reliability_datasets import AudioDataset, TextDataset, VisionDataset

METHODS = [m for m in ("fork", "spawn") if m in multiprocessing.get_all_start_methods()]
# A worker that deadlocks or dies must fail the test, not hang CI.
TIMEOUT_S = 120


def _batches(ds, workers, method=None, seed=0, batch_size=4):
    loader = DataLoader(
        ds, batch_size=batch_size, num_workers=workers, shuffle=True,
        generator=torch.Generator().manual_seed(seed),
        multiprocessing_context=method if workers else None,
        timeout=TIMEOUT_S if workers else 0,
    )
    return list(loader)


def _assert_batches_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, (list, tuple)):
            _assert_batches_equal(x, y)
        else:
            assert x.shape == y.shape and x.dtype == y.dtype
            assert torch.equal(x, y)


@pytest.fixture(scope="module")
def text_dataset():
    from fastprep.text import _corpus

    path = _corpus.bert_vocab_path()
    if path is None:
        pytest.skip("bert-base-uncased vocab.txt not found")
    return TextDataset(_corpus.english_lines()[:40] + _corpus.multilingual_lines(24), path)


@pytest.mark.parametrize("method", METHODS)
def test_vision_in_workers_matches_main_process(method):
    ds = VisionDataset(n=16)
    _assert_batches_equal(_batches(ds, 2, method), _batches(ds, 0))


@pytest.mark.parametrize("method", METHODS)
def test_audio_in_workers_matches_main_process(method):
    ds = AudioDataset(n=12)
    _assert_batches_equal(_batches(ds, 2, method), _batches(ds, 0))


@pytest.mark.parametrize("method", METHODS)
def test_text_in_workers_matches_main_process(method, text_dataset):
    _assert_batches_equal(_batches(text_dataset, 2, method, batch_size=8), _batches(text_dataset, 0, batch_size=8))


def test_random_transforms_in_workers_draw_like_torchvision():
    # Same DataLoader seed: each worker's torch generator is seeded identically for both libraries.
    ours = _batches(VisionDataset(n=16, lib="fastprep", random=True), 2, "fork", seed=7)
    ref = _batches(VisionDataset(n=16, lib="torchvision", random=True), 2, "fork", seed=7)
    _assert_batches_equal(ours, ref)


def test_fork_after_parallel_work_in_parent():
    # The parent runs multi-threaded kernels first (intra-op pool started), then forks workers.
    import fastprep.audio as FA

    FA.MelSpectrogram()(torch.randn(8, 160000))
    ds = AudioDataset(n=8)
    _assert_batches_equal(_batches(ds, 2, "fork"), _batches(ds, 0))
