"""Property tests: fastprep.transforms against torchvision.transforms.v2 (the reference) on drawn
shapes (0, 1, odd, extreme aspect ratios), dtypes, memory layouts (channels_last, strided slices,
storage offsets, zero-stride expanded views) and parameters. Results must be bit-exact, or both
libraries must raise the same exception type."""

import pytest
import torch
import torchvision.transforms.v2 as TV
import torchvision.transforms.v2.functional as TVF
from hypothesis import HealthCheck, given, settings, strategies as st

import fastprep.transforms as FT
import fastprep.transforms.functional as FF
from reliability_utils import LAYOUTS, assert_same, call_both, check_same_outcome, random_tensor, with_layout

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
SIDES = st.sampled_from([0, 1, 2, 3, 7, 16, 31, 64])
# Extreme aspect ratios: one side long, the other 1 or 2.
LONG = st.sampled_from([1, 2, 257, 1023])


@st.composite
def images(draw, dtypes=(torch.uint8,) + FLOATS, min_side=0, lead_max=2, specials=True):
    dtype = draw(st.sampled_from(dtypes))
    if draw(st.booleans()):
        h, w = draw(SIDES), draw(SIDES)
    else:
        h, w = draw(LONG), draw(LONG)
    h, w = max(h, min_side), max(w, min_side)
    c = draw(st.sampled_from([1, 2, 3, 4]))
    lead = draw(st.lists(st.sampled_from([0, 1, 2, 3]), min_size=0, max_size=lead_max))
    seed = draw(st.integers(0, 2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    x = random_tensor((*lead, c, h, w), dtype, gen, specials=specials and draw(st.booleans()))
    layout = draw(st.sampled_from(LAYOUTS))
    return with_layout(x, layout, gen)


def _exact(ours, ref):
    assert_same(ours, ref)


@SETTINGS
@given(x=images(dtypes=FLOATS), data=st.data())
def test_normalize_matches_torchvision(x, data):
    c = x.shape[-3]
    mean = data.draw(st.lists(st.floats(-2, 2, width=32), min_size=c, max_size=c))
    std = data.draw(st.lists(st.floats(0.0625, 5, width=32), min_size=c, max_size=c))
    ref, ours = call_both(lambda: TVF.normalize(x, mean, std), lambda: FF.normalize(x, mean, std))
    check_same_outcome(ref, ours, _exact)
    if not isinstance(ref, Exception):
        # The module form gives the same, and leaves its input untouched (inplace=False).
        before = x.clone()
        assert_same(FT.Normalize(mean, std)(x), ref)
        assert_same(x, before)


@SETTINGS
@given(x=images(), data=st.data())
def test_flips_match_torchvision(x, data):
    for ref_fn, our_fn in ((TVF.horizontal_flip, FF.horizontal_flip), (TVF.vertical_flip, FF.vertical_flip)):
        ref, ours = call_both(lambda: ref_fn(x), lambda: our_fn(x))
        check_same_outcome(ref, ours, _exact)


@SETTINGS
@given(x=images(), data=st.data())
def test_crop_matches_torchvision(x, data):
    h, w = x.shape[-2], x.shape[-1]
    # Windows inside, straddling and fully outside the image (torchvision zero-pads the outside).
    top = data.draw(st.integers(-h - 3, h + 3))
    left = data.draw(st.integers(-w - 3, w + 3))
    ch = data.draw(st.integers(1, h + 6))
    cw = data.draw(st.integers(1, w + 6))
    ours = FF.crop(x, top, left, ch, cw)
    if top + ch < 0 or left + cw < 0:
        # A window wholly above / left of the image: torchvision slices with the negative end as a
        # Python index (image[..., 0:right] with right < 0) and returns a wrongly sized, wrongly filled
        # result (torchvision 0.29 _crop_image_tensor). The right answer is all padding.
        assert ours.shape == (*x.shape[:-2], ch, cw) and ours.dtype == x.dtype
        assert not ours.any()
        return
    ref, ours = call_both(lambda: TVF.crop(x, top, left, ch, cw), lambda: FF.crop(x, top, left, ch, cw))
    check_same_outcome(ref, ours, _exact)


@SETTINGS
@given(x=images(), data=st.data())
def test_center_crop_matches_torchvision(x, data):
    size = data.draw(st.lists(st.integers(1, 70), min_size=1, max_size=2))
    ref, ours = call_both(lambda: TVF.center_crop(x, size), lambda: FF.center_crop(x, size))
    check_same_outcome(ref, ours, _exact)


@SETTINGS
@given(x=images(dtypes=(torch.uint8, torch.int16, torch.float32, torch.float64)), data=st.data())
def test_to_dtype_matches_torchvision(x, data):
    dtype = data.draw(st.sampled_from((torch.float32, torch.float64, torch.float16, torch.uint8, torch.int32)))
    scale = data.draw(st.booleans())
    if x.is_floating_point() and not dtype.is_floating_point:
        x = x.nan_to_num(0.0, 1.0, 0.0).clamp(0, 1)  # the float -> int scaling is defined on [0, 1]
    ref, ours = call_both(lambda: TVF.to_dtype(x, dtype, scale=scale), lambda: FF.to_dtype(x, dtype, scale=scale))
    check_same_outcome(ref, ours, _exact)


def _cmn_reference(x, top, left, h, w, fh, fv, mean, std, scale, dtype):
    y = TVF.crop(x, top, left, h, w)
    if fh:
        y = TVF.horizontal_flip(y)
    if fv:
        y = TVF.vertical_flip(y)
    if dtype is None:
        dtype = torch.float32 if x.dtype == torch.uint8 and (scale or mean is not None) else x.dtype
    y = TVF.to_dtype(y, dtype, scale=scale)
    if mean is not None:
        y = TVF.normalize(y, mean, std)
    return y


@SETTINGS
@given(x=images(dtypes=(torch.uint8, torch.float32, torch.float64), min_side=1, lead_max=1, specials=False),
       data=st.data())
def test_crop_mirror_normalize_matches_torchvision_chain(x, data):
    h, w, c = x.shape[-2], x.shape[-1], x.shape[-3]
    top = data.draw(st.integers(-2, h))
    left = data.draw(st.integers(-2, w))
    ch = data.draw(st.integers(1, h + 3))
    cw = data.draw(st.integers(1, w + 3))
    fh, fv, scale, channels_last, hwc = (data.draw(st.booleans()) for _ in range(5))
    norm = data.draw(st.booleans())
    mean = [0.485, 0.456, 0.406, 0.5][:c] if norm else None
    std = [0.229, 0.224, 0.225, 0.25][:c] if norm else None
    dtype = data.draw(st.sampled_from([None, torch.float32, torch.float64]))
    if x.dtype == torch.uint8 and not scale and not norm and dtype is None:
        dtype = None  # crop + flip only: the output stays uint8
    if top + ch < 0 or left + cw < 0:
        top, left = max(top, -ch), max(left, -cw)  # torchvision's crop is wrong there (see test_crop_...)
    ref = _cmn_reference(x, top, left, ch, cw, fh, fv, mean, std, scale, dtype)
    inp = x.movedim(-3, -1) if hwc else x  # a channels-last view of the same storage: no copy
    ours = FF.crop_mirror_normalize(inp, top, left, ch, cw, fh, fv, mean, std, scale, dtype, hwc, channels_last)
    assert_same(ours, ref)
    if channels_last and ours.dim() == 4 and ours.numel() > 0:
        assert ours.is_contiguous(memory_format=torch.channels_last)


@SETTINGS
@given(x=images(dtypes=(torch.uint8, torch.float32), min_side=1, lead_max=0, specials=False), data=st.data())
def test_crop_mirror_normalize_batched_matches_per_sample(x, data):
    n = data.draw(st.integers(1, 4))
    x = x.unsqueeze(0).expand(n, *x.shape) if data.draw(st.booleans()) else torch.stack([x] * n).add_(0)
    h, w = x.shape[-2], x.shape[-1]
    ch = data.draw(st.integers(1, h + 2))
    cw = data.draw(st.integers(1, w + 2))
    windows, flips, refs = [], [], []
    for i in range(n):
        top, left = data.draw(st.integers(-1, h)), data.draw(st.integers(-1, w))
        fh, fv = data.draw(st.booleans()), data.draw(st.booleans())
        windows.append([top, left, ch, cw])
        flips.append([fh, fv])
        refs.append(_cmn_reference(x[i], top, left, ch, cw, fh, fv, None, None, True, torch.float32))
    from fastprep._ops.vision import crop_mirror_normalize_batched

    ours = crop_mirror_normalize_batched(
        x, torch.tensor(windows, dtype=torch.int64), torch.tensor(flips, dtype=torch.bool), ch, cw,
        dtype=torch.float32)
    assert_same(ours, torch.stack(refs))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=images(dtypes=(torch.uint8,), min_side=1, lead_max=1, specials=False), data=st.data())
def test_compose_pipeline_same_draws_as_torchvision(x, data):
    h, w = x.shape[-2], x.shape[-1]
    size = [data.draw(st.integers(1, h + 2)), data.draw(st.integers(1, w + 2))]
    pad_if_needed = True
    p = data.draw(st.sampled_from([0.0, 0.5, 1.0]))
    c = x.shape[-3]
    mean, std = [0.5] * c, [0.25] * c
    seed = data.draw(st.integers(0, 1000))

    def build(T):
        return T.Compose([
            T.RandomCrop(size, pad_if_needed=pad_if_needed), T.RandomHorizontalFlip(p), T.RandomVerticalFlip(1 - p),
            T.ToDtype(torch.float32, scale=True), T.Normalize(mean, std)])

    torch.manual_seed(seed)
    ref = build(TV)(x)
    ref_next = torch.rand(1)
    torch.manual_seed(seed)
    ours = build(FT)(x)
    ours_next = torch.rand(1)
    assert_same(ours, ref)
    assert torch.equal(ours_next, ref_next), "the two pipelines consumed different random numbers"
