"""Drop-in for the spectral part of torchaudio.functional, backed by fastprep's fused ops."""

import math
import warnings
from typing import List, Optional, Tuple, Union

import torch
from torch import Tensor
from torch.autograd import forward_ad as _forward_ad

from fastprep._extension import check_device as _check_device_py
from fastprep._ops.audio import integer_waveform_error as _integer_waveform_error

__all__ = ["spectrogram", "mel_spectrogram", "melscale_fbanks", "amplitude_to_DB", "create_dct"]


def _get_spec_norms(normalized: Union[str, bool]) -> Tuple[bool, bool]:
    frame_length_norm, window_norm = False, False
    if isinstance(normalized, str):
        if normalized not in ["frame_length", "window"]:
            raise ValueError("Invalid normalized parameter: {}".format(normalized))
        if normalized == "frame_length":
            frame_length_norm = True
        elif normalized == "window":
            window_norm = True
    elif isinstance(normalized, bool):
        if normalized:
            window_norm = True
    else:
        raise TypeError("Input type not supported")
    return frame_length_norm, window_norm


def _norm_code(normalized: Union[str, bool]) -> int:
    frame_length_norm, window_norm = _get_spec_norms(normalized)
    return 1 if window_norm else (2 if frame_length_norm else 0)


def _prepare(
    waveform: Tensor, pad: int, n_fft: int, hop_length: int, win_length: int, window: Tensor, center: bool, pad_mode: str
) -> Tensor:
    # Same exception types as torch.stft (RuntimeError) for the framing arguments. Scripted, a raise here would be
    # TorchScript's own torch.jit.Error (not a RuntimeError): the op itself raises instead, as stft does there.
    if waveform.dim() == 0:
        raise IndexError("spectrogram: the waveform needs a time dimension, got a 0-d tensor")
    if not waveform.is_floating_point():
        if not torch.jit.is_scripting():
            # torch.stft's exception type for integer input (what torchaudio raises), per torch release.
            raise _integer_waveform_error("spectrogram", waveform.dtype, center, pad_mode)
        raise RuntimeError("spectrogram: expected a tensor of floating point values, got " + str(waveform.dtype))
    if not torch.jit.is_scripting():
        if n_fft < 1:
            raise RuntimeError("stft: expected 0 < n_fft, but got n_fft=" + str(n_fft))
        if hop_length < 1:
            raise RuntimeError("stft: expected hop_length > 0, but got hop_length=" + str(hop_length))
        if win_length < 1 or win_length > n_fft:
            raise RuntimeError(
                "stft: expected 0 < win_length <= n_fft, but got win_length=" + str(win_length) + " and n_fft="
                + str(n_fft)
            )
    if window.numel() != win_length:
        raise RuntimeError(
            "stft: expected a 1D window tensor of size equal to win_length=" + str(win_length)
            + ", but got window with size " + str(window.shape)
        )
    if pad > 0:
        waveform = torch.nn.functional.pad(waveform, (pad, pad), "constant")
    return waveform


@torch.jit.unused
def _check_device(waveform: Tensor, op: str) -> None:
    _check_device_py(waveform, op)


def _dtypes(waveform: Tensor, window: Tensor, fb: Optional[Tensor]) -> Tuple[torch.dtype, torch.dtype]:
    """(compute, result): torch.stft's promotion of the waveform with the window (and the filterbank), as
    torchaudio's result has it (a half waveform through a float32 module gives float32, a float32 one through a
    float64 module float64), computed in float32 or float64."""
    if window.is_complex():
        raise RuntimeError("stft: expected a real window, got " + str(window.dtype))
    result = torch.promote_types(waveform.dtype, window.dtype)
    if fb is not None:
        result = torch.promote_types(result, fb.dtype)
    return (torch.float64 if result == torch.float64 else torch.float32), result


@torch.jit.unused
def _beyond_reverse_mode(tensors: List[Tensor]) -> bool:
    # Forward-mode AD and torch.func's grad / jvp transforms see derivatives through ATen ops only (the fused ops'
    # autograd is reverse mode): such calls take the ATen-ops route. vmap alone keeps the fused op (per example).
    if torch.compiler.is_compiling():
        return False
    for t in tensors:
        if torch._C._functorch.is_functorch_wrapped_tensor(t) and not torch._C._functorch.is_batchedtensor(t):
            return True
        if _forward_ad._current_level >= 0 and _forward_ad.unpack_dual(t).tangent is not None:
            return True
    return False


def _two_sided(onesided: Tensor, n_fft: int) -> Tensor:
    # A real signal's bins above n_fft // 2 are the conjugates of those below: torch.stft's onesided=False.
    rest = onesided[..., 1 : n_fft - n_fft // 2, :].flip(-2)
    return torch.cat([onesided, rest.conj() if rest.is_complex() else rest], dim=-2)


def _op_inputs(
    waveform: Tensor, pad: int, window: Tensor, n_fft: int, hop_length: int, win_length: int,
    normalized: Union[bool, str], center: bool, pad_mode: str, op: str,
) -> Tuple[Tensor, int]:
    """Checks shared by spectrogram and mel_spectrogram: the padded waveform and the op's normalization code."""
    norm = _norm_code(normalized)
    waveform = _prepare(waveform, pad, n_fft, hop_length, win_length, window, center, pad_mode)
    if not torch.jit.is_scripting():
        _check_device(waveform, op)
    return waveform, norm


def spectrogram(
    waveform: Tensor,
    pad: int,
    window: Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    power: Optional[float],
    normalized: Union[bool, str],
    center: bool = True,
    pad_mode: str = "reflect",
    onesided: bool = True,
    return_complex: Optional[bool] = None,
) -> Tensor:
    r"""Create a spectrogram or a batch of spectrograms from a raw audio signal (torchaudio's signature).

    Returns ``(..., n_fft // 2 + 1, frames)`` (``n_fft`` bins with ``onesided=False``); complex when ``power``
    is None. The dtype is torch.stft's promotion of the waveform's and the window's (float16 / bfloat16 are
    computed in float32).

    .. devices:: CPU CUDA

    .. properties:: Autograd TorchScript
    """
    if return_complex is not None:
        warnings.warn(
            "`return_complex` argument is now deprecated and is not effective."
            "`torchaudio.functional.spectrogram(power=None)` always returns a tensor with "
            "complex dtype. Please remove the argument in the function call."
        )
    waveform, norm = _op_inputs(
        waveform, pad, window, n_fft, hop_length, win_length, normalized, center, pad_mode, "spectrogram"
    )
    # torchaudio computes |X| ** power for any power (its docs ask for > 0); the kernels take a positive one, so
    # other powers start from the complex spectrum.
    op_power = power if power is None or power > 0 else None
    compute, result = _dtypes(waveform, window, None)
    args = (waveform.to(compute), window.to(compute))
    if not torch.jit.is_scripting() and _beyond_reverse_mode([waveform, window]):
        out = torch.ops.fastprep._spectrogram_composite(args[0], args[1], None, n_fft, hop_length, center, pad_mode,
                                                        op_power, norm)
    else:
        out = torch.ops.fastprep.spectrogram(args[0], args[1], n_fft, hop_length, center, pad_mode, op_power, norm)
    if power is not None and op_power is None:
        out = out.abs().pow(power)
    if power is not None and out.dtype != result:
        out = out.to(result)
    return out if onesided else _two_sided(out, n_fft)


def mel_spectrogram(
    waveform: Tensor,
    pad: int,
    window: Tensor,
    fb: Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    power: float,
    normalized: Union[bool, str],
    center: bool = True,
    pad_mode: str = "reflect",
) -> Tensor:
    r"""Fused ``melscale(spectrogram(...))`` with ``fb`` of shape ``(n_fft // 2 + 1, n_mels)``;
    returns ``(..., n_mels, frames)`` without materializing the linear spectrogram.

    .. devices:: CPU CUDA

    .. properties:: Autograd TorchScript
    """
    waveform, norm = _op_inputs(
        waveform, pad, window, n_fft, hop_length, win_length, normalized, center, pad_mode, "mel_spectrogram"
    )
    if power <= 0:
        # Not a kernel's power (see spectrogram): the spectrogram, then MelScale's matmul.
        spec = spectrogram(waveform, 0, window, n_fft, hop_length, win_length, power, normalized, center, pad_mode)
        return torch.matmul(spec.transpose(-1, -2), fb.to(spec.dtype)).transpose(-1, -2)
    compute, result = _dtypes(waveform, window, fb)
    args = (waveform.to(compute), window.to(compute), fb.to(compute))
    if not torch.jit.is_scripting() and _beyond_reverse_mode([waveform, window, fb]):
        out = torch.ops.fastprep._spectrogram_composite(args[0], args[1], args[2], n_fft, hop_length, center,
                                                        pad_mode, power, norm)
    else:
        out = torch.ops.fastprep.mel_spectrogram(args[0], args[1], args[2], n_fft, hop_length, center, pad_mode,
                                                 power, norm)
    return out.to(result) if out.dtype != result else out


def _hz_to_mel(freq: float, mel_scale: str = "htk") -> float:
    if mel_scale not in ["slaney", "htk"]:
        raise ValueError('mel_scale should be one of "htk" or "slaney".')
    if mel_scale == "htk":
        return 2595.0 * math.log10(1.0 + (freq / 700.0))
    # Slaney: linear below 1 kHz, logarithmic above.
    f_sp = 200.0 / 3
    mels = freq / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    if freq >= min_log_hz:
        mels = min_log_mel + math.log(freq / min_log_hz) / logstep
    return mels


def _mel_to_hz(mels: Tensor, mel_scale: str = "htk") -> Tensor:
    if mel_scale not in ["slaney", "htk"]:
        raise ValueError('mel_scale should be one of "htk" or "slaney".')
    if mel_scale == "htk":
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    log_t = mels >= min_log_mel
    freqs[log_t] = min_log_hz * torch.exp(logstep * (mels[log_t] - min_log_mel))
    return freqs


def melscale_fbanks(
    n_freqs: int,
    f_min: float,
    f_max: float,
    n_mels: int,
    sample_rate: int,
    norm: Optional[str] = None,
    mel_scale: str = "htk",
) -> Tensor:
    r"""Triangular mel filterbank ``(n_freqs, n_mels)``, float32, as torchaudio builds it.

    .. devices:: CPU

    .. properties:: TorchScript
    """
    if norm is not None and norm != "slaney":
        raise ValueError('norm must be one of None or "slaney"')
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_min = _hz_to_mel(f_min, mel_scale=mel_scale)
    m_max = _hz_to_mel(f_max, mel_scale=mel_scale)
    m_pts = torch.linspace(m_min, m_max, n_mels + 2)
    f_pts = _mel_to_hz(m_pts, mel_scale=mel_scale)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    zero = torch.zeros(1)
    down_slopes = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up_slopes = slopes[:, 2:] / f_diff[1:]
    fb = torch.max(zero, torch.min(down_slopes, up_slopes))
    if norm is not None and norm == "slaney":
        # Area normalization: divide each triangle by its mel band width.
        enorm = 2.0 / (f_pts[2 : n_mels + 2] - f_pts[:n_mels])
        fb *= enorm.unsqueeze(0)
    if (fb.max(dim=0).values == 0.0).any():
        warnings.warn(
            "At least one mel filterbank has all zero values. "
            f"The value for `n_mels` ({n_mels}) may be set too high. "
            f"Or, the value for `n_freqs` ({n_freqs}) may be set too low."
        )
    return fb


def amplitude_to_DB(
    x: Tensor, multiplier: float, amin: float, db_multiplier: float, top_db: Optional[float] = None
) -> Tensor:
    r"""Turn a spectrogram from the power/amplitude scale to the decibel scale (torchaudio's semantics).

    .. devices:: CPU CUDA

    .. properties:: Autograd TorchScript
    """
    return torch.ops.fastprep.amplitude_to_db(x, multiplier, amin, db_multiplier, top_db)


def create_dct(n_mfcc: int, n_mels: int, norm: Optional[str]) -> Tensor:
    r"""DCT-II matrix ``(n_mels, n_mfcc)``, normalized for ``norm="ortho"``.

    .. devices:: CPU

    .. properties:: TorchScript
    """
    if norm is not None and norm != "ortho":
        raise ValueError('norm must be either "ortho" or None')
    n = torch.arange(float(n_mels))
    k = torch.arange(float(n_mfcc)).unsqueeze(1)
    dct = torch.cos(math.pi / float(n_mels) * (n + 0.5) * k)
    if norm is None:
        dct *= 2.0
    else:
        dct[0] *= 1.0 / math.sqrt(2.0)
        dct *= math.sqrt(2.0 / float(n_mels))
    return dct.t()
