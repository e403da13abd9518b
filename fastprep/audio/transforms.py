"""Drop-in for torchaudio.transforms' spectral modules: same signatures, defaults,
``__init__`` arguments and ``state_dict`` keys (``window``, ``fb``, ``dct_mat``), so a
torchaudio module's state loads into ours."""

import math
import warnings
from typing import Callable, Optional, Union

import torch
from torch import Tensor

from fastprep.audio import functional as F

__all__ = ["Spectrogram", "MelScale", "MelSpectrogram", "AmplitudeToDB", "MFCC", "LogMelSpectrogram"]


class Spectrogram(torch.nn.Module):
    r"""Create a spectrogram from an audio signal (torchaudio.transforms.Spectrogram).

    .. devices:: CPU CUDA

    .. properties:: Autograd TorchScript
    """

    __constants__ = ["n_fft", "win_length", "hop_length", "pad", "power", "normalized"]

    def __init__(
        self,
        n_fft: int = 400,
        win_length: Optional[int] = None,
        hop_length: Optional[int] = None,
        pad: int = 0,
        window_fn: Callable[..., Tensor] = torch.hann_window,
        power: Optional[float] = 2.0,
        normalized: Union[bool, str] = False,
        wkwargs: Optional[dict] = None,
        center: bool = True,
        pad_mode: str = "reflect",
        onesided: bool = True,
        return_complex: Optional[bool] = None,
    ) -> None:
        super().__init__()
        self.n_fft = n_fft
        # n_fft // 2 + 1 frequency bins (onesided).
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        window = window_fn(self.win_length) if wkwargs is None else window_fn(self.win_length, **wkwargs)
        self.register_buffer("window", window)
        self.pad = pad
        self.power = power
        self.normalized = normalized
        self.center = center
        self.pad_mode = pad_mode
        self.onesided = onesided
        if return_complex is not None:
            warnings.warn(
                "`return_complex` argument is now deprecated and is not effective."
                "`torchaudio.transforms.Spectrogram(power=None)` always returns a tensor with "
                "complex dtype. Please remove the argument in the function call."
            )

    def forward(self, waveform: Tensor) -> Tensor:
        return F.spectrogram(
            waveform,
            self.pad,
            self.window,
            self.n_fft,
            self.hop_length,
            self.win_length,
            self.power,
            self.normalized,
            self.center,
            self.pad_mode,
            self.onesided,
        )


class AmplitudeToDB(torch.nn.Module):
    r"""Turn a tensor from the power/amplitude scale to the decibel scale (torchaudio.transforms.AmplitudeToDB).

    .. devices:: CPU CUDA

    .. properties:: Autograd TorchScript
    """

    __constants__ = ["multiplier", "amin", "ref_value", "db_multiplier"]

    def __init__(self, stype: str = "power", top_db: Optional[float] = None) -> None:
        super().__init__()
        self.stype = stype
        if top_db is not None and top_db < 0:
            raise ValueError("top_db must be positive value")
        self.top_db = top_db
        self.multiplier = 10.0 if stype == "power" else 20.0
        self.amin = 1e-10
        self.ref_value = 1.0
        self.db_multiplier = math.log10(max(self.amin, self.ref_value))

    def forward(self, x: Tensor) -> Tensor:
        return F.amplitude_to_DB(x, self.multiplier, self.amin, self.db_multiplier, self.top_db)


class MelScale(torch.nn.Module):
    r"""Turn a normal STFT into a mel frequency STFT with triangular filter banks (torchaudio.transforms.MelScale).

    .. devices:: CPU CUDA

    .. properties:: Autograd TorchScript
    """

    __constants__ = ["n_mels", "sample_rate", "f_min", "f_max", "n_stft"]

    def __init__(
        self,
        n_mels: int = 128,
        sample_rate: int = 16000,
        f_min: float = 0.0,
        f_max: Optional[float] = None,
        n_stft: int = 201,
        norm: Optional[str] = None,
        mel_scale: str = "htk",
    ) -> None:
        super().__init__()
        self.n_mels = n_mels
        self.sample_rate = sample_rate
        self.f_max = f_max if f_max is not None else float(sample_rate // 2)
        self.f_min = f_min
        self.n_stft = n_stft
        self.norm = norm
        self.mel_scale = mel_scale
        if f_min > self.f_max:
            raise ValueError("Require f_min: {} <= f_max: {}".format(f_min, self.f_max))
        fb = F.melscale_fbanks(self.n_stft, self.f_min, self.f_max, self.n_mels, self.sample_rate, self.norm, self.mel_scale)
        self.register_buffer("fb", fb)

    def forward(self, specgram: Tensor) -> Tensor:
        # (..., time, freq) @ (freq, n_mels) -> (..., n_mels, time)
        return torch.matmul(specgram.transpose(-1, -2), self.fb).transpose(-1, -2)


class MelSpectrogram(torch.nn.Module):
    r"""Create a mel spectrogram of a raw audio signal (torchaudio.transforms.MelSpectrogram), fused:
    the linear spectrogram is never materialized.

    .. devices:: CPU CUDA

    .. properties:: Autograd TorchScript
    """

    __constants__ = ["sample_rate", "n_fft", "win_length", "hop_length", "pad", "n_mels", "f_min"]

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 400,
        win_length: Optional[int] = None,
        hop_length: Optional[int] = None,
        f_min: float = 0.0,
        f_max: Optional[float] = None,
        pad: int = 0,
        n_mels: int = 128,
        window_fn: Callable[..., Tensor] = torch.hann_window,
        power: float = 2.0,
        normalized: bool = False,
        wkwargs: Optional[dict] = None,
        center: bool = True,
        pad_mode: str = "reflect",
        onesided: Optional[bool] = None,
        norm: Optional[str] = None,
        mel_scale: str = "htk",
    ) -> None:
        super().__init__()
        if onesided is not None:
            warnings.warn(
                "Argument 'onesided' has been deprecated and has no influence on the behavior of this module."
            )
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.win_length = win_length if win_length is not None else n_fft
        self.hop_length = hop_length if hop_length is not None else self.win_length // 2
        self.pad = pad
        self.power = power
        self.normalized = normalized
        self.n_mels = n_mels
        self.f_max = f_max
        self.f_min = f_min
        self.spectrogram = Spectrogram(
            n_fft=self.n_fft,
            win_length=self.win_length,
            hop_length=self.hop_length,
            pad=self.pad,
            window_fn=window_fn,
            power=self.power,
            normalized=self.normalized,
            wkwargs=wkwargs,
            center=center,
            pad_mode=pad_mode,
            onesided=True,
        )
        self.mel_scale = MelScale(
            self.n_mels, self.sample_rate, self.f_min, self.f_max, self.n_fft // 2 + 1, norm, mel_scale
        )

    def forward(self, waveform: Tensor) -> Tensor:
        # torchaudio runs self.spectrogram then self.mel_scale, so their attributes are the ones that count; one
        # fused call with them (hooks on the two submodules do not fire).
        s = self.spectrogram
        power = s.power
        if power is None:
            raise RuntimeError("MelSpectrogram needs a power spectrogram, but spectrogram.power is None")
        return F.mel_spectrogram(
            waveform, s.pad, s.window, self.mel_scale.fb, s.n_fft, s.hop_length, s.win_length, power, s.normalized,
            s.center, s.pad_mode,
        )


class MFCC(torch.nn.Module):
    r"""Create the Mel-frequency cepstrum coefficients from an audio signal (torchaudio.transforms.MFCC).

    .. devices:: CPU CUDA

    .. properties:: Autograd TorchScript
    """

    __constants__ = ["sample_rate", "n_mfcc", "dct_type", "top_db", "log_mels"]

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mfcc: int = 40,
        dct_type: int = 2,
        norm: str = "ortho",
        log_mels: bool = False,
        melkwargs: Optional[dict] = None,
    ) -> None:
        super().__init__()
        supported_dct_types = [2]
        if dct_type not in supported_dct_types:
            raise ValueError("DCT type not supported: {}".format(dct_type))
        self.sample_rate = sample_rate
        self.n_mfcc = n_mfcc
        self.dct_type = dct_type
        self.norm = norm
        self.top_db = 80.0
        self.amplitude_to_DB = AmplitudeToDB("power", self.top_db)
        melkwargs = melkwargs or {}
        self.MelSpectrogram = MelSpectrogram(sample_rate=self.sample_rate, **melkwargs)
        if self.n_mfcc > self.MelSpectrogram.n_mels:
            raise ValueError("Cannot select more MFCC coefficients than # mel bins")
        dct_mat = F.create_dct(self.n_mfcc, self.MelSpectrogram.n_mels, self.norm)
        self.register_buffer("dct_mat", dct_mat)
        self.log_mels = log_mels

    def forward(self, waveform: Tensor) -> Tensor:
        mel_specgram = self.MelSpectrogram(waveform)
        if self.log_mels:
            log_offset = 1e-6
            if mel_specgram.requires_grad:
                mel_specgram = torch.log(mel_specgram + log_offset)
            else:
                mel_specgram = mel_specgram.add_(log_offset).log_()  # our fresh output: no new tensors
        else:
            mel_specgram = self.amplitude_to_DB(mel_specgram)
        # (..., time, n_mels) @ (n_mels, n_mfcc) -> (..., n_mfcc, time)
        return torch.matmul(mel_specgram.transpose(-1, -2), self.dct_mat).transpose(-1, -2)


class LogMelSpectrogram(torch.nn.Module):
    r"""Whisper's log-mel front end as a preset: n_fft 400, hop 160, Hann window, Slaney mel scale
    and norm, last frame dropped, ``log10(clamp(power, 1e-10))``, clamped at (max - 8) per example,
    then ``(x + 4) / 4``. Input ``(..., time)`` at 16 kHz; output ``(..., n_mels, frames - 1)``.

    .. devices:: CPU CUDA

    .. properties:: Autograd TorchScript
    """

    __constants__ = ["n_mels", "sample_rate", "n_fft", "hop_length"]

    def __init__(self, n_mels: int = 80, sample_rate: int = 16000, n_fft: int = 400, hop_length: int = 160) -> None:
        super().__init__()
        if n_mels not in (80, 128):
            raise ValueError("Whisper uses 80 or 128 mel bins, got {}".format(n_mels))
        self.n_mels = n_mels
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.register_buffer("window", torch.hann_window(n_fft))
        fb = F.melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate / 2.0, n_mels, sample_rate, "slaney", "slaney")
        self.register_buffer("fb", fb)

    def forward(self, waveform: Tensor) -> Tensor:
        mel = F.mel_spectrogram(
            waveform, 0, self.window, self.fb, self.n_fft, self.hop_length, self.n_fft, 2.0, False, True, "reflect"
        )[..., :-1]
        # Without autograd the steps run in place on the op's fresh output: each new tensor of a 30 s batch
        # page-faults, and the four of the out-of-place recipe cost as much as the mel itself. The same
        # operations in the same order, so the same values.
        in_place = not mel.requires_grad
        log_spec = mel.clamp_(min=1e-10).log10_() if in_place else torch.clamp(mel, min=1e-10).log10()
        # Per example: the max over (mel, time) of each item of the leading dims.
        peak = log_spec.amax(dim=(-2, -1), keepdim=True)
        if in_place:
            log_spec.clamp_min_(peak - 8.0).add_(4.0)  # clamp_min with a tensor bound is ATen's maximum
        else:
            log_spec = torch.maximum(log_spec, peak - 8.0) + 4.0
        return log_spec / 4.0  # a new tensor: contiguous, as the recipe's output is
