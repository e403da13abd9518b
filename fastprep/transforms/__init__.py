"""Drop-in replacement for torchvision.transforms.v2 (tensor images): change the import, keep the results."""

from fastprep.transforms import functional
from fastprep.transforms._transforms import (
    CenterCrop,
    Compose,
    ConvertImageDtype,
    CropMirrorNormalize,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomVerticalFlip,
    ToDtype,
)

__all__ = [
    "functional",
    "Normalize",
    "ToDtype",
    "ConvertImageDtype",
    "CenterCrop",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomVerticalFlip",
    "Compose",
    "CropMirrorNormalize",
]
