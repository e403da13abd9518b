"""Drop-in modules for torchvision.transforms.v2 (tensor images), scriptable.

Each class keeps torchvision's name, signature, defaults and random draws (the
same calls on torch's default generator, in the same order). ``Compose`` fuses
each run of consecutive crop / flip / to_dtype / normalize transforms into one
``crop_mirror_normalize`` call with the same output as running them one by one.
"""

import enum
import functools
import numbers
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn
from torch.nn.modules import module as _m

from fastprep import _C
from fastprep.transforms import _sample as _S
from fastprep.transforms import functional as F

__all__ = [
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


def _setup_size(size: Any, error_msg: str) -> Tuple[int, int]:
    if isinstance(size, numbers.Number):
        size = [int(size), int(size)]
    elif isinstance(size, Sequence) and len(size) == 1:
        size = [size[0], size[0]]
    elif len(size) != 2:
        raise ValueError(error_msg)
    size = (int(size[0]), int(size[1]))
    # torchvision silently returns empty or odd crops here; a crop size below 1 is always a bug.
    if size[0] < 1 or size[1] < 1:
        raise ValueError(f"crop size must be positive, got {size}")
    return size


def _check_padding_arg(padding: Any) -> None:
    err_msg = f"Padding must be an int or a 1, 2, or 4 element of tuple or list, got {padding}."
    if isinstance(padding, (tuple, list)):
        if len(padding) not in [1, 2, 4] or not all(isinstance(p, int) for p in padding):
            raise ValueError(err_msg)
    elif not isinstance(padding, int):
        raise ValueError(err_msg)


def _convert_fill(fill: Any) -> Optional[List[float]]:
    if fill is None:
        return None
    if isinstance(fill, (int, float)):
        return [float(fill)]
    return [float(v) for v in list(fill)]


def _check_fill_arg(fill: Any) -> None:
    if isinstance(fill, dict):
        for value in fill.values():
            _check_fill_arg(value)
    elif fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg, only Numbers, tuples, lists and dicts are allowed.")


def _check_p(p: float) -> None:
    if not (0.0 <= p <= 1.0):
        raise ValueError("`p` should be a floating point value in the interval [0.0, 1.0].")


# Bumped whenever a fastprep transform's public attribute is set after construction, or a Compose's list of
# transforms changes: every Compose compares it per call and rebuilds its plans (a schedule on p, progressive
# resizing). Setting attributes is rare; the check is one read.
_CONFIG = [0]


class _WatchedDict(dict):
    """A ModuleList's _modules that reports item assignment, insertion and deletion (Compose.transforms)."""

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        _CONFIG[0] += 1

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        _CONFIG[0] += 1

    def pop(self, *args: Any) -> Any:
        _CONFIG[0] += 1
        return super().pop(*args)

    def clear(self) -> None:
        _CONFIG[0] += 1
        super().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        _CONFIG[0] += 1
        super().update(*args, **kwargs)


class _WatchedList(list):
    """Compose.transforms when some are plain callables: the same reporting as _WatchedDict."""


def _watch(name: str) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        _CONFIG[0] += 1
        return getattr(list, name)(self, *args, **kwargs)

    return method


for _name in ("__setitem__", "__delitem__", "__iadd__", "append", "extend", "insert", "pop", "remove", "clear",
              "sort", "reverse"):
    setattr(_WatchedList, _name, _watch(_name))


class _Transform(nn.Module):
    """Base: torchvision's repr (public attributes as name=value). A public attribute set after construction
    refreshes what the transform derived from it (_refresh) and invalidates every Compose's plans."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def wrapped(self: Any, *args: Any, **kw: Any) -> None:
            init(self, *args, **kw)
            if type(self).__init__ is wrapped:  # the outermost constructor has finished
                self._configured = True

        cls.__init__ = wrapped

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if not name.startswith("_") and self.__dict__.get("_configured", False):
            self._refresh()
            _CONFIG[0] += 1

    @torch.jit.unused
    def _refresh(self) -> None:
        """Recomputes private state derived from public attributes (none here)."""

    def extra_repr(self) -> str:
        extra = []
        for name, value in self.__dict__.items():
            if name.startswith("_") or name == "training" or (name == "per_sample" and not value):
                continue  # per_sample=False (the default) is left out, so the repr reads as torchvision's
            if not isinstance(value, (bool, int, float, str, tuple, list, enum.Enum)):
                continue
            extra.append(f"{name}={value}")
        return ", ".join(extra)

    # Fusion protocol used by Compose (Python only): fold this transform into the pending
    # crop_mirror_normalize call; False means "materialize first" (or "not fusible").
    @torch.jit.unused
    def _fuse(self, st: "_Fused") -> bool:
        return False

    @torch.jit.unused
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # One image tensor: the module call (hooks, forward). Anything else is a v2 sample: (image, target),
        # a dict, boxes or a mask, a label (_sample.py). Scripted modules keep forward's one image.
        if len(args) == 1 and not kwargs and _S.is_image_tensor(args[0]):
            # nn.Module.__call__'s hook machinery costs a microsecond: skipped while no hook is set (as Compose).
            if self._forward_hooks or self._forward_pre_hooks or _m._global_forward_hooks \
                    or _m._global_forward_pre_hooks or _m._global_backward_hooks or _m._global_backward_pre_hooks \
                    or self._backward_hooks or self._backward_pre_hooks:
                return super().__call__(args[0])
            return self.forward(args[0])
        if kwargs or not args:
            return super().__call__(*args, **kwargs)  # forward's own TypeError
        return self._sample_call(args)

    @torch.jit.unused
    def _sample_call(self, inputs: Tuple[Any, ...]) -> Any:
        """v2's Transform.forward: parameters drawn once, images through forward's kernels, other tv_tensors
        through torchvision's."""
        sample, flat, spec, kinds = _S.flatten(inputs)
        params = self._sample_params(flat, kinds)
        return _S.run(sample, flat, spec, kinds, lambda x: self._sample_image(x, params), self._twin, params)

    @torch.jit.unused
    def _sample_params(self, flat: List[Any], kinds: List[Optional[str]]) -> Dict[str, Any]:
        return {}

    @torch.jit.unused
    def _sample_image(self, x: torch.Tensor, params: Dict[str, Any]) -> torch.Tensor:
        return self.forward(x)

    @torch.jit.unused
    def _twin(self) -> Any:
        """The torchvision transform whose transform(inpt, params) handles the sample's other tv_tensors."""
        raise NotImplementedError


class _ScriptFused(object):
    """The scripted Compose's pending crop_mirror_normalize call on ``x``: one window (scripted transforms
    draw once per call, per_sample or not), flips, dtype and mean/std. Same folding rules as ``_Fused``."""

    # The Optional fields come in as typed arguments: TorchScript classes take an attribute's type from
    # its first assignment, and None alone would make it NoneType.
    def __init__(self, x: torch.Tensor, fill: Optional[List[float]] = None, dtype: Optional[torch.dtype] = None,
                 mean: Optional[List[float]] = None, std: Optional[List[float]] = None) -> None:
        self.x = x
        nd = x.dim()
        self.H = x.shape[-2] if nd >= 2 else 0
        self.W = x.shape[-1] if nd >= 2 else 0
        self.h = self.H
        self.w = self.W
        self.top = 0
        self.left = 0
        self.fh = False
        self.fv = False
        self.full = True  # the view is exactly the image: a crop may reach outside it
        self.fill = fill
        self.dtype = dtype
        self.scale = False
        self.mean = mean
        self.std = std

    def clean(self) -> bool:
        """A window reaching outside the image folds only into a run with no crop or convert before it."""
        return self.full and self.dtype is None and self.mean is None

    def crop(self, t: int, l: int, ch: int, cw: int, fill: Optional[List[float]]) -> bool:
        inside = 0 <= t and t + ch <= self.h and 0 <= l and l + cw <= self.w
        if not inside and not self.clean():
            return False
        top = self.top + ((self.h - t - ch) if self.fv else t)
        left = self.left + ((self.w - l - cw) if self.fh else l)
        if not inside:
            self.fill = F._fill_for(fill, self.x.dtype)  # checked only where used, as torchvision pads
        self.top = top
        self.left = left
        self.h = ch
        self.w = cw
        self.full = ch == self.H and cw == self.W and top == 0 and left == 0
        return True

    def flip(self, flag: bool, horizontal: bool) -> None:
        if flag:
            if horizontal:
                self.fh = not self.fh
            else:
                self.fv = not self.fv

    def flush(self) -> torch.Tensor:
        """The input itself, a view of it (as torchvision's crop), or one crop_mirror_normalize call."""
        x = self.x
        if not self.fh and not self.fv and self.dtype is None and self.mean is None:
            top, left, h, w = self.top, self.left, self.h, self.w
            if top == 0 and left == 0 and h == self.H and w == self.W:
                return x
            if top >= 0 and left >= 0 and top + h <= self.H and left + w <= self.W:
                return x[..., top : top + h, left : left + w]
        return torch.ops.fastprep.crop_mirror_normalize(
            x, self.top, self.left, self.h, self.w, self.fh, self.fv, self.mean, self.std,
            self.scale if self.dtype is not None else False, self.dtype, False, False, self.fill, False)


def _script_fuse_to_dtype(st: _ScriptFused, dtype: torch.dtype, scale: bool) -> bool:
    """ToDtype's folding rule (as ToDtype._fuse)."""
    x = st.x
    if st.dtype is not None or st.mean is not None:
        return False
    if dtype == x.dtype:
        return True
    if not F._is_float_dtype(dtype) or not (x.dtype == torch.uint8 or x.is_floating_point()):
        return False
    if x.dim() < 3:
        return False
    st.dtype = dtype
    st.scale = scale and x.dtype == torch.uint8
    return True


class Normalize(_Transform):
    """See torchvision.transforms.v2.Normalize. ``(x - mean) / std`` bit-exact in x's dtype.

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        super().__init__()
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]
        self.inplace = inplace
        self._refresh()

    @torch.jit.unused
    def _refresh(self) -> None:
        # Checked once here (fusion refuses it); F.normalize raises per call, where torchvision raises it.
        self._std_zero = not all(self.std)

    def forward(self, inpt: torch.Tensor) -> torch.Tensor:
        # F.normalize checks dtype, then ndim, then std == 0: torchvision's order (a uint8 image is a TypeError).
        return F.normalize(inpt, self.mean, self.std, self.inplace)

    @torch.jit.unused
    def _twin(self) -> Any:
        from torchvision.transforms import v2

        return v2.Normalize(self.mean, self.std, self.inplace)

    @torch.jit.unused
    def _fuse(self, st: "_Fused") -> bool:
        if self.inplace or st.mean is not None or self._std_zero:
            return False
        vdt = st.dtype if st.dtype is not None else st.x.dtype
        if not F._is_float_dtype(vdt) or st.x.ndim < 3:
            return False  # the unfused path raises torchvision's error
        st.mean, st.std = self.mean, self.std
        return True

    def _script_fuse(self, st: _ScriptFused) -> bool:
        # The scripted Compose's fold (TorchScript compiles this per Compose element); False: run forward.
        if self.inplace or st.mean is not None or self._std_zero:
            return False
        vdt = st.x.dtype
        pending = st.dtype  # a local: TorchScript refines Optional locals, not attributes
        if pending is not None:
            vdt = pending
        if not F._is_float_dtype(vdt) or st.x.dim() < 3:
            return False
        st.mean = self.mean
        st.std = self.std
        return True


class ToDtype(_Transform):
    """See torchvision.transforms.v2.ToDtype. ``dtype`` a torch.dtype (images converted, the masks and boxes
    of a sample passed through), or v2's per-type dict such as
    ``{tv_tensors.Image: torch.float32, tv_tensors.Mask: torch.int64, "others": None}`` (eager only: the
    dict form does not script, as in v2, and runs unfused inside Compose).

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """

    def __init__(self, dtype: Any = torch.float32, scale: bool = False) -> None:
        super().__init__()
        if not isinstance(dtype, (dict, torch.dtype)):
            raise ValueError(f"dtype must be a dict or a torch.dtype, got {type(dtype)} instead")
        if isinstance(dtype, dict):
            names = {getattr(k, "__name__", None) for k in dtype if isinstance(k, type) and k is not torch.Tensor}
            if torch.Tensor in dtype and names & {"Image", "Video"}:
                warnings.warn(
                    "Got `dtype` values for `torch.Tensor` and either `tv_tensors.Image` or `tv_tensors.Video`. "
                    "Note that a plain `torch.Tensor` will *not* be transformed by this (or any other "
                    "transformation) in case a `tv_tensors.Image` or `tv_tensors.Video` is present in the input."
                )
        self.dtype = dtype
        self.scale = scale

    @torch.jit.unused
    def __prepare_scriptable__(self) -> "ToDtype":
        # torch.jit.script calls this first: a clear error instead of TorchScript's on the dict attribute.
        if isinstance(self.dtype, dict):
            raise RuntimeError(
                "ToDtype with a per-type dtype dict does not script (nor do torchvision v2's transforms); "
                "script ToDtype(torch.float32, ...) with a torch.dtype, which converts images only"
            )
        return self

    def forward(self, inpt: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_scripting():
            if isinstance(self.dtype, dict):
                return self._sample_call((inpt,))
        return F.to_dtype(inpt, self.dtype, self.scale)

    @torch.jit.unused
    def _sample_image(self, x: torch.Tensor, params: Dict[str, Any]) -> torch.Tensor:
        if not isinstance(self.dtype, dict):
            return F.to_dtype(x, self.dtype, self.scale)
        # v2's lookup: the input's exact type, else "others"; None leaves it as it is.
        if type(x) in self.dtype:
            dtype = self.dtype[type(x)]
        elif "others" in self.dtype:
            dtype = self.dtype["others"]
        else:
            raise ValueError(
                f"No dtype was specified for type {type(x)}. "
                "If you only need to convert the dtype of images or videos, you can just pass e.g. dtype=torch.float32. "
                "If you're passing a dict as dtype, "
                'you can use "others" as a catch-all key '
                'e.g. dtype={tv_tensors.Mask: torch.int64, "others": None} to pass-through the rest of the inputs.'
            )
        if dtype is None:
            if self.scale:
                warnings.warn("scale was set to True but no dtype was specified for images or videos: no scaling will be done.")
            return x
        return F.to_dtype(x, dtype, self.scale)

    @torch.jit.unused
    def _twin(self) -> Any:
        from torchvision.transforms import v2

        return v2.ToDtype(dict(self.dtype) if isinstance(self.dtype, dict) else self.dtype, self.scale)

    @torch.jit.unused
    def _fuse(self, st: "_Fused") -> bool:
        x = st.x
        if isinstance(self.dtype, dict) or st.dtype is not None or st.mean is not None:
            return False
        if self.dtype == x.dtype:
            return True
        if not F._is_float_dtype(self.dtype) or not (x.dtype == torch.uint8 or x.is_floating_point()):
            return False
        if x.ndim < 3:
            return False
        st.dtype = self.dtype
        st.scale = self.scale and x.dtype == torch.uint8
        return True

    def _script_fuse(self, st: _ScriptFused) -> bool:
        return _script_fuse_to_dtype(st, self.dtype, self.scale)


class ConvertImageDtype(_Transform):
    """See torchvision.transforms.v2.ConvertImageDtype (to_dtype with scale=True).

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """

    def __init__(self, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.dtype = dtype

    def forward(self, inpt: torch.Tensor) -> torch.Tensor:
        return F.to_dtype(inpt, self.dtype, True)

    @torch.jit.unused
    def _twin(self) -> Any:
        from torchvision.transforms import v2

        return v2.ConvertImageDtype(self.dtype)

    @torch.jit.unused
    def _fuse(self, st: "_Fused") -> bool:
        return ToDtype(self.dtype, True)._fuse(st)

    def _script_fuse(self, st: _ScriptFused) -> bool:
        return _script_fuse_to_dtype(st, self.dtype, True)


class CenterCrop(_Transform):
    """See torchvision.transforms.v2.CenterCrop.

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """

    def __init__(self, size: Any) -> None:
        super().__init__()
        self.size = _setup_size(size, error_msg="Please provide only two dimensions (h, w) for size.")

    def forward(self, inpt: torch.Tensor) -> torch.Tensor:
        return F.center_crop(inpt, [self.size[0], self.size[1]])

    @torch.jit.unused
    def _twin(self) -> Any:
        from torchvision.transforms import v2

        return v2.CenterCrop(self.size)

    @torch.jit.unused
    def _fuse(self, st: "_Fused") -> bool:
        if st.x.numel() == 0 or st.x.ndim < 3:
            return False
        ch, cw = self.size
        top, left = F._center_crop_window(ch, cw, st.h, st.w)
        return st.crop([top], [left], ch, cw, None)

    def _script_fuse(self, st: _ScriptFused) -> bool:
        if st.x.numel() == 0 or st.x.dim() < 3:
            return False
        ch, cw = self.size[0], self.size[1]
        top, left = F._center_crop_window(ch, cw, st.h, st.w)
        return st.crop(top, left, ch, cw, None)


class RandomCrop(_Transform):
    """See torchvision.transforms.v2.RandomCrop; same draws under the same torch.manual_seed.

    ``per_sample`` (fastprep extension, last): on a batch ``[N, ..., C, H, W]``, draw a window for each
    sample in sample order and crop all of them in one batched kernel.

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """

    def __init__(
        self,
        size: Any,
        padding: Optional[Any] = None,
        pad_if_needed: bool = False,
        fill: Any = 0,
        padding_mode: str = "constant",
        per_sample: bool = False,
    ) -> None:
        super().__init__()
        self.size = _setup_size(size, error_msg="Please provide only two dimensions (h, w) for size.")
        if pad_if_needed or padding is not None:
            if padding is not None:
                _check_padding_arg(padding)
            if padding_mode not in ["constant", "edge", "reflect", "symmetric"]:
                raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        _check_fill_arg(fill)
        if padding is not None and padding != 0 and padding != []:
            p = F._parse_pad_padding([padding] if isinstance(padding, int) else list(padding))
        else:
            p = None
        self.padding: Optional[List[int]] = p  # [left, right, top, bottom], as torchvision stores it
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode
        self.per_sample = per_sample
        # Prepared once, as v2's RandomCrop does (its _fill): a later `fill` assignment changes nothing there either.
        self._fill_tensor = _convert_fill(self._fill_for(torch.Tensor))
        self._fill_image = _convert_fill(self._fill_for("Image"))

    def _fill_for(self, kind: Any) -> Any:
        if not isinstance(self.fill, dict):
            return self.fill
        for k, v in self.fill.items():
            if k is kind or getattr(k, "__name__", None) == kind:
                return v
        return self.fill.get("others")

    def _params(self, h: int, w: int) -> Tuple[int, int, List[int]]:
        """torchvision's make_params: (top, left) in padded coordinates and [left, right, top, bottom] padding."""
        ph, pw, pad = self._geometry(h, w)
        ch, cw = self.size[0], self.size[1]
        top = 0
        left = 0
        if ph > ch:
            top = int(torch.randint(0, ph - ch + 1, size=()).item())
        if pw > cw:
            left = int(torch.randint(0, pw - cw + 1, size=()).item())
        return top, left, pad

    def _geometry(self, h: int, w: int) -> Tuple[int, int, List[int]]:
        """The padded size and [left, right, top, bottom] padding make_params draws in (no draws here)."""
        ph, pw = h, w
        pl, pr, pt, pb = 0, 0, 0, 0
        pad = self.padding
        if pad is not None:
            pl, pr, pt, pb = pad[0], pad[1], pad[2], pad[3]
            ph += pt + pb
            pw += pl + pr
        ch, cw = self.size[0], self.size[1]
        if self.pad_if_needed:
            if ph < ch:
                diff = ch - ph
                pt += diff
                pb += diff
                ph += 2 * diff
            if pw < cw:
                diff = cw - pw
                pl += diff
                pr += diff
                pw += 2 * diff
        if ph < ch or pw < cw:
            raise ValueError(
                f"Required crop size {(ch, cw)} is larger than "
                f"{'padded ' if pad is not None else ''}input image size {(ph, pw)}."
            )
        return ph, pw, [pl, pr, pt, pb]

    def _one(self, x: torch.Tensor, fill: Optional[List[float]]) -> torch.Tensor:
        top, left, p = self._params(x.shape[-2], x.shape[-1])
        return self._crop_padded(x, top, left, p, fill)

    def _crop_padded(self, x: torch.Tensor, top: int, left: int, p: List[int], fill: Optional[List[float]]) -> torch.Tensor:
        """The crop at (top, left) of x padded by p = [left, right, top, bottom] (the drawn parameters)."""
        h, w = x.shape[-2], x.shape[-1]
        ch, cw = self.size[0], self.size[1]
        if self.padding_mode == "constant":
            if p[0] == 0 and p[1] == 0 and p[2] == 0 and p[3] == 0 and ch == h and cw == w:
                return x
            if fill is not None and len(fill) > 1:
                return F.crop_mirror_normalize(x, top - p[2], left - p[0], ch, cw, scale=False, fill=fill)
            return F._crop(x, top - p[2], left - p[0], ch, cw) if fill is None or fill[0] == 0.0 else \
                F.crop_mirror_normalize(x, top - p[2], left - p[0], ch, cw, scale=False, fill=fill)
        if p[0] != 0 or p[1] != 0 or p[2] != 0 or p[3] != 0:
            x = F._pad(x, [p[0], p[2], p[1], p[3]], fill, self.padding_mode)
        if ch == x.shape[-2] and cw == x.shape[-1]:
            return x
        return F._crop(x, top, left, ch, cw)

    def forward(self, inpt: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_scripting():
            return self._one(inpt, self._fill_tensor)
        x = F._unwrap(inpt)
        fill = self._fill_tensor if type(inpt) is torch.Tensor else self._fill_image
        if not self.per_sample or x.ndim < 4:
            return F._rewrap(self._one(x, fill), inpt)
        st = _Fused(x)
        if not self._fuse(st):
            flat = x.reshape((-1,) + tuple(x.shape[-3:]))
            out = torch.stack([self._one(s, fill) for s in flat.unbind(0)])
            return F._rewrap(out.reshape(tuple(x.shape[:-3]) + tuple(out.shape[-3:])), inpt)
        return F._rewrap(st.flush(), inpt)

    @torch.jit.unused
    def _sample_params(self, flat: List[Any], kinds: List[Optional[str]]) -> Dict[str, Any]:
        # v2's make_params: the sample's size (its errors first), then the same draws as forward's.
        if self.per_sample:
            raise ValueError("per_sample=True takes one batch of images, not a sample of several inputs")
        h, w = _S.query_size(flat, kinds)
        top, left, p = self._params(h, w)
        ch, cw = self.size[0], self.size[1]
        ph, pw = h + p[2] + p[3], w + p[0] + p[1]  # the padded size the draws were made in
        return dict(needs_crop=ph > ch or pw > cw, top=top, left=left, height=ch, width=cw,
                    needs_pad=any(p), padding=[p[0], p[2], p[1], p[3]], _ours=(top, left, p))

    @torch.jit.unused
    def _sample_image(self, x: torch.Tensor, params: Dict[str, Any]) -> torch.Tensor:
        top, left, p = params["_ours"]
        return F._rewrap(self._crop_padded(F._unwrap(x), top, left, p, _convert_fill(self._fill_for(type(x)))), x)

    @torch.jit.unused
    def _twin(self) -> Any:
        from torchvision.transforms import v2

        fill = dict(self.fill) if isinstance(self.fill, dict) else self.fill  # v2 converts a dict in place
        return v2.RandomCrop(self.size, fill=fill, padding_mode=self.padding_mode)

    @torch.jit.unused
    def _fuse(self, st: "_Fused") -> bool:
        if self.padding_mode != "constant" or st.x.ndim < 3 or st.x.numel() == 0:
            return False
        _, _, p = self._geometry(st.h, st.w)  # raises as forward would, before any draw
        if (p[0] != 0 or p[1] != 0 or p[2] != 0 or p[3] != 0) and not (
                st.full and st.dtype is None and st.mean is None):
            return False  # decided before the draws: Compose flushes and asks again, which must draw once
        fill = self._fill_tensor if st.is_plain else self._fill_image
        n = st.count if self.per_sample else 1
        tops, lefts = [], []
        for _ in range(n):
            top, left, p = self._params(st.h, st.w)
            tops.append(top - p[2])
            lefts.append(left - p[0])
        return st.crop(tops, lefts, self.size[0], self.size[1], fill)

    def _script_fuse(self, st: _ScriptFused) -> bool:
        # Every False comes before the draws (the scripted Compose then flushes and asks again, or runs
        # forward): the draws are exactly the scripted forward's, once.
        if self.padding_mode != "constant" or st.x.dim() < 3 or st.x.numel() == 0:
            return False
        _, _, p = self._geometry(st.h, st.w)  # raises as forward would, before any draw
        if (p[0] != 0 or p[1] != 0 or p[2] != 0 or p[3] != 0) and not st.clean():
            return False  # the window may reach outside a view or a converted image: materialize first
        top, left, p = self._params(st.h, st.w)
        return st.crop(top - p[2], left - p[0], self.size[0], self.size[1], self._fill_tensor)


class _RandomFlip(_Transform):
    _horizontal = True

    def __init__(self, p: float = 0.5, per_sample: bool = False) -> None:
        super().__init__()
        _check_p(p)
        self.p = p
        self.per_sample = per_sample
        self._horizontal: bool = type(self)._horizontal  # an instance attribute, so TorchScript sees it
        self._p32: float = 0.0
        self._refresh()

    @torch.jit.unused
    def _refresh(self) -> None:
        # torchvision compares the float32 draw with p rounded to float32 (torch.rand(1) >= p); comparing
        # Python floats against that rounded p decides the same and skips a tensor op per draw.
        self._p32 = float(torch.tensor(self.p, dtype=torch.float32))

    def forward(self, inpt: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_scripting() or not self.per_sample:
            # torchvision's _RandomApplyTransform: one draw, flip when it is below p.
            if float(torch.rand(1).item()) >= self._p32:
                return inpt
            if self._horizontal:
                return F.horizontal_flip(inpt)
            return F.vertical_flip(inpt)
        x = F._unwrap(inpt)
        st = _Fused(x)
        if not self._fuse(st):
            return F.horizontal_flip(inpt) if self._horizontal else F.vertical_flip(inpt)
        return F._rewrap(st.flush(), inpt)

    @torch.jit.unused
    def _sample_call(self, inputs: Tuple[Any, ...]) -> Any:
        # v2's _RandomApplyTransform.forward: the sample is read (and a PIL image refused) before the draw,
        # and returned as it is when the draw skips.
        sample, flat, spec, kinds = _S.flatten(inputs)
        if self.per_sample:
            raise ValueError("per_sample=True takes one batch of images, not a sample of several inputs")
        if float(torch.rand(1).item()) >= self._p32:
            return sample
        flip = F.horizontal_flip if self._horizontal else F.vertical_flip
        return _S.run(sample, flat, spec, kinds, flip, self._twin, {})

    @torch.jit.unused
    def _twin(self) -> Any:
        from torchvision.transforms import v2

        return v2.RandomHorizontalFlip(1.0) if self._horizontal else v2.RandomVerticalFlip(1.0)

    @torch.jit.unused
    def _fuse(self, st: "_Fused") -> bool:
        if st.x.ndim < 3:
            return False
        n = st.count if self.per_sample else 1
        p32 = self._p32
        flags = [torch.rand(1).item() < p32 for _ in range(n)]
        st.flip(flags, self._horizontal)
        return True

    def _script_fuse(self, st: _ScriptFused) -> bool:
        if st.x.dim() < 3:
            return False  # before the draw: forward draws it
        st.flip(float(torch.rand(1).item()) < self._p32, self._horizontal)
        return True


class RandomHorizontalFlip(_RandomFlip):
    """See torchvision.transforms.v2.RandomHorizontalFlip; same draw (``torch.rand(1) >= p`` skips).

    ``per_sample`` (fastprep extension): one draw per sample of a batch, in sample order.

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """

    _horizontal = True


class RandomVerticalFlip(_RandomFlip):
    """See torchvision.transforms.v2.RandomVerticalFlip; same draw (``torch.rand(1) >= p`` skips).

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """

    _horizontal = False


class _Fused:
    """A pending crop_mirror_normalize call: the window(s) read from ``x``, flips, dtype and mean/std."""

    __slots__ = ("x", "H", "W", "h", "w", "tops", "lefts", "fh", "fv", "full", "fill", "dtype", "scale",
                 "mean", "std", "count", "is_plain")

    def __init__(self, x: torch.Tensor, is_plain: bool = True) -> None:
        self.x = x
        self.is_plain = is_plain
        nd = x.ndim
        self.H = x.shape[-2] if nd >= 2 else 0
        self.W = x.shape[-1] if nd >= 2 else 0
        self.h, self.w = self.H, self.W
        self.tops = [0]
        self.lefts = [0]
        self.fh = [False]
        self.fv = [False]
        self.full = True  # the view is exactly the image: a crop may reach outside it
        self.fill: Optional[List[float]] = None
        self.dtype: Optional[torch.dtype] = None
        self.scale = False
        self.mean: Optional[List[float]] = None
        self.std: Optional[List[float]] = None
        c = 1
        for s in x.shape[:-3]:
            c *= s
        self.count = c

    def _expand(self, n: int) -> None:
        if len(self.tops) == 1 and n > 1:
            self.tops = self.tops * n
            self.lefts = self.lefts * n
            self.fh = self.fh * n
            self.fv = self.fv * n

    def crop(self, tops: List[int], lefts: List[int], ch: int, cw: int, fill: Optional[List[float]]) -> bool:
        h, w = self.h, self.w
        if len(tops) == 1 and len(self.tops) == 1:
            # One window (the common case): the same rules as below, without the per-sample lists.
            t, l = tops[0], lefts[0]
            inside = 0 <= t and t + ch <= h and 0 <= l and l + cw <= w
            if not inside and (not self.full or self.dtype is not None or self.mean is not None):
                return False
            top = self.tops[0] + ((h - t - ch) if self.fv[0] else t)
            left = self.lefts[0] + ((w - l - cw) if self.fh[0] else l)
            self.tops[0], self.lefts[0] = top, left
            if not inside:
                self.fill = F._fill_for(fill, self.x.dtype)  # checked only where used, as torchvision pads
            self.h, self.w = ch, cw
            self.full = ch == self.H and cw == self.W and top == 0 and left == 0
            return True
        inside = all(0 <= t and t + ch <= h for t in tops) and all(0 <= l and l + cw <= w for l in lefts)
        if not inside and (not self.full or self.dtype is not None or self.mean is not None):
            return False
        self._expand(len(tops))
        n = len(self.tops)
        if len(tops) == 1 and n > 1:
            tops, lefts = tops * n, lefts * n
        for i in range(n):
            t, l = tops[i], lefts[i]
            self.tops[i] += (h - t - ch) if self.fv[i] else t
            self.lefts[i] += (w - l - cw) if self.fh[i] else l
        if not inside:
            self.fill = F._fill_for(fill, self.x.dtype)
        self.h, self.w = ch, cw
        self.full = ch == self.H and cw == self.W and all(t == 0 for t in self.tops) and all(
            l == 0 for l in self.lefts)
        return True

    def flip(self, flags: List[bool], horizontal: bool) -> None:
        self._expand(len(flags))
        n = len(self.tops)
        if len(flags) == 1 and n > 1:
            flags = flags * n
        target = self.fh if horizontal else self.fv
        for i in range(n):
            if flags[i]:
                target[i] = not target[i]

    def plan(self) -> Tuple[str, Any]:
        """What the pending run amounts to: the input itself, a view of it, or one op call's arguments."""
        flipped = any(self.fh) or any(self.fv)
        convert = self.dtype is not None or self.mean is not None
        if not flipped and not convert and len(set(self.tops)) <= 1 and len(set(self.lefts)) <= 1:
            top, left = self.tops[0], self.lefts[0]
            if top == 0 and left == 0 and self.h == self.H and self.w == self.W:
                return "same", None
            if top >= 0 and left >= 0 and top + self.h <= self.H and left + self.w <= self.W:
                return "view", (top, left, self.h, self.w)  # a view, as torchvision's crop
        if len(self.tops) == 1:
            args = [self.tops[0], self.lefts[0], self.h, self.w, self.fh[0], self.fv[0], self.mean, self.std,
                    self.scale if self.dtype is not None else False, self.dtype, False, False, self.fill, False]
            # Trailing defaults are left out: each argument costs the dispatcher's parser time.
            n = len(args)
            while n > 4 and args[n - 1] == _CMN_DEFAULTS[n - 5] and type(args[n - 1]) is type(_CMN_DEFAULTS[n - 5]):
                n -= 1
            return "op", tuple(args[:n])
        n = len(self.tops)
        windows = torch.tensor([[self.tops[i], self.lefts[i], self.h, self.w] for i in range(n)], dtype=torch.int64)
        flips = torch.tensor([[self.fh[i], self.fv[i]] for i in range(n)], dtype=torch.bool)
        return "batched", (windows, flips, self.h, self.w, self.mean, self.std, self.scale, self.dtype, False, False,
                           self.fill, False)

    def flush(self) -> torch.Tensor:
        return _execute(self.x, *self.plan())


_MISSING = object()


# crop_mirror_normalize's defaults after (top, left, height, width).
_CMN_DEFAULTS = (False, False, None, None, True, None, False, False, None, False)


_CMN = torch.ops.fastprep.crop_mirror_normalize.default
_RANDOM_CMN = torch.ops.fastprep._random_crop_mirror_normalize.default
# The eager CPU fast path (csrc/vision/python_fastpath.cpp): the op's engine without the dispatcher.
# _vision_run(fastpath, x) answers None whenever the op path must decide (other signature, modes, autograd, ...).
_FAST_MAKE = getattr(_C, "_vision_fastpath", None)
_FAST_RUN = getattr(_C, "_vision_run", None)
_is_compiling = torch.compiler.is_compiling


def _native_draws() -> bool:
    """The in-op draws equal torch.randint / torch.rand(1) on the default CPU generator in float32; a
    default dtype or device changed by the user (set_default_device is a function mode) takes the general path."""
    return torch.get_default_dtype() is torch.float32 and not torch._C._is_torch_function_mode_enabled()


def _execute(x: torch.Tensor, kind: str, args: Any) -> torch.Tensor:
    if kind == "op":
        return torch.ops.fastprep.crop_mirror_normalize.default(x, *args)
    if kind == "random":
        return torch.ops.fastprep._random_crop_mirror_normalize.default(x, *args)
    if kind == "same":
        return x
    if kind == "view":
        top, left, h, w = args
        return x[..., top : top + h, left : left + w]
    windows, flips = args[0], args[1]
    if x.device.type != "cpu":
        windows = windows.to(x.device, non_blocking=True)
        flips = flips.to(x.device, non_blocking=True)
    x4 = x.reshape((-1,) + tuple(x.shape[-3:]))
    out = torch.ops.fastprep.crop_mirror_normalize.batched(x4, windows, flips, *args[2:])
    return out.reshape(tuple(x.shape[:-3]) + tuple(out.shape[-3:]))


class Compose(_Transform):
    """See torchvision.transforms.v2.Compose. Runs of consecutive fastprep crop / flip / ToDtype / Normalize
    transforms become one crop_mirror_normalize call (same output as running them one by one); any other
    callable breaks the run and is called as is. Scripted, it fuses the same runs (same draws, same outputs).

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """

    # The eager plan cache (keyed by shape tuples) has no TorchScript type; the scripted forward never uses it.
    __jit_ignored_attributes__ = ["_plans", "_direct", "_fast"]

    def __init__(self, transforms: Sequence[Any]) -> None:
        super().__init__()
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence of callables")
        elif not transforms:
            raise ValueError("Pass at least one transform")
        if all(isinstance(t, nn.Module) for t in transforms):
            self.transforms = nn.ModuleList(transforms)
        else:
            self.transforms = list(transforms)
        self._refresh()

    @torch.jit.unused
    def _refresh(self) -> None:
        # Edits to the list itself are reported too (_WatchedDict / _WatchedList).
        if isinstance(self.transforms, nn.ModuleList):
            if type(self.transforms._modules) is not _WatchedDict:
                self.transforms._modules = _WatchedDict(self.transforms._modules)
        elif type(self.transforms) is not _WatchedList:
            self.__dict__["transforms"] = _WatchedList(self.transforms)
        # A deterministic, fully fusible pipeline (the eval one) depends only on the input's
        # shape/dtype/device: its op arguments are computed once per input signature.
        # (A per-type ToDtype runs on its own, on the rewrapped image: its dtype depends on the input's type.)
        plain_norm = not any(isinstance(t, Normalize) and (t.inplace or t._std_zero) for t in self.transforms) \
            and not any(isinstance(t, ToDtype) and isinstance(t.dtype, dict) for t in self.transforms)
        self._static = all(type(t) in (CenterCrop, ToDtype, ConvertImageDtype, Normalize) for t in self.transforms) \
            and plain_norm
        # The train pipeline (RandomCrop, flips, then converts): its draws and kernel run in one op call
        # (_random_crop_mirror_normalize draws exactly what the transforms would, in the same order).
        ts = list(self.transforms)
        k = 1
        while k < len(ts) and type(ts[k]) in (RandomHorizontalFlip, RandomVerticalFlip) and not ts[k].per_sample:
            k += 1
        self._random = len(ts) > 0 and type(ts[0]) is RandomCrop and ts[0].padding_mode == "constant" \
            and not ts[0].per_sample and plain_norm \
            and all(type(t) in (ToDtype, ConvertImageDtype, Normalize) for t in ts[k:])
        self._nflips = k - 1
        self._plans: Dict[Any, Tuple[str, Any]] = {}
        # Plain-tensor signatures whose plan is one op call: key -> (bound op, args, draws inside the op,
        # CPU fast path or None).
        self._direct: Dict[Any, Tuple[Any, Any, bool, Any]] = {}
        self._fast: Any = None  # the fast path last used: tried first, before building a signature key
        self._config = _CONFIG[0]

    def __getstate__(self) -> Dict[str, Any]:
        # The caches hold C++ callables and capsules (not picklable); they refill on the first call.
        state = self.__dict__.copy()
        state["_plans"], state["_direct"], state["_fast"] = {}, {}, None
        return state

    def forward(self, inpt: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_scripting():
            # TorchScript unrolls this loop over the ModuleList, so hasattr is decided per element at
            # compile time: fusible transforms fold into st, anything else flushes it and runs as is.
            st = _ScriptFused(inpt)
            for t in self.transforms:
                if hasattr(t, "_script_fuse"):
                    if not t._script_fuse(st):
                        st = _ScriptFused(st.flush())
                        if not t._script_fuse(st):
                            st = _ScriptFused(t(st.x))
                else:
                    st = _ScriptFused(t(st.flush()))
            return st.flush()
        return self._fused_forward(inpt)

    @torch.jit.unused
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # nn.Module.__call__'s hook machinery costs microseconds per image: skip it while no hook is set
        # (the global hook dicts are read inline: a helper call per image costs more than the reads).
        if len(args) != 1 or kwargs or self._forward_hooks or self._forward_pre_hooks or _m._global_forward_hooks \
                or _m._global_forward_pre_hooks or _m._global_backward_hooks or _m._global_backward_pre_hooks:
            return super().__call__(*args, **kwargs)
        x = args[0]
        # is_compiling first: under torch.compile, reading the caches would guard on their contents.
        if _is_compiling():
            return self._fused_forward(x)
        if self._config != _CONFIG[0]:
            self._refresh()
        if not self._direct:
            return self._fused_forward(x)
        # The last signature's CPU fast path checks x itself (type, signature, modes) in C++.
        fast = self._fast
        if fast is not None:
            out = _FAST_RUN(fast, x)
            if out is not None:
                return out
        # A known plain-tensor signature whose plan is one op call: its fast path, or the op's C++ entry
        # directly (each Python frame on the way costs about a microsecond per image).
        if type(x) is torch.Tensor:
            hit = self._direct.get((x.shape, x.dtype, x.device, x.stride()))
            if hit is not None:
                if hit[3] is not None:
                    out = _FAST_RUN(hit[3], x)
                    if out is not None:
                        self._fast = hit[3]
                        return out
                if not hit[2] or (_native_draws() and not x.requires_grad):
                    return hit[0](x, *hit[1])
        return self._fused_forward(x)

    @torch.jit.unused
    def _sample_call(self, inputs: Tuple[Any, ...]) -> Any:
        # v2's Compose.forward: each transform gets the whole sample (unpacked when there were several inputs).
        needs_unpacking = len(inputs) > 1
        outputs: Any = None
        for t in self.transforms:
            outputs = t(*inputs)
            inputs = outputs if needs_unpacking else (outputs,)
        return outputs

    @torch.jit.unused
    def _fused_forward(self, inpt: Any) -> Any:
        if not _S.is_image_tensor(inpt):
            return self._sample_call((inpt,))
        plain = type(inpt) is torch.Tensor
        x = inpt if plain else inpt.as_subclass(torch.Tensor)
        if not torch.compiler.is_compiling() and self._config != _CONFIG[0]:
            self._refresh()
        # Under torch.compile the plan cache would add a guard (and a recompile) per input shape.
        if (self._static or self._random) and not torch.compiler.is_compiling():
            key = (x.shape, x.dtype, x.device, x.stride(), plain)
            plan = self._plans.get(key, _MISSING)
            if plan is _MISSING:
                plan = self._static_plan(x, plain) if self._static else self._random_plan(x, plain)
            # The in-op draws have no gradient: an input that requires grad takes the transforms' ops.
            if plan is not None and (plan[0] != "random" or (_native_draws() and not x.requires_grad)):
                out = _execute(x, *plan)
                return out if plain else F._rewrap(out, inpt)
        st = None
        like = inpt  # what the image is wrapped as now: another library's transform may change it (ToImage)
        ts = list(self.transforms)
        for i, t in enumerate(ts):
            fuse = getattr(t, "_fuse", None)
            if fuse is not None:
                if st is None:
                    st = _Fused(x, plain)
                if fuse(st):
                    continue
                x = st.flush()
                st = _Fused(x, plain)
                if fuse(st):
                    continue
                st = None
            elif st is not None:
                x = st.flush()
                st = None
            # Not fusible: call it as torchvision would, on the (re)wrapped tensor.
            y = t(x if plain else F._rewrap(x, like))
            if not _S.is_image_tensor(y):
                # No longer one image (a sample, a PIL image, ...): the rest run one by one, as in v2's Compose.
                for rest in ts[i + 1 :]:
                    y = rest(y)
                return y
            like, plain = y, type(y) is torch.Tensor
            x = y if plain else y.as_subclass(torch.Tensor)
        if st is not None:
            x = st.flush()
        return x if plain else F._rewrap(x, like)

    @torch.jit.unused
    def _static_plan(self, x: torch.Tensor, plain: bool) -> Optional[Tuple[str, Any]]:
        st = _Fused(x, plain)
        plan = None
        for t in self.transforms:
            if not t._fuse(st):
                break  # needs a cut: this signature takes the general path
        else:
            plan = st.plan()
        if len(self._plans) < 64:
            self._plans[(x.shape, x.dtype, x.device, x.stride(), plain)] = plan
        self._remember_direct(x, plain, plan)
        return plan

    @torch.jit.unused
    def _remember_direct(self, x: torch.Tensor, plain: bool, plan: Optional[Tuple[str, Any]]) -> None:
        if plain and plan is not None and plan[0] in ("op", "random") and len(self._direct) < 64:
            op = _CMN if plan[0] == "op" else _RANDOM_CMN
            fast = None
            if _FAST_MAKE is not None and x.device.type == "cpu":
                fast = _FAST_MAKE(x, plan[0], plan[1])
            # OpOverload._op is the overload's C++ callable (what OpOverload.__call__ forwards to).
            self._direct[(x.shape, x.dtype, x.device, x.stride())] = (getattr(op, "_op", op), plan[1],
                                                                      plan[0] == "random", fast)

    @torch.jit.unused
    def _random_plan(self, x: torch.Tensor, plain: bool) -> Optional[Tuple[str, Any]]:
        """The train pipeline's op arguments for this input signature, or None for the general path
        (which then raises or cuts exactly as running the transforms would)."""
        plan = None
        rc = self.transforms[0]
        if x.ndim >= 3 and x.numel() > 0:
            try:
                ph, pw, pad = rc._geometry(x.shape[-2], x.shape[-1])
                padded = pad[0] != 0 or pad[1] != 0 or pad[2] != 0 or pad[3] != 0
                fill = F._fill_for(rc._fill_tensor if plain else rc._fill_image, x.dtype) if padded else None
            except (ValueError, RuntimeError):
                ph = -1
            if ph >= 0:
                ch, cw = rc.size[0], rc.size[1]
                st = _Fused(x, plain)
                st.h, st.w, st.full = ch, cw, False  # after the crop: what the converts' fusion rules see
                flips = self.transforms[1 : 1 + self._nflips]
                if all(t._fuse(st) for t in self.transforms[1 + self._nflips :]) and (
                        st.dtype is not None or st.mean is not None):
                    plan = ("random", ([ph - ch, pw - cw, -pad[2], -pad[0], ch, cw], [t._p32 for t in flips],
                                       [1 if t._horizontal else 0 for t in flips], st.mean, st.std,
                                       st.scale if st.dtype is not None else False, st.dtype, fill))
        if len(self._plans) < 64:
            self._plans[(x.shape, x.dtype, x.device, x.stride(), plain)] = plan
        self._remember_direct(x, plain, plan)
        return plan

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"    {t}" for t in self.transforms]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


class CropMirrorNormalize(_Transform):
    """Crop (center or random), optional random horizontal flip, convert and normalize in one kernel.

    Equal to ``Compose([CenterCrop(size) or RandomCrop(size, ...), RandomHorizontalFlip(p)?,
    ToDtype(dtype, scale=scale), Normalize(mean, std)])`` with the same draws.

    Args:
        size: crop size (h, w) or int.
        mean, std: per-channel normalization; None to convert only.
        dtype: output dtype (float32, float16, bfloat16, float64).
        scale: multiply uint8 input by 1/255 first.
        random_crop: draw the window as RandomCrop does (default: center crop).
        flip_p: probability of a horizontal flip (0 = never; the draw is skipped then).
        input_hwc: input is ``[..., H, W, C]`` (decoder / numpy layout).
        channels_last: channels-last output memory.
        fill: fill for the part of the window outside the image (input dtype units).
        fast: one multiply-add instead of torchvision's exact arithmetic (see docs/vision.md).
        per_sample: on a batch, draw each sample's window and flip in sample order (one batched kernel).

    .. devices:: CPU CUDA
    .. properties:: TorchScript
    """

    def __init__(
        self,
        size: Any,
        mean: Optional[Sequence[float]] = None,
        std: Optional[Sequence[float]] = None,
        dtype: torch.dtype = torch.float32,
        scale: bool = True,
        random_crop: bool = False,
        flip_p: float = 0.0,
        input_hwc: bool = False,
        channels_last: bool = False,
        fill: Any = 0,
        fast: bool = False,
        per_sample: bool = False,
    ) -> None:
        super().__init__()
        self.size = _setup_size(size, error_msg="Please provide only two dimensions (h, w) for size.")
        if (mean is None) != (std is None):
            raise ValueError("mean and std must be given together")
        self.mean: Optional[List[float]] = None if mean is None else [float(m) for m in mean]
        self.std: Optional[List[float]] = None if std is None else [float(s) for s in std]
        if self.std is not None and not all(self.std):
            raise ValueError("std evaluated to zero, leading to division by zero.")
        _check_p(flip_p)
        self.dtype = dtype
        self.scale = scale
        self.random_crop = random_crop
        self.flip_p = flip_p
        self.input_hwc = input_hwc
        self.channels_last = channels_last
        self.fill = fill
        self.fast = fast
        self.per_sample = per_sample
        self._fill: Optional[List[float]] = None
        self._p32: float = 0.0
        self._refresh()

    @torch.jit.unused
    def _refresh(self) -> None:
        self._fill = _convert_fill(self.fill)
        self._p32 = float(torch.tensor(self.flip_p, dtype=torch.float32))  # see _RandomFlip

    def _window(self, h: int, w: int) -> Tuple[int, int, bool]:
        ch, cw = self.size[0], self.size[1]
        if self.random_crop:
            if h < ch or w < cw:
                raise ValueError(f"Required crop size {(ch, cw)} is larger than input image size {(h, w)}.")
            top = int(torch.randint(0, h - ch + 1, size=()).item()) if h > ch else 0
            left = int(torch.randint(0, w - cw + 1, size=()).item()) if w > cw else 0
        else:
            top, left = F._center_crop_window(ch, cw, h, w)
        flip = False
        if self.flip_p > 0.0:
            flip = float(torch.rand(1).item()) < self._p32
        return top, left, flip

    @torch.jit.unused
    def _sample_call(self, inputs: Tuple[Any, ...]) -> Any:
        raise TypeError(
            "CropMirrorNormalize takes one image tensor (or a batch of them); for samples of several inputs "
            "(image, boxes, masks, labels) use Compose of RandomCrop / flips / ToDtype / Normalize, as in v2"
        )

    def forward(self, inpt: torch.Tensor) -> torch.Tensor:
        x = inpt
        if not torch.jit.is_scripting():
            x = F._unwrap(inpt)
        h = x.shape[-3] if self.input_hwc else x.shape[-2]
        w = x.shape[-2] if self.input_hwc else x.shape[-1]
        ch, cw = self.size[0], self.size[1]
        if self.per_sample and x.ndim == 4:
            tops: List[List[int]] = []
            flips: List[List[bool]] = []
            for _ in range(x.shape[0]):
                top, left, flip = self._window(h, w)
                tops.append([top, left, ch, cw])
                flips.append([flip, False])
            wt = torch.tensor(tops, dtype=torch.int64).to(x.device)
            ft = torch.tensor(flips, dtype=torch.bool).to(x.device)
            return torch.ops.fastprep.crop_mirror_normalize(
                x, wt, ft, ch, cw, self.mean, self.std, self.scale, self.dtype, self.input_hwc, self.channels_last,
                self._fill, self.fast)
        top, left, flip = self._window(h, w)
        out = torch.ops.fastprep.crop_mirror_normalize(
            x, top, left, ch, cw, flip, False, self.mean, self.std, self.scale, self.dtype, self.input_hwc,
            self.channels_last, self._fill, self.fast)
        if not torch.jit.is_scripting():
            if not self.input_hwc:
                out = F._rewrap(out, inpt)
        return out
