"""Demo of the text pipeline (see fastprep.demo)."""
