"""fastprep.transforms vs torchvision.transforms.v2, side by side in one run.

usage: python benchmarks/bench_vision.py [--device cpu|cuda]   (or benchmarks/run.py --only vision)
Prints a ratio table and writes benchmarks/results/vision-<device>.json.
"""

import argparse
import datetime
import json
import os
import platform
import sys

import torch
import torch.utils.benchmark as tb
from torchvision.transforms import v2

HERE = os.path.dirname(os.path.abspath(__file__))
# An installed fastprep (pip, or PYTHONPATH on a GPU machine) first; else this checkout's in-place build.
sys.path.append(os.path.dirname(HERE))

import fastprep  # noqa: E402
import fastprep.transforms as T  # noqa: E402

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def eval_pipeline(M, dtype=torch.float32):
    return M.Compose([M.CenterCrop(224), M.ToDtype(dtype, scale=True), M.Normalize(MEAN, STD)])


def train_pipeline(M):
    return M.Compose([M.RandomCrop(224), M.RandomHorizontalFlip(), M.ToDtype(torch.float32, scale=True),
                      M.Normalize(MEAN, STD)])


def timeit(fn, min_run_time=1.0):
    """Median seconds per call, at torch's default thread count (Timer would pin 1 thread)."""
    t = tb.Timer("fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    return t.blocked_autorange(min_run_time=min_run_time).median


def timeit_interleaved(fns, rounds=5, min_run_time=0.25):
    """(median, best) seconds per call of each fn, measured in interleaved rounds so that load from other
    processes on a shared machine hits all of them alike; best = the fastest block (least disturbed)."""
    times = [[] for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t = tb.Timer("fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
            times[i] += t.blocked_autorange(min_run_time=min_run_time).times
    out = []
    for ts in times:
        ts = sorted(ts)
        out.append((ts[len(ts) // 2], ts[0]))
    return out


def device_name(device):
    if device == "cuda":
        return torch.cuda.get_device_name()
    return platform.processor() or platform.machine()


def cpu_cases():
    x = torch.randint(0, 256, (3, 256, 256), dtype=torch.uint8)
    xb = torch.randint(0, 256, (64, 3, 256, 256), dtype=torch.uint8)
    crop, cropb = x[:, 16:240, 16:240], xb[..., 16:240, 16:240]
    ours_e, ref_e = eval_pipeline(T), eval_pipeline(v2)
    ours_t, ref_t = train_pipeline(T), train_pipeline(v2)
    # What a C++/libtorch deployment runs (torchvision's v2 classes do not script: its eager Compose is the peer).
    script_e, script_t = torch.jit.script(eval_pipeline(T)), torch.jit.script(train_pipeline(T))
    return [
        ("eval per image (3x256x256 u8)", lambda: ours_e(x), lambda: ref_e(x), lambda: crop.to(torch.float32)),
        ("eval per batch of 64", lambda: ours_e(xb), lambda: ref_e(xb), lambda: cropb.to(torch.float32)),
        ("train per image", lambda: ours_t(x), lambda: ref_t(x), lambda: crop.to(torch.float32)),
        ("scripted eval per image", lambda: script_e(x), lambda: ref_e(x), lambda: crop.to(torch.float32)),
        ("scripted train per image", lambda: script_t(x), lambda: ref_t(x), lambda: crop.to(torch.float32)),
    ]


def cuda_cases():
    n = 256
    x = torch.randint(0, 256, (n, 3, 256, 256), dtype=torch.uint8, device="cuda")
    wins = torch.stack([torch.randint(0, 33, (n,)), torch.randint(0, 33, (n,)), torch.full((n,), 224),
                        torch.full((n,), 224)], 1).cuda()
    flips = torch.stack([torch.rand(n) < 0.5, torch.zeros(n, dtype=torch.bool)], 1).cuda()
    op = torch.ops.fastprep.crop_mirror_normalize.batched

    def ours():
        return op(x, wins, flips, 224, 224, MEAN, STD, True, torch.float16, False, False, None, False)

    ref = v2.Compose([v2.RandomCrop(224), v2.RandomHorizontalFlip(), v2.ToDtype(torch.float16, scale=True),
                      v2.Normalize(MEAN, STD)])
    crop = x[..., 16:240, 16:240]
    xi = torch.randint(0, 256, (3, 256, 256), dtype=torch.uint8, device="cuda")
    ours_e, ref_e = eval_pipeline(T), eval_pipeline(v2)
    script_e = torch.jit.script(eval_pipeline(T))
    return [
        ("batched cmn 256x3x256x256 u8->f16 (per-sample)", ours, lambda: ref(x), lambda: crop.to(torch.float16)),
        ("eval per image (3x256x256 u8)", lambda: ours_e(xi), lambda: ref_e(xi),
         lambda: xi[:, 16:240, 16:240].to(torch.float32)),
        ("scripted eval per image", lambda: script_e(xi), lambda: ref_e(xi),
         lambda: xi[:, 16:240, 16:240].to(torch.float32)),
    ]


def copy_bandwidth():
    """Device-to-device copy bandwidth (bytes read + written per second), measured in this run."""
    src = torch.empty(256 * 1024 * 1024, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    s = timeit(lambda: dst.copy_(src))
    return 2 * src.numel() / s


def main(device="cpu", threads=None):
    if threads:
        torch.set_num_threads(threads)
    rows = []
    cases = cuda_cases() if device == "cuda" else cpu_cases()
    for name, ours, ref, limit in cases:
        (o, ob), (r, rb), (l, lb) = timeit_interleaved([ours, ref, limit])
        rows.append(dict(case=name, ours_us=o * 1e6, torchvision_us=r * 1e6, limit_us=l * 1e6,
                         speedup=r / o, vs_limit=o / l, ours_best_us=ob * 1e6, torchvision_best_us=rb * 1e6,
                         limit_best_us=lb * 1e6, speedup_best=rb / ob, vs_limit_best=ob / lb))
    extra = {}
    if device == "cuda":
        bw = copy_bandwidth()
        o = rows[0]["ours_us"] * 1e-6
        moved = 256 * 3 * (224 * 224 * 1 + 224 * 224 * 2)  # bytes read (crop of u8) + written (f16)
        extra = dict(copy_bandwidth_GBps=bw / 1e9, cmn_bandwidth_GBps=moved / o / 1e9,
                     fraction_of_copy_bandwidth=moved / o / bw)
    print(f"\nfastprep vision vs torchvision ({device_name(device)}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads)")
    print("medians (best block in brackets)")
    print(f"{'case':48s} {'ours us':>16s} {'tv us':>18s} {'limit us':>16s} {'speedup':>16s} {'ours/limit':>14s}")
    for r in rows:
        print(f"{r['case']:48s} {r['ours_us']:8.1f} [{r['ours_best_us']:6.1f}] {r['torchvision_us']:9.1f} "
              f"[{r['torchvision_best_us']:7.1f}] {r['limit_us']:8.1f} [{r['limit_best_us']:6.1f}] "
              f"{r['speedup']:6.2f}x [{r['speedup_best']:5.2f}x] {r['vs_limit']:5.2f}x [{r['vs_limit_best']:4.2f}x]")
    for k, v in extra.items():
        print(f"  {k}: {v:.3f}")
    out = dict(device=device_name(device), device_type=device, torch=torch.__version__,
               fastprep=fastprep.build_info(), threads=torch.get_num_threads(),
               date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               command=" ".join(["python"] + sys.argv) if sys.argv and sys.argv[0].endswith("bench_vision.py")
               else f"python benchmarks/run.py --device {device} --only vision", rows=rows, **extra)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", f"vision-{device}.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
    print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's default)")
    args = ap.parse_args()
    main(args.device, args.threads)
