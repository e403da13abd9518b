"""Property-based parity of the fused op with torchvision's crop -> flip -> to_dtype -> normalize."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.transforms.v2 import functional as TF

import fastprep.transforms.functional as F


def _tv(x, top, left, h, w, fh, fv, mean, std, dtype, fill):
    H, W = x.shape[-2:]
    pl, pt = max(-left, 0), max(-top, 0)
    pr, pb = max(left + w - W, 0), max(top + h - H, 0)
    y = TF.pad(x, [pl, pt, pr, pb], fill=fill) if (pl or pt or pr or pb) else x
    y = TF.crop(y, top + pt, left + pl, h, w)
    if fh:
        y = TF.horizontal_flip(y)
    if fv:
        y = TF.vertical_flip(y)
    y = TF.to_dtype(y, dtype, scale=True)
    return TF.normalize(y, mean, std)


@settings(max_examples=60, deadline=None)
@given(
    c=st.integers(1, 4),
    h=st.integers(1, 13),
    w=st.integers(1, 13),
    top=st.integers(-6, 14),
    left=st.integers(-6, 14),
    ch=st.integers(1, 15),
    cw=st.integers(1, 15),
    fh=st.booleans(),
    fv=st.booleans(),
    dtype=st.sampled_from([torch.float32, torch.float16, torch.bfloat16, torch.float64]),
    fill=st.integers(0, 255),
    std=st.floats(0.01, 10.0),
    mean=st.floats(-2.0, 2.0),
    hwc=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_fused_op_equals_torchvision_composition(c, h, w, top, left, ch, cw, fh, fv, dtype, fill, std, mean, hwc, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (c, h, w), dtype=torch.uint8, generator=g)
    ref = _tv(x, top, left, ch, cw, fh, fv, [mean], [std], dtype, fill)
    inp = x.permute(1, 2, 0).contiguous() if hwc else x
    out = F.crop_mirror_normalize(inp, top, left, ch, cw, fh, fv, [mean], [std], dtype=dtype, input_hwc=hwc,
                                  fill=[float(fill)])
    assert out.dtype == ref.dtype and out.shape == ref.shape
    assert torch.equal(out, ref)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(0, 6), min_size=3, max_size=5),
    dtype=st.sampled_from([torch.float32, torch.float16, torch.bfloat16, torch.float64]),
    transpose=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_normalize_equals_torchvision(shape, dtype, transpose, seed):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=g) * 3).to(dtype)
    if transpose:
        x = x.transpose(-1, -2)
    c = x.shape[-3]
    mean = [0.1 * i - 0.2 for i in range(c)] or [0.0]
    std = [0.3 + 0.05 * i for i in range(c)] or [1.0]
    if c == 0:
        mean, std = [0.0], [1.0]
    assert torch.equal(F.normalize(x, mean, std), TF.normalize(x, mean, std))
