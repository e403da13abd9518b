"""torch.library.opcheck for every vision op (schema, fake kernel, dispatch), CPU and CUDA."""

import pytest
import torch

from common import cpu_and_cuda

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def sample_inputs(device):
    x = torch.randint(0, 256, (2, 3, 10, 12), dtype=torch.uint8, device=device)
    xf = torch.rand(3, 7, 9, device=device)
    hwc = x.permute(0, 2, 3, 1).contiguous()
    wins = torch.tensor([[0, 0, 6, 5], [-2, 8, 6, 5]], device=device)
    flips = torch.tensor([[True, False], [False, True]], device=device)
    return [
        (torch.ops.fastprep.normalize.default, (x, MEAN, STD, None)),
        (torch.ops.fastprep.normalize.default, (xf, MEAN, STD, torch.float16)),
        (torch.ops.fastprep.normalize.out, (xf, MEAN, STD), dict(out=torch.empty(3, 7, 9, device=device))),
        (torch.ops.fastprep.crop.default, (x, -1, 3, 8, 11)),
        (torch.ops.fastprep.crop.default, (xf[0], 1, 1, 3, 3)),
        (torch.ops.fastprep.horizontal_flip.default, (x,)),
        (torch.ops.fastprep.vertical_flip.default, (xf.transpose(-1, -2),)),
        (torch.ops.fastprep.crop_mirror_normalize.default,
         (x, 1, -2, 8, 8, True, True, MEAN, STD, True, torch.bfloat16, False, True, [1.0, 2.0, 3.0], False)),
        (torch.ops.fastprep.crop_mirror_normalize.default,
         (hwc, 0, 0, 5, 5, False, True, None, None, True, None, True, False, None, False)),
        (torch.ops.fastprep.crop_mirror_normalize.default,
         (xf, 0, 0, 5, 5, False, False, MEAN, STD, True, None, False, False, None, True)),
        (torch.ops.fastprep.crop_mirror_normalize.batched,
         (x, wins, flips, 6, 5, MEAN, STD, True, torch.float16, False, False, None, False)),
        (torch.ops.fastprep.crop_mirror_normalize.batched,
         (hwc, wins, flips, 6, 5, None, None, False, None, True, True, [4.0], False)),
    ]


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_opcheck_every_vision_op(device):
    seen = set()
    for sample in sample_inputs(device):
        op, args = sample[0], sample[1]
        kwargs = sample[2] if len(sample) > 2 else {}
        if op is torch.ops.fastprep.normalize.out:
            # AOT functionalization refuses custom ops that return an aliased out (a torch limitation).
            torch.library.opcheck(op, args, kwargs, test_utils=("test_schema", "test_autograd_registration",
                                                                 "test_faketensor"))
        else:
            torch.library.opcheck(op, args, kwargs)
        seen.add(op._schema.name + "." + op._overloadname)
    # The train fast path reads the global generator: two runs differ, so no aot_dispatch output comparison.
    torch.library.opcheck(torch.ops.fastprep._random_crop_mirror_normalize.default,
                          (torch.randint(0, 256, (2, 3, 10, 12), dtype=torch.uint8, device=device), [2, 4, 0, -1, 8, 8], [0.5, 0.25], [1, 0], MEAN, STD, True, None, [3.0]),
                          test_utils=("test_schema", "test_autograd_registration", "test_faketensor"))
    seen.add("fastprep::_random_crop_mirror_normalize.default")
    for name in ["normalize.default", "normalize.out", "crop.default", "horizontal_flip.default",
                 "vertical_flip.default", "crop_mirror_normalize.default", "crop_mirror_normalize.batched",
                 "_random_crop_mirror_normalize.default"]:
        assert "fastprep::" + name in seen


def test_compile_fullgraph_fused_pipeline():
    x = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)

    def f(t):
        return torch.ops.fastprep.crop_mirror_normalize(t, 2, 3, 24, 24, True, False, MEAN, STD)

    compiled = torch.compile(f, fullgraph=True, backend="eager")
    assert torch.equal(compiled(x), f(x))
