"""Thin typed wrappers over torch.ops.fastprep, with fake kernels and autograd."""

from fastprep._ops import vision, audio, text  # noqa: F401
