"""Drop-in replacement for torchaudio.transforms / torchaudio.functional."""
