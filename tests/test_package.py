"""The package loads, reports its build, and fails clearly when it cannot."""

import subprocess
import sys

import torch

import fastprep


def test_build_info_names_the_torch_it_was_built_against():
    info = fastprep.build_info()
    assert info.startswith("fastprep ")
    release = torch.__version__.split("+")[0]
    assert f"torch {release}" in info


def test_build_info_is_scriptable():
    @torch.jit.script
    def f() -> str:
        return torch.ops.fastprep._build_info()

    assert f() == fastprep.build_info()


def test_import_fails_clearly_on_torch_version_mismatch(tmp_path):
    # A stale build (extension compiled against another torch) must say so, naming both versions.
    code = (
        "import sys, types\n"
        "b = types.ModuleType('fastprep._build_info'); b.torch_version = '1.0.0'; b.version = '0'\n"
        "sys.modules['fastprep._build_info'] = b\n"
        "try:\n"
        "    import fastprep\n"
        "except ImportError as e:\n"
        "    print('ERR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "ERR" in out and "1.0.0" in out and torch.__version__ in out and "--no-build-isolation" in out
