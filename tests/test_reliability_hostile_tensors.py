"""Hostile tensors: zero-stride (expanded) views, overlapping memory and in-place / out= writes into
them, rejected the way torch rejects them; results on broadcast inputs equal the materialized ones."""

import pytest
import torch
import torchvision.transforms.v2.functional as TVF

import fastprep.transforms.functional as FF
from fastprep._ops import vision as vision_ops



def _expanded_image():
    return torch.rand(3, 1, 8).expand(3, 6, 8)


def test_inplace_normalize_on_expanded_view_rejected_like_torchvision():
    x = _expanded_image()
    with pytest.raises(RuntimeError) as ref:
        TVF.normalize(x, [0.5] * 3, [0.2] * 3, inplace=True)
    with pytest.raises(RuntimeError) as ours:
        FF.normalize(x, [0.5] * 3, [0.2] * 3, inplace=True)
    assert "single memory location" in str(ref.value) and "single memory location" in str(ours.value)


def test_out_variant_rejects_zero_stride_out():
    x = torch.rand(3, 6, 8)
    out = torch.empty(3, 1, 8).expand(3, 6, 8)
    with pytest.raises(RuntimeError, match="single memory location"):
        torch.sub(x, 0.5, out=out)  # torch's rule
    with pytest.raises(RuntimeError, match="single memory location"):
        torch.ops.fastprep.normalize.out(x, [0.5] * 3, [0.2] * 3, out=out)


def test_out_variant_rejects_partial_overlap_like_torch():
    # Both views dense, one row apart: torch decides such overlap exactly (strided gaps are "too hard" for
    # torch's check, which then lets the op run, so those are not a rule to match).
    buf = torch.rand(3 * 6 * 8 + 8)
    x, out = buf[:144].view(3, 6, 8), buf[8:152].view(3, 6, 8)
    with pytest.raises(RuntimeError, match="single memory location"):
        torch.sub(x, 0.5, out=out)
    with pytest.raises(RuntimeError, match="single memory location"):
        torch.ops.fastprep.normalize.out(x, [0.5] * 3, [0.2] * 3, out=out)


def test_out_variant_full_alias_is_inplace():
    # out is input: the same as torch's x.sub_(...) semantics, computed before anything is written.
    x = torch.rand(3, 6, 8)
    expected = TVF.normalize(x.clone(), [0.5] * 3, [0.2] * 3)
    torch.ops.fastprep.normalize.out(x, [0.5] * 3, [0.2] * 3, out=x)
    torch.testing.assert_close(x, expected, rtol=0, atol=0)


@pytest.mark.parametrize("op", ["normalize", "crop", "hflip", "vflip", "cmn"])
def test_zero_stride_inputs_everywhere(op):
    # Every dim (even C, H and W) broadcast: values must equal the materialized input's result.
    base = torch.rand(1, 1, 1, 1)
    for shape in [(2, 3, 5, 7), (1, 3, 1, 7), (4, 1, 9, 1)]:
        x = base.expand(shape)
        m = [0.1] * shape[1]
        s = [0.3] * shape[1]
        fns = {
            "normalize": (lambda t: FF.normalize(t, m, s), lambda t: TVF.normalize(t, m, s)),
            "crop": (lambda t: FF.crop(t, -1, -2, 4, 9), lambda t: TVF.crop(t, -1, -2, 4, 9)),
            "hflip": (FF.horizontal_flip, TVF.horizontal_flip),
            "vflip": (FF.vertical_flip, TVF.vertical_flip),
            "cmn": (lambda t: vision_ops.crop_mirror_normalize(t, 0, -1, 3, 3, True, True, m, s),
                    lambda t: TVF.normalize(TVF.vertical_flip(TVF.horizontal_flip(TVF.crop(t, 0, -1, 3, 3))), m, s)),
        }
        ours_fn, ref_fn = fns[op]
        torch.testing.assert_close(ours_fn(x), ref_fn(x.contiguous()), rtol=0, atol=0)


def test_outputs_never_alias_a_zero_stride_input():
    # Writing into our output must not write through to the input's single element.
    x = torch.zeros(1, 1, 1).expand(3, 4, 5)
    for out in (FF.horizontal_flip(x), FF.vertical_flip(x), FF.crop(x, -1, -1, 3, 3)):
        out.fill_(7)
        assert x.sum() == 0
