"""Parity of fastprep.audio with torchaudio (the reference library itself) on synthetic
signals and real speech, across the argument grid of issue 3."""

import warnings

import pytest
import torch
import torchaudio
import torchaudio.functional as TAF
import torchaudio.transforms as TAT

import fastprep.audio as FA
import fastprep.audio.functional as FAF
from audio_cases import MEL_CASES, SPEC_CASES, TOL, rel_err, speech, synthetic
from common import cpu_and_cuda

DTYPES = (torch.float32, torch.float64)


def _pair(name, dtype, device, **kw):
    """(torchaudio module, fastprep module) built with the same arguments, ours loaded from theirs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = getattr(TAT, name)(**kw)
        ours = getattr(FA, name)(**kw)
    ours.load_state_dict(ref.state_dict())
    return ref.to(device=device, dtype=dtype), ours.to(device=device, dtype=dtype)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SPEC_CASES, ids=lambda c: "-".join(map(str, c)))
def test_spectrogram_matches_torchaudio(case, dtype, device):
    n_fft, win_length, hop_length, power, normalized, center, pad_mode = case
    ref, ours = _pair(
        "Spectrogram", dtype, device, n_fft=n_fft, win_length=win_length, hop_length=hop_length, power=power,
        normalized=normalized, center=center, pad_mode=pad_mode,
    )
    x = synthetic(batch=(2, 3), length=max(3000, n_fft + 1), dtype=dtype, device=device)
    expected, actual = ref(x), ours(x)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype and actual.device == expected.device
    assert rel_err(actual, expected) <= TOL[dtype]


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MEL_CASES, ids=lambda c: "-".join(map(str, c)))
def test_mel_spectrogram_matches_torchaudio(case, dtype, device):
    sr, n_fft, win_length, hop, n_mels, f_min, f_max, norm, mel_scale, power, normalized, center, pad_mode = case
    ref, ours = _pair(
        "MelSpectrogram", dtype, device, sample_rate=sr, n_fft=n_fft, win_length=win_length, hop_length=hop,
        n_mels=n_mels, f_min=f_min, f_max=f_max, norm=norm, mel_scale=mel_scale, power=power, normalized=normalized,
        center=center, pad_mode=pad_mode,
    )
    x = synthetic(batch=(3,), length=max(8000, n_fft + 1), dtype=dtype, device=device)
    expected, actual = ref(x), ours(x)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    assert rel_err(actual, expected) <= TOL[dtype]


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MEL_CASES[:4], ids=lambda c: "-".join(map(str, c[:5])))
def test_mel_spectrogram_on_real_speech(case, dtype, device):
    sr, n_fft, win_length, hop, n_mels, f_min, f_max, norm, mel_scale, power, normalized, center, pad_mode = case
    ref, ours = _pair(
        "MelSpectrogram", dtype, device, sample_rate=16000, n_fft=n_fft, win_length=win_length, hop_length=hop,
        n_mels=n_mels, f_min=f_min, f_max=min(f_max or 8000.0, 8000.0), norm=norm, mel_scale=mel_scale, power=power,
        normalized=normalized, center=center, pad_mode=pad_mode,
    )
    x = speech(dtype, device)
    assert rel_err(ours(x), ref(x)) <= TOL[dtype]


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", DTYPES)
def test_spectrogram_on_real_speech_complex(dtype, device):
    ref, ours = _pair("Spectrogram", dtype, device, n_fft=512, hop_length=128, power=None)
    x = speech(dtype, device)
    expected, actual = ref(x), ours(x)
    assert actual.dtype == expected.dtype
    assert rel_err(actual, expected) <= TOL[dtype]


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("log_mels", (False, True))
def test_mfcc_matches_torchaudio(log_mels, device):
    kw = dict(sample_rate=16000, n_mfcc=20, log_mels=log_mels, melkwargs=dict(n_fft=400, hop_length=160, n_mels=64))
    ref, ours = _pair("MFCC", torch.float64, device, **kw)
    x = speech(torch.float64, device)
    assert rel_err(ours(x), ref(x)) <= 1e-10


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("stype,top_db", [("power", None), ("power", 80.0), ("magnitude", 40.0)])
@pytest.mark.parametrize("shape", [(201, 50), (3, 80, 20), (2, 3, 40, 10)])
def test_amplitude_to_db_matches_torchaudio(stype, top_db, shape, device):
    x = torch.rand(shape, dtype=torch.float64, device=device) ** 4
    ref, ours = TAT.AmplitudeToDB(stype, top_db), FA.AmplitudeToDB(stype, top_db)
    torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_freqs,f_min,f_max,n_mels,sr,norm,mel_scale", [
    (201, 0.0, 8000.0, 128, 16000, None, "htk"),
    (513, 30.0, 8000.0, 80, 22050, "slaney", "slaney"),
    (1025, 0.0, 12000.0, 100, 24000, None, "slaney"),
    (33, 100.0, 3000.0, 10, 8000, "slaney", "htk"),
])
def test_melscale_fbanks_matches_torchaudio(n_freqs, f_min, f_max, n_mels, sr, norm, mel_scale):
    torch.testing.assert_close(
        FAF.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sr, norm, mel_scale),
        TAF.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sr, norm, mel_scale), rtol=0, atol=0,
    )


@pytest.mark.parametrize("n_mfcc,n_mels,norm", [(13, 40, "ortho"), (40, 128, None), (1, 1, "ortho")])
def test_create_dct_matches_torchaudio(n_mfcc, n_mels, norm):
    torch.testing.assert_close(FAF.create_dct(n_mfcc, n_mels, norm), TAF.create_dct(n_mfcc, n_mels, norm), rtol=0, atol=0)


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_functional_spectrogram_matches_torchaudio(device):
    x = synthetic(batch=(2,), length=5000, dtype=torch.float64, device=device)
    w = torch.hamming_window(300, dtype=torch.float64, device=device)
    args = (x, 7, w, 512, 128, 300, 1.5, "window", True, "reflect")
    assert rel_err(FAF.spectrogram(*args), TAF.spectrogram(*args)) <= 1e-10


def _whisper_reference(audio, n_mels):
    """Whisper's published log-mel recipe, written out with torch.stft + torchaudio's filterbank."""
    window = torch.hann_window(400, dtype=audio.dtype, device=audio.device)
    stft = torch.stft(audio, 400, 160, window=window, return_complex=True)
    magnitudes = stft[..., :-1].abs() ** 2
    filters = TAF.melscale_fbanks(201, 0.0, 8000.0, n_mels, 16000, "slaney", "slaney").to(audio)
    mel_spec = filters.T @ magnitudes
    log_spec = torch.clamp(mel_spec, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("n_mels", (80, 128))
def test_log_mel_matches_whisper_recipe(n_mels, device):
    x = speech(torch.float32, device)[0]
    ours = FA.LogMelSpectrogram(n_mels=n_mels).to(device)
    expected = _whisper_reference(x, n_mels)
    actual = ours(x)
    assert actual.shape == expected.shape == (n_mels, 300)
    assert rel_err(actual, expected) <= 1e-4
    # Batched: each example clamped at its own max.
    batch = torch.stack([x, 0.01 * x.flip(-1)])
    out = ours(batch)
    for i in range(2):
        assert rel_err(out[i], _whisper_reference(batch[i], n_mels)) <= 1e-4


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_log_mel_inference_and_training_give_the_same_values(device):
    # Without autograd the recipe runs in place on the op's output; with it, out of place: the same numbers,
    # a contiguous output, and gradients that agree with the recipe's.
    x = speech(torch.float64, device)[0]
    batch = torch.stack([x, 0.01 * x.flip(-1), torch.zeros_like(x)])
    ours = FA.LogMelSpectrogram().to(device, torch.float64)
    with torch.no_grad():
        inference = ours(batch)
    xg = batch.clone().requires_grad_()
    training = ours(xg)
    assert training.requires_grad and inference.is_contiguous() and training.is_contiguous()
    assert torch.equal(inference, training.detach())
    assert torch.equal(ours(batch), inference)  # grad mode on, input without grad: in place too
    training.square().sum().backward()
    xr = batch.clone().requires_grad_()
    torch.stack([_whisper_reference(xr[i], 80) for i in range(3)]).square().sum().backward()
    assert rel_err(xg.grad, xr.grad) <= 1e-4  # the module's window and filterbank are float32 buffers, cast


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_rejects_other_log_mel_sizes(device):
    with pytest.raises(ValueError):
        FA.LogMelSpectrogram(n_mels=64)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", (torch.float16, torch.bfloat16))
@pytest.mark.parametrize("name", ("Spectrogram", "MelSpectrogram", "MFCC"))
def test_half_inputs_computed_in_float32(name, dtype, device):
    # torch.stft promotes the waveform with the module's float32 window: a float32 result, as torchaudio's
    # (no float16 overflow of a loud power spectrum either).
    x = synthetic(batch=(2,), length=4000, dtype=torch.float32, device=device).to(dtype)
    ref, ours = _pair(name, torch.float32, device)
    out = ours(x)
    assert out.dtype == torch.float32
    assert rel_err(out, ref(x.float())) <= TOL[torch.float32]
    if device == "cpu":
        assert ref(x).dtype == out.dtype


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("x_dtype,module_dtype", [
    (torch.float32, torch.float64), (torch.float64, torch.float32), (torch.float32, torch.float16),
])
@pytest.mark.parametrize("name,kw", [("Spectrogram", {}), ("Spectrogram", dict(power=None)), ("MFCC", {})])
def test_result_dtype_is_stfts_promotion(name, kw, x_dtype, module_dtype, device):
    # A float64 module on float32 audio gives float64, and so on: torch.stft's promotion of waveform and window.
    ref, ours = _pair(name, torch.float32, device, **kw)
    ref, ours = ref.to(module_dtype), ours.to(module_dtype)
    if name == "MFCC" and module_dtype != torch.float64:
        pytest.skip("torchaudio's MFCC multiplies the promoted mels by its DCT matrix in the module's dtype: raises")
    x = synthetic(batch=(2,), length=3000, dtype=x_dtype, device=device)
    want, got = ref(x), ours(x)
    assert got.dtype == want.dtype
    assert rel_err(got, want) <= TOL[torch.float32]


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("n_fft", (1, 2, 5, 64, 400))
@pytest.mark.parametrize("power", (None, 1.0, 2.0))
def test_two_sided_spectrogram(n_fft, power, device):
    # onesided=False: all n_fft bins, the upper ones the conjugates of the lower (a real signal's symmetry).
    kw = dict(n_fft=n_fft, hop_length=max(1, n_fft // 2), onesided=False, power=power)
    ref, ours = _pair("Spectrogram", torch.float64, device, **kw)
    x = synthetic(batch=(3,), length=2000, dtype=torch.float64, device=device)
    want, got = ref(x), ours(x)
    assert got.shape == want.shape and got.shape[-2] == n_fft and got.dtype == want.dtype
    assert rel_err(got, want) <= TOL[torch.float64]


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_mel_spectrogram_reads_its_submodules(device):
    # torchaudio's forward is mel_scale(spectrogram(x)): edits to the submodules count, the outer copies don't.
    ref, ours = _pair("MelSpectrogram", torch.float32, device, n_fft=512, n_mels=40)
    for m in (ref, ours):
        m.spectrogram.power, m.spectrogram.hop_length, m.spectrogram.center = 1.0, 100, False
        m.power, m.hop_length = 2.0, 7
        m.mel_scale.fb.mul_(0.5)
    x = synthetic(batch=(2,), length=5000, device=device)
    want = ref(x)
    assert ours(x).shape == want.shape and rel_err(ours(x), want) <= TOL[torch.float32]
    assert rel_err(torch.jit.script(ours)(x), want) <= TOL[torch.float32]


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_noncontiguous_input(device):
    x = synthetic(batch=(4,), length=6000, dtype=torch.float32, device=device)
    xt = x.t().contiguous().t()[::2, 100:]  # strided rows and a view offset
    assert not xt.is_contiguous()
    ref, ours = _pair("MelSpectrogram", torch.float32, device, n_fft=512, hop_length=100, n_mels=40)
    assert rel_err(ours(xt), ref(xt)) <= 1e-4


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("shape", [(600,), (1, 600), (2, 3, 601), (0, 600), (2, 0, 600)])
def test_leading_dims_and_empty_batches(shape, device):
    x = torch.randn(shape, device=device)
    ref, ours = _pair("MelSpectrogram", torch.float32, device, n_fft=128, hop_length=50, n_mels=20)
    actual = ours(x)
    assert actual.shape == (*shape[:-1], 20, 1 + shape[-1] // 50)
    if x.numel():
        assert rel_err(actual, ref(x)) <= 1e-4
    # (torch's reflect pad rejects empty batches, so torchaudio raises there; an empty result is
    # the natural answer and what we return.)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("length", [201, 202, 401])
def test_shortest_inputs(length, device):
    # Reflect padding needs length > n_fft // 2: 201 is the shortest for n_fft=400.
    x = torch.randn(1, length, device=device)
    ref, ours = _pair("Spectrogram", torch.float32, device)
    assert rel_err(ours(x), ref(x)) <= 1e-4


def test_huge_batch_row_count():
    # Many short rows: exercises the (row, frame-group) work split.
    x = torch.randn(2000, 512)
    ref, ours = _pair("MelSpectrogram", torch.float32, "cpu", n_fft=256, hop_length=128, n_mels=32)
    assert rel_err(ours(x), ref(x)) <= 1e-4


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("power", (0.0, -1.0, -0.5))
@pytest.mark.parametrize("name", ("Spectrogram", "MelSpectrogram"))
def test_non_positive_power_like_torchaudio(name, power, device):
    # torchaudio's docs ask for power > 0 but it computes |X| ** power for any power; so do we.
    ref, ours = _pair(name, torch.float64, device, n_fft=256, power=power)
    x = synthetic(batch=(2,), length=3000, dtype=torch.float64, device=device)
    want, got = ref(x), ours(x)
    assert got.dtype == want.dtype and torch.isfinite(want).all()
    assert rel_err(got, want) <= TOL[torch.float64]
    assert rel_err(torch.jit.script(ours)(x), want) <= TOL[torch.float64]
