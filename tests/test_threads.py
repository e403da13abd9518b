"""The CPU kernels run on torch's intra-op threads, and their results do not depend on how many."""

import pytest
import torch
import torchaudio
from torchvision.transforms.v2 import functional as TF

import fastprep
import fastprep.audio as FA
from fastprep.transforms import functional as F


@pytest.fixture
def threads():
    prev = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(prev)


def test_built_with_torchs_parallel_backend():
    # at::parallel_for is an inline OpenMP region in an OpenMP torch: a build without
    # -fopenmp compiles it to a serial loop, silently.
    if torch.backends.openmp.is_available():
        assert "parallel openmp" in fastprep.build_info()


@pytest.mark.parametrize("n", [1, 2, 3])
def test_vision_batch_same_at_any_thread_count(threads, n):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (5, 3, 37, 41), dtype=torch.uint8, generator=g)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    threads(n)
    ours = F.crop_mirror_normalize(x, 2, 3, 31, 29, flip_horizontal=True, mean=mean, std=std)
    ref = TF.normalize(TF.to_dtype(TF.horizontal_flip(TF.crop(x, 2, 3, 31, 29)), torch.float32, scale=True), mean, std)
    assert torch.equal(ours, ref)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_audio_mel_same_at_any_thread_count(threads, n):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 16000, generator=g)
    threads(1)
    single = FA.MelSpectrogram(16000, n_fft=400, hop_length=160, n_mels=80)(x)
    threads(n)
    ours = FA.MelSpectrogram(16000, n_fft=400, hop_length=160, n_mels=80)(x)
    ref = torchaudio.transforms.MelSpectrogram(16000, n_fft=400, hop_length=160, n_mels=80)(x)
    assert torch.equal(ours, single)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-4 * ref.abs().max().item())
