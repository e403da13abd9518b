import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))

from common import CUDA_AVAILABLE, REQUIRE_CUDA  # noqa: E402

import fastprep  # noqa: E402


def pytest_collection_modifyitems(config, items):
    """Skip needs_cuda tests without a GPU; with FASTPREP_TEST_REQUIRE_CUDA=1 a skip is a failure."""
    for item in items:
        if item.get_closest_marker("needs_cuda") is None:
            continue
        if REQUIRE_CUDA:
            if not CUDA_AVAILABLE:
                item.add_marker(pytest.mark.xfail(reason="FASTPREP_TEST_REQUIRE_CUDA=1 but no GPU", strict=True, run=False))
            continue
        if not CUDA_AVAILABLE:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA device"))
        elif not fastprep.has_cuda_kernels():
            item.add_marker(pytest.mark.skip(reason="fastprep was built without CUDA kernels"))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
