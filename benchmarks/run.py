"""Runs every benchmarks/bench_<family>.py side by side with its peer and prints the tables.

usage: python benchmarks/run.py [--device cpu|cuda] [--only vision,audio,text]
Each bench module exposes main(device: str) -> list of result dicts and writes
its JSON under benchmarks/results/.
"""

import argparse
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--only", default="vision,audio,text")
    args = ap.parse_args()
    sys.path.insert(0, HERE)
    for family in args.only.split(","):
        path = os.path.join(HERE, f"bench_{family}.py")
        if not os.path.exists(path):
            print(f"(no benchmark for {family})")
            continue
        spec = importlib.util.spec_from_file_location(f"bench_{family}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mod.main(args.device)


if __name__ == "__main__":
    main()
