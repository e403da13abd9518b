"""Gradients: float images through fastprep's vision ops get torchvision's gradients (its transforms are
plain differentiable tensor ops: adversarial training, differentiable augmentation). uint8 images have none."""

import pytest
import torch
from torchvision.transforms import v2
import torchvision.transforms.v2.functional as TF

import fastprep.transforms as T
import fastprep.transforms.functional as F
from common import cpu_and_cuda

MEAN, STD = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]


def _functional(M):
    return F if M is T else TF


CASES = {
    "normalize": lambda M, x: _functional(M).normalize(x, MEAN, STD),
    "horizontal_flip": lambda M, x: _functional(M).horizontal_flip(x),
    "vertical_flip": lambda M, x: _functional(M).vertical_flip(x),
    "crop reaching outside": lambda M, x: _functional(M).crop(x, -2, 3, 8, 12),
    "center_crop larger": lambda M, x: _functional(M).center_crop(x, [12, 14]),
    "eval Compose": lambda M, x: M.Compose([M.CenterCrop(6), M.ToDtype(torch.float32, scale=True),
                                            M.Normalize(MEAN, STD)])(x),
    "train Compose": lambda M, x: M.Compose([M.RandomCrop(8, padding=2), M.RandomHorizontalFlip(),
                                             M.RandomVerticalFlip(), M.ToDtype(torch.float32, scale=True),
                                             M.Normalize(MEAN, STD)])(x),
    "reflect padding": lambda M, x: M.RandomCrop(8, padding=2, padding_mode="reflect")(x),
}


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_gradients_match_torchvision(case, dtype, device):
    x = torch.rand(2, 3, 10, 12, dtype=dtype, device=device)
    grads = []
    for M in (T, v2):
        for seed in range(3):
            xg = x.clone().requires_grad_()
            torch.manual_seed(seed)
            out = CASES[case](M, xg)
            weight = torch.linspace(-1, 1, out.numel(), dtype=torch.float64, device=device).reshape(out.shape)
            (out.double() * weight).sum().backward()
            grads.append(xg.grad)
    for ours, ref in zip(grads[:3], grads[3:]):
        assert ours is not None and ours.dtype == ref.dtype
        torch.testing.assert_close(ours, ref, rtol=0, atol=0)


def test_gradcheck_fused_ops():
    x = torch.rand(3, 3, 10, 12, dtype=torch.float64, requires_grad=True)
    hwc = lambda t: F.crop_mirror_normalize(t.movedim(-3, -1), -1, 2, 6, 7, flip_horizontal=True,  # noqa: E731
                                            mean=MEAN, std=STD, dtype=torch.float64, input_hwc=True)
    assert torch.autograd.gradcheck(hwc, (x,))

    def per_sample(t):
        torch.manual_seed(0)  # the same draws for every evaluation gradcheck makes
        return T.CropMirrorNormalize(6, mean=MEAN, std=STD, dtype=torch.float64, random_crop=True, flip_p=0.5,
                                     per_sample=True)(t)

    assert torch.autograd.gradcheck(per_sample, (x,))


def test_in_op_draws_refuse_a_gradient_rather_than_drop_it():
    x = torch.rand(3, 10, 12, requires_grad=True)
    out = torch.ops.fastprep._random_crop_mirror_normalize(x, [2, 4, 0, 0, 8, 8], [0.5], [1], None, None, True,
                                                           torch.float32, None)
    with pytest.raises(RuntimeError, match="no gradient"):
        out.sum().backward()
