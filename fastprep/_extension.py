"""Loads the compiled ops library and answers questions about it."""

import importlib
import os

import torch

_REBUILD = "pip install --no-build-isolation --force-reinstall --no-deps ."


def _torch_release(version: str) -> str:
    # "2.14.1+cu130" -> "2.14.1": the local tag does not change the C++ ABI we rely on.
    return version.split("+")[0]


def _load():
    try:
        build_info = importlib.import_module("fastprep._build_info")
    except ImportError as e:
        raise ImportError(
            "fastprep is not built (fastprep/_build_info.py is missing). "
            f"Build it against the installed torch {torch.__version__} with: {_REBUILD}"
        ) from e
    built = _torch_release(build_info.torch_version)
    installed = _torch_release(torch.__version__)
    if built != installed:
        raise ImportError(
            f"fastprep was built against torch {build_info.torch_version} but torch {torch.__version__} "
            f"is installed. Rebuild it with: {_REBUILD}"
        )
    try:
        importlib.import_module("fastprep._C")
    except ImportError as e:
        raise ImportError(
            f"fastprep's compiled library failed to load with torch {torch.__version__} "
            f"(built against {build_info.torch_version}): {e}. Rebuild it with: {_REBUILD}"
        ) from e
    return build_info


_build_info = _load()


def has_cuda_kernels(op: str = "fastprep::_build_info") -> bool:
    """Whether fastprep was built with CUDA kernels (for ``op``, when an op name is given
    as ``"fastprep::name"``)."""
    if op == "fastprep::_build_info":
        return _build_info.cuda_version is not None
    return torch._C._dispatch_has_kernel_for_dispatch_key(op, "CUDA")


# Read once at import: torch.compile cannot trace the dispatcher query inside check_device (a graph break,
# an error under fullgraph=True), but it can trace a lookup in a constant set.
_OPS_WITH_CUDA = frozenset(
    name for name in torch._C._dispatch_get_registrations_for_dispatch_key("CUDA") if name.startswith("fastprep::")
)


def check_device(t: torch.Tensor, op: str) -> None:
    """Turns a CUDA tensor reaching a CPU-only build into one clear sentence."""
    if t.device.type == "cuda" and f"fastprep::{op}" not in _OPS_WITH_CUDA:
        raise RuntimeError(
            f"fastprep.{op} got a CUDA tensor, but this fastprep build has no CUDA kernels "
            f"(built {'without CUDA' if _build_info.cuda_version is None else 'without this op'}). "
            "Rebuild with a CUDA toolkit present (FASTPREP_CUDA=1), or move the tensor to the CPU."
        )


def build_info() -> str:
    return torch.ops.fastprep._build_info()


__all__ = ["has_cuda_kernels", "check_device", "build_info"]

if os.environ.get("FASTPREP_VERBOSE"):
    print(build_info())
