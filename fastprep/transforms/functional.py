"""Drop-in for torchvision.transforms.v2.functional (tensor images).

Same signatures, defaults, results (bit-exact) and exception types as
torchvision.transforms.v2.functional for plain tensors and tv_tensors.Image,
with any number of leading batch dims, on CPU and CUDA. Every function is
TorchScript-compatible; tv_tensors handling is on the Python path only.

.. devices:: CPU CUDA
.. properties:: TorchScript
"""

import numbers
from typing import Any, List, Optional, Tuple

import torch

from fastprep._extension import check_device
from fastprep.transforms import _sample as _S

__all__ = [
    "normalize",
    "to_dtype",
    "convert_image_dtype",
    "crop",
    "center_crop",
    "horizontal_flip",
    "vertical_flip",
    "crop_mirror_normalize",
    "pad",
]

_FLOAT_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


@torch.jit.unused
def _unwrap(inpt: Any) -> torch.Tensor:
    """Plain tensor view of a tv_tensor (so the op sees no subclass); TypeError for non-tensors, as torchvision."""
    if type(inpt) is torch.Tensor:
        return inpt
    if isinstance(inpt, torch.Tensor):
        # Only tv_tensors are unwrapped: the tracing subclasses of torch.compile / torch.export (fake,
        # functional tensors) must pass through untouched, as_subclass would turn them into constants.
        if any(c.__name__ == "TVTensor" for c in type(inpt).__mro__):
            return inpt.as_subclass(torch.Tensor)
        return inpt
    raise TypeError(
        f"Input can either be a plain tensor, any TVTensor subclass, or a PIL image, but got {type(inpt)} instead."
    )


@torch.jit.unused
def _torchvision_kernel(inpt: Any, name: str) -> Any:
    """torchvision's functional `name` when inpt is a tv_tensor other than an Image or Video (bounding boxes,
    key points, a mask: their geometry and dtype rules are torchvision's, as the modules' samples do), else
    None. torchvision is installed whenever such an input exists."""
    if type(inpt) is torch.Tensor or not _S.is_tv_tensor(inpt) or _S.is_image_tensor(inpt):
        return None
    from torchvision.transforms.v2 import functional as TF

    return getattr(TF, name)


@torch.jit.unused
def _rewrap(out: torch.Tensor, like: Any) -> torch.Tensor:
    """tv_tensors.Image in -> Image out (torchvision's kernels rewrap the same way)."""
    if type(like) is torch.Tensor or type(out) is not torch.Tensor:
        return out
    if not any(c.__name__ == "TVTensor" for c in type(like).__mro__):
        return out
    return out.as_subclass(type(like))


def _fill_for(fill: Optional[List[float]], dtype: torch.dtype) -> Optional[List[float]]:
    """The fill as torchvision's pad stores it in a uint8 image: a scalar must fit, a per-channel list
    wraps like tensor.to(uint8). Keeps the kernel's float -> uint8 cast in range."""
    if fill is None:
        return fill
    if dtype != torch.uint8:
        if len(fill) > 1:
            # torchvision's per-channel fill is torch.tensor(fill): float32 values, then the image's dtype.
            return torch.jit.annotate(List[float], torch.tensor(fill, dtype=torch.float32).double().tolist())
        return fill
    if len(fill) == 1:
        if not (-1.0 < fill[0] < 256.0):
            raise RuntimeError("value cannot be converted to type uint8_t without overflow")
        return [float(int(fill[0]))]
    # The int64 hop: TorchScript's tolist() wants the annotated element type to match the tensor's.
    wrapped = torch.jit.annotate(List[int], torch.tensor(fill).to(torch.uint8).to(torch.int64).tolist())
    return [float(v) for v in wrapped]


def _check_cuda(t: torch.Tensor, op: str) -> None:
    if not torch.jit.is_scripting():
        if t.device.type != "cpu":
            check_device(t, op)


def normalize(inpt: torch.Tensor, mean: List[float], std: List[float], inplace: bool = False) -> torch.Tensor:
    """See torchvision.transforms.v2.functional.normalize. Bit-exact: ``(x - mean) / std`` in x's dtype."""
    if torch.jit.is_scripting():
        return _normalize(inpt, mean, std, inplace)
    tv = _torchvision_kernel(inpt, "normalize")
    if tv is not None:
        return tv(inpt, mean, std, inplace)
    # A number broadcasts over the channels, as torchvision's torch.as_tensor(mean) does.
    mean = [mean] if isinstance(mean, numbers.Number) else list(mean)
    std = [std] if isinstance(std, numbers.Number) else list(std)
    return _rewrap(_normalize(_unwrap(inpt), mean, std, inplace), inpt)


def _normalize(image: torch.Tensor, mean: List[float], std: List[float], inplace: bool) -> torch.Tensor:
    if not image.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {image.dtype}.")
    if image.ndim < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got {image.shape}.")
    for s in std:
        if s == 0:
            raise ValueError("std evaluated to zero, leading to division by zero.")
    _check_cuda(image, "normalize")
    out = torch.ops.fastprep.normalize(image, mean, std, None)
    if inplace:
        return image.copy_(out)
    return out


def _value_bits(dtype: torch.dtype) -> int:
    """Value bits of an integer image dtype (sign bit excluded), 0 for any other dtype."""
    if dtype == torch.uint8:
        return 8
    if dtype == torch.int8:
        return 7
    if dtype == torch.int16:
        return 15
    if dtype == torch.uint16:
        return 16
    if dtype == torch.int32:
        return 31
    if dtype == torch.int64:
        return 63
    return 0


def _max_value(dtype: torch.dtype) -> int:
    bits = _value_bits(dtype)
    if bits == 0:
        return 1  # float images are in [0, 1]
    half = 1 << (bits - 1)
    return half - 1 + half  # 2**bits - 1 without overflowing int64 (TorchScript) for int64


def _num_value_bits(dtype: torch.dtype) -> int:
    bits = _value_bits(dtype)
    if bits == 0:
        raise TypeError(f"Number of value bits is only defined for integer dtypes, but got {dtype}.")
    return bits


def _is_float_dtype(dtype: torch.dtype) -> bool:
    if not torch.jit.is_scripting():
        return dtype.is_floating_point  # the float8 types too, as torchvision
    return dtype == torch.float32 or dtype == torch.float64 or dtype == torch.float16 or dtype == torch.bfloat16


def to_dtype(inpt: torch.Tensor, dtype: torch.dtype = torch.float, scale: bool = False) -> torch.Tensor:
    """See torchvision.transforms.v2.functional.to_dtype. uint8 -> float with scale runs our kernel."""
    if torch.jit.is_scripting():
        return _to_dtype(inpt, dtype, scale)
    tv = _torchvision_kernel(inpt, "to_dtype")
    if tv is not None:
        return tv(inpt, dtype, scale)
    return _rewrap(_to_dtype(_unwrap(inpt), dtype, scale), inpt)


def _to_dtype(image: torch.Tensor, dtype: torch.dtype, scale: bool) -> torch.Tensor:
    if image.dtype == dtype:
        return image
    if not scale:
        return image.to(dtype)
    float_input = image.is_floating_point()
    float_output = _is_float_dtype(dtype)
    if float_input:
        if float_output:
            return image.to(dtype)
        if (image.dtype == torch.float32 and (dtype == torch.int32 or dtype == torch.int64)) or (
            image.dtype == torch.float64 and dtype == torch.int64
        ):
            raise RuntimeError(f"The conversion from {image.dtype} to {dtype} cannot be performed safely.")
        # Same formula as torchvision: scale by max + 1 - eps, then truncate.
        return image.mul(float(_max_value(dtype)) + 1.0 - 1e-3).to(dtype)
    if float_output:
        if image.dtype == torch.uint8 and image.ndim >= 3:
            _check_cuda(image, "crop_mirror_normalize")
            return torch.ops.fastprep.crop_mirror_normalize(
                image, 0, 0, image.shape[-2], image.shape[-1], False, False, None, None, True, dtype, False, False,
                None, False)
        return image.to(dtype).mul_(1.0 / _max_value(image.dtype))
    # int -> int: the bit shifts torchvision uses.
    bits_in = _num_value_bits(image.dtype)
    bits_out = _num_value_bits(dtype)
    shift = abs(bits_in - bits_out)
    if bits_in > bits_out:
        if image.dtype == torch.uint16:
            return (image / 2 ** (shift)).to(dtype)
        return image.bitwise_right_shift(shift).to(dtype)
    if dtype == torch.uint16:
        return image.to(dtype) * 2 ** (shift)
    return image.to(dtype).bitwise_left_shift_(shift)


def convert_image_dtype(image: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """See torchvision.transforms.v2.functional.convert_image_dtype (to_dtype with scale=True)."""
    return to_dtype(image, dtype=dtype, scale=True)


def crop(inpt: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    """See torchvision.transforms.v2.functional.crop. Inside the image this is a view, as in torchvision;
    a window reaching outside is zero-filled by our kernel."""
    if torch.jit.is_scripting():
        return _crop(inpt, top, left, height, width)
    tv = _torchvision_kernel(inpt, "crop")
    if tv is not None:
        return tv(inpt, top, left, height, width)
    return _rewrap(_crop(_unwrap(inpt), top, left, height, width), inpt)


def _crop(image: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    h = image.shape[-2]
    w = image.shape[-1]
    if left < 0 or top < 0 or left + width > w or top + height > h:
        _check_cuda(image, "crop")
        return torch.ops.fastprep.crop(image, top, left, height, width)
    return image[..., top : top + height, left : left + width]


def _center_crop_parse_output_size(output_size: List[int]) -> List[int]:
    if len(output_size) == 1:
        return [output_size[0], output_size[0]]
    return [output_size[0], output_size[1]]


def _center_crop_window(crop_height: int, crop_width: int, image_height: int, image_width: int) -> Tuple[int, int]:
    """The (top, left) torchvision's center_crop reads from, with its pad-then-crop folded in."""
    if crop_height > image_height:
        top = -((crop_height - image_height) // 2)
    else:
        top = _half_round_even(image_height - crop_height)
    if crop_width > image_width:
        left = -((crop_width - image_width) // 2)
    else:
        left = _half_round_even(image_width - crop_width)
    return top, left


def _half_round_even(d: int) -> int:
    """torchvision's int(round(d / 2.0)) (half to even) in integer arithmetic, so torch.compile/export keep
    the image size symbolic instead of guarding on a float round."""
    return (d + (d // 2) % 2) // 2


def center_crop(inpt: torch.Tensor, output_size: List[int]) -> torch.Tensor:
    """See torchvision.transforms.v2.functional.center_crop."""
    if torch.jit.is_scripting():
        return _center_crop(inpt, output_size)
    tv = _torchvision_kernel(inpt, "center_crop")
    if tv is not None:
        return tv(inpt, output_size)
    if isinstance(output_size, numbers.Number):
        output_size = [int(output_size)]
    return _rewrap(_center_crop(_unwrap(inpt), list(output_size)), inpt)


def _center_crop(image: torch.Tensor, output_size: List[int]) -> torch.Tensor:
    crop_height, crop_width = _center_crop_parse_output_size(output_size)
    if image.numel() == 0:
        shape = list(image.shape[:-2]) + [crop_height, crop_width]
        return image.reshape(shape)
    top, left = _center_crop_window(crop_height, crop_width, image.shape[-2], image.shape[-1])
    return _crop(image, top, left, crop_height, crop_width)


def horizontal_flip(inpt: torch.Tensor) -> torch.Tensor:
    """See torchvision.transforms.v2.functional.horizontal_flip."""
    if torch.jit.is_scripting():
        return torch.ops.fastprep.horizontal_flip(inpt)
    tv = _torchvision_kernel(inpt, "horizontal_flip")
    if tv is not None:
        return tv(inpt)
    image = _unwrap(inpt)
    _check_cuda(image, "horizontal_flip")
    return _rewrap(torch.ops.fastprep.horizontal_flip(image), inpt)


def vertical_flip(inpt: torch.Tensor) -> torch.Tensor:
    """See torchvision.transforms.v2.functional.vertical_flip."""
    if torch.jit.is_scripting():
        return torch.ops.fastprep.vertical_flip(inpt)
    tv = _torchvision_kernel(inpt, "vertical_flip")
    if tv is not None:
        return tv(inpt)
    image = _unwrap(inpt)
    _check_cuda(image, "vertical_flip")
    return _rewrap(torch.ops.fastprep.vertical_flip(image), inpt)


def _parse_pad_padding(padding: List[int]) -> List[int]:
    """[left, right, top, bottom] from torchvision's 1/2/4-element padding."""
    if len(padding) == 1:
        return [padding[0], padding[0], padding[0], padding[0]]
    if len(padding) == 2:
        return [padding[0], padding[0], padding[1], padding[1]]
    if len(padding) == 4:
        return [padding[0], padding[2], padding[1], padding[3]]
    raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple or list. Found {len(padding)}")


def pad(
    inpt: torch.Tensor, padding: List[int], fill: Optional[List[float]] = None, padding_mode: str = "constant"
) -> torch.Tensor:
    """torchvision.transforms.v2.functional.pad for tensor images (constant mode runs our crop kernel).

    Non-constant modes (edge, reflect, symmetric) are a composite of torch ops that reproduces torchvision.
    """
    if torch.jit.is_scripting():
        return _pad(inpt, padding, fill, padding_mode)
    tv = _torchvision_kernel(inpt, "pad")
    if tv is not None:
        return tv(inpt, padding, fill, padding_mode)
    if isinstance(padding, int):
        padding = [padding]
    if isinstance(fill, (int, float)):
        fill = [float(fill)]
    return _rewrap(_pad(_unwrap(inpt), list(padding), fill, padding_mode), inpt)


def _pad(image: torch.Tensor, padding: List[int], fill: Optional[List[float]], padding_mode: str) -> torch.Tensor:
    left, right, top, bottom = _parse_pad_padding(padding)
    if padding_mode not in ["constant", "edge", "reflect", "symmetric"]:
        raise ValueError(
            "`padding_mode` should be either `'constant'`, `'edge'`, `'reflect'` or `'symmetric'`, "
            f"but got `'{padding_mode}'`."
        )
    if padding_mode != "constant" and fill is not None and len(fill) > 1:
        raise ValueError(f"Padding mode '{padding_mode}' is not supported if fill is not scalar")
    if min(left, right, top, bottom) < 0 and padding_mode == "constant" and image.ndim >= 3:
        # Negative sides crop (torchvision's pad slices them off first); the rest is padded below.
        h, w = image.shape[-2], image.shape[-1]
        if h + min(top, 0) + min(bottom, 0) < 0 or w + min(left, 0) + min(right, 0) < 0:
            raise RuntimeError("narrow(): length must be non-negative.")  # torch's pad, cropping past the image
        image = image[..., max(-top, 0) : h - max(-bottom, 0), max(-left, 0) : w - max(-right, 0)]
        left, right, top, bottom = max(left, 0), max(right, 0), max(top, 0), max(bottom, 0)
    h = image.shape[-2]
    w = image.shape[-1]
    if padding_mode == "constant":
        if fill is not None and len(fill) > 1:
            c = image.shape[-3]
            if len(fill) != c:
                raise RuntimeError(
                    f"The expanded size of the tensor ({c}) must match the existing size ({len(fill)}) "
                    "at non-singleton dimension 0"
                )
        if min(left, right, top, bottom) >= 0 and image.ndim >= 3:
            _check_cuda(image, "crop_mirror_normalize")
            fill = _fill_for(fill, image.dtype)
            return torch.ops.fastprep.crop_mirror_normalize(
                image, -top, -left, h + top + bottom, w + left + right, False, False, None, None, False, None, False,
                False, fill, False)
        value = 0.0 if fill is None else fill[0]
        return torch.nn.functional.pad(image, [left, right, top, bottom], mode="constant", value=value)
    return _pad_nonconstant(image, [left, right, top, bottom], padding_mode)


def _pad_nonconstant(image: torch.Tensor, p: List[int], padding_mode: str) -> torch.Tensor:
    # Composite path, same torch ops and order as torchvision (edge/reflect through float32 for integer images).
    shape = image.shape
    c, h, w = shape[-3], shape[-2], shape[-1]
    # The leading count spelled out: reshape(-1, ...) is ambiguous for a 0-element image.
    n = 1
    for s in shape[:-3]:
        n *= s
    x = image.reshape(n, c, h, w)
    if padding_mode == "symmetric":
        if min(p) < 0:
            x = x[..., max(-p[2], 0) : h - max(-p[3], 0), max(-p[0], 0) : w - max(-p[1], 0)]
            p = [max(v, 0) for v in p]
        hh, ww = x.shape[-2], x.shape[-1]
        xs = list(range(p[0] - 1, -1, -1)) + list(range(ww)) + [-(i + 1) for i in range(p[1])]
        ys = list(range(p[2] - 1, -1, -1)) + list(range(hh)) + [-(i + 1) for i in range(p[3])]
        xi = torch.tensor(xs, device=x.device)
        yi = torch.tensor(ys, device=x.device)
        x = x[:, :, yi[:, None], xi[None, :]]
    else:
        mode = "replicate" if padding_mode == "edge" else "reflect"
        dtype = x.dtype
        needs_cast = not x.is_floating_point()
        if needs_cast:
            x = x.to(torch.float32)
        x = torch.nn.functional.pad(x, p, mode=mode)
        if needs_cast:
            x = x.to(dtype)
    out_shape = list(shape[:-3]) + [c, x.shape[-2], x.shape[-1]]
    return x.reshape(out_shape)


def crop_mirror_normalize(
    inpt: torch.Tensor,
    top: int,
    left: int,
    height: int,
    width: int,
    flip_horizontal: bool = False,
    flip_vertical: bool = False,
    mean: Optional[List[float]] = None,
    std: Optional[List[float]] = None,
    scale: bool = True,
    dtype: Optional[torch.dtype] = None,
    input_hwc: bool = False,
    channels_last: bool = False,
    fill: Optional[List[float]] = None,
    fast: bool = False,
) -> torch.Tensor:
    """Crop, flip, convert and normalize in one pass over the input.

    Equal (bit-exact) to ``normalize(to_dtype(flip(crop(x)), dtype, scale), mean, std)`` in torchvision, where
    the crop window may reach outside the image (filled with ``fill``, a value of the input dtype, as
    torchvision's pad) and all arithmetic rounds to ``dtype``.

    Args:
        inpt: ``[..., C, H, W]`` uint8 or float image(s), or ``[..., H, W, C]`` with ``input_hwc=True``.
        top, left, height, width: the crop window in input pixels.
        flip_horizontal, flip_vertical: mirror the cropped window.
        mean, std: per-channel normalization (both or neither); None converts only.
        scale: uint8 input is multiplied by 1/255 (``ToDtype(dtype, scale=True)``).
        dtype: output dtype (default float32 for uint8 input, else the input dtype).
        channels_last: return channels-last memory (shape stays ``[..., C, h, w]``).
        fill: per-channel or scalar fill for the part of the window outside the image.
        fast: fold scale/mean/std into one multiply-add (not bit-exact: within 2 ulp of float32 for
            uint8 input; documented in docs/vision.md).

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """
    if torch.jit.is_scripting():
        return torch.ops.fastprep.crop_mirror_normalize(
            inpt, top, left, height, width, flip_horizontal, flip_vertical, mean, std, scale, dtype, input_hwc,
            channels_last, fill, fast)
    image = _unwrap(inpt)
    _check_cuda(image, "crop_mirror_normalize")
    if std is not None:
        for s in std:
            if s == 0:
                raise ValueError("std evaluated to zero, leading to division by zero.")
    out = torch.ops.fastprep.crop_mirror_normalize.default(
        image, top, left, height, width, flip_horizontal, flip_vertical, mean, std, scale, dtype, input_hwc,
        channels_last, _fill_for(fill, image.dtype), fast)
    return out if input_hwc else _rewrap(out, inpt)
