"""audio ops: typed wrappers, fake kernels, autograd."""

import functools
from typing import Optional

import torch

from fastprep._extension import check_device

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


@functools.lru_cache(maxsize=None)
def _stft_integer_exception(dtype: torch.dtype, center: bool, pad_mode: str) -> type:
    # The exception torchaudio passes on for a non-float waveform comes from torch.stft, or from the centre
    # padding inside it, and changed between the torch releases we build against (2.11: RuntimeError from
    # stft, but NotImplementedError from reflect-padding a bool tensor; 2.14: NotImplementedError): ask the
    # torch we run with the same call on a tiny tensor, once per (dtype, center, pad_mode), not at import.
    try:
        with torch._C._DisableTorchDispatch():  # real tensors even when first asked under a fake / dispatch mode
            torch.stft(torch.zeros(8, dtype=dtype), 4, hop_length=1, window=torch.ones(4), center=center,
                       pad_mode=pad_mode, return_complex=True)
    except NotImplementedError:
        return NotImplementedError
    except Exception:  # noqa: BLE001 - any other refusal is a RuntimeError for our purposes
        return RuntimeError
    return RuntimeError


def integer_waveform_error(op: str, dtype: torch.dtype, center: bool = True, pad_mode: str = "reflect") -> Exception:
    """The exception torch.stft (so torchaudio) raises for a non-float waveform, with our message."""
    return _stft_integer_exception(dtype, center, pad_mode)(
        f"{op}: expected a tensor of floating point values, got {dtype}"
    )


def _n_frames(length: int, n_fft: int, hop_length: int, center: bool) -> int:
    padded = length + 2 * (n_fft // 2) if center else length
    return 1 + (padded - n_fft) // hop_length


def _compute_dtype(waveform: torch.Tensor) -> torch.dtype:
    # float16 / bfloat16 are computed in float32, as torch.stft would need anyway.
    return torch.float64 if waveform.dtype == torch.float64 else torch.float32


def _check_waveform(waveform: torch.Tensor, op: str, center: bool, pad_mode: str) -> None:
    if not (waveform.is_floating_point()):
        raise integer_waveform_error(op, waveform.dtype, center, pad_mode)
    check_device(waveform, op)


def spectrogram(
    waveform: torch.Tensor,
    window: torch.Tensor,
    n_fft: int,
    hop_length: int,
    center: bool = True,
    pad_mode: str = "reflect",
    power: Optional[float] = 2.0,
    normalized: int = 0,
) -> torch.Tensor:
    """Onesided (power) spectrogram of ``waveform`` ``(..., time)`` -> ``(..., n_fft // 2 + 1, frames)``.

    ``window`` has ``win_length <= n_fft`` samples (zero-padded and centred as torch.stft does);
    ``normalized``: 0 none, 1 by the window's L2 energy, 2 by sqrt(n_fft). ``power=None`` returns
    the complex spectrum.

    .. devices:: CPU CUDA
    .. properties:: Autograd TorchScript
    """
    _check_waveform(waveform, "spectrogram", center, pad_mode)
    dtype = _compute_dtype(waveform)
    out = torch.ops.fastprep.spectrogram.default(
        waveform.to(dtype), window.to(dtype), n_fft, hop_length, center, pad_mode, power, normalized
    )
    if waveform.dtype != dtype and power is not None:
        out = out.to(waveform.dtype)
    return out


def mel_spectrogram(
    waveform: torch.Tensor,
    window: torch.Tensor,
    fb: torch.Tensor,
    n_fft: int,
    hop_length: int,
    center: bool = True,
    pad_mode: str = "reflect",
    power: float = 2.0,
    normalized: int = 0,
) -> torch.Tensor:
    """Fused mel spectrogram: framing, window, FFT, power and the ``fb`` ``(n_freqs, n_mels)``
    projection, without materializing the linear spectrogram. Returns ``(..., n_mels, frames)``.

    .. devices:: CPU CUDA
    .. properties:: Autograd TorchScript
    """
    _check_waveform(waveform, "mel_spectrogram", center, pad_mode)
    dtype = _compute_dtype(waveform)
    out = torch.ops.fastprep.mel_spectrogram.default(
        waveform.to(dtype), window.to(dtype), fb.to(dtype), n_fft, hop_length, center, pad_mode, power, normalized
    )
    return out.to(waveform.dtype) if waveform.dtype != dtype else out


def amplitude_to_db(
    x: torch.Tensor, multiplier: float, amin: float, db_multiplier: float, top_db: Optional[float] = None
) -> torch.Tensor:
    """torchaudio.functional.amplitude_to_DB.

    .. devices:: CPU CUDA
    .. properties:: Autograd TorchScript
    """
    return torch.ops.fastprep.amplitude_to_db.default(x, multiplier, amin, db_multiplier, top_db)


# Fake kernels: shapes only, so torch.compile / export can trace the ops.
@torch.library.register_fake("fastprep::spectrogram")
def _spectrogram_fake(waveform, window, n_fft, hop_length, center, pad_mode, power, normalized):
    torch._check(n_fft > 0, lambda: f"stft: expected 0 < n_fft, but got n_fft={n_fft}")
    torch._check(hop_length > 0, lambda: f"stft: expected hop_length > 0, but got {hop_length}")
    torch._check(window.dim() == 1 and window.shape[0] <= n_fft, lambda: "stft: expected 0 < win_length <= n_fft")
    frames = _n_frames(waveform.shape[-1], n_fft, hop_length, center)
    shape = (*waveform.shape[:-1], n_fft // 2 + 1, frames)
    dtype = waveform.dtype if power is not None else (torch.complex128 if waveform.dtype == torch.float64 else torch.complex64)
    return waveform.new_empty(shape, dtype=dtype)


@torch.library.register_fake("fastprep::mel_spectrogram")
def _mel_spectrogram_fake(waveform, window, fb, n_fft, hop_length, center, pad_mode, power, normalized):
    torch._check(n_fft > 0, lambda: f"stft: expected 0 < n_fft, but got n_fft={n_fft}")
    torch._check(hop_length > 0, lambda: f"stft: expected hop_length > 0, but got {hop_length}")
    torch._check(fb.dim() == 2 and fb.shape[0] == n_fft // 2 + 1, lambda: "fb must be (n_fft // 2 + 1, n_mels)")
    frames = _n_frames(waveform.shape[-1], n_fft, hop_length, center)
    return waveform.new_empty((*waveform.shape[:-1], fb.shape[1], frames))


@torch.library.register_fake("fastprep::_spectrogram_backward")
def _spectrogram_backward_fake(grad, waveform, window, fb, n_fft, hop_length, center, pad_mode, power, normalized):
    frames = _n_frames(waveform.shape[-1], n_fft, hop_length, center)
    batch = 1
    for s in waveform.shape[:-1]:
        batch = batch * s
    return waveform.new_empty((batch, frames, n_fft))


def _overlap_add(frames, hop: int, length: int):
    """Frames (B, F, n) added at every hop samples into (B, length) (fold's overlap-add).

    As ceil(n / hop) shifted adds of whole hop-sized chunks when that is a few (fold copied its transposed
    input and took most of the backward's time); fold itself when the hop is much shorter than a frame.
    """
    batch, n_frames, n = frames.shape
    q, rem = divmod(n, hop)
    pieces = -(-n // hop)  # ceil, not q + (rem > 0): torch 2.11's symbolic shapes can't add a SymBool
    if pieces > 8:
        return torch.nn.functional.fold(
            frames.transpose(1, 2), output_size=(1, length), kernel_size=(1, n), stride=(1, hop)
        ).reshape(batch, length)
    chunks = max(n_frames + pieces - 1, -(-length // hop))
    out = frames.new_zeros(batch, chunks, hop)
    whole = frames[:, :, : q * hop].unflatten(-1, (q, hop))  # a view: chunk j of frame f goes to f + j
    for j in range(q):
        out[:, j : j + n_frames] += whole[:, :, j]
    if rem > 0:
        out[:, q : q + n_frames, :rem] += frames[:, :, q * hop :]
    return out.reshape(batch, chunks * hop)[:, :length]


def _frames_to_waveform(frame_grad, waveform, n_fft, hop_length, center, pad_mode):
    """Overlap-adds per-frame gradients (B, F, n_fft) and folds the centre padding back."""
    length = waveform.shape[-1]
    batch = frame_grad.shape[0]
    pad = n_fft // 2 if center else 0
    padded = length + 2 * pad
    gp = _overlap_add(frame_grad, hop_length, padded)
    if pad == 0:
        g = gp[:, :length]
    elif pad_mode == "reflect":
        g = torch.ops.aten.reflection_pad1d_backward(gp, waveform.reshape(batch, length), [pad, pad])
    elif pad_mode == "replicate":
        g = torch.ops.aten.replication_pad1d_backward(gp, waveform.reshape(batch, length), [pad, pad])
    elif pad_mode == "circular":
        g = gp[:, pad : pad + length].clone()
        g[:, length - pad :] += gp[:, :pad]
        g[:, :pad] += gp[:, pad + length :]
    else:
        g = gp[:, pad : pad + length]
    return g.reshape(waveform.shape)


def _composite_grads(ctx, grad, n_inputs):
    """Gradients through the ATen-ops route (the same arithmetic as torch.stft, so torchaudio's), recomputed.

    For what the fused backward does not give: a gradient for the window or the filterbank, and a gradient that
    is itself differentiable (``create_graph=True``: gradient penalties, gradgradcheck). With ``create_graph`` the
    saved inputs themselves are differentiated, so the result stays attached to their graph.
    """
    saved = list(ctx.saved_tensors)
    needs = [ctx.needs_input_grad[i] for i in range(len(saved))]
    n_fft, hop_length, center, pad_mode, power, normalized = ctx.args
    create_graph = torch.is_grad_enabled()
    with torch.enable_grad():
        inputs = saved if create_graph else [t.detach().requires_grad_(need) for t, need in zip(saved, needs)]
        fb = inputs[2] if len(inputs) > 2 else None
        out = torch.ops.fastprep._spectrogram_composite.default(
            inputs[0], inputs[1], fb, n_fft, hop_length, center, pad_mode, power, normalized
        )
        wanted = [t for t, need in zip(inputs, needs) if need]
        got = iter(torch.autograd.grad(out, wanted, grad, create_graph=create_graph, allow_unused=True))
    grads = [next(got) if need else None for need in needs]
    return tuple(grads) + (None,) * (n_inputs - len(grads))


def _waveform_grad(ctx, grad, fb, n_inputs):
    """Gradient of either op: the fused backward for the waveform alone, else the ATen-ops route."""
    waveform, window = ctx.saved_tensors[:2]
    if torch.is_grad_enabled() or any(ctx.needs_input_grad[1:len(ctx.saved_tensors)]):
        return _composite_grads(ctx, grad, n_inputs)
    if not ctx.needs_input_grad[0]:
        return (None,) * n_inputs
    n_fft, hop_length, center, pad_mode, power, normalized = ctx.args
    fg = torch.ops.fastprep._spectrogram_backward.default(
        grad.contiguous(), waveform, window, fb, n_fft, hop_length, center, pad_mode, power, normalized
    )
    return (_frames_to_waveform(fg, waveform, n_fft, hop_length, center, pad_mode),) + (None,) * (n_inputs - 1)


def _spec_setup_context(ctx, inputs, output):
    waveform, window, n_fft, hop_length, center, pad_mode, power, normalized = inputs
    ctx.args = (n_fft, hop_length, center, pad_mode, power, normalized)
    ctx.save_for_backward(waveform, window)


def _spec_backward(ctx, grad):
    return _waveform_grad(ctx, grad, None, 8)


def _mel_setup_context(ctx, inputs, output):
    waveform, window, fb, n_fft, hop_length, center, pad_mode, power, normalized = inputs
    ctx.args = (n_fft, hop_length, center, pad_mode, power, normalized)
    ctx.save_for_backward(waveform, window, fb)


def _mel_backward(ctx, grad):
    return _waveform_grad(ctx, grad, ctx.saved_tensors[2], 9)


torch.library.register_autograd("fastprep::spectrogram", _spec_backward, setup_context=_spec_setup_context)
torch.library.register_autograd("fastprep::mel_spectrogram", _mel_backward, setup_context=_mel_setup_context)
