"""Demo of the vision pipelines (see fastprep.demo): parity with torchvision and speed ratio."""

import torch
from torchvision.transforms import v2

import fastprep.transforms as T
from fastprep.demo import bench

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def _eval(M):
    return M.Compose([M.CenterCrop(224), M.ToDtype(torch.float32, scale=True), M.Normalize(MEAN, STD)])


def _train(M):
    return M.Compose([M.RandomCrop(224), M.RandomHorizontalFlip(), M.ToDtype(torch.float32, scale=True),
                      M.Normalize(MEAN, STD)])


def _parity(ours, ref, x, seeds=range(8)):
    """torch.equal under the same seeds (same draws), else the max abs difference."""
    worst = 0.0
    for s in seeds:
        torch.manual_seed(s)
        o = ours(x)
        torch.manual_seed(s)
        r = ref(x)
        if o.shape != r.shape or o.dtype != r.dtype:
            return False, f"shape/dtype differ {tuple(o.shape)} {tuple(r.shape)}"
        if not torch.equal(o, r):
            worst = max(worst, (o.double() - r.double()).abs().max().item())
    if worst == 0.0:
        return True, f"bit-exact ({len(seeds)} seeds)"
    return False, f"max abs diff {worst:.3g}"


def run():
    g = torch.Generator().manual_seed(0)
    img = torch.randint(0, 256, (3, 256, 256), dtype=torch.uint8, generator=g)
    batch = torch.randint(0, 256, (64, 3, 256, 256), dtype=torch.uint8, generator=g)
    rows = []
    for name, make, x in [
        ("vision eval: CenterCrop+ToDtype+Normalize", _eval, img),
        ("vision eval, batch of 64", _eval, batch),
        ("vision train: RandomCrop+HFlip+ToDtype+Norm", _train, img),
    ]:
        ours, ref = make(T), make(v2)
        ok, parity = _parity(ours, ref, x, seeds=range(8) if x.dim() == 3 else range(2))
        rows.append(dict(pipeline=name, reference="torchvision v2", parity=parity, ok=ok,
                         ours_ms=bench(lambda: ours(x)), ref_ms=bench(lambda: ref(x))))
    return rows
