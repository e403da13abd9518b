"""Drop-in replacement for torchaudio.transforms / torchaudio.functional (spectral part)."""

from fastprep.audio import functional
from fastprep.audio.transforms import (
    AmplitudeToDB,
    LogMelSpectrogram,
    MelScale,
    MelSpectrogram,
    MFCC,
    Spectrogram,
)

__all__ = ["functional", "Spectrogram", "MelScale", "MelSpectrogram", "AmplitudeToDB", "MFCC", "LogMelSpectrogram"]
