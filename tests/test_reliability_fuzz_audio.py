"""Property tests: fastprep.audio against torchaudio.transforms (the reference) on drawn lengths
(1, shorter than the padding, odd, very long), leading dims (including empty batches), dtypes,
layouts (strided, offset, zero-stride expanded) and STFT / mel parameters."""

import warnings

import pytest
import torch
import torchaudio.transforms as TAT
from hypothesis import HealthCheck, given, settings, strategies as st

import fastprep.audio as FA
from reliability_utils import call_both, check_same_outcome, random_tensor, run_child, with_layout

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# max |ours - ref| <= TOL * max |ref|, per dtype (the audio family's stated tolerance).
TOL = {torch.float32: 1e-4, torch.float64: 1e-10}
AUDIO_LAYOUTS = ("contiguous", "noncontiguous", "offset", "expanded", "transposed")


def rel_err(ours, ref):
    scale = ref.abs().max().clamp_min(1e-30)
    return ((ours.to(ref.dtype) - ref).abs().max() / scale).item()


@st.composite
def waveforms(draw, n_fft):
    dtype = draw(st.sampled_from((torch.float32, torch.float64)))
    length = draw(st.sampled_from([1, 2, n_fft // 2, n_fft // 2 + 1, n_fft, n_fft + 1, 3 * n_fft + 7, 16001]))
    lead = draw(st.lists(st.sampled_from([1, 2, 3]), min_size=0, max_size=2))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    x = random_tensor((*lead, length), dtype, gen)
    return with_layout(x, draw(st.sampled_from(AUDIO_LAYOUTS)), gen)


def _shape_dtype(ours, ref):
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    assert ours.dtype == ref.dtype, (ours.dtype, ref.dtype)


def _close(ours, ref):
    _shape_dtype(ours, ref)
    if ref.numel():
        real = torch.float64 if ref.dtype in (torch.float64, torch.complex128) else torch.float32
        assert rel_err(ours, ref) <= TOL[real]


@st.composite
def stft_args(draw):
    n_fft = draw(st.sampled_from([1, 2, 3, 16, 63, 64, 100, 255, 400, 512, 1024]))
    win_length = draw(st.one_of(st.none(), st.integers(1, n_fft)))
    hop_length = draw(st.one_of(st.none(), st.integers(1, 2 * n_fft)))
    if hop_length is None and (win_length or n_fft) // 2 == 0:
        hop_length = 1  # torchaudio's default hop (win_length // 2) would be 0
    return dict(
        n_fft=n_fft,
        win_length=win_length,
        hop_length=hop_length,
        pad=draw(st.sampled_from([0, 0, 3])),
        normalized=draw(st.sampled_from([False, True, "window", "frame_length"])),
        center=draw(st.booleans()),
        pad_mode=draw(st.sampled_from(["reflect", "constant", "replicate", "circular"])),
    )


@SETTINGS
@given(args=stft_args(), power=st.sampled_from([None, 1.0, 2.0, 3.0]), data=st.data())
def test_spectrogram_matches_torchaudio(args, power, data):
    x = data.draw(waveforms(args["n_fft"]))
    # Modules in the waveform's dtype, as a float64 user would have them (torchaudio's float32 window
    # buffer would otherwise round its "window" normalization to float32).
    ref_m = TAT.Spectrogram(power=power, **args).to(x.dtype)
    ours_m = FA.Spectrogram(power=power, **args).to(x.dtype)
    ref, ours = call_both(lambda: ref_m(x), lambda: ours_m(x))
    check_same_outcome(ref, ours, _close)


@SETTINGS
@given(args=stft_args(), data=st.data())
def test_mel_spectrogram_matches_torchaudio(args, data):
    sample_rate = data.draw(st.sampled_from([8000, 16000, 22050, 44100]))
    n_mels = data.draw(st.sampled_from([1, 8, 40, 80]))
    f_min = data.draw(st.sampled_from([0.0, 20.0]))
    f_max = data.draw(st.sampled_from([None, sample_rate / 2 - 100]))
    norm = data.draw(st.sampled_from([None, "slaney"]))
    mel_scale = data.draw(st.sampled_from(["htk", "slaney"]))
    power = data.draw(st.sampled_from([1.0, 2.0]))
    kw = dict(sample_rate=sample_rate, n_mels=n_mels, f_min=f_min, f_max=f_max, norm=norm, mel_scale=mel_scale,
              power=power, **args)
    x = data.draw(waveforms(args["n_fft"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty mel filters: both libraries warn the same way
        # In the waveform's dtype: torchaudio's float32 fb buffer cannot multiply a float64 spectrogram.
        ref_m, ours_m = TAT.MelSpectrogram(**kw).to(x.dtype), FA.MelSpectrogram(**kw).to(x.dtype)
    ref, ours = call_both(lambda: ref_m(x), lambda: ours_m(x))

    def close(o, r):
        # A mel band sums fb-weighted bins, so the FFT's rounding (relative to the spectrum's peak, not
        # the band's) scales with max(spectrum) * the heaviest band's weight: e.g. a DC-only frame leaves
        # ~1e-4 of leakage noise in the bands above DC in both libraries.
        _shape_dtype(o, r)
        if r.numel():
            spec = ref_m.spectrogram(x)
            scale = spec.abs().max() * ref_m.mel_scale.fb.sum(0).max()
            real = torch.float64 if r.dtype == torch.float64 else torch.float32
            assert (o - r).abs().max() <= TOL[real] * max(scale, r.abs().max())

    check_same_outcome(ref, ours, close)


def _waveform_grad(module, x):
    """Gradient of a fixed weighting of the module's output (real and imaginary parts alike) with respect to
    the waveform: the same loss for both libraries."""
    xg = x.detach().clone().requires_grad_()
    y = module(xg)
    y = torch.view_as_real(y) if y.is_complex() else y
    weights = torch.cos(torch.arange(y.numel(), dtype=y.dtype)).reshape(y.shape)
    (y * weights).sum().backward()
    return xg.grad


def _grad_close(ours, ref):
    _shape_dtype(ours, ref)
    if ref.numel():
        assert rel_err(ours, ref) <= 1e-9


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=stft_args(), power=st.sampled_from([None, 2.0, 3.0]), data=st.data())
def test_spectrogram_gradient_matches_torchaudio(args, power, data):
    # float64, where the fused CPU backward and torchaudio's autograd through torch.stft agree to ~1e-12.
    # Not power 1: its gradient X / |X| is the direction of each bin, which for the drawn constant or
    # periodic signals is rounding noise (~1e-16) in both libraries, so the two answers are unrelated
    # (test_audio_grad checks power 1 on signals without empty bins).
    x = data.draw(waveforms(args["n_fft"])).to(torch.float64)
    ref_m = TAT.Spectrogram(power=power, **args).double()
    ours_m = FA.Spectrogram(power=power, **args).double()
    ref, ours = call_both(lambda: _waveform_grad(ref_m, x), lambda: _waveform_grad(ours_m, x))
    check_same_outcome(ref, ours, _grad_close)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=stft_args(), data=st.data())
def test_mel_spectrogram_gradient_matches_torchaudio(args, data):
    kw = dict(sample_rate=16000, n_mels=data.draw(st.sampled_from([1, 8, 40])),
              norm=data.draw(st.sampled_from([None, "slaney"])), power=2.0, **args)  # not 1: as above
    x = data.draw(waveforms(args["n_fft"])).to(torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty mel filters: both libraries warn the same way
        ref_m, ours_m = TAT.MelSpectrogram(**kw).double(), FA.MelSpectrogram(**kw).double()
    ref, ours = call_both(lambda: _waveform_grad(ref_m, x), lambda: _waveform_grad(ours_m, x))
    check_same_outcome(ref, ours, _grad_close)


@SETTINGS
@given(
    stype=st.sampled_from(["power", "magnitude"]),
    top_db=st.sampled_from([None, 0.0, 20.0, 80.0]),
    shape=st.lists(st.sampled_from([0, 1, 2, 5, 33]), min_size=1, max_size=4),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    layout=st.sampled_from(AUDIO_LAYOUTS),
    seed=st.integers(0, 2**31 - 1),
)
def test_amplitude_to_db_matches_torchaudio(stype, top_db, shape, dtype, layout, seed):
    if top_db is not None and len(shape) == 1:
        shape = [2] + shape  # 1-D with top_db: an out-of-bounds read, see test_amplitude_to_db_low_rank_top_db
    gen = torch.Generator().manual_seed(seed)
    x = random_tensor(shape, dtype, gen).abs() ** 2  # includes exact zeros below amin after underflow
    if x.numel() > 2:
        x.view(-1)[0] = 0.0
    x = with_layout(x, layout, gen)
    ref, ours = call_both(lambda: TAT.AmplitudeToDB(stype, top_db)(x), lambda: FA.AmplitudeToDB(stype, top_db)(x))

    def close(o, r):
        assert o.shape == r.shape and o.dtype == r.dtype
        torch.testing.assert_close(o, r, rtol=1e-6, atol=1e-4 if dtype == torch.float32 else 1e-10)

    check_same_outcome(ref, ours, close)


def test_very_long_audio_matches_torchaudio():
    # 10 minutes at 16 kHz in one row: frame counts and offsets well past 2^16.
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 16000 * 600, generator=gen)
    ref = TAT.MelSpectrogram(n_fft=400, hop_length=160, n_mels=80)(x)
    ours = FA.MelSpectrogram(n_fft=400, hop_length=160, n_mels=80)(x)
    _close(ours, ref)


# The exception type differs by dtype and padding within one torch release (torch 2.11: stft's RuntimeError,
# but NotImplementedError from reflect-padding a bool tensor).
@pytest.mark.parametrize("center,pad_mode", [(True, "reflect"), (True, "constant"), (False, "reflect")])
@pytest.mark.parametrize("dtype", [torch.int16, torch.int32, torch.uint8, torch.bool])
def test_integer_waveform_rejected_like_torchaudio(dtype, center, pad_mode):
    x = torch.ones(1, 1000, dtype=dtype)
    kw = dict(center=center, pad_mode=pad_mode)
    ref, ours = call_both(lambda: TAT.Spectrogram(**kw)(x), lambda: FA.Spectrogram(**kw)(x))
    check_same_outcome(ref, ours, _close)
    ref, ours = call_both(lambda: TAT.MelSpectrogram(**kw)(x), lambda: FA.MelSpectrogram(**kw)(x))
    check_same_outcome(ref, ours, _close)


@pytest.mark.parametrize("center,pad_mode", [(True, "reflect"), (True, "constant"), (False, "reflect")])
@pytest.mark.parametrize("dtype", [torch.int16, torch.bool])
def test_integer_waveform_op_raises_like_stft(dtype, center, pad_mode):
    # The ops called directly (torch.ops, C++ deployments) answer as torch.stft does for the same call.
    x = torch.ones(1, 1000, dtype=dtype)
    w = torch.hann_window(400)
    fb = torch.rand(201, 8)

    def stft():
        return torch.stft(x, 400, 160, window=w, center=center, pad_mode=pad_mode, return_complex=True)

    ref, ours = call_both(stft, lambda: torch.ops.fastprep.spectrogram.default(x, w, 400, 160, center, pad_mode, 2.0, 0))
    check_same_outcome(ref, ours, _close)
    ref, ours = call_both(
        stft, lambda: torch.ops.fastprep.mel_spectrogram.default(x, w, fb, 400, 160, center, pad_mode, 2.0, 0)
    )
    check_same_outcome(ref, ours, _close)


# Regression: 1-D / 0-D input once read before the sizes vector; torchaudio raises IndexError.
@pytest.mark.parametrize("shape", [(5,), (0,), ()])
def test_amplitude_to_db_low_rank_top_db(shape):
    # In a child: under ASan the out-of-bounds read aborts the process.
    rc, out = run_child(f"""
        import torch, fastprep.audio as FA
        try:
            FA.AmplitudeToDB(top_db=20.0)(torch.rand({shape!r}))
            print("RETURNED")
        except IndexError as e:
            print("INDEXERROR")
        except Exception as e:
            print("OTHER", type(e).__name__, e)
    """)
    assert rc == 0, out[-3000:]
    assert "INDEXERROR" in out, out[-3000:]
