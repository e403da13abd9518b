"""Shared inputs and case tables for the audio tests (data, not logic)."""

import os

import numpy as np
import torch

DATA = os.path.join(os.path.dirname(__file__), "data", "speech_16k.npz")


def speech(dtype=torch.float32, device="cpu"):
    """3 s of real (synthesized, see tests/data/README.md) speech at 16 kHz, shape (1, 48000), in [-1, 1)."""
    with np.load(DATA) as z:
        x = torch.from_numpy(z["waveform"].astype(np.float64) / 32768.0)
    return x.to(dtype=dtype, device=device).unsqueeze(0)


def synthetic(batch=(2,), length=4000, dtype=torch.float32, device="cpu", seed=0):
    """Chirp + harmonics + noise: energy spread over the whole band."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length, dtype=torch.float64) / 16000.0
    chirp = torch.sin(2 * torch.pi * (100 + 3000 * t) * t)
    tones = sum(torch.sin(2 * torch.pi * f * t) / (i + 1) for i, f in enumerate((220.0, 1375.0, 5100.0)))
    base = 0.5 * chirp + 0.3 * tones
    noise = 0.1 * torch.randn(*batch, length, generator=g, dtype=torch.float64)
    return (base + noise).to(dtype=dtype, device=device)


def rel_err(ours, ref):
    ref = ref.to(ours.device)
    scale = ref.abs().max().clamp_min(1e-30)
    return ((ours.to(ref.dtype) - ref).abs().max() / scale).item()


# Tolerances per dtype: max |ours - ref| <= TOL * max |ref| (issue 3).
TOL = {torch.float32: 1e-4, torch.float64: 1e-10}

# Spectrogram argument grid: (n_fft, win_length, hop_length, power, normalized, center, pad_mode).
SPEC_CASES = [
    (400, None, None, 2.0, False, True, "reflect"),
    (400, 300, 160, 1.0, True, True, "constant"),
    (512, 512, 128, 2.0, "frame_length", True, "replicate"),
    (401, 256, 100, None, False, True, "circular"),
    (1024, None, 256, 2.0, "window", False, "reflect"),
    (2048, 1500, 512, 1.0, False, True, "reflect"),
    (4096, None, 1024, None, True, True, "reflect"),
    (97, 60, 33, 2.0, False, True, "reflect"),
    (64, 64, 1, 1.0, False, True, "reflect"),
    (30, 25, 45, 3.0, False, True, "reflect"),
    (1, 1, 1, 2.0, False, False, "reflect"),
    (2, None, 1, None, False, True, "constant"),
    # Prime factors above 13 take Bluestein on the CPU: a large prime, twice a prime, a small one.
    (4093, None, 1000, 2.0, False, True, "reflect"),
    (4078, 3000, 512, None, "window", True, "constant"),
    (34, None, 8, 1.0, False, True, "reflect"),
]

# Mel grid: (sample_rate, n_fft, win_length, hop_length, n_mels, f_min, f_max, norm, mel_scale, power, normalized,
#            center, pad_mode).
MEL_CASES = [
    (16000, 400, None, 160, 80, 0.0, None, None, "htk", 2.0, False, True, "reflect"),
    (16000, 400, None, 160, 128, 0.0, 8000.0, "slaney", "slaney", 2.0, False, True, "reflect"),
    (22050, 1024, None, 256, 80, 0.0, 8000.0, "slaney", "slaney", 1.0, False, True, "reflect"),
    (22050, 1024, 800, 200, 80, 40.0, 7600.0, None, "htk", 2.0, True, True, "constant"),
    (8000, 256, 200, 80, 40, 20.0, 3800.0, "slaney", "htk", 1.0, False, False, "reflect"),
    (24000, 2048, 1200, 300, 100, 50.0, 12000.0, None, "slaney", 2.0, "frame_length", True, "replicate"),
    (16000, 4096, None, 1000, 128, 0.0, None, "slaney", "htk", 2.0, False, True, "circular"),
    (16000, 321, 300, 111, 23, 300.0, 5000.0, None, "htk", 2.0, False, True, "reflect"),
]
