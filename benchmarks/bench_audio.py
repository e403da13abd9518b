"""Audio benchmark: fastprep's fused mel spectrogram vs torchaudio (and librosa on CPU when
installed), same inputs, calls interleaved (torchaudio, ours, torchaudio, ...) and medians taken,
ratios printed; then Whisper's log-mel front end (LogMelSpectrogram vs openai-whisper's torch.stft recipe);
then forward + backward to the waveform (a mel loss) for the Whisper and TTS configs;
JSON in benchmarks/results/audio-<device>.json (with the load average seen).

usage: python benchmarks/bench_audio.py [--device cpu|cuda]   (or benchmarks/run.py --only audio)
"""

import argparse
import os
import statistics
import sys
import time

import torch
import torch.utils.benchmark as tbench

HERE = os.path.dirname(os.path.abspath(__file__))
# An installed fastprep (pip, or PYTHONPATH on a GPU machine) first; else this checkout's in-place build.
sys.path.append(os.path.dirname(HERE))

import torchaudio.functional as TAF  # noqa: E402
import torchaudio.transforms as TAT  # noqa: E402

import _results  # noqa: E402

import fastprep  # noqa: E402
import fastprep.audio as FA  # noqa: E402

# (name, sample_rate, n_fft, hop, n_mels, f_max, seconds, batch on cpu, batch on cuda)
CONFIGS = [
    ("whisper", 16000, 400, 160, 80, None, 30, 8, 64),
    ("tts", 22050, 1024, 256, 80, 8000.0, 10, 8, 64),
    # A prime n_fft: Bluestein on the CPU, the composite cuFFT route on CUDA.
    ("prime4093", 16000, 4093, 1024, 128, 8000.0, 10, 8, 64),
]


def _time_ms(fn, device, min_run_time):
    if device == "cuda":
        fn()
        torch.cuda.synchronize()
    t = tbench.Timer(stmt="fn()", globals={"fn": fn}).blocked_autorange(min_run_time=min_run_time)
    return t.median * 1e3


def _time_alternating_ms(fns, device, min_run_time, min_calls=9):
    """(median, min) ms per call of each fn, calls interleaved (a, b, a, b, ...) so that a load change on a
    shared machine hits all of them alike; runs until each has min_calls calls and min_run_time seconds."""
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for fn in fns:  # warm-up
        fn()
    sync()
    times = [[] for _ in fns]
    while min(len(t) for t in times) < min_calls or min(sum(t) for t in times) < min_run_time:
        for fn, t in zip(fns, times):
            start = time.perf_counter()
            fn()
            sync()
            t.append(time.perf_counter() - start)
    return [(statistics.median(t) * 1e3, min(t) * 1e3) for t in times]


def _librosa_fn(x, sr, n_fft, hop, n_mels, f_max):
    try:
        import librosa
    except ImportError:
        return None
    xn = x.cpu().numpy()
    return lambda: librosa.feature.melspectrogram(
        y=xn, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels, fmax=f_max, htk=True, norm=None
    )


def _whisper_log_mel(audio, window, filters):
    """openai-whisper's audio.log_mel_spectrogram after its model load (torch.stft, the filterbank as a
    (n_mels, 201) matrix), with the clamp at max - 8 taken per example as in a batched data loader."""
    stft = torch.stft(audio, 400, 160, window=window, return_complex=True)
    magnitudes = stft[..., :-1].abs() ** 2
    mel_spec = filters @ magnitudes
    log_spec = torch.clamp(mel_spec, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.amax(dim=(-2, -1), keepdim=True) - 8.0)
    return (log_spec + 4.0) / 4.0


def _case(cfg, device):
    """The input batch and the two modules of one config, on the device."""
    name, sr, n_fft, hop, n_mels, f_max, secs, b_cpu, b_cuda = cfg
    batch = b_cuda if device == "cuda" else b_cpu
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, sr * secs, generator=g).to(device)
    ref = TAT.MelSpectrogram(sr, n_fft, hop_length=hop, n_mels=n_mels, f_max=f_max).to(device)
    ours = FA.MelSpectrogram(sr, n_fft, hop_length=hop, n_mels=n_mels, f_max=f_max).to(device)
    return x, ref, ours


def _row(cfg, device, batch, times, parity_key, parity, reference="torchaudio"):
    """One result row, printed as it goes into the JSON. Medians are the figures; the minima say what a
    less loaded machine would give."""
    name, sr, n_fft, hop, n_mels, f_max, secs, _, _ = cfg
    (t_ref, min_ref), (t_ours, min_ours) = times
    print(f"{name:14s} {f'{batch}x{secs}s':>10s} {t_ref:14.2f} {t_ours:12.2f} {t_ref / t_ours:7.2f}x {parity:10.2e}"
          f"   {min_ref:10.2f} / {min_ours:8.2f} / {min_ref / min_ours:5.2f}x", end="")
    return dict(
        config=name, device=device, batch=batch, seconds=secs, sample_rate=sr, n_fft=n_fft, hop_length=hop,
        n_mels=n_mels, torchaudio_ms=t_ref, fastprep_ms=t_ours, speedup=t_ref / t_ours, **{parity_key: parity},
        torchaudio_min_ms=min_ref, fastprep_min_ms=min_ours, speedup_of_minima=min_ref / min_ours,
        reference=reference,  # what the torchaudio_* figures time
    )


def main(device="cpu", min_run_time=1.0):
    if device == "cuda" and not torch.cuda.is_available():
        print("bench_audio: no CUDA device; skipped")
        return []
    results = []
    load_before = os.getloadavg()[0]
    print(f"\naudio | {fastprep.build_info()} | device {device} | threads {torch.get_num_threads()}")
    print(f"{'config':14s} {'batch':>10s} {'torchaudio ms':>14s} {'fastprep ms':>12s} {'speedup':>8s} {'parity':>10s}"
          f" {'(minima: torchaudio / fastprep / speedup)':>44s}")
    for cfg in CONFIGS:
        x, ref, ours = _case(cfg, device)
        with torch.no_grad():
            r, o = ref(x), ours(x)
            parity = ((o - r).abs().max() / r.abs().max()).item()
            times = _time_alternating_ms([lambda: ref(x), lambda: ours(x)], device, min_run_time)
        row = _row(cfg, device, x.shape[0], times, "parity_rel", parity)
        _, sr, n_fft, hop, n_mels, f_max = cfg[:6]
        lib = _librosa_fn(x, sr, n_fft, hop, n_mels, f_max) if device == "cpu" else None
        if lib is not None:
            row["librosa_ms"] = _time_ms(lib, "cpu", min_run_time)
            row["speedup_vs_librosa"] = row["librosa_ms"] / row["fastprep_ms"]
            print(f"   librosa {row['librosa_ms']:.1f} ms", end="")
        print()
        results.append(row)
    # Whisper's front end, as a Whisper data loader calls it.
    cfg = CONFIGS[0]
    x, _, _ = _case(cfg, device)
    window = torch.hann_window(400, device=device)
    filters = TAF.melscale_fbanks(201, 0.0, 8000.0, 80, 16000, "slaney", "slaney").T.contiguous().to(device)
    ours = FA.LogMelSpectrogram(80).to(device)
    with torch.no_grad():
        r, o = _whisper_log_mel(x, window, filters), ours(x)
        parity = ((o - r).abs().max() / r.abs().max()).item()
        times = _time_alternating_ms([lambda: _whisper_log_mel(x, window, filters), lambda: ours(x)], device,
                                     min_run_time)
    row = _row(("whisper-logmel",) + cfg[1:], device, x.shape[0], times, "parity_rel", parity,
               reference="openai-whisper log_mel_spectrogram recipe (torch.stft)")
    print("   (vs openai-whisper's recipe)")
    results.append(row)
    # Mel-loss training: forward and backward to the waveform, log1p(mel).sum() as the loss.
    print(f"{'fwd+bwd':14s} {'batch':>10s} {'torchaudio ms':>14s} {'fastprep ms':>12s} {'speedup':>8s}"
          f" {'grad diff':>10s}")
    for cfg in CONFIGS[:2]:
        x, ref, ours = _case(cfg, device)

        def step(m):
            xg = x.clone().requires_grad_()
            m(xg).log1p().sum().backward()
            return xg.grad

        gr, go = step(ref), step(ours)
        parity = ((go - gr).abs().max() / gr.abs().max()).item()
        times = _time_alternating_ms([lambda: step(ref), lambda: step(ours)], device, min_run_time)
        row = _row(cfg, device, x.shape[0], times, "grad_parity_rel", parity)
        print()
        row["config"] += "+backward"
        results.append(row)
    command = (" ".join(["python"] + sys.argv) if __name__ == "__main__"
               else f"python benchmarks/run.py --only audio --device {device}")
    # The 1-minute load average before and after: other processes on the machine skew CPU figures.
    _results.write("audio", device, results, command, load_avg_1min=[load_before, os.getloadavg()[0]])
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--min-run-time", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (e.g. 2 for the 2-core target)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    main(a.device, a.min_run_time)
