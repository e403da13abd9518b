"""Gradients: gradcheck in float64 and agreement with torchaudio's autograd, w.r.t. the waveform (the fused
backward) and beyond it: second order, forward mode, torch.func, the window and the filterbank."""

import warnings

import pytest
import torch
import torchaudio.functional as TAF
import torchaudio.transforms as TAT

import fastprep.audio as FA
import fastprep.audio.functional as FAF
from fastprep._ops import audio as ops
from audio_cases import rel_err, synthetic
from common import cpu_and_cuda


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("seed", (0, 1))
@pytest.mark.parametrize("n_fft,hop,power,normalized,pad_mode", [
    (16, 5, 2.0, 0, "reflect"), (15, 4, 1.0, 1, "constant"), (12, 12, None, 2, "replicate"),
    (8, 3, 1.5, 0, "circular"), (10, 3, None, 0, "reflect"),
    (16, 1, 2.0, 0, "reflect"),  # hop 1: 16 shifts, the overlap-add goes through fold
    (34, 7, 2.0, 1, "reflect"), (17, 4, None, 0, "constant"),  # 17-point FFTs: Bluestein on the CPU
])
def test_spectrogram_gradcheck(n_fft, hop, power, normalized, pad_mode, seed, device):
    torch.manual_seed(seed)
    x = torch.randn(2, max(40, n_fft), dtype=torch.float64, device=device, requires_grad=True)
    w = torch.hann_window(n_fft - 2, dtype=torch.float64, device=device)
    fn = lambda v: ops.spectrogram(v, w, n_fft, hop, True, pad_mode, power, normalized)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x,))


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("seed", (0, 1))
@pytest.mark.parametrize("center", (True, False))
@pytest.mark.parametrize("power", (1.0, 2.0))
def test_mel_spectrogram_gradcheck(power, center, seed, device):
    torch.manual_seed(seed)
    x = torch.randn(3, 50, dtype=torch.float64, device=device, requires_grad=True)
    w = torch.hann_window(16, dtype=torch.float64, device=device)
    fb = torch.rand(9, 4, dtype=torch.float64, device=device) * (torch.rand(9, 4, device=device) > 0.5)
    fn = lambda v: ops.mel_spectrogram(v, w, fb, 16, 5, center, "reflect", power, 0)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x,))


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", (torch.float32, torch.float64))
@pytest.mark.parametrize("kw", [
    dict(n_fft=400, hop_length=160, n_mels=80),
    dict(n_fft=1024, hop_length=256, n_mels=80, f_max=8000.0, power=1.0, norm="slaney", mel_scale="slaney"),
    dict(n_fft=255, win_length=200, hop_length=64, n_mels=40, normalized=True, pad_mode="constant"),
])
def test_mel_gradient_matches_torchaudio(kw, dtype, device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = TAT.MelSpectrogram(**kw).to(device=device, dtype=dtype)
        ours = FA.MelSpectrogram(**kw).to(device=device, dtype=dtype)
    x = synthetic(batch=(2,), length=6000, dtype=dtype, device=device)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = torch.rand_like(ref(x))
    (ref(xa) * g).sum().backward()
    (ours(xb) * g).sum().backward()
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    assert ((xb.grad - xa.grad).abs().max() / xa.grad.abs().max()).item() <= tol


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_complex_spectrogram_gradient_matches_torchaudio(device):
    ref = TAT.Spectrogram(n_fft=256, hop_length=100, power=None).to(device).double()
    ours = FA.Spectrogram(n_fft=256, hop_length=100, power=None).to(device).double()
    x = synthetic(batch=(2,), length=3000, dtype=torch.float64, device=device)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = torch.randn_like(ref(x))
    (ref(xa) * g).real.sum().backward()
    (ours(xb) * g).real.sum().backward()
    torch.testing.assert_close(xb.grad, xa.grad, rtol=0, atol=1e-10 * xa.grad.abs().max().item())


def test_no_grad_needed_for_constant_input():
    x = synthetic(batch=(1,), length=2000)
    out = FA.MelSpectrogram()(x)
    assert not out.requires_grad


@pytest.mark.parametrize("n,hop", [
    (16, 1), (16, 2), (16, 5), (16, 16), (15, 4), (400, 160), (1024, 256), (8, 1), (9, 1), (7, 9), (1, 1),
])
@pytest.mark.parametrize("n_frames", (1, 2, 11))
def test_overlap_add_matches_fold(n, hop, n_frames):
    # The backward's overlap-add (shifted chunk adds for up to 8 shifts, fold beyond) against fold itself,
    # with the hop - 1 trailing samples that no frame reaches (as framing leaves them).
    frames = torch.randn(2, n_frames, n, dtype=torch.float64)
    length = (n_frames - 1) * hop + n + hop - 1
    ref = torch.nn.functional.fold(
        frames.transpose(1, 2), output_size=(1, length), kernel_size=(1, n), stride=(1, hop)
    ).reshape(2, length)
    torch.testing.assert_close(ops._overlap_add(frames, hop, length), ref, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("n_fft,power", [(401, 2.0), (802, None), (4078, 1.0)])
def test_gradient_of_composite_fft_sizes_matches_torchaudio(n_fft, power, device):
    # FFT sizes with a prime factor above 13 (401, 2 * 401, 2 * 2039): the CPU's backward takes the ATen
    # route there (spectrogram_backward.cpp), the one CUDA takes for every size.
    ref = TAT.Spectrogram(n_fft=n_fft, hop_length=n_fft // 3, power=power).to(device).double()
    ours = FA.Spectrogram(n_fft=n_fft, hop_length=n_fft // 3, power=power).to(device).double()
    x = synthetic(batch=(2,), length=3 * n_fft + 11, dtype=torch.float64, device=device)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = torch.randn_like(torch.view_as_real(ref(x)) if power is None else ref(x))
    for m, xx in ((ref, xa), (ours, xb)):
        y = m(xx)
        ((torch.view_as_real(y) if power is None else y) * g).sum().backward()
    torch.testing.assert_close(xb.grad, xa.grad, rtol=0, atol=1e-10 * xa.grad.abs().max().item())


def _grad_modules(M, dtype, device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [M.Spectrogram(n_fft=64, hop_length=16).to(device, dtype),
                M.Spectrogram(n_fft=63, hop_length=20, power=1.0, normalized=True).to(device, dtype),
                M.MelSpectrogram(n_fft=64, hop_length=16, n_mels=8).to(device, dtype)]


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_second_order_gradients_match_torchaudio(device):
    # A gradient penalty differentiates the gradient itself (create_graph=True).
    x = synthetic(batch=(2,), length=400, dtype=torch.float64, device=device)
    for ours, ref in zip(_grad_modules(FA, torch.float64, device), _grad_modules(TAT, torch.float64, device)):
        got = []
        for m in (ours, ref):
            xg = x.clone().requires_grad_()
            (g,) = torch.autograd.grad(m(xg).square().sum(), xg, create_graph=True)
            got.append(torch.autograd.grad(g.square().sum(), xg)[0])
        assert got[1].abs().max() > 0
        assert rel_err(got[0], got[1]) <= 1e-10


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_gradgradcheck(device):
    x = torch.randn(2, 40, dtype=torch.float64, device=device, requires_grad=True)
    for m in (FA.Spectrogram(n_fft=16, hop_length=4), FA.MelSpectrogram(n_fft=16, hop_length=4, n_mels=3)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert torch.autograd.gradgradcheck(m.to(device, torch.float64), (x,))


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_forward_mode_and_torch_func_match_torchaudio(device):
    import torch.autograd.forward_ad as fwAD

    x = synthetic(batch=(1,), length=300, dtype=torch.float64, device=device)
    t = torch.randn_like(x)
    for ours, ref in zip(_grad_modules(FA, torch.float64, device), _grad_modules(TAT, torch.float64, device)):
        want = torch.func.jvp(ref, (x,), (t,))[1]
        assert rel_err(torch.func.jvp(ours, (x,), (t,))[1], want) <= 1e-10
        with fwAD.dual_level():
            assert rel_err(fwAD.unpack_dual(ours(fwAD.make_dual(x, t))).tangent, want) <= 1e-10
        grad = [torch.func.grad(lambda v, m=m: m(v).square().sum())(x) for m in (ours, ref)]
        assert rel_err(grad[0], grad[1]) <= 1e-10
        jac = [torch.func.jacrev(lambda v, m=m: m(v).sum((-2, -1)))(x[..., :80]) for m in (ours, ref)]
        assert rel_err(jac[0], jac[1]) <= 1e-10
        batch = x.expand(3, 1, -1) * torch.arange(1.0, 4.0, dtype=x.dtype, device=device).view(3, 1, 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # vmap runs the fused op per example (no batching rule)
            assert rel_err(torch.func.vmap(ours)(batch), torch.func.vmap(ref)(batch)) <= 1e-10


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", (torch.float32, torch.float64))
def test_window_and_filterbank_gradients_match_torchaudio(dtype, device):
    # Learnable front ends: the window and the filterbank as parameters get torchaudio's gradients, alongside
    # the waveform's.
    x = synthetic(batch=(2,), length=2000, dtype=dtype, device=device)
    grads = []
    for M in (FA, TAT):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = M.MelSpectrogram(n_fft=128, hop_length=32, n_mels=16).to(device, dtype)
        m.spectrogram.window = torch.nn.Parameter(m.spectrogram.window)
        m.mel_scale.fb = torch.nn.Parameter(m.mel_scale.fb)
        xg = x.clone().requires_grad_()
        m(xg).log1p().sum().backward()
        grads.append((xg.grad, m.spectrogram.window.grad, m.mel_scale.fb.grad))
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    for got, want in zip(*grads):
        assert got is not None and rel_err(got, want) <= tol
    w = torch.hann_window(64, dtype=dtype, device=device, requires_grad=True)
    FAF.spectrogram(x, 0, w, 64, 16, 64, None, False).abs().sum().backward()
    wr = w.detach().clone().requires_grad_()
    TAF.spectrogram(x, 0, wr, 64, 16, 64, None, False).abs().sum().backward()
    assert rel_err(w.grad, wr.grad) <= tol
