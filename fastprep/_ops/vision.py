"""vision ops: typed wrappers and fake kernels over torch.ops.fastprep."""

from typing import List, Optional

import torch

from fastprep._extension import check_device

_FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _out_dtype(inp: torch.Tensor, dtype, scale: bool, norm: bool) -> torch.dtype:
    if dtype is not None:
        return dtype
    if inp.dtype == torch.uint8 and (scale or norm):
        return torch.float32
    return inp.dtype


def _fake_out(inp, height, width, dtype, input_hwc, channels_last):
    torch._check(inp.dim() >= 3, lambda: f"Expected tensor to be a tensor image of size (..., C, H, W). Got {inp.shape}.")
    lead = list(inp.shape[:-3])
    c = inp.shape[-1] if input_hwc else inp.shape[-3]
    if channels_last:
        return inp.new_empty(lead + [height, width, c], dtype=dtype).movedim(-1, -3)
    return inp.new_empty(lead + [c, height, width], dtype=dtype)


# Fake kernels give torch.compile / export shapes and dtypes without running the op.
@torch.library.register_fake("fastprep::normalize")
def _normalize_fake(input, mean, std, dtype=None):
    return _fake_out(input, input.shape[-2], input.shape[-1], _out_dtype(input, dtype, True, True), False, False)


@torch.library.register_fake("fastprep::normalize.out")
def _normalize_out_fake(input, mean, std, *, out):
    torch._check(out.dtype in _FLOATS, lambda: f"out must be a floating point tensor, got {out.dtype}")
    return out


@torch.library.register_fake("fastprep::crop")
def _crop_fake(input, top, left, height, width):
    torch._check(input.dim() >= 2, lambda: f"crop expects a tensor of shape (..., H, W), got {input.shape}")
    return input.new_empty(list(input.shape[:-2]) + [height, width])


@torch.library.register_fake("fastprep::horizontal_flip")
def _hflip_fake(input):
    return torch.empty_like(input, memory_format=torch.contiguous_format)


@torch.library.register_fake("fastprep::vertical_flip")
def _vflip_fake(input):
    return torch.empty_like(input, memory_format=torch.contiguous_format)


@torch.library.register_fake("fastprep::crop_mirror_normalize")
def _cmn_fake(input, top, left, height, width, flip_horizontal=False, flip_vertical=False, mean=None, std=None,
              scale=True, dtype=None, input_hwc=False, channels_last=False, fill=None, fast=False):
    return _fake_out(input, height, width, _out_dtype(input, dtype, scale, mean is not None), input_hwc, channels_last)


@torch.library.register_fake("fastprep::crop_mirror_normalize.batched")
def _cmn_batched_fake(input, windows, flips, height, width, mean=None, std=None, scale=True, dtype=None,
                      input_hwc=False, channels_last=False, fill=None, fast=False):
    torch._check(input.dim() == 4, lambda: f"the batched form expects a [N, C, H, W] batch, got {input.shape}")
    torch._check(windows.shape[0] == input.shape[0] and windows.shape[1] == 4)
    torch._check(flips.shape[0] == input.shape[0] and flips.shape[1] == 2)
    return _fake_out(input, height, width, _out_dtype(input, dtype, scale, mean is not None), input_hwc, channels_last)


@torch.library.register_fake("fastprep::_random_crop_mirror_normalize")
def _random_cmn_fake(input, crop, flip_p, flip_horizontal, mean=None, std=None, scale=True, dtype=None, fill=None):
    torch._check(len(crop) == 6, lambda: f"crop must have 6 values, got {len(crop)}")
    return _fake_out(input, crop[4], crop[5], _out_dtype(input, dtype, scale, mean is not None), False, False)


def normalize(input: torch.Tensor, mean: List[float], std: List[float],
              dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """(input [* scale] - mean) / std per channel; uint8 input is scaled by 1/255 first.

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """
    check_device(input, "normalize")
    return torch.ops.fastprep.normalize.default(input, mean, std, dtype)


def crop(input: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    """input[..., top:top+height, left:left+width], zero outside the image.

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """
    check_device(input, "crop")
    return torch.ops.fastprep.crop.default(input, top, left, height, width)


def horizontal_flip(input: torch.Tensor) -> torch.Tensor:
    """input.flip(-1). .. devices:: CPU CUDA"""
    check_device(input, "horizontal_flip")
    return torch.ops.fastprep.horizontal_flip.default(input)


def vertical_flip(input: torch.Tensor) -> torch.Tensor:
    """input.flip(-2). .. devices:: CPU CUDA"""
    check_device(input, "vertical_flip")
    return torch.ops.fastprep.vertical_flip.default(input)


def crop_mirror_normalize(input: torch.Tensor, top: int, left: int, height: int, width: int,
                          flip_horizontal: bool = False, flip_vertical: bool = False,
                          mean: Optional[List[float]] = None, std: Optional[List[float]] = None,
                          scale: bool = True, dtype: Optional[torch.dtype] = None, input_hwc: bool = False,
                          channels_last: bool = False, fill: Optional[List[float]] = None,
                          fast: bool = False) -> torch.Tensor:
    """Raw fused op; see fastprep.transforms.functional.crop_mirror_normalize."""
    check_device(input, "crop_mirror_normalize")
    return torch.ops.fastprep.crop_mirror_normalize.default(
        input, top, left, height, width, flip_horizontal, flip_vertical, mean, std, scale, dtype, input_hwc,
        channels_last, fill, fast)


def crop_mirror_normalize_batched(input: torch.Tensor, windows: torch.Tensor, flips: torch.Tensor, height: int,
                                  width: int, mean: Optional[List[float]] = None, std: Optional[List[float]] = None,
                                  scale: bool = True, dtype: Optional[torch.dtype] = None, input_hwc: bool = False,
                                  channels_last: bool = False, fill: Optional[List[float]] = None,
                                  fast: bool = False) -> torch.Tensor:
    """Raw fused op with per-sample windows [N, 4] (top, left, height, width) and flips [N, 2]."""
    check_device(input, "crop_mirror_normalize")
    return torch.ops.fastprep.crop_mirror_normalize.batched(
        input, windows, flips, height, width, mean, std, scale, dtype, input_hwc, channels_last, fill, fast)


# Autograd: the kernels only move and rescale values, so each gradient is the window's gradient divided by std,
# flipped back and placed into zeros of the input's shape (the fill outside the image gets none), in ATen ops.
# Integer inputs (uint8 images) never require grad.
def _window_grad(grad, like, top, left, height, width, flip_h, flip_v, std, input_hwc):
    """like: (shape, dtype, device) of the input."""
    g = grad
    if std is not None:
        g = g / torch.tensor(std, dtype=g.dtype, device=g.device).view(-1, 1, 1)
    if flip_h:
        g = g.flip(-1)
    if flip_v:
        g = g.flip(-2)
    shape, dtype, device = like
    chw = list(shape[:-3]) + [shape[-1], shape[-3], shape[-2]] if input_hwc else list(shape)
    H, W = chw[-2], chw[-1]
    gin = torch.zeros(chw, dtype=dtype, device=device)
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + height, H), min(left + width, W)
    if t1 > t0 and l1 > l0:
        gin[..., t0:t1, l0:l1] = g[..., t0 - top : t1 - top, l0 - left : l1 - left]
    return gin.movedim(-3, -1) if input_hwc else gin


def _save_input(ctx, inputs, output):
    ctx.args = inputs[1:]
    ctx.like = (inputs[0].shape, inputs[0].dtype, inputs[0].device)  # not the input itself: no memory held


def _normalize_backward(ctx, grad):
    mean, std, dtype = ctx.args
    g = grad / torch.tensor(std, dtype=grad.dtype, device=grad.device).view(-1, 1, 1)
    return g.to(ctx.like[1]), None, None, None


def _crop_backward(ctx, grad):
    top, left, height, width = ctx.args
    return (_window_grad(grad, ctx.like, top, left, height, width, False, False, None, False),) + (None,) * 4


def _cmn_backward(ctx, grad):
    top, left, height, width, fh, fv, mean, std, scale, dtype, input_hwc, channels_last, fill, fast = ctx.args
    return (_window_grad(grad, ctx.like, top, left, height, width, fh, fv, std, input_hwc),) + (None,) * 14


def _cmn_batched_backward(ctx, grad):
    windows, flips, height, width, mean, std, scale, dtype, input_hwc, channels_last, fill, fast = ctx.args
    w, f = windows.tolist(), flips.tolist()
    shape, dtype, device = ctx.like
    one = (shape[1:], dtype, device)
    gin = torch.stack([_window_grad(grad[n], one, w[n][0], w[n][1], height, width, f[n][0], f[n][1], std, input_hwc)
                       for n in range(grad.shape[0])]) if grad.shape[0] else torch.zeros(shape, dtype=dtype,
                                                                                         device=device)
    return (gin,) + (None,) * 12


def _random_cmn_backward(ctx, grad):
    raise RuntimeError("fastprep::_random_crop_mirror_normalize draws its window inside the op and has no "
                       "gradient; Compose takes the differentiable path for inputs that require grad")


torch.library.register_autograd("fastprep::normalize", _normalize_backward, setup_context=_save_input)
torch.library.register_autograd("fastprep::crop", _crop_backward, setup_context=_save_input)
torch.library.register_autograd("fastprep::horizontal_flip", lambda ctx, g: g.flip(-1), setup_context=_save_input)
torch.library.register_autograd("fastprep::vertical_flip", lambda ctx, g: g.flip(-2), setup_context=_save_input)
torch.library.register_autograd("fastprep::crop_mirror_normalize", _cmn_backward, setup_context=_save_input)
torch.library.register_autograd("fastprep::crop_mirror_normalize.batched", _cmn_batched_backward,
                                setup_context=_save_input)
torch.library.register_autograd("fastprep::_random_crop_mirror_normalize", _random_cmn_backward,
                                setup_context=_save_input)
