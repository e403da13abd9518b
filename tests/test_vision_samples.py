"""Samples of several inputs, as torchvision.transforms.v2 takes them: (image, target) tuples, dicts, boxes,
masks, keypoints, videos and labels. Same outputs (types, values, structure), same errors and the same draws
on torch's default generator as v2, seed for seed."""

import re

import pytest
import torch
import torch.utils._pytree as pytree
from torchvision import tv_tensors
from torchvision.transforms import v2

import fastprep.transforms as T
from common import cpu_and_cuda

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
# torchvision's segmentation reference recipe
PER_TYPE = {tv_tensors.Image: torch.float32, tv_tensors.Mask: torch.int64, "others": None}


def assert_same_sample(ours, ref):
    flat_o, spec_o = pytree.tree_flatten(ours)
    flat_r, spec_r = pytree.tree_flatten(ref)
    assert spec_o == spec_r
    for o, r in zip(flat_o, flat_r):
        assert type(o) is type(r)
        if isinstance(r, torch.Tensor):
            assert o.dtype == r.dtype and o.device == r.device
            torch.testing.assert_close(o, r, rtol=0, atol=0)
            if isinstance(r, (tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)):
                assert tuple(o.canvas_size) == tuple(r.canvas_size)
        else:
            assert o == r


def run_both(make, *inputs, seeds=range(5)):
    """Each seed: v2 and ours on the same sample; equal results (or the same exception) and generator states."""
    ours, ref = make(T), make(v2)
    for seed in seeds:
        torch.manual_seed(seed)
        try:
            r = ref(*inputs)
        except Exception as e:
            torch.manual_seed(seed)
            with pytest.raises(type(e), match=re.escape(str(e))):
                ours(*inputs)
            continue
        after_ref = torch.rand(1)
        torch.manual_seed(seed)
        o = ours(*inputs)
        assert torch.equal(torch.rand(1), after_ref), "a different number of draws than v2"
        assert_same_sample(o, r)


def detection_sample(device="cpu", h=37, w=45):
    g = torch.Generator().manual_seed(3)
    img = tv_tensors.Image(torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g).to(device))
    boxes = tv_tensors.BoundingBoxes(
        torch.tensor([[2.0, 3.0, 20.0, 30.0], [10.0, 0.0, 44.0, 36.0], [0.0, 0.0, 5.0, 5.0]], device=device),
        format="XYXY", canvas_size=(h, w))
    masks = tv_tensors.Mask(torch.randint(0, 4, (3, h, w), generator=g).to(device))
    return img, {"boxes": boxes, "masks": masks, "labels": torch.tensor([1, 2, 3]), "image_id": 7}


TRANSFORMS = {
    "RandomCrop": lambda t: t.RandomCrop(24),
    "RandomCrop padding fill": lambda t: t.RandomCrop(24, padding=[2, 5], fill=9),
    "RandomCrop fill per type": lambda t: t.RandomCrop(
        40, pad_if_needed=True, fill={tv_tensors.Image: 127, tv_tensors.Mask: 255, "others": 0}),
    "RandomCrop reflect": lambda t: t.RandomCrop(30, padding=4, padding_mode="reflect"),
    "RandomCrop edge pad_if_needed": lambda t: t.RandomCrop((50, 20), pad_if_needed=True, padding_mode="edge"),
    "CenterCrop": lambda t: t.CenterCrop(20),
    "CenterCrop larger": lambda t: t.CenterCrop((41, 50)),
    "RandomHorizontalFlip": lambda t: t.RandomHorizontalFlip(),
    "RandomVerticalFlip": lambda t: t.RandomVerticalFlip(0.7),
    "ToDtype": lambda t: t.ToDtype(torch.float32, scale=True),
    "ConvertImageDtype": lambda t: t.ConvertImageDtype(torch.float32),
    "ToDtype per type": lambda t: t.ToDtype(PER_TYPE, scale=True),
    "segmentation Compose": lambda t: t.Compose([
        t.RandomCrop(24, pad_if_needed=True, fill={tv_tensors.Image: 0, tv_tensors.Mask: 255}),
        t.RandomHorizontalFlip(), t.ToDtype(PER_TYPE, scale=True), t.Normalize(MEAN, STD)]),
    "train Compose": lambda t: t.Compose([
        t.RandomCrop(32, padding=4), t.RandomHorizontalFlip(), t.ToDtype(torch.float32, scale=True),
        t.Normalize(MEAN, STD)]),
    "eval Compose": lambda t: t.Compose([t.CenterCrop(24), t.ToDtype(torch.float32, scale=True), t.Normalize(MEAN, STD)]),
}


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_detection_sample_as_image_and_target(name, device):
    img, target = detection_sample(device)
    run_both(TRANSFORMS[name], img, target)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_one_dict_sample_with_a_plain_tensor_image(name):
    img, target = detection_sample()
    # No Image in the sample: the first plain tensor is the image, the later ones pass through.
    run_both(TRANSFORMS[name], {"image": img.as_subclass(torch.Tensor), "extra": torch.arange(6.0), **target})


@pytest.mark.parametrize("name", ["RandomCrop", "RandomCrop padding fill", "CenterCrop", "RandomHorizontalFlip",
                                  "RandomVerticalFlip", "train Compose"])
def test_videos_keypoints_and_batches(name):
    g = torch.Generator().manual_seed(0)
    video = tv_tensors.Video(torch.randint(0, 256, (2, 4, 3, 33, 40), dtype=torch.uint8, generator=g))
    points = tv_tensors.KeyPoints(torch.tensor([[1.0, 2.0], [39.0, 30.0], [20.0, 16.0]]), canvas_size=(33, 40))
    run_both(TRANSFORMS[name], video, points, "caption")
    batch = torch.randint(0, 256, (4, 3, 33, 40), dtype=torch.uint8, generator=g)
    run_both(TRANSFORMS[name], (batch, tv_tensors.Mask(torch.zeros(4, 33, 40, dtype=torch.uint8))))


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_other_tv_tensors_alone(name):
    img, target = detection_sample()
    run_both(TRANSFORMS[name], target["boxes"])
    run_both(TRANSFORMS[name], target["masks"])


@pytest.mark.parametrize("inpt", [5, "label", None, [1, 2], {"a": 1.5}])
@pytest.mark.parametrize("name", ["RandomCrop", "CenterCrop", "RandomHorizontalFlip", "ToDtype", "eval Compose"])
def test_samples_without_an_image(name, inpt):
    # Passed through, or (RandomCrop, which needs a size) v2's TypeError.
    run_both(TRANSFORMS[name], inpt)


def test_sample_errors_are_v2s():
    img, target = detection_sample()
    other = tv_tensors.Mask(torch.zeros(10, 12))
    run_both(TRANSFORMS["RandomCrop"], img, other)  # ValueError: multiple HxW dimensions
    run_both(TRANSFORMS["RandomCrop"], img, other, tv_tensors.Mask(torch.zeros(5, 5)))
    run_both(lambda t: t.RandomCrop(60), img, target)  # larger than the image
    run_both(lambda t: t.Normalize(MEAN, STD), img, target)  # a uint8 image: TypeError


def test_fastprep_only_modes_refuse_samples():
    img, target = detection_sample()
    with pytest.raises(ValueError, match="per_sample"):
        T.RandomCrop(24, per_sample=True)(img, target)
    with pytest.raises(ValueError, match="per_sample"):
        T.RandomHorizontalFlip(per_sample=True)(img, target)
    with pytest.raises(TypeError, match="CropMirrorNormalize takes one image"):
        T.CropMirrorNormalize(24, mean=MEAN, std=STD)(img, target)


def test_pil_images_get_a_clear_error():
    PIL = pytest.importorskip("PIL.Image")
    with pytest.raises(TypeError, match="PIL image"):
        T.RandomHorizontalFlip()(PIL.new("RGB", (8, 8)), 3)


def test_a_single_image_still_takes_the_module_path():
    # Hooks see it, as they see any module call; the scripted module takes the same image.
    img, _ = detection_sample()
    seen = []
    m = T.Compose([T.CenterCrop(20), T.ToDtype(torch.float32, scale=True)])
    m.register_forward_hook(lambda mod, args, out: seen.append(out.shape))
    out = m(img)
    assert isinstance(out, tv_tensors.Image) and seen == [out.shape]
    scripted = torch.jit.script(T.Compose([T.CenterCrop(20), T.ToDtype(torch.float32, scale=True)]))
    assert torch.equal(scripted(img.as_subclass(torch.Tensor)), out.as_subclass(torch.Tensor))


def test_per_type_dtype_on_single_inputs_and_its_warnings():
    img, target = detection_sample()
    for x in (img, img.as_subclass(torch.Tensor), target["masks"], target["boxes"]):
        run_both(lambda t: t.ToDtype(PER_TYPE, scale=True), x)  # a plain tensor is "others": unchanged
    run_both(lambda t: t.ToDtype({tv_tensors.Mask: torch.int64}), img)  # no dtype for Image: v2's ValueError
    with pytest.warns(UserWarning, match="no scaling will be done"):
        T.ToDtype({"others": None}, scale=True)(img)
    with pytest.warns(UserWarning, match="will \\*not\\* be transformed"):
        T.ToDtype({torch.Tensor: torch.float32, tv_tensors.Image: torch.float32})


def test_per_type_dtype_does_not_script():
    # As in v2 (whose transforms do not script at all); the torch.dtype form scripts.
    torch.jit.script(T.ToDtype(torch.float32, scale=True))
    with pytest.raises(RuntimeError, match="per-type dtype dict does not script"):
        torch.jit.script(T.ToDtype(PER_TYPE))
    with pytest.raises(RuntimeError, match="per-type dtype dict does not script"):
        torch.jit.script(T.Compose([T.CenterCrop(8), T.ToDtype(PER_TYPE)]))
