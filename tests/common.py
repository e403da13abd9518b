"""Helpers shared by the test files: device parametrization and tolerances."""

import os

import pytest
import torch

import fastprep

CUDA_AVAILABLE = torch.cuda.is_available()
REQUIRE_CUDA = os.environ.get("FASTPREP_TEST_REQUIRE_CUDA", "") in {"1", "true", "yes", "on"}


def needs_cuda(fn=None):
    mark = pytest.mark.needs_cuda
    return mark(fn) if fn is not None else mark


def cpu_and_cuda():
    """["cpu", cuda]: the cuda param carries the needs_cuda mark, which conftest skips without a GPU."""
    return ("cpu", pytest.param("cuda", marks=pytest.mark.needs_cuda))


def has_cuda_kernel(op: str) -> bool:
    return fastprep.has_cuda_kernels(f"fastprep::{op}")
