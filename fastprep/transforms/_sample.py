"""Samples as torchvision.transforms.v2 takes them: several inputs (``t(image, target)``), tuples, lists and
dicts of them, and tv_tensors that are not images (BoundingBoxes, Mask, KeyPoints).

v2's rules (``Transform.forward``): the sample is flattened with torch's pytree; tv_tensors.Image and Video
are images; when the sample has neither (nor a PIL image), the first plain tensor is the image and any other
plain tensor passes through; every other tensor (a tv_tensor) is transformed by its type's kernel; anything
that is not a tensor (labels, strings, None) passes through. Random parameters are drawn once per sample, so
an image and its boxes get the same crop.

fastprep's kernels transform the images. Every other tv_tensor goes through torchvision's own kernel for its
type, with the parameters we drew: it is a torchvision object, so torchvision is installed, and its boxes and
masks come out exactly as v2 makes them. Python only: the scripted modules take one image tensor.
"""

from typing import Any, List, Optional, Tuple

import torch
from torch.utils import _pytree as pytree

IMAGE = "image"  # transformed by fastprep's kernels
TV = "tv"  # another tv_tensor: torchvision's kernel for its type


def _tv_bases(x: Any) -> List[type]:
    return [c for c in type(x).__mro__ if c.__module__.startswith("torchvision.tv_tensors")]


def is_tv_tensor(x: Any) -> bool:
    # By class, not by import: torchvision is not a dependency of fastprep.
    return isinstance(x, torch.Tensor) and any(c.__name__ == "TVTensor" for c in type(x).__mro__)


def _is_image_kind(x: Any) -> bool:
    return any(c.__name__ in ("Image", "Video") for c in _tv_bases(x))


def _is_pil(x: Any) -> bool:
    return any(c.__module__.startswith("PIL.") and c.__name__ == "Image" for c in type(x).__mro__)


def is_image_tensor(x: Any) -> bool:
    """One input that the modules' forward takes as it is: a plain tensor (or a tracing subclass), an Image or
    a Video."""
    return type(x) is torch.Tensor or (isinstance(x, torch.Tensor) and (not is_tv_tensor(x) or _is_image_kind(x)))


def flatten(inputs: Tuple[Any, ...]) -> Tuple[Any, List[Any], Any, List[Optional[str]]]:
    """(sample, its leaves, the tree spec, each leaf's kind: IMAGE, TV or None to pass through)."""
    sample = inputs if len(inputs) > 1 else inputs[0]
    flat, spec = pytree.tree_flatten(sample)
    take_plain = not any(_is_pil(x) or (is_tv_tensor(x) and _is_image_kind(x)) for x in flat)
    kinds: List[Optional[str]] = []
    for x in flat:
        if _is_pil(x):
            raise TypeError(
                "fastprep.transforms work on tensor images, got a PIL image in the sample; convert it first "
                "(torchvision.transforms.v2.PILToTensor() or ToImage())"
            )
        if not isinstance(x, torch.Tensor):
            kinds.append(None)
        elif is_tv_tensor(x):
            kinds.append(IMAGE if _is_image_kind(x) else TV)
        elif take_plain:
            take_plain = False
            kinds.append(IMAGE)
        else:
            kinds.append(None)  # v2: plain tensors beside the image (CelebA's attributes, ...) pass through
    return sample, flat, spec, kinds


def unflatten(leaves: List[Any], spec: Any) -> Any:
    return pytree.tree_unflatten(leaves, spec)


def query_size(flat: List[Any], kinds: List[Optional[str]]) -> Tuple[int, int]:
    """The sample's (H, W), from its images, masks, boxes and keypoints; v2's errors when there is none or
    when they disagree."""
    sizes = set()
    for x, k in zip(flat, kinds):
        names = [c.__name__ for c in _tv_bases(x)]
        if k == IMAGE or (k == TV and "Mask" in names):
            if x.ndim < 2:
                raise TypeError(f"Input tensor should have at least two dimensions, but got {x.ndim}")
            sizes.add((int(x.shape[-2]), int(x.shape[-1])))
        elif k == TV and ("BoundingBoxes" in names or "KeyPoints" in names):
            sizes.add(tuple(int(v) for v in x.canvas_size))
    if not sizes:
        raise TypeError("No image, video, mask, bounding box of keypoint was found in the sample")
    if len(sizes) > 1:
        listed = ", ".join(f"'{s}'" for s in sorted(sizes))  # v2's sequence_to_str
        raise ValueError(f"Found multiple HxW dimensions in the sample: {listed}")
    return sizes.pop()


def run(sample: Any, flat: List[Any], spec: Any, kinds: List[Optional[str]], image_fn: Any, twin_fn: Any,
        params: Any) -> Any:
    """The sample with image leaves through image_fn(x) and other tv_tensors through the torchvision twin's
    transform(x, params) (the twin built once, only when such a leaf exists)."""
    twin = None
    out = []
    for x, k in zip(flat, kinds):
        if k == IMAGE:
            out.append(image_fn(x))
        elif k == TV:
            if twin is None:
                twin = twin_fn()
            out.append(twin.transform(x, params))
        else:
            out.append(x)
    return unflatten(out, spec)
