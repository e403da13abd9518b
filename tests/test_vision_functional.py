"""fastprep.transforms.functional and the raw ops match torchvision.transforms.v2.functional exactly."""

import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as TF

import fastprep.transforms.functional as F
from common import cpu_and_cuda

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
FLOATS = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


def image(shape, dtype=torch.uint8, device="cpu"):
    if dtype == torch.uint8:
        return torch.randint(0, 256, shape, dtype=dtype, device=device)
    return torch.rand(shape, dtype=torch.float32, device=device).to(dtype)


def assert_same(ours, ref):
    assert type(ours) is type(ref)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape and ours.device == ref.device
    assert torch.equal(ours, ref)


SHAPES = [(3, 17, 23), (3, 1, 1), (1, 5, 4), (2, 3, 8, 9), (2, 2, 3, 5, 7), (3, 0, 4), (0, 3, 4, 4)]


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", SHAPES)
def test_normalize_matches_torchvision(device, dtype, shape):
    x = image(shape, dtype, device)
    mean, std = (MEAN, STD) if shape[-3] == 3 else ([0.5], [0.25])
    assert_same(F.normalize(x, mean, std), TF.normalize(x, mean, std))


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", FLOATS)
def test_uint8_to_dtype_then_normalize_matches_torchvision(device, dtype):
    x = image((2, 3, 31, 33), device=device)
    ref = TF.normalize(TF.to_dtype(x, dtype, scale=True), MEAN, STD)
    assert_same(torch.ops.fastprep.normalize(x, MEAN, STD, dtype), ref)
    assert_same(F.normalize(F.to_dtype(x, dtype, scale=True), MEAN, STD), ref)


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_normalize_noncontiguous_and_channels_last(device):
    x = image((4, 3, 20, 30), torch.float32, device)
    for v in (x[:, :, ::2, 1::3], x.to(memory_format=torch.channels_last), x.transpose(-1, -2)):
        assert_same(F.normalize(v, MEAN, STD), TF.normalize(v, MEAN, STD))


def test_normalize_inplace_writes_the_input():
    x = image((3, 6, 7), torch.float32)
    ref = TF.normalize(x.clone(), MEAN, STD)
    out = F.normalize(x, MEAN, STD, inplace=True)
    assert out is x and torch.equal(x, ref)


def test_normalize_keeps_tv_image():
    x = tv_tensors.Image(image((3, 6, 7), torch.float32))
    assert_same(F.normalize(x, MEAN, STD), TF.normalize(x, MEAN, STD))


def test_normalize_out_variant():
    x = image((3, 6, 7))
    out = torch.empty(0)
    torch.ops.fastprep.normalize.out(x, MEAN, STD, out=out)
    assert torch.equal(out, TF.normalize(TF.to_dtype(x, torch.float32, scale=True), MEAN, STD))


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("src", [torch.uint8, torch.float32, torch.float16, torch.int16])
@pytest.mark.parametrize("dst", [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.uint8, torch.int32])
@pytest.mark.parametrize("scale", [True, False])
def test_to_dtype_matches_torchvision(device, src, dst, scale):
    x = image((2, 3, 9, 11), src if src != torch.int16 else torch.uint8, device).to(src)
    try:
        ref = TF.to_dtype(x, dst, scale=scale)
    except RuntimeError as e:
        with pytest.raises(RuntimeError, match="cannot be performed safely"):
            F.to_dtype(x, dst, scale=scale)
        return
    assert_same(F.to_dtype(x, dst, scale=scale), ref)
    assert_same(F.convert_image_dtype(x, dst) if scale else ref, TF.convert_image_dtype(x, dst) if scale else ref)


WINDOWS = [(0, 0, 5, 5), (3, 2, 7, 9), (-3, -4, 10, 12), (10, 15, 12, 20), (-5, -5, 40, 45), (16, 22, 1, 1), (2, 2, 0, 3)]


@pytest.mark.parametrize("device", cpu_and_cuda())
# uint16 (16-bit PNGs), the wider unsigned types and complex: data movement only, any dtype torchvision moves.
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float16, torch.int64, torch.bool, torch.uint16,
                                   torch.uint32, torch.complex64])
@pytest.mark.parametrize("window", WINDOWS)
def test_crop_matches_torchvision(device, dtype, window):
    x = image((2, 3, 17, 23), torch.uint8, device).to(dtype)
    assert_same(F.crop(x, *window), TF.crop(x, *window))
    assert_same(torch.ops.fastprep.crop(x, *window), TF.crop(x, *window).contiguous())


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("size", [[5], [4, 6], [17, 23], [20, 23], [17, 30], [30, 40], [1, 1], [16, 22], [18, 24]])
@pytest.mark.parametrize("shape", [(3, 17, 23), (2, 3, 16, 22), (1, 1, 1)])
def test_center_crop_matches_torchvision(device, size, shape):
    x = image(shape, torch.uint8, device)
    assert_same(F.center_crop(x, size), TF.center_crop(x, size))


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.bfloat16, torch.int32, torch.uint16, torch.uint64,
                                   torch.complex128])
@pytest.mark.parametrize("shape", [(3, 17, 23), (5, 1), (1, 1, 1), (2, 2, 3, 4, 5), (3, 0, 7)])
def test_flips_match_torchvision(device, dtype, shape):
    x = image(shape, torch.uint8, device).to(dtype)
    try:
        torch.flip(torch.zeros(2, dtype=x.dtype), [0])
    except NotImplementedError:
        pytest.skip(f"this torch's flip (torchvision's) has no {dtype} kernel (torch 2.11: uint16, uint64)")
    assert_same(F.horizontal_flip(x), TF.horizontal_flip(x))
    assert_same(F.vertical_flip(x), TF.vertical_flip(x))
    nc = x.transpose(-1, -2)
    assert_same(F.horizontal_flip(nc), TF.horizontal_flip(nc))


def reference_cmn(x, top, left, h, w, fh, fv, mean, std, dtype, fill=None):
    y = TF.crop(x, top, left, h, w) if fill is None else _tv_crop_with_fill(x, top, left, h, w, fill)
    if fh:
        y = TF.horizontal_flip(y)
    if fv:
        y = TF.vertical_flip(y)
    y = TF.to_dtype(y, dtype, scale=True)
    return y if mean is None else TF.normalize(y, mean, std)


def _tv_crop_with_fill(x, top, left, h, w, fill):
    H, W = x.shape[-2:]
    pl, pt = max(-left, 0), max(-top, 0)
    pr, pb = max(left + w - W, 0), max(top + h - H, 0)
    y = TF.pad(x, [pl, pt, pr, pb], fill=fill)
    return TF.crop(y, top + pt, left + pl, h, w)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("window", WINDOWS[:6])
@pytest.mark.parametrize("flips", [(False, False), (True, False), (False, True), (True, True)])
def test_crop_mirror_normalize_matches_torchvision(device, dtype, window, flips):
    x = image((2, 3, 17, 23), torch.uint8, device)
    ref = reference_cmn(x, *window, *flips, MEAN, STD, dtype)
    assert_same(F.crop_mirror_normalize(x, *window, *flips, mean=MEAN, std=STD, dtype=dtype), ref)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("fill", [None, [7.0], [1.0, 2.0, 250.0]])
def test_crop_mirror_normalize_hwc_input_matches_torchvision_on_permuted(device, channels_last, fill):
    chw = image((3, 19, 24), torch.uint8, device)
    hwc = chw.permute(1, 2, 0).contiguous()
    ref = reference_cmn(chw, -2, 3, 20, 25, True, False, MEAN, STD, torch.float32, fill=fill)
    out = F.crop_mirror_normalize(hwc, -2, 3, 20, 25, True, mean=MEAN, std=STD, input_hwc=True,
                                  channels_last=channels_last, fill=fill)
    assert torch.equal(out, ref)
    if channels_last:
        assert out.permute(1, 2, 0).is_contiguous()


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_crop_mirror_normalize_channels_last_output_on_batches(device):
    x = image((4, 3, 30, 31), torch.uint8, device)
    out = F.crop_mirror_normalize(x, 1, 2, 24, 24, True, mean=MEAN, std=STD, channels_last=True)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out, reference_cmn(x, 1, 2, 24, 24, True, False, MEAN, STD, torch.float32))


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_crop_mirror_normalize_noncontiguous_inputs(device):
    x = image((4, 3, 40, 50), torch.uint8, device)
    for v in (x[::2, :, 1::2, ::3], x.to(memory_format=torch.channels_last), x.transpose(-1, -2), x.flip(-1)):
        ref = reference_cmn(v, 3, -1, 10, 12, False, True, MEAN, STD, torch.float32)
        assert torch.equal(F.crop_mirror_normalize(v, 3, -1, 10, 12, False, True, MEAN, STD), ref)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("in_dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_crop_mirror_normalize_float_input(device, in_dtype):
    x = image((3, 17, 23), in_dtype, device)
    for dtype in (None, torch.float32, torch.float16):
        out_dtype = in_dtype if dtype is None else dtype
        ref = TF.normalize(TF.to_dtype(TF.horizontal_flip(TF.crop(x, 2, 3, 10, 11)), out_dtype, scale=True), MEAN, STD)
        assert_same(F.crop_mirror_normalize(x, 2, 3, 10, 11, True, mean=MEAN, std=STD, dtype=dtype), ref)


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_crop_mirror_normalize_batched_per_sample_windows(device):
    x = image((5, 3, 20, 21), torch.uint8, device)
    wins = torch.tensor([[0, 0, 8, 9], [3, 4, 8, 9], [-2, 15, 8, 9], [12, -3, 8, 9], [5, 5, 8, 9]], device=device)
    flips = torch.tensor([[False, False], [True, False], [False, True], [True, True], [True, False]], device=device)
    out = torch.ops.fastprep.crop_mirror_normalize.batched(x, wins, flips, 8, 9, MEAN, STD)
    for i in range(5):
        t, l, h, w = wins[i].tolist()
        ref = reference_cmn(x[i], t, l, h, w, bool(flips[i, 0]), bool(flips[i, 1]), MEAN, STD, torch.float32)
        assert torch.equal(out[i], ref)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", FLOATS)
def test_crop_mirror_normalize_large_batch_matches_torchvision_per_sample(device, dtype):
    # Enough pixels that every CUDA block loops over many (the uint8 path then tabulates each channel's 256
    # outputs once per block); windows past every edge, both flips.
    n = 48
    x = image((n, 3, 240, 250), torch.uint8, device)
    g = torch.Generator().manual_seed(0)
    wins = torch.stack([torch.randint(-8, 25, (n,), generator=g), torch.randint(-8, 35, (n,), generator=g),
                        torch.full((n,), 224), torch.full((n,), 224)], 1)
    flips = torch.rand(n, 2, generator=g) < 0.5
    out = torch.ops.fastprep.crop_mirror_normalize.batched(x, wins.to(device), flips.to(device), 224, 224, MEAN, STD,
                                                           True, dtype)
    for i in range(n):
        t, l, h, w = wins[i].tolist()
        ref = reference_cmn(x[i], t, l, h, w, bool(flips[i, 0]), bool(flips[i, 1]), MEAN, STD, dtype, fill=[0.0])
        assert_same(out[i], ref)


def test_fast_mode_is_close():
    x = image((3, 64, 64))
    exact = F.crop_mirror_normalize(x, 0, 0, 64, 64, mean=MEAN, std=STD)
    fast = F.crop_mirror_normalize(x, 0, 0, 64, 64, mean=MEAN, std=STD, fast=True)
    # Documented tolerance: a few float32 ulp of values within [-2.2, 2.7].
    torch.testing.assert_close(fast, exact, rtol=0, atol=2e-6)


# ---- bad input: torchvision's exception types and messages ----


def test_rejects_integer_input_to_normalize():
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got torch.uint8."):
        F.normalize(image((3, 4, 4)), MEAN, STD)


def test_rejects_zero_std():
    with pytest.raises(ValueError, match="std evaluated to zero, leading to division by zero."):
        F.normalize(image((3, 4, 4), torch.float32), MEAN, [0.1, 0.0, 0.2])
    with pytest.raises(ValueError, match="std evaluated to zero"):
        torch.ops.fastprep.normalize(image((3, 4, 4)), MEAN, [0.0])


def test_rejects_2d_input_to_normalize():
    with pytest.raises(ValueError, match=r"Expected tensor to be a tensor image of size \(..., C, H, W\)"):
        F.normalize(image((4, 4), torch.float32), MEAN, STD)


def test_rejects_mean_length_not_matching_channels():
    x = image((3, 4, 4), torch.float32)
    with pytest.raises(RuntimeError):
        TF.normalize(x, [0.1, 0.2], [1.0, 1.0])
    with pytest.raises(RuntimeError, match="mean must have 1 or C=3 elements"):
        F.normalize(x, [0.1, 0.2], [1.0, 1.0])


def test_rejects_non_tensor():
    with pytest.raises(TypeError):
        TF.normalize([1.0], MEAN, STD)
    with pytest.raises(TypeError, match="plain tensor"):
        F.normalize([1.0], MEAN, STD)


def test_rejects_negative_crop_size_in_op():
    with pytest.raises(ValueError, match="non-negative"):
        torch.ops.fastprep.crop(image((3, 4, 4)), 0, 0, -1, 2)


def test_rejects_bad_batched_windows():
    x = image((2, 3, 8, 8))
    flips = torch.zeros(2, 2, dtype=torch.bool)
    with pytest.raises(ValueError, match="windows must be an int64 tensor of shape"):
        torch.ops.fastprep.crop_mirror_normalize.batched(x, torch.zeros(3, 4, dtype=torch.int64), flips, 4, 4)
    with pytest.raises(TypeError, match="windows must be int64"):
        torch.ops.fastprep.crop_mirror_normalize.batched(x, torch.zeros(2, 4, dtype=torch.int32), flips, 4, 4)
    with pytest.raises(ValueError, match="every window must have the output size"):
        torch.ops.fastprep.crop_mirror_normalize.batched(x, torch.tensor([[0, 0, 4, 4], [0, 0, 5, 4]]), flips, 4, 4)


def test_rejects_unsupported_dtype_in_fused_op():
    with pytest.raises(TypeError, match="output dtype must be"):
        F.crop_mirror_normalize(image((3, 4, 4)), 0, 0, 2, 2, mean=MEAN, std=STD, dtype=torch.int32)
    with pytest.raises(TypeError, match="uint8 or floating point"):
        F.crop_mirror_normalize(image((3, 4, 4)).to(torch.int16), 0, 0, 2, 2, mean=MEAN, std=STD)


def test_huge_window_offsets_do_not_read_out_of_bounds():
    x = image((3, 4, 4))
    out = torch.ops.fastprep.crop_mirror_normalize(x, 2**40, -(2**40), 3, 3, True, True, MEAN, STD)
    assert torch.equal(out, torch.ops.fastprep.crop_mirror_normalize(torch.zeros_like(x), 0, 0, 3, 3, False, False,
                                                                          MEAN, STD))


def test_uint8_fill_like_torchvision_pad():
    x = image((3, 4, 4))
    for fill in ([300.0], [-1.0]):
        with pytest.raises(RuntimeError, match="without overflow"):
            TF.pad(x, [1], fill=fill[0])
        with pytest.raises(RuntimeError, match="without overflow"):
            F.crop_mirror_normalize(x, -1, -1, 6, 6, scale=False, fill=fill)
    # torch 2.11's pad (under torchvision 0.26) also rejects these two, a per-channel list with one value out of
    # range and a fraction above 255; we follow the pinned torch 2.14, which takes them. Compared where it does.
    for fill in ([1.0, 2.0, 300.0], [255.7]):
        try:
            ref = TF.pad(x, [1], fill=fill if len(fill) > 1 else fill[0])
        except RuntimeError:
            continue
        assert torch.equal(F.crop_mirror_normalize(x, -1, -1, 6, 6, scale=False, fill=fill), ref)


def test_raw_op_rejects_fill_outside_the_input_dtype():
    x = image((3, 4, 4))
    with pytest.raises(RuntimeError, match="without overflow"):
        torch.ops.fastprep.crop_mirror_normalize(x, -1, -1, 6, 6, False, False, None, None, False, None, False, False,
                                                 [300.0], False)


# The uint8 -> float32 rows run through explicit SIMD (8 pixels a step, or 16 on AVX-512, dividing by std there
# through an FMA-corrected reciprocal where that was proved exact for all 256 values): every uint8 value, every
# row length up to two vectors and a tail, forward and mirrored, several mean/std sets.
@pytest.mark.parametrize("mean,std", [(MEAN, STD), ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
                                      ([0.1307] * 3, [0.3081] * 3), ([-3.0, 0.0, 1e-3], [7.0, 1e-3, 3.3])])
@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("device", cpu_and_cuda())
def test_cmn_uint8_rows_exhaustive(mean, std, flip, device):
    base = torch.arange(256, dtype=torch.uint8, device=device).repeat(3, 1, 1)  # [3, 1, 256]: all values
    for w in list(range(1, 35)) + [255, 256]:
        x = base[..., :w].expand(3, 5, w).contiguous()
        x[:, 1] = x[:, 1].flip(-1)
        for left in (0, 1) if w > 2 else (0,):
            ref = TF.crop(x, 1, left, 3, w - left)
            if flip:
                ref = TF.horizontal_flip(ref)
            ref = TF.normalize(TF.to_dtype(ref, torch.float32, scale=True), mean, std)
            ours = F.crop_mirror_normalize(x, 1, left, 3, w - left, flip_horizontal=flip, mean=mean, std=std)
            assert torch.equal(ours, ref), (w, left)


# The same exhaustive rows with the CPU's wider paths turned off (FASTPREP_CPU_ISA, read once per process):
# "avx2" keeps an AVX-512 machine on the 8-wide rows (true division), "sse2" off the explicit SIMD rows
# altogether (the compiler's baseline code).
@pytest.mark.parametrize("isa", ["avx2", "sse2"])
def test_cmn_uint8_rows_exhaustive_on_narrower_isa(isa):
    from reliability_utils import run_child

    rc, out = run_child(f"""
        import sys, pytest
        sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", {__file__!r},
                              "-k", "test_cmn_uint8_rows_exhaustive and cpu and not narrower"]))
        """, timeout=600, env={"FASTPREP_CPU_ISA": isa})
    assert rc == 0 and "8 passed" in out, out[-3000:]


def _other_tv_tensors():
    from torchvision import tv_tensors

    boxes = tv_tensors.BoundingBoxes(torch.tensor([[1, 2, 6, 8], [0, 0, 3, 3]]), format="XYXY", canvas_size=(10, 12))
    mask = tv_tensors.Mask(torch.tensor([[0, 1, 2], [3, 4, 5]], dtype=torch.uint8))
    out = [boxes, mask]
    if hasattr(tv_tensors, "KeyPoints"):
        out.append(tv_tensors.KeyPoints(torch.tensor([[1.0, 2.0], [5.0, 7.0]]), canvas_size=(10, 12)))
    return out


@pytest.mark.parametrize("name,args", [
    ("horizontal_flip", ()), ("vertical_flip", ()), ("crop", (1, 2, 5, 6)), ("center_crop", ([4, 5],)),
    ("pad", ([1, 2],)), ("to_dtype", (torch.float32, True)),
])
def test_functional_leaves_boxes_masks_and_key_points_to_torchvision(name, args):
    # Only images are pixels: the functional API gives other tv_tensors torchvision's own kernels (box
    # coordinates flip about the canvas, a mask is not scaled by to_dtype), as the modules' samples do.
    for x in _other_tv_tensors():
        ref = getattr(TF, name)(x, *args)
        ours = getattr(F, name)(x, *args)
        assert type(ours) is type(ref) and ours.dtype == ref.dtype and torch.equal(ours, ref), (name, type(x))


def test_normalize_takes_numbers_like_torchvision():
    x = image((2, 3, 4, 5), torch.float32)
    assert_same(F.normalize(x, 0.5, 0.25), TF.normalize(x, 0.5, 0.25))


@pytest.mark.parametrize("src", [torch.float32, torch.float8_e4m3fn])
@pytest.mark.parametrize("dst", [torch.float8_e4m3fn, torch.float8_e5m2])
def test_to_dtype_float8_is_a_float_type(src, dst):
    # torchvision treats every floating dtype as a float image (values in [0, 1]): no integer scaling.
    x = torch.tensor([[[0.0, 0.25, 0.5, 1.0]]]).to(src)
    for scale in (True, False):
        ours, ref = F.to_dtype(x, dst, scale=scale), TF.to_dtype(x, dst, scale=scale)
        assert ours.dtype == ref.dtype and torch.equal(ours.float(), ref.float())


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float64, torch.float16, torch.int32])
@pytest.mark.parametrize("padding", [[2, 0, -1, 0], [-1, -2, 3, 1], [1], [2, 3]])
@pytest.mark.parametrize("fill", [[10, 20, 30], [0.1, 0.2, 0.3], 7, None])
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
def test_pad_fill_and_negative_sides_match_torchvision(dtype, padding, fill, mode):
    # Per-channel fills are float32 values in torchvision (torch.tensor(fill)), refused outside constant mode;
    # negative sides crop before the fill.
    if dtype == torch.uint8 and fill == [0.1, 0.2, 0.3]:
        pytest.skip("torchvision wraps a fractional uint8 fill the same way (covered by the uint8 fill tests)")
    x = image((2, 3, 5, 6)).to(dtype)
    try:
        ref = TF.pad(x, padding, fill=fill, padding_mode=mode)
    except Exception as e:  # noqa: BLE001 - the test compares exception types
        with pytest.raises(type(e)):
            F.pad(x, padding, fill=fill, padding_mode=mode)
        return
    assert_same(F.pad(x, padding, fill=fill, padding_mode=mode), ref)
