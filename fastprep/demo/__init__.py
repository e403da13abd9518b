"""The demo: each pipeline checks its parity with the reference library and its speed.

Each family module exposes ``run() -> dict`` with keys pipeline, reference,
parity (a short string), ok (bool), ours_ms, ref_ms.
"""

import importlib
import time

PIPELINES = ("vision", "audio", "text")


def bench(fn, min_time=0.3, warmup=3):
    """Median-free simple timer: mean ms per call over at least ``min_time`` seconds."""
    for _ in range(warmup):
        fn()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / n * 1e3


def main(argv=None):
    import torch

    import fastprep

    print(fastprep.build_info(), f"| threads {torch.get_num_threads()}")
    rows, failed = [], False
    for name in PIPELINES:
        mod = importlib.import_module(f"fastprep.demo.{name}")
        if not hasattr(mod, "run"):
            continue
        for r in mod.run():
            rows.append(r)
            failed |= not r["ok"]
    print(f"{'pipeline':44s} {'reference':18s} {'parity':34s} {'ours ms':>9s} {'ref ms':>9s} {'speedup':>8s}")
    for r in rows:
        print(
            f"{r['pipeline']:44s} {r['reference']:18s} {r['parity']:34s} {r['ours_ms']:9.3f} {r['ref_ms']:9.3f} "
            f"{r['ref_ms'] / r['ours_ms']:7.1f}x"
        )
    return 1 if failed else 0
