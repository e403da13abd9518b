"""Library-wide checks over every op in the fastprep namespace, whoever added it.

The families opcheck their own ops with real samples (tests/test_<family>_*.py); this file
checks what holds for all of them: each op that makes tensors can be traced (has a fake
kernel), and each such op is opchecked somewhere in the test suite.
"""

import glob
import os
import re

import pytest
import torch

import fastprep  # noqa: F401  (loads the ops and their fake kernels)

TESTS = os.path.dirname(os.path.abspath(__file__))


def _fastprep_ops():
    names = sorted(n for n in torch._C._dispatch_get_all_op_names() if n.startswith("fastprep::"))
    ops = []
    for qualname in names:
        name = qualname.split("::", 1)[1]
        packet = getattr(torch.ops.fastprep, name)
        for overload in packet.overloads():
            ops.append(getattr(packet, overload))
    return ops


def _touches_tensors(op) -> bool:
    schema = op._schema
    types = [a.type for a in schema.arguments] + [r.type for r in schema.returns]
    return any("Tensor" in str(t) for t in types)


def _has_fake(op) -> bool:
    qualname = op._schema.name
    from torch._library.simple_registry import singleton

    entry = singleton.find(qualname)
    if entry.fake_impl.kernel is not None:
        return True
    return any(
        torch._C._dispatch_has_kernel_for_dispatch_key(qualname, key)
        for key in ("Meta", "CompositeImplicitAutograd", "CompositeExplicitAutograd")
    )


ALL_OPS = _fastprep_ops()
TENSOR_OPS = [op for op in ALL_OPS if _touches_tensors(op)]


def test_the_namespace_is_registered():
    assert "fastprep::_build_info" in {op._schema.name for op in ALL_OPS}


@pytest.mark.parametrize("op", TENSOR_OPS, ids=lambda op: str(op))
def test_tensor_op_has_a_fake_kernel(op):
    # Without one, torch.compile and torch.export cannot trace the op.
    assert _has_fake(op), f"{op} has no fake kernel (register_fake in fastprep/_ops/) nor a Meta kernel"


def _opchecked_names():
    """Op names mentioned in test files that call torch.library.opcheck."""
    names = set()
    for path in glob.glob(os.path.join(TESTS, "**", "test_*.py"), recursive=True):
        with open(path, encoding="utf-8") as f:
            src = f.read()
        if "opcheck(" not in src:
            continue
        names |= set(re.findall(r"torch\.ops\.fastprep\.(\w+)", src))
        names |= set(re.findall(r"[\"']fastprep::(\w+)", src))
    return names


@pytest.mark.parametrize("op", TENSOR_OPS, ids=lambda op: str(op))
def test_tensor_op_is_opchecked_somewhere(op):
    name = op._schema.name.split("::", 1)[1]
    assert name in _opchecked_names(), (
        f"no test file that calls torch.library.opcheck mentions torch.ops.fastprep.{name}"
    )


def test_opcheck_build_info():
    # test_aot_dispatch_dynamic is left out: its output comparison (torch.testing.assert_close)
    # cannot compare str outputs, which is all this op returns.
    torch.library.opcheck(
        torch.ops.fastprep._build_info.default,
        (),
        test_utils=("test_schema", "test_autograd_registration", "test_faketensor"),
    )
