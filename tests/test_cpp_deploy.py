"""TorchScript and AOTInductor pipelines saved from Python run in C++ with the same outputs.

One session builds libfastprep with CMake (CPU kernels: setup.py already compiles the CUDA
ones; set FASTPREP_TEST_CMAKE_CUDA=1 to build them here too), installs it into a prefix,
builds examples/cpp against the installed package, and runs ctest over every pipeline
written to build/deploy-torch<version>/cases. Each test then compares one pipeline's C++ output with
Python's, exactly.
"""

import os
import subprocess

import pytest
import torch

import _deploy_cases as dc
from _deploy_cases import AOTI_CASES, TORCHSCRIPT_CASES, assert_same, clone_args

pytestmark = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:FutureWarning")


class _Failed:
    """A case whose Python side failed: its test reports the error, the others still run."""

    def __init__(self, exc):
        self.exc = exc


def _prepare_torchscript(case):
    torch.manual_seed(0)
    module, args = case.make()
    module = module.eval()
    eager = module(*clone_args(args))
    scripted = torch.jit.script(module)
    path = os.path.join(dc.CASES_DIR, f"{case.name}.pt")
    torch.jit.save(scripted, path)
    # The reference for C++ is the saved file run by Python, so both sides run the same program.
    loaded = torch.jit.load(path)
    from_file = loaded(*clone_args(args))
    torch.save(tuple(args), os.path.join(dc.CASES_DIR, f"{case.name}.inputs.pt"))
    return {"eager": eager, "scripted": from_file}


def _prepare_aoti(case):
    path, module, args, eager = dc.aoti_package(case)
    compiled = torch._inductor.aoti_load_package(path)
    with torch.no_grad():
        out = compiled(*clone_args(args))
    return {"eager": eager, "aoti": list(out) if isinstance(out, (list, tuple)) else [out]}


@pytest.fixture(scope="session")
def cpp(request):
    reason = dc.cmake_prerequisites()
    if reason:
        pytest.skip(f"cannot build the C++ example: {reason}")
    dc.silence_torchscript_deprecation()
    os.makedirs(dc.BUILD, exist_ok=True)
    dc.reset_cases_dir()
    log = os.path.join(dc.BUILD, "build.log")
    open(log, "w").close()

    python = {}
    for case, prepare in [(c, _prepare_torchscript) for c in TORCHSCRIPT_CASES] + [
        (c, _prepare_aoti) for c in AOTI_CASES
    ]:
        try:
            python[case.name] = prepare(case)
        except pytest.skip.Exception as e:
            python[case.name] = e
        except Exception as e:  # reported by the case's own test
            python[case.name] = _Failed(e)

    prefix = dc.build_and_install_libfastprep(log)
    example = dc.build_example(prefix, dc.CASES_DIR, log)
    ctest = subprocess.run(
        ["ctest", "--test-dir", example, "--output-on-failure", "-j", os.environ.get("MAX_JOBS", "2")],
        capture_output=True, text=True, timeout=1200,
    )
    return {
        "python": python,
        "prefix": prefix,
        "exe": os.path.join(example, "run_pipeline"),
        "ctest": ctest.stdout + ctest.stderr,
        "ctest_rc": ctest.returncode,
    }


def _case_result(cpp, name):
    got = cpp["python"][name]
    if isinstance(got, pytest.skip.Exception):
        pytest.skip(got.msg)
    if isinstance(got, _Failed):
        raise got.exc
    out = os.path.join(dc.CASES_DIR, f"{name}.cpp_out.pt")
    assert os.path.exists(out), f"the C++ run of {name} wrote no output; ctest said:\n{cpp['ctest'][-4000:]}"
    return got, dc.load_cpp_output(out)


def test_ctest_passes(cpp):
    assert cpp["ctest_rc"] == 0, cpp["ctest"][-6000:]
    assert "fastprep_ops_registered" in cpp["ctest"]


def test_linking_the_package_registers_the_ops(cpp):
    # The example calls nothing of fastprep's and links with -Wl,--as-needed prepended.
    out = subprocess.run([cpp["exe"], "--info"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    release = torch.__version__.split("+")[0]
    assert out.stdout.startswith(f"fastprep {dc._lookup('__version__')}; torch {release}"), out.stdout


@pytest.mark.parametrize("case", [c.param() for c in TORCHSCRIPT_CASES])
def test_torchscript_pipeline_cpp_matches_python(cpp, case):
    py, cpp_out = _case_result(cpp, case.name)
    assert_same(py["scripted"], py["eager"], f"{case.name}: scripted vs eager")
    assert_same(cpp_out, py["scripted"], f"{case.name}: C++ vs Python")


@pytest.mark.parametrize("case", [c.param() for c in AOTI_CASES])
def test_aoti_pipeline_cpp_matches_python(cpp, case):
    py, cpp_out = _case_result(cpp, case.name)
    # Same compiled package on both sides: bit-exact.
    assert_same(list(cpp_out), py["aoti"], f"{case.name}: C++ vs Python AOTInductor")
    # Inductor may reorder float arithmetic; against eager, allow float32 rounding.
    for a, e in zip(py["aoti"], py["eager"]):
        torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-5)


def test_run_pipeline_reports_wrong_inputs_clearly(cpp, tmp_path):
    module = torch.jit.script(dc.BuildInfoEcho())
    model = tmp_path / "m.pt"
    torch.jit.save(module, str(model))
    inputs = tmp_path / "in.pt"
    torch.save((torch.zeros(2, 3), ["a"], 3), str(inputs))  # one argument too many
    out = subprocess.run([cpp["exe"], str(model), str(inputs), str(tmp_path / "out.pt")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "3 arguments but forward takes 2" in out.stderr

    out = subprocess.run([cpp["exe"], str(tmp_path / "missing.pt"), str(inputs), str(tmp_path / "o.pt")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "run_pipeline:" in out.stderr

    out = subprocess.run([cpp["exe"], str(model)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "usage" in out.stderr
