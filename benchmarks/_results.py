"""What every benchmark records next to its figures: one writer for benchmarks/results/<family>-<device>.json."""

import datetime
import json
import os
import platform

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device):
    return torch.cuda.get_device_name() if device == "cuda" and torch.cuda.is_available() else cpu_name()


def write(family, device, results, command, **extra):
    """Writes {meta, results} (meta: date, versions, machine, command) and returns the path."""
    import fastprep

    meta = dict(
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        torch=torch.__version__, fastprep=fastprep.build_info(), device=device, device_name=device_name(device),
        cpu_count=os.cpu_count(), threads=torch.get_num_threads(), command=command, **extra,
    )
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", f"{family}-{'cuda' if device == 'cuda' else 'cpu'}.json")
    with open(path, "w") as f:
        json.dump(dict(meta=meta, results=results), f, indent=2)
    print(f"wrote {os.path.relpath(path, os.path.dirname(HERE))}")
    return path
