"""The composite (ATen ops; cuFFT on CUDA) spectrogram route that the CUDA kernels take for FFT
sizes with a prime factor above 13: parity with torchaudio over the argument grid, gradients,
errors and edges through the private op fastprep::_spectrogram_composite (runs on every device,
so it is tested here on the CPU), and the CUDA dispatch for n_fft 4093 / 2 x 2039 (GPU only)."""

import warnings

import pytest
import torch
import torchaudio.transforms as TAT

import fastprep.audio as FA
from fastprep.audio.functional import _norm_code
from audio_cases import MEL_CASES, SPEC_CASES, TOL, rel_err, synthetic
from common import cpu_and_cuda

DTYPES = (torch.float32, torch.float64)
composite = torch.ops.fastprep._spectrogram_composite.default


def _ref(name, dtype, device, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(TAT, name)(**kw).to(device=device, dtype=dtype)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SPEC_CASES, ids=lambda c: "-".join(map(str, c)))
def test_composite_spectrogram_matches_torchaudio(case, dtype, device):
    n_fft, win_length, hop_length, power, normalized, center, pad_mode = case
    ref = _ref("Spectrogram", dtype, device, n_fft=n_fft, win_length=win_length, hop_length=hop_length, power=power,
               normalized=normalized, center=center, pad_mode=pad_mode)
    x = synthetic(batch=(2, 3), length=max(3000, n_fft + 1), dtype=dtype, device=device)
    expected = ref(x)
    actual = composite(x, ref.window, None, n_fft, ref.hop_length, center, pad_mode, power, _norm_code(normalized))
    assert actual.shape == expected.shape and actual.dtype == expected.dtype and actual.device == expected.device
    assert actual.is_contiguous()
    assert rel_err(actual, expected) <= TOL[dtype]


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MEL_CASES, ids=lambda c: "-".join(map(str, c)))
def test_composite_mel_spectrogram_matches_torchaudio(case, dtype, device):
    sr, n_fft, win_length, hop, n_mels, f_min, f_max, norm, mel_scale, power, normalized, center, pad_mode = case
    ref = _ref("MelSpectrogram", dtype, device, sample_rate=sr, n_fft=n_fft, win_length=win_length, hop_length=hop,
               n_mels=n_mels, f_min=f_min, f_max=f_max, norm=norm, mel_scale=mel_scale, power=power,
               normalized=normalized, center=center, pad_mode=pad_mode)
    x = synthetic(batch=(3,), length=max(8000, n_fft + 1), dtype=dtype, device=device)
    expected = ref(x)
    actual = composite(x, ref.spectrogram.window, ref.mel_scale.fb, n_fft, hop, center, pad_mode, power,
                       _norm_code(normalized))
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    assert rel_err(actual, expected) <= TOL[dtype]


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_fft", (4093, 4078))
def test_composite_mel_then_db_matches_torchaudio(n_fft, dtype, device):
    # The log / dB stage after the mel projection, as MFCC and AmplitudeToDB users chain it.
    ref = _ref("MelSpectrogram", dtype, device, n_fft=n_fft, hop_length=700, n_mels=64, f_max=8000.0)
    to_db = _ref("AmplitudeToDB", dtype, device, stype="power", top_db=80.0)
    x = synthetic(batch=(2,), length=12000, dtype=dtype, device=device)
    mel = composite(x, ref.spectrogram.window, ref.mel_scale.fb, n_fft, 700, True, "reflect", 2.0, 0)
    actual = FA.AmplitudeToDB("power", 80.0)(mel)
    assert rel_err(actual, to_db(ref(x))) <= TOL[dtype]


@pytest.mark.parametrize("power", (None, 1.0, 2.0))
@pytest.mark.parametrize("n_fft", (34, 101, 202, 455))
def test_composite_equals_fused_cpu(n_fft, power):
    # The CPU's fused kernel (Bluestein for the small sizes, radices 5, 7, 13 for 455) and the
    # composite route agree.
    x = synthetic(batch=(2,), length=9000, dtype=torch.float64)
    w = torch.hann_window(n_fft - 5, dtype=torch.float64)
    args = (n_fft, 333, True, "reflect", power, 1)
    fused = torch.ops.fastprep.spectrogram.default(x, w, *args)
    assert rel_err(composite(x, w, None, *args), fused) <= 1e-12


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_fft", (4093, 4078, 1021, 802))
def test_cpu_large_prime_sizes_take_the_composite_route(n_fft, dtype):
    # Above 256 points ATen's FFT beats our Bluestein on the CPU: the fused ops hand these
    # sizes over, so the results are the composite route's, bit for bit.
    x = synthetic(batch=(2,), length=9000, dtype=dtype)
    w = torch.hann_window(n_fft, dtype=dtype)
    fb = torch.rand(n_fft // 2 + 1, 8, dtype=dtype)
    for power in (None, 2.0):
        args = (n_fft, 700, True, "reflect", power, 0)
        assert torch.equal(torch.ops.fastprep.spectrogram.default(x, w, *args), composite(x, w, None, *args))
    args = (n_fft, 700, True, "reflect", 1.0, 2)
    assert torch.equal(torch.ops.fastprep.mel_spectrogram.default(x, w, fb, *args), composite(x, w, fb, *args))


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("seed", (0, 1))
@pytest.mark.parametrize("n_fft,hop,power,normalized,pad_mode,center", [
    (34, 5, 2.0, 0, "reflect", True), (17, 4, 1.0, 1, "constant", True), (38, 12, None, 2, "replicate", True),
    (19, 3, 1.5, 0, "circular", True), (23, 6, 2.0, 1, "reflect", False),
])
def test_composite_gradcheck(n_fft, hop, power, normalized, pad_mode, center, seed, device):
    torch.manual_seed(seed)
    x = torch.randn(2, 60, dtype=torch.float64, device=device, requires_grad=True)
    w = torch.hann_window(n_fft - 3, dtype=torch.float64, device=device)
    fn = lambda v: composite(v, w, None, n_fft, hop, center, pad_mode, power, normalized)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x,))


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("power", (1.0, 2.0))
def test_composite_mel_gradcheck(power, device):
    torch.manual_seed(0)
    x = torch.randn(3, 70, dtype=torch.float64, device=device, requires_grad=True)
    w = torch.hann_window(30, dtype=torch.float64, device=device)
    fb = torch.rand(18, 5, dtype=torch.float64, device=device) * (torch.rand(18, 5, device=device) > 0.5)
    fn = lambda v: composite(v, w, fb, 34, 9, True, "reflect", power, 0)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x,))


@pytest.mark.parametrize("dtype", DTYPES)
def test_composite_gradient_matches_torchaudio(dtype):
    ref = _ref("MelSpectrogram", dtype, "cpu", n_fft=4078, hop_length=1000, n_mels=40)
    x = synthetic(batch=(2,), length=9000, dtype=dtype)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = ref(xa)
    g = torch.rand_like(out)
    (out * g).sum().backward()
    ours = composite(xb, ref.spectrogram.window, ref.mel_scale.fb, 4078, 1000, True, "reflect", 2.0, 0)
    (ours * g).sum().backward()
    assert rel_err(xb.grad, xa.grad) <= TOL[dtype]


@pytest.mark.parametrize("shape", [(0, 5000), (3, 0, 5000), (5000,), (1, 1, 5000)])
def test_composite_shapes(shape):
    x = torch.randn(shape)
    w = torch.hann_window(34)
    out = composite(x, w, None, 34, 10, True, "reflect", 2.0, 0)
    fused = torch.ops.fastprep.spectrogram.default(x, w, 34, 10, True, "reflect", 2.0, 0)
    assert out.shape == fused.shape
    if out.numel():
        assert rel_err(out, fused) <= 1e-5


def test_composite_non_contiguous_and_tiny():
    x = synthetic(batch=(4,), length=3000, dtype=torch.float64)
    w = torch.hann_window(17, dtype=torch.float64)
    strided = x.t().contiguous().t()[::2]  # non-contiguous rows
    assert not strided.is_contiguous()
    args = (17, 4, True, "reflect", None, 0)
    assert rel_err(composite(strided, w, None, *args), torch.ops.fastprep.spectrogram.default(strided, w, *args)) <= 1e-12
    one = torch.tensor([0.5], dtype=torch.float64)
    w1 = torch.ones(1, dtype=torch.float64)
    assert torch.equal(composite(one, w1, None, 1, 1, False, "reflect", 2.0, 0), torch.tensor([[0.25]], dtype=torch.float64))


def _bad_calls():
    x = torch.randn(2, 100)
    w = torch.hann_window(34)
    fb = torch.rand(18, 4)
    return [
        ("int waveform", (torch.randint(0, 5, (2, 100)), w, None, 34, 8, True, "reflect", 2.0, 0)),
        ("half waveform", (x.half(), w.half(), None, 34, 8, True, "reflect", 2.0, 0)),
        ("power <= 0", (x, w, None, 34, 8, True, "reflect", 0.0, 0)),
        ("n_fft 0", (x, w, None, 0, 8, True, "reflect", 2.0, 0)),
        ("hop 0", (x, w, None, 34, 0, True, "reflect", 2.0, 0)),
        ("window longer than n_fft", (x, torch.hann_window(40), None, 34, 8, True, "reflect", 2.0, 0)),
        ("2-d window", (x, w.view(2, 17), None, 34, 8, True, "reflect", 2.0, 0)),
        ("reflect pad too long", (torch.randn(2, 10), w, None, 34, 8, True, "reflect", 2.0, 0)),
        ("circular wraps twice", (torch.randn(2, 10), w, None, 34, 8, True, "circular", 2.0, 0)),
        ("shorter than a frame", (torch.randn(2, 20), w, None, 34, 8, False, "reflect", 2.0, 0)),
        ("bad pad mode", (x, w, None, 34, 8, True, "mirror", 2.0, 0)),
        ("0-d waveform", (torch.tensor(1.0), w, None, 34, 8, True, "reflect", 2.0, 0)),
        ("fb rows", (x, w, fb[:-1], 34, 8, True, "reflect", 2.0, 0)),
    ]


@pytest.mark.parametrize("name,args", _bad_calls(), ids=lambda v: v if isinstance(v, str) else "")
def test_composite_errors_like_the_fused_ops(name, args):
    x, w, fb, *rest = args
    fused = (torch.ops.fastprep.mel_spectrogram.default, (x, w, fb, *rest)) if fb is not None else \
        (torch.ops.fastprep.spectrogram.default, (x, w, *rest))
    with pytest.raises(Exception) as expected:
        fused[0](*fused[1])
    with pytest.raises(expected.type):
        composite(*args)


def test_composite_mel_needs_power():
    with pytest.raises(ValueError):
        composite(torch.randn(2, 100), torch.hann_window(34), torch.rand(18, 4), 34, 8, True, "reflect", None, 0)


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_opcheck_composite(device):
    x = torch.randn(2, 500, dtype=torch.float64, device=device, requires_grad=True)
    w = torch.hann_window(30, dtype=torch.float64, device=device)
    fb = torch.rand(18, 6, dtype=torch.float64, device=device)
    samples = [
        (x, w, None, 34, 8, True, "reflect", 2.0, 0),
        (x, w, None, 31, 8, False, "reflect", None, 1),
        (x.detach().float(), w.float(), fb.float(), 34, 9, True, "circular", 1.0, 2),
    ]
    # test_aot_dispatch_dynamic is left out: the private op decomposes into ATen ops with the
    # framing computed from concrete sizes (make_geometry), so it cannot be traced with symbolic
    # shapes. Nothing traces it: the public ops that route to it on CUDA trace through their
    # fake kernels (opchecked, dynamic included, in test_audio_ops.py).
    for args in samples:
        torch.library.opcheck(
            torch.ops.fastprep._spectrogram_composite.default, args,
            test_utils=("test_schema", "test_autograd_registration", "test_faketensor"),
        )


# ---- the CUDA dispatch (runs on a GPU machine; skipped here) ----

CUDA_SIZES = [4093, 4078, 34, 17]  # prime; 2 x 2039; 2 x 17; 17: each has a prime factor > 13


@pytest.mark.needs_cuda
@pytest.mark.parametrize("power", (None, 1.0, 2.0))
@pytest.mark.parametrize("n_fft", CUDA_SIZES)
def test_cuda_large_prime_sizes_take_the_composite_route(n_fft, power):
    x = synthetic(batch=(2,), length=20000, device="cuda")
    w = torch.hann_window(n_fft, device="cuda")
    args = (n_fft, 512, True, "reflect", power, 0)
    # Same ATen calls on the same inputs: bit-identical if and only if the kernel routed there.
    assert torch.equal(torch.ops.fastprep.spectrogram.default(x, w, *args), composite(x, w, None, *args))
    fb = torch.rand(n_fft // 2 + 1, 8, device="cuda")
    margs = (n_fft, 512, True, "reflect", power or 2.0, 0)
    assert torch.equal(torch.ops.fastprep.mel_spectrogram.default(x, w, fb, *margs), composite(x, w, fb, *margs))


@pytest.mark.needs_cuda
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_fft,win_length,power,normalized,pad_mode", [
    (4093, None, 2.0, False, "reflect"), (4078, 3000, None, "window", "constant"),
    (4093, 4000, 1.0, "frame_length", "replicate"), (4078, None, 2.0, True, "circular"),
])
def test_cuda_large_prime_sizes_match_torchaudio(n_fft, win_length, power, normalized, pad_mode, dtype):
    kw = dict(n_fft=n_fft, win_length=win_length, hop_length=800, power=power, normalized=normalized,
              pad_mode=pad_mode)
    ref = _ref("Spectrogram", dtype, "cuda", **kw)
    ours = FA.Spectrogram(**kw).to(device="cuda", dtype=dtype)
    x = synthetic(batch=(2, 2), length=16000, dtype=dtype, device="cuda")
    expected, actual = ref(x), ours(x)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    assert rel_err(actual, expected) <= TOL[dtype]
    if power is not None:
        mkw = dict(kw, n_mels=80, f_max=8000.0)
        mref = _ref("MelSpectrogram", dtype, "cuda", **mkw)
        mours = FA.MelSpectrogram(**mkw).to(device="cuda", dtype=dtype)
        assert rel_err(mours(x), mref(x)) <= TOL[dtype]


@pytest.mark.needs_cuda
@pytest.mark.parametrize("n_fft,power", [(34, 2.0), (17, 1.0), (38, None)])
def test_cuda_composite_route_gradcheck(n_fft, power):
    # The public op's backward (fastprep::_spectrogram_backward, cuFFT irfft) recomputes the
    # spectrum through the composite route for these sizes.
    torch.manual_seed(0)
    x = torch.randn(2, 80, dtype=torch.float64, device="cuda", requires_grad=True)
    w = torch.hann_window(n_fft - 2, dtype=torch.float64, device="cuda")
    fn = lambda v: torch.ops.fastprep.spectrogram.default(v, w, n_fft, 5, True, "reflect", power, 1)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x,))
    fb = torch.rand(n_fft // 2 + 1, 4, dtype=torch.float64, device="cuda")
    fm = lambda v: torch.ops.fastprep.mel_spectrogram.default(v, w, fb, n_fft, 5, True, "reflect", 2.0, 0)  # noqa: E731
    assert torch.autograd.gradcheck(fm, (x,))


@pytest.mark.needs_cuda
def test_cuda_mel_gradient_matches_torchaudio_at_a_prime_size():
    ref = _ref("MelSpectrogram", torch.float64, "cuda", n_fft=4093, hop_length=1000, n_mels=64)
    ours = FA.MelSpectrogram(n_fft=4093, hop_length=1000, n_mels=64).to(device="cuda", dtype=torch.float64)
    x = synthetic(batch=(2,), length=12000, dtype=torch.float64, device="cuda")
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = torch.rand_like(ref(x))
    (ref(xa) * g).sum().backward()
    (ours(xb) * g).sum().backward()
    assert rel_err(xb.grad, xa.grad) <= 1e-10


@pytest.mark.needs_cuda
def test_cuda_fft_too_large_for_shared_memory_takes_the_composite_route():
    # n_fft 2^17: 65536-point complex FFT, beyond the fused kernel's 16-bit index maths
    # (it used to raise); the composite route computes it.
    ref = _ref("Spectrogram", torch.float32, "cuda", n_fft=1 << 17, hop_length=1 << 15)
    x = synthetic(batch=(1,), length=1 << 18, device="cuda")
    ours = FA.Spectrogram(n_fft=1 << 17, hop_length=1 << 15).to("cuda")
    assert rel_err(ours(x), ref(x)) <= TOL[torch.float32]
