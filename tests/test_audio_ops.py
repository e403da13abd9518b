"""opcheck for every audio op, bad-input errors (torchaudio's exception types), TorchScript,
state_dict compatibility, save/load and torch.compile."""

import io
import warnings

import pytest
import torch
import torchaudio.transforms as TAT

import fastprep.audio as FA
from audio_cases import rel_err, synthetic
from common import cpu_and_cuda


def sample_inputs(device):
    """(op, args) samples covering each op's paths (float32/64, odd/even n_fft, power None/1/2, pads)."""
    out = []
    for dtype in (torch.float32, torch.float64):
        x = torch.randn(2, 700, dtype=dtype, device=device, requires_grad=dtype == torch.float64)
        w = torch.hann_window(60, dtype=dtype, device=device)
        fb = torch.rand(33, 7, dtype=dtype, device=device)
        out += [
            (torch.ops.fastprep.spectrogram.default, (x, w, 64, 16, True, "reflect", 2.0, 0)),
            (torch.ops.fastprep.spectrogram.default, (x, w, 63, 20, False, "reflect", None, 1)),
            (torch.ops.fastprep.spectrogram.default, (x, w, 64, 7, True, "constant", 1.0, 2)),
            (torch.ops.fastprep.mel_spectrogram.default, (x, w, fb, 64, 16, True, "reflect", 2.0, 0)),
            (torch.ops.fastprep.mel_spectrogram.default, (x, w, fb, 64, 30, True, "circular", 1.0, 1)),
            (torch.ops.fastprep.amplitude_to_db.default, (x.detach().abs(), 10.0, 1e-10, 0.0, 80.0)),
        ]
        g = torch.randn(2, 7, 44, dtype=dtype, device=device)
        out.append(
            (torch.ops.fastprep._spectrogram_backward.default,
             (g, x.detach(), w, fb, 64, 16, True, "reflect", 2.0, 0))
        )
    return out


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_opcheck(device):
    for op, args in sample_inputs(device):
        torch.library.opcheck(op, args)


def _both(name, **kw):
    """Builds torchaudio's and our module with the same arguments; returns the two exceptions (or None)."""
    errs = []
    for mod in (TAT, FA):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = getattr(mod, name)(**{k: v for k, v in kw.items() if k != "x"})
                m(kw["x"])
            errs.append(None)
        except Exception as e:  # noqa: BLE001 - the test compares exception types
            errs.append(e)
    return errs


@pytest.mark.parametrize("name,kw", [
    ("Spectrogram", dict(n_fft=0, x=torch.randn(1, 1000))),
    ("Spectrogram", dict(n_fft=400, hop_length=0, x=torch.randn(1, 1000))),
    ("Spectrogram", dict(n_fft=256, win_length=300, x=torch.randn(1, 1000))),
    ("Spectrogram", dict(n_fft=400, x=torch.randn(1, 150))),  # shorter than the reflect padding
    ("Spectrogram", dict(n_fft=400, center=False, x=torch.randn(1, 300))),  # shorter than a frame
    ("Spectrogram", dict(n_fft=400, x=torch.randint(0, 100, (1, 1000)))),  # integer tensor
    ("Spectrogram", dict(n_fft=400, normalized="bogus", x=torch.randn(1, 1000))),
    ("MelSpectrogram", dict(n_fft=400, x=torch.randn(1, 150))),
    ("MelSpectrogram", dict(n_fft=400, x=torch.randint(0, 100, (1, 1000), dtype=torch.int16))),
    ("MelSpectrogram", dict(f_min=9000.0, f_max=8000.0, x=torch.randn(1, 1000))),
    ("MelScale", dict(f_min=9000.0, f_max=8000.0, x=torch.randn(201, 10))),
    ("MelScale", dict(mel_scale="bark", x=torch.randn(201, 10))),
    ("MelScale", dict(norm="l2", x=torch.randn(201, 10))),
    ("Spectrogram", dict(pad_mode="zeros", x=torch.randn(1, 1000))),
    ("MelSpectrogram", dict(pad_mode="mirror", x=torch.randn(1, 1000))),
    ("AmplitudeToDB", dict(top_db=-1.0, x=torch.rand(10, 10))),
    ("AmplitudeToDB", dict(x=torch.randn(10, 10, dtype=torch.complex64))),
    ("MFCC", dict(n_mfcc=200, x=torch.randn(1, 1000))),
    ("MFCC", dict(dct_type=3, x=torch.randn(1, 1000))),
])
def test_rejects_bad_input_like_torchaudio(name, kw):
    ref_err, our_err = _both(name, **kw)
    assert ref_err is not None, "torchaudio accepted this input; the case is wrong"
    assert our_err is not None, f"fastprep accepted input that torchaudio rejects with {ref_err!r}"
    assert type(our_err) is type(ref_err), f"ours: {our_err!r}  torchaudio: {ref_err!r}"
    assert str(our_err)  # a message, not a bare exception


@pytest.mark.parametrize("dtype", (torch.int64, torch.uint8, torch.bool))
def test_amplitude_to_db_accepts_integer_input_like_torchaudio(dtype):
    x = torch.randint(0, 5, (2, 6, 7)).to(dtype)
    want = TAT.AmplitudeToDB(top_db=40.0)(x)
    got = FA.AmplitudeToDB(top_db=40.0)(x)
    assert got.dtype == want.dtype and torch.equal(got, want)


@pytest.mark.parametrize("kw", [dict(hop_length=0), dict(n_fft=0), dict(n_fft=256, win_length=300)])
def test_scripted_framing_errors_are_runtime_errors_like_torchaudio(kw):
    # Scripted, torchaudio's errors come from torch.stft (RuntimeError); a raise in our scripted Python would be
    # torch.jit.Error, which is not one: the op raises them instead.
    x = torch.randn(1, 1000)
    for mod in (TAT, FA):
        with pytest.raises(RuntimeError):
            torch.jit.script(mod.Spectrogram(**kw))(x)


def test_zero_dim_waveform_is_an_index_error_like_torchaudio():
    for mod in (TAT, FA):
        with pytest.raises(IndexError):
            mod.Spectrogram()(torch.tensor(1.0))


def test_equal_f_min_f_max_matches_torchaudio():
    # torchaudio accepts f_min == f_max (a degenerate, all-zero filterbank) with a warning; so do we.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = TAT.MelScale(f_min=8000.0, f_max=8000.0)
        ours = FA.MelScale(f_min=8000.0, f_max=8000.0)
    torch.testing.assert_close(ours.fb, ref.fb, equal_nan=True)


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_scriptable_alone_and_in_sequential(device):
    x = synthetic(batch=(2,), length=4000, device=device)
    mods = [
        FA.Spectrogram(n_fft=256), FA.Spectrogram(power=None, normalized="window"), FA.MelSpectrogram(n_mels=64),
        FA.MFCC(melkwargs=dict(n_mels=64)), FA.AmplitudeToDB(top_db=80.0), FA.MelScale(n_stft=201),
        FA.LogMelSpectrogram(),
    ]
    inputs = [x, x, x, x, torch.rand(2, 64, 30, device=device), torch.rand(2, 201, 30, device=device), x]
    for m, inp in zip(mods, inputs):
        m = m.to(device)
        s = torch.jit.script(m)
        torch.testing.assert_close(s(inp), m(inp))
    seq = torch.nn.Sequential(FA.MelSpectrogram(n_mels=64), FA.AmplitudeToDB(top_db=80.0)).to(device)
    ref = torch.nn.Sequential(TAT.MelSpectrogram(n_mels=64), TAT.AmplitudeToDB(top_db=80.0)).to(device)
    s = torch.jit.script(seq)
    assert rel_err(s(x), ref(x)) <= 1e-4


def test_scripted_module_save_load_roundtrip():
    m = torch.jit.script(torch.nn.Sequential(FA.MelSpectrogram(n_fft=512, n_mels=40), FA.AmplitudeToDB()))
    buf = io.BytesIO()
    torch.jit.save(m, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    x = synthetic(batch=(1,), length=3000)
    torch.testing.assert_close(loaded(x), m(x))


@pytest.mark.parametrize("name,kw", [
    ("Spectrogram", dict(n_fft=512, win_length=400, hop_length=100)),
    ("MelSpectrogram", dict(sample_rate=22050, n_fft=1024, n_mels=80, f_max=8000.0, norm="slaney")),
    ("MelScale", dict(n_mels=40, n_stft=257)),
    ("MFCC", dict(n_mfcc=13, melkwargs=dict(n_mels=40))),
])
def test_state_dict_keys_match_torchaudio(name, kw):
    ref, ours = getattr(TAT, name)(**kw), getattr(FA, name)(**kw)
    assert list(ours.state_dict()) == list(ref.state_dict())
    for k, v in ref.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[k], v, rtol=0, atol=0)
    ours.load_state_dict(ref.state_dict())  # strict


def test_torch_compile_fullgraph():
    m = FA.MelSpectrogram(n_fft=256, hop_length=64, n_mels=32)
    x = synthetic(batch=(2,), length=3000)
    compiled = torch.compile(m, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(x), m(x))


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_output_on_input_device(device):
    x = synthetic(batch=(1,), length=2000, device=device)
    assert FA.MelSpectrogram().to(device)(x).device == x.device


def test_cuda_tensor_on_cpu_only_build_gets_clear_error():
    import fastprep

    if fastprep.has_cuda_kernels() or not torch.cuda.is_available():
        pytest.skip("only meaningful for a CPU-only build on a GPU machine")
    with pytest.raises(RuntimeError, match="no CUDA kernels"):
        FA.MelSpectrogram()(torch.randn(1, 1000, device="cuda"))


# The CPU kernel has an AVX2 clone (chosen at run time; transposed 8x8 group loads) and the baseline code: both
# must give the same bits (no FMA in the clone's target). FASTPREP_CPU_ISA=sse2, read once per process, keeps a
# child on the baseline code; this process takes the AVX2 clone where the CPU has it.
_ISA_CASES = """
import torch
g = torch.Generator().manual_seed(0)
outs = []
for dtype in (torch.float32, torch.float64):
    for n_fft, hop, center, pad, power in [(400, 160, True, "reflect", 2.0), (1024, 256, True, "reflect", 2.0),
                                           (512, 128, False, "constant", None), (257, 64, True, "circular", 1.0),
                                           (64, 7, True, "constant", 1.5), (8, 3, False, "reflect", 2.0)]:
        x = torch.randn(3, 16000 + 37, generator=g, dtype=dtype)
        w = torch.hann_window(n_fft, dtype=dtype)
        outs.append(torch.ops.fastprep.spectrogram(x, w, n_fft, hop, center, pad, power, 1))
        if power is not None:
            fb = torch.rand(n_fft // 2 + 1, 23, generator=g, dtype=dtype)
            outs.append(torch.ops.fastprep.mel_spectrogram(x, w, fb, n_fft, hop, center, pad, power, 0))
"""


@pytest.mark.parametrize("isa", ["sse2"])
def test_cpu_paths_give_the_same_bits(isa, tmp_path):
    from reliability_utils import run_child

    code = _ISA_CASES + f"\ntorch.save(outs, {str(tmp_path / 'outs.pt')!r})\n"
    rc, out = run_child("import fastprep\n" + code, timeout=600, env={"FASTPREP_CPU_ISA": isa})
    assert rc == 0, out[-3000:]
    theirs = torch.load(tmp_path / "outs.pt")
    scope = {}
    exec("import fastprep\n" + _ISA_CASES, scope)
    ours = scope["outs"]
    assert len(ours) == len(theirs) == 22
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.dtype == b.dtype and a.shape == b.shape, i
        assert torch.equal(torch.view_as_real(a) if a.is_complex() else a,
                           torch.view_as_real(b) if b.is_complex() else b), i


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_filterbank_edits_between_calls_take_effect(device):
    # The CPU kernel reuses a filterbank's band structure across calls while the filterbank's values are
    # unchanged: editing the buffer in place (through .data, which no version counter sees) or loading another
    # one of the same shape must change the result exactly as torchaudio's does.
    kw = dict(sample_rate=16000, n_fft=400, hop_length=160, n_mels=40)
    ours, ref = FA.MelSpectrogram(**kw).to(device), TAT.MelSpectrogram(**kw).to(device)
    x = synthetic(batch=(2,), length=8000, device=device)
    first = ours(x)
    ours.mel_scale.fb.data[:, 3] = 0.0
    ours.mel_scale.fb.data[100:, 7] = 0.25
    ref.load_state_dict(ours.state_dict())
    edited = ours(x)
    assert rel_err(edited, ref(x)) <= 1e-4
    assert not torch.equal(edited[..., 3, :], first[..., 3, :]) and (edited[..., 3, :] == 0).all()
    other = TAT.MelSpectrogram(**dict(kw, f_min=300.0, f_max=6000.0)).to(device)
    ours.load_state_dict(other.state_dict())
    assert rel_err(ours(x), other(x)) <= 1e-4
