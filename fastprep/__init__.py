"""fastprep: C++/CUDA data preprocessing for PyTorch.

Drop-in replacements for torchvision.transforms.v2, torchaudio.transforms and
torchtext: ``fastprep.transforms``, ``fastprep.audio`` and ``fastprep.text``.
"""

from fastprep import _extension  # loads _C first: fake kernels register against its ops
from fastprep._extension import build_info, has_cuda_kernels
from fastprep import _ops  # noqa: F401  (fake kernels, autograd)
from fastprep import transforms, audio, text

__version__ = _extension._build_info.version

__all__ = ["transforms", "audio", "text", "has_cuda_kernels", "build_info", "__version__"]
