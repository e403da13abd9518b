"""torch.jit.script(fastprep.transforms.Compose): fuses the same runs as eager Compose, with the same outputs
and the same draws as torchvision.transforms.v2 applied one by one (and as the scripted transforms one by one)."""

import io
import re

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torchvision.transforms import v2

import fastprep.transforms as T
from common import cpu_and_cuda

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
SEEDS = range(4)
CMN = "fastprep::crop_mirror_normalize"


class Doubler(torch.nn.Module):
    """A scriptable module fastprep knows nothing about: it must split the fused run."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2


# name -> (transforms for module namespace M, the fastprep ops one uint8 image costs under torch.manual_seed(0))
PIPELINES = {
    "eval": (lambda M: [M.CenterCrop(24), M.ToDtype(torch.float32, scale=True), M.Normalize(MEAN, STD)], [CMN]),
    "eval_convert_image_dtype_fp16": (
        lambda M: [M.CenterCrop((20, 17)), M.ConvertImageDtype(torch.float16), M.Normalize(MEAN, STD)], [CMN]),
    "center_crop_larger_than_image": (
        lambda M: [M.CenterCrop((35, 40)), M.ToDtype(torch.float32, scale=True), M.Normalize(MEAN, STD)], [CMN]),
    "train": (lambda M: [M.RandomCrop(24, padding=4), M.RandomHorizontalFlip(), M.ToDtype(torch.float32, scale=True),
                         M.Normalize(MEAN, STD)], [CMN]),
    "train_pad_if_needed_fill_both_flips": (
        lambda M: [M.RandomCrop((34, 20), pad_if_needed=True, fill=[10, 20, 30]), M.RandomVerticalFlip(0.7),
                   M.RandomHorizontalFlip(0.4), M.ToDtype(torch.float64, scale=True)], [CMN]),
    "crop_then_flip_then_crop": (
        lambda M: [M.RandomCrop(26), M.RandomHorizontalFlip(), M.RandomVerticalFlip(), M.CenterCrop(19),
                   M.ConvertImageDtype(torch.float32)], [CMN]),
    # A padded crop after a convert cannot fold (the window may leave the converted image): two calls.
    "convert_then_padded_crop": (
        lambda M: [M.ToDtype(torch.float32, scale=True), M.RandomCrop(24, padding=4, fill=3),
                   M.RandomHorizontalFlip(), M.Normalize(MEAN, STD)], [CMN, CMN]),
    "view_then_padded_crop": (lambda M: [M.CenterCrop(28), M.RandomCrop(30, padding=3, fill=7)], [CMN]),
    # No convert, a window inside the image: a view, as torchvision's crop (no op call at all).
    "crops_inside_uint8": (lambda M: [M.CenterCrop(28), M.RandomCrop(25)], []),
    "flips_only_uint8": (lambda M: [M.RandomHorizontalFlip(), M.RandomVerticalFlip(0.6)], [CMN]),
    # Not fusible today, as in eager: non-constant padding, an in-place Normalize.
    "reflect_padding": (lambda M: [M.RandomCrop(24, padding=[4, 2], padding_mode="reflect"),
                                   M.RandomHorizontalFlip(), M.ToDtype(torch.float32, scale=True),
                                   M.Normalize(MEAN, STD)], [CMN]),
    "inplace_normalize": (lambda M: [M.CenterCrop(20), M.ToDtype(torch.float32, scale=True),
                                     M.Normalize(MEAN, STD, inplace=True)],
                          [CMN, "fastprep::normalize"]),
    "two_normalizes": (lambda M: [M.ToDtype(torch.float32, scale=True), M.Normalize(MEAN, STD),
                                  M.Normalize([0.1, 0.2, 0.3], [2.0, 3.0, 4.0])], [CMN, CMN]),
    "foreign_module_splits_the_run": (lambda M: [M.CenterCrop(24), M.ToDtype(torch.float32, scale=True), Doubler(),
                                                 M.RandomHorizontalFlip(), M.Normalize(MEAN, STD)], [CMN, CMN]),
}

_SCRIPTED = {}


def scripted(name):
    """(eager Compose, scripted Compose, scripted transforms one by one); scripting once per pipeline."""
    if name not in _SCRIPTED:
        make = PIPELINES[name][0]
        eager = T.Compose(make(T))
        _SCRIPTED[name] = (eager, torch.jit.script(eager), torch.jit.script(torch.nn.Sequential(*make(T))))
    return _SCRIPTED[name]


def image(shape, dtype=torch.uint8, device="cpu"):
    if dtype == torch.uint8:
        return torch.randint(0, 256, shape, dtype=dtype, device=device)
    return torch.rand(shape, device=device).to(dtype)


def run_seeded(fn, x, seed):
    torch.manual_seed(seed)
    out = fn(x)
    return out, torch.rand(1)  # the generator state afterwards, as its next draw


class OpLog(TorchDispatchMode):
    """Every op that reaches the dispatcher, by name, in order (TorchScript's calls included)."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(func.name())
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("shape", [(3, 30, 33), (2, 3, 30, 33)], ids=["image", "batch"])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32], ids=["uint8", "float32"])
@pytest.mark.parametrize("name", list(PIPELINES))
def test_scripted_compose_matches_eager_and_torchvision_seed_for_seed(name, dtype, shape, device):
    make = PIPELINES[name][0]
    eager, script, one_by_one = scripted(name)
    ref = v2.Compose(make(v2))
    x = image(shape, dtype, device)
    for seed in SEEDS:
        # Normalize(inplace=True) writes into its input: each run gets its own copy.
        r, r_next = run_seeded(ref, x.clone(), seed)
        for fn in (script, eager, one_by_one):
            o, o_next = run_seeded(fn, x.clone(), seed)
            assert o.dtype == r.dtype and o.shape == r.shape, (seed, o.dtype, o.shape, r.shape)
            assert torch.equal(o, r), seed
            assert torch.equal(o_next, r_next), seed  # same number of draws, not just the same output


@pytest.mark.parametrize("name", list(PIPELINES))
def test_scripted_compose_calls_the_fused_op_once_per_run(name):
    _, script, one_by_one = scripted(name)
    x = image((3, 30, 33))
    torch.manual_seed(0)
    with OpLog() as log:
        script(x)
    fastprep_ops = [op for op in log.ops if op.startswith("fastprep::")]
    assert fastprep_ops == PIPELINES[name][1], fastprep_ops
    # No copies or views on the way: what is not a draw is the fused op (or the foreign module's mul).
    draws = {"aten::randint.low", "aten::rand", "aten::_local_scalar_dense"}
    rest = [op for op in log.ops if op not in draws and not op.startswith("fastprep::")]
    if name == "foreign_module_splits_the_run":
        assert rest == ["aten::mul.Scalar"], rest
    elif name in ("crops_inside_uint8", "view_then_padded_crop"):
        # A view (as torchvision's crop); a padded window after a view is materialized from the view first.
        assert rest == ["aten::slice.Tensor", "aten::slice.Tensor"], rest
    elif name == "train_pad_if_needed_fill_both_flips":
        # The per-channel fill wraps to uint8 as torchvision's pad stores it (a 3-element tensor).
        assert rest == ["aten::empty.memory_format", "aten::_to_copy", "aten::_to_copy"], rest
    elif name not in ("reflect_padding", "inplace_normalize"):
        assert rest == [], rest


def test_eval_pipeline_is_one_op_call_where_one_by_one_makes_several():
    _, script, one_by_one = scripted("eval")
    x = image((3, 64, 64))
    with OpLog() as fused:
        script(x)
    with OpLog() as unfused:
        one_by_one(x)
    assert fused.ops == ["fastprep::crop_mirror_normalize"]
    assert len(unfused.ops) > 1


def test_foreign_module_in_the_middle_splits_the_run():
    eager, script, _ = scripted("foreign_module_splits_the_run")
    x = image((3, 30, 33))
    torch.manual_seed(1)
    with OpLog() as log:
        out = script(x)
    ops = [op for op in log.ops if op in ("fastprep::crop_mirror_normalize", "aten::mul.Scalar")]
    # crop + convert, then the foreign module, then flip + normalize of its output.
    assert ops == ["fastprep::crop_mirror_normalize", "aten::mul.Scalar", "fastprep::crop_mirror_normalize"]
    torch.manual_seed(1)
    assert torch.equal(out, eager(x))


@pytest.mark.parametrize("name", ["eval", "train", "foreign_module_splits_the_run"])
def test_save_load_round_trip_keeps_fusion_and_draws(name):
    _, script, _ = scripted(name)
    buf = io.BytesIO()
    torch.jit.save(script, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    x = image((2, 3, 30, 33))
    for seed in SEEDS:
        o, o_next = run_seeded(script, x, seed)
        lo, lo_next = run_seeded(loaded, x, seed)
        assert torch.equal(o, lo) and torch.equal(o_next, lo_next)
    with OpLog() as log:
        loaded(x)
    assert [op for op in log.ops if op.startswith("fastprep::")] == PIPELINES[name][1]


@pytest.mark.parametrize("shape", [(3, 1, 1), (3, 0, 5), (0, 3, 30, 33), (30, 33)], ids=["1x1", "empty_h", "empty_batch", "2d"])
def test_edge_shapes_match_torchvision(shape):
    make = lambda M: [M.RandomCrop(1, pad_if_needed=True), M.RandomHorizontalFlip(), M.CenterCrop(1)]  # noqa: E731
    script = torch.jit.script(T.Compose(make(T)))
    ref = v2.Compose(make(v2))
    x = image(shape)
    for seed in SEEDS:
        r, r_next = run_seeded(ref, x, seed)
        o, o_next = run_seeded(script, x, seed)
        assert o.shape == r.shape and torch.equal(o, r) and torch.equal(o_next, r_next)


def test_noncontiguous_input():
    _, script, _ = scripted("train")
    ref = v2.Compose(PIPELINES["train"][0](v2))
    x = image((3, 33, 30)).transpose(-1, -2)
    assert not x.is_contiguous()
    for seed in SEEDS:
        r, r_next = run_seeded(ref, x, seed)
        o, o_next = run_seeded(script, x, seed)
        assert torch.equal(o, r) and torch.equal(o_next, r_next)


def test_errors_are_the_scripted_transforms_errors():
    x = image((3, 30, 33))
    for make in (lambda M: [M.RandomCrop(40), M.ToDtype(torch.float32, scale=True)],
                 lambda M: [M.CenterCrop(10), M.ToDtype(torch.float32), M.Normalize(MEAN, [0.2, 0.0, 0.2])],
                 lambda M: [M.CenterCrop(10), M.Normalize(MEAN, STD)],  # Normalize of uint8
                 lambda M: [M.CenterCrop(10), M.Normalize(MEAN, [0.2, 0.0, 0.2])]):  # both: the dtype first
        with pytest.raises(Exception) as ref_err:
            v2.Compose(make(v2))(x)
        # TorchScript raises torch.jit.Error naming the Python type, and prints a dtype as its number.
        expected = f"builtins.{type(ref_err.value).__name__}: {str(ref_err.value).split(' Got torch.')[0]}"
        for fn in (torch.jit.script(T.Compose(make(T))), torch.jit.script(torch.nn.Sequential(*make(T)))):
            with pytest.raises(torch.jit.Error, match=re.escape(expected)):
                fn(x)
