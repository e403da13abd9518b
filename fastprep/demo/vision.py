"""Demo of the vision pipeline (see fastprep.demo)."""
