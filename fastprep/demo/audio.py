"""Demo of the audio pipeline (see fastprep.demo): Whisper log-mel and a TTS mel spectrogram on a
batch, parity with torchaudio (the reference library) and speed."""

import torch

from fastprep.demo import bench


def _whisper_reference(audio, fb, window):
    # Whisper's recipe with torch.stft + torchaudio's filterbank (the reference math).
    stft = torch.stft(audio, 400, 160, window=window, return_complex=True)
    mel = (fb.T @ stft[..., :-1].abs() ** 2).clamp(min=1e-10).log10()
    mel = torch.maximum(mel, mel.amax(dim=(-2, -1), keepdim=True) - 8.0)
    return (mel + 4.0) / 4.0


def run():
    import torchaudio.functional as TAF
    import torchaudio.transforms as TAT

    import fastprep.audio as FA

    device = "cuda" if torch.cuda.is_available() and __import__("fastprep").has_cuda_kernels() else "cpu"
    rows = []
    g = torch.Generator().manual_seed(0)

    x = torch.randn(4, 16000 * 10, generator=g).to(device)
    ours = FA.LogMelSpectrogram(n_mels=80).to(device)
    fb = TAF.melscale_fbanks(201, 0.0, 8000.0, 80, 16000, "slaney", "slaney").to(device)
    window = torch.hann_window(400, device=device)
    ref = lambda: _whisper_reference(x, fb, window)  # noqa: E731
    err = ((ours(x) - ref()).abs().max() / ref().abs().max()).item()
    rows.append(dict(
        pipeline=f"Whisper log-mel 80, 4x10 s ({device})", reference="stft+torchaudio fb",
        parity=f"max rel err {err:.1e}", ok=err <= 1e-4, ours_ms=bench(lambda: ours(x)), ref_ms=bench(ref),
    ))

    x = torch.randn(4, 22050 * 5, generator=g).to(device)
    kw = dict(sample_rate=22050, n_fft=1024, hop_length=256, n_mels=80, f_max=8000.0)
    ours, ta = FA.MelSpectrogram(**kw).to(device), TAT.MelSpectrogram(**kw).to(device)
    err = ((ours(x) - ta(x)).abs().max() / ta(x).abs().max()).item()
    rows.append(dict(
        pipeline=f"MelSpectrogram TTS 1024/256/80, 4x5 s ({device})", reference="torchaudio",
        parity=f"max rel err {err:.1e}", ok=err <= 1e-4, ours_ms=bench(lambda: ours(x)), ref_ms=bench(lambda: ta(x)),
    ))
    return rows
