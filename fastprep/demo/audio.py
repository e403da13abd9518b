"""Demo of the audio pipeline (see fastprep.demo)."""
