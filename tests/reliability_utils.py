"""Helpers for the reliability tests: memory layouts, reference comparison and RSS."""

import os
import subprocess
import sys
import textwrap

import torch

LAYOUTS = ("contiguous", "channels_last", "noncontiguous", "offset", "expanded", "transposed")


def random_tensor(shape, dtype, gen, specials=False):
    """Values over the dtype's useful range; floats optionally seeded with nan/inf/-0.0."""
    if dtype == torch.uint8:
        return torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen)
    if dtype in (torch.int16, torch.int32, torch.int64):
        return torch.randint(-1000, 1000, shape, dtype=dtype, generator=gen)
    x = torch.randn(shape, dtype=torch.float64, generator=gen) * 3
    if specials and x.numel() >= 4:
        flat = x.view(-1)
        flat[0] = float("nan")
        flat[1] = float("inf")
        flat[2] = -float("inf")
        flat[3] = -0.0
    return x.to(dtype)


def with_layout(x, layout, gen):
    """The same values as ``x`` (same shape), stored in ``layout``."""
    if layout == "contiguous" or x.dim() == 0:
        return x.contiguous()
    if layout == "channels_last":
        if x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        if x.dim() == 3:  # HWC storage seen as CHW
            return x.permute(1, 2, 0).contiguous().permute(2, 0, 1)
        return x.contiguous()
    if layout == "noncontiguous":
        # Every other element of the last dim of a wider buffer.
        big = torch.zeros(*x.shape[:-1], 2 * x.shape[-1] + 1, dtype=x.dtype)
        big[..., 1::2] = x
        return big[..., 1::2]
    if layout == "offset":
        big = torch.zeros(x.numel() + 7, dtype=x.dtype)
        out = big[7:].view(x.shape)
        out.copy_(x)
        return out
    if layout == "transposed":
        if x.dim() < 2:
            return x
        return x.transpose(-1, -2).contiguous().transpose(-1, -2)
    if layout == "expanded":
        # Zero strides: the first dim of size > 1 becomes a broadcast of its first slice.
        for d in range(x.dim()):
            if x.shape[d] > 1:
                row = x.narrow(d, 0, 1).clone()
                return row.expand(x.shape)
        return x
    raise ValueError(layout)


def assert_same(ours, ref, *, exact=True, rtol=None, atol=None):
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    assert ours.dtype == ref.dtype, (ours.dtype, ref.dtype)
    if exact:
        torch.testing.assert_close(ours, ref, rtol=0, atol=0, equal_nan=True)
    else:
        torch.testing.assert_close(ours, ref, rtol=rtol, atol=atol, equal_nan=True)


def call_both(ref_fn, our_fn):
    """(ref, ours) results, or the exceptions each raised. A crash ends the process, which the run reports."""
    try:
        ref = ref_fn()
    except Exception as e:  # noqa: BLE001 - the reference's error is data here
        ref = e
    try:
        ours = our_fn()
    except Exception as e:  # noqa: BLE001
        ours = e
    return ref, ours


def check_same_outcome(ref, ours, compare):
    """Both raised the same exception type, or both returned and ``compare(ours, ref)`` holds."""
    if isinstance(ref, Exception):
        assert isinstance(ours, Exception), f"reference raised {type(ref).__name__}: {ref}; ours returned"
        assert isinstance(ours, type(ref)), (
            f"reference raised {type(ref).__name__}: {ref}; ours raised {type(ours).__name__}: {ours}"
        )
        return
    if isinstance(ours, Exception):
        raise AssertionError(f"reference returned; ours raised {type(ours).__name__}: {ours}") from ours
    compare(ours, ref)


_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes():
    """Resident set size from /proc/self/statm (second field, in pages)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def run_child(code, timeout=180, env=None):
    """Runs ``code`` in a fresh interpreter that imports this checkout's fastprep, with ``env`` added to this
    process's environment; returns (returncode, stdout + stderr). A crash there is a negative returncode here,
    not a dead test run."""
    import fastprep

    root = os.path.dirname(os.path.dirname(os.path.abspath(fastprep.__file__)))  # the checkout under test
    env = dict(os.environ, **(env or {}))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.path.dirname(__file__), env.get("PYTHONPATH")) if p)
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=root, env=env, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr
