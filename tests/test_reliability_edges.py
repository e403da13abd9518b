"""Edge inputs through EVERY module, each compared with its reference library on the same input:
0-size batches (and 0-size H / W / time), 1x1, extreme aspect ratios, channels_last, transposed and
permuted (HWC storage) views, strided views of flipped tensors, zero-stride batch views, and random
modules under the same seed. Same result (vision bit-exact, audio within the family's tolerance) or
the same exception type."""

import pytest
import torch
import torchaudio.transforms as TAT
import torchvision.transforms.v2 as TV

import fastprep.audio as FA
import fastprep.transforms as FT
from reliability_utils import assert_same, call_both, check_same_outcome

# ---------------------------------------------------------------- vision

# (C, H, W) cores; leading batch dims are added per case.
VISION_SHAPES = {
    "1x1": (3, 1, 1),
    "wide_1xN": (3, 1, 4099),
    "tall_Nx1": (1, 4099, 1),
    "wide_2xN": (4, 2, 1031),
    "odd": (3, 7, 9),
    "h0": (3, 0, 5),
    "w0": (3, 5, 0),
}
BATCHES = {"single": (), "batch0": (0,), "batch2": (2,), "lead0x2": (0, 2)}


def _views(x):
    """The same values in several storages (name -> tensor)."""
    out = {"contiguous": x.contiguous()}
    out["transposed_storage"] = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    out["hwc_storage"] = x.movedim(-3, -1).contiguous().movedim(-1, -3)  # channels_last for any rank
    if x.dim() == 4:
        out["channels_last"] = x.contiguous(memory_format=torch.channels_last)
    # A stride-2 view into a flip result: what a flip followed by slicing hands the next op.
    out["flipped_strided"] = _flipped_strided(x)
    if x.dim() == 4 and x.shape[0] > 1:
        out["batch_expanded"] = x[:1].expand_as(x)
    return out


def _flipped_strided(x):
    """x's values as every other element of a flip result (stride 2 in the last dim)."""
    f = torch.full((*x.shape[:-1], 2 * x.shape[-1]), 7, dtype=x.dtype)
    f[..., ::2] = x
    return f.flip(-1).flip(-1)[..., ::2]


def _image(shape, dtype):
    g = torch.Generator().manual_seed(sum(shape) + len(shape))
    if dtype == torch.uint8:
        return torch.randint(0, 256, shape, dtype=dtype, generator=g)
    return torch.rand(shape, generator=g, dtype=torch.float64).to(dtype)


def _vision_modules(c):
    mean, std = [0.5, 0.4, 0.3, 0.2][:c], [0.25, 0.5, 1.0, 2.0][:c]
    return {
        "Normalize": (lambda T: T.Normalize(mean, std), torch.float32),
        "ToDtype_f32_scale": (lambda T: T.ToDtype(torch.float32, scale=True), torch.uint8),
        "ToDtype_u8_scale": (lambda T: T.ToDtype(torch.uint8, scale=True), torch.float32),
        "ConvertImageDtype": (lambda T: T.ConvertImageDtype(torch.float64), torch.uint8),
        "CenterCrop_small": (lambda T: T.CenterCrop([1, 3]), torch.uint8),
        "CenterCrop_large": (lambda T: T.CenterCrop([6, 5]), torch.float32),
        "RandomCrop": (lambda T: T.RandomCrop(1), torch.uint8),
        "RandomCrop_pad_if_needed": (lambda T: T.RandomCrop([3, 4], pad_if_needed=True, fill=7), torch.uint8),
        "RandomCrop_padding_edge": (lambda T: T.RandomCrop(2, padding=[1, 2], padding_mode="edge"), torch.uint8),
        "RandomCrop_padding_reflect": (lambda T: T.RandomCrop(2, padding=1, padding_mode="reflect"), torch.float32),
        "RandomCrop_padding_symmetric": (
            lambda T: T.RandomCrop(2, padding=[1, 0, 2, 1], padding_mode="symmetric"), torch.uint8),
        "RandomHorizontalFlip": (lambda T: T.RandomHorizontalFlip(0.5), torch.uint8),
        "RandomVerticalFlip": (lambda T: T.RandomVerticalFlip(1.0), torch.float32),
        "Compose": (lambda T: T.Compose([
            T.RandomCrop([2, 2], pad_if_needed=True), T.RandomHorizontalFlip(), T.RandomVerticalFlip(),
            T.ToDtype(torch.float32, scale=True), T.Normalize(mean, std)]), torch.uint8),
    }


def _run_same_seed(ours_mod, ref_mod, x, seeds=(0, 1, 2)):
    for seed in seeds:
        torch.manual_seed(seed)
        ref = _try(lambda: ref_mod(x))
        ref_next = torch.rand(1)
        torch.manual_seed(seed)
        ours = _try(lambda: ours_mod(x))
        ours_next = torch.rand(1)
        check_same_outcome(ref, ours, assert_same)
        if not isinstance(ref, Exception):
            assert torch.equal(ours_next, ref_next), f"seed {seed}: different number of random draws"


def _try(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - the error is compared with the reference's
        return e


_RANDOM = ("RandomCrop", "RandomHorizontalFlip", "Compose")


@pytest.mark.parametrize("name", list(_vision_modules(3)))
def test_every_vision_module_on_edge_shapes_and_layouts(name):
    seeds = (0, 1, 2) if name.startswith(_RANDOM) else (0,)
    for batch in BATCHES.values():
        for core in VISION_SHAPES.values():
            shape = (*batch, *core)
            make, dtype = _vision_modules(shape[-3])[name]
            x0 = _image(shape, dtype)
            for view_name, x in _views(x0).items():
                assert view_name == "batch_expanded" or torch.equal(x, x0)
                before = x.clone()
                try:
                    _run_same_seed(make(FT), make(TV), x, seeds)
                except AssertionError as e:
                    raise AssertionError(f"{name} on {view_name} {tuple(x.shape)} {x.dtype}: {e}") from e
                assert torch.equal(x, before), f"{name} modified its input ({view_name})"


@pytest.mark.parametrize("shape", [(3, 5, 0), (3, 0, 5), (0, 3, 5, 0), (2, 3, 0, 0)])
def test_symmetric_pad_of_zero_size_image_raises_like_torchvision(shape):
    import torchvision.transforms.v2.functional as TVF

    import fastprep.transforms.functional as FF

    x = torch.zeros(shape, dtype=torch.uint8)
    r, o = call_both(lambda: TVF.pad(x, [1, 0, 2, 1], padding_mode="symmetric"),
                     lambda: FF.pad(x, [1, 0, 2, 1], padding_mode="symmetric"))
    check_same_outcome(r, o, assert_same)


@pytest.mark.parametrize("random_crop", [False, True])
@pytest.mark.parametrize("shape", [(0, 3, 9, 9), (3, 1, 1), (2, 3, 1, 257), (1, 3, 300, 2)])
def test_crop_mirror_normalize_module_edges_match_torchvision_compose(random_crop, shape):
    c = shape[-3]
    mean, std = [0.485, 0.456, 0.406][:c], [0.229, 0.224, 0.225][:c]
    size = [1, 1] if shape[-1] < 3 or shape[-2] < 3 else [3, 2]

    def ref_build():
        crop = TV.RandomCrop(size) if random_crop else TV.CenterCrop(size)
        return TV.Compose([crop, TV.RandomHorizontalFlip(0.5), TV.ToDtype(torch.float32, scale=True),
                           TV.Normalize(mean, std)])

    ours = FT.CropMirrorNormalize(size, mean, std, random_crop=random_crop, flip_p=0.5)
    x0 = _image(shape, torch.uint8)
    for view_name, x in _views(x0).items():
        try:
            _run_same_seed(ours, ref_build(), x, seeds=range(4))
        except AssertionError as e:
            raise AssertionError(f"{view_name}: {e}") from e
        if x.dim() == 3:
            # HWC input (decoder layout) as a permuted view of the same storage.
            hwc = FT.CropMirrorNormalize(size, mean, std, random_crop=random_crop, flip_p=0.5, input_hwc=True)
            for seed in range(3):
                torch.manual_seed(seed)
                ref = ref_build()(x)
                torch.manual_seed(seed)
                assert_same(hwc(x.movedim(-3, -1)), ref)


# ---------------------------------------------------------------- audio

TOL = {torch.float32: 1e-4, torch.float64: 1e-10}


def _close(ours, ref):
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    assert ours.dtype == ref.dtype, (ours.dtype, ref.dtype)
    if ref.numel():
        scale = ref.abs().max().clamp_min(1e-30)
        err = ((ours - ref).abs().max() / scale).item()
        assert err <= TOL[torch.float64 if ref.dtype in (torch.float64, torch.complex128) else torch.float32], err


def _audio_modules():
    mel = dict(sample_rate=16000, n_fft=64, hop_length=16, n_mels=8)
    return {
        "Spectrogram_power": (lambda M: M.Spectrogram(n_fft=64, hop_length=16), False),
        "Spectrogram_complex": (lambda M: M.Spectrogram(n_fft=31, hop_length=7, power=None), False),
        "Spectrogram_nocenter": (lambda M: M.Spectrogram(n_fft=16, win_length=9, center=False), False),
        "MelSpectrogram": (lambda M: M.MelSpectrogram(**mel), False),
        "MelSpectrogram_slaney": (lambda M: M.MelSpectrogram(**mel, norm="slaney", mel_scale="slaney"), False),
        "MFCC": (lambda M: M.MFCC(sample_rate=16000, n_mfcc=5, melkwargs=dict(n_fft=64, hop_length=16, n_mels=8)),
                 False),
        "MFCC_log_mels": (lambda M: M.MFCC(sample_rate=8000, n_mfcc=4, log_mels=True,
                                           melkwargs=dict(n_fft=32, n_mels=6)), False),
        # Spectrogram-domain modules: the input is a (..., freq, time) power spectrogram.
        "MelScale": (lambda M: M.MelScale(n_mels=6, sample_rate=16000, n_stft=33), True),
        "AmplitudeToDB": (lambda M: M.AmplitudeToDB(), True),
        "AmplitudeToDB_top_db": (lambda M: M.AmplitudeToDB(stype="magnitude", top_db=30.0), True),
    }


# Waveform shapes (..., time): 0-size batch, 0-length, 1 sample, odd, leading dims with a 0.
AUDIO_SHAPES = [(0, 400), (2, 0), (1,), (3, 1), (2, 3, 401), (0, 2, 100), (1, 2049), (4099,)]
# Spectrogram shapes (..., freq=33, time): 0 frames, 0-size batch, 1 frame, 2-D and 4-D.
SPEC_SHAPES = [(0, 33, 5), (2, 33, 0), (33, 1), (1, 2, 33, 7), (33, 300)]


def _audio_views(x):
    out = {"contiguous": x.contiguous()}
    if x.dim() >= 2:
        out["transposed_storage"] = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    out["flipped_strided"] = _flipped_strided(x)
    if x.dim() >= 2 and x.shape[0] > 1:
        out["batch_expanded"] = x[:1].expand_as(x)
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", list(_audio_modules()))
def test_every_audio_module_on_edge_shapes_and_layouts(name, dtype):
    make, spec_domain = _audio_modules()[name]
    ours, ref = make(FA).to(dtype), make(TAT).to(dtype)
    for shape in SPEC_SHAPES if spec_domain else AUDIO_SHAPES:
        g = torch.Generator().manual_seed(len(shape) + sum(shape))
        x0 = torch.rand(shape, generator=g, dtype=torch.float64).to(dtype)
        if not spec_domain:
            x0 = x0 * 2 - 1
        for view_name, x in _audio_views(x0).items():
            before = x.clone()
            r, o = call_both(lambda: ref(x), lambda: ours(x))
            if isinstance(r, RuntimeError) and not spec_domain and 0 in x.shape[:-1] and x.shape[-1]:
                # torchaudio cannot take an empty batch of waveforms (torch.stft's reflect pad or MKL
                # refuses it; reference limitation, tests/README.md deviation 7): ours returns the empty
                # batch of what torchaudio gives one waveform of that length, or raises the same type where
                # a later step cannot take it either (MFCC's top_db over an empty batch, as in torchaudio).
                if isinstance(o, RuntimeError):
                    continue
                one = ref(x.new_zeros(x.shape[-1]))
                assert isinstance(o, torch.Tensor), o
                assert o.shape == (*x.shape[:-1], *one.shape) and o.dtype == one.dtype, (o.shape, one.shape)
                continue
            try:
                check_same_outcome(r, o, _close)
            except AssertionError as e:
                raise AssertionError(f"{name} on {view_name} {tuple(shape)} {dtype}: {e}") from e
            assert torch.equal(x, before), f"{name} modified its input"


def _whisper_log_mel_reference(x, n_mels):
    # Whisper's front end (openai/whisper audio.log_mel_spectrogram) built from torchaudio.
    mel = TAT.MelSpectrogram(sample_rate=16000, n_fft=400, hop_length=160, n_mels=n_mels, norm="slaney",
                             mel_scale="slaney", power=2.0)(x)[..., :-1]
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.amax(dim=(-2, -1), keepdim=True) - 8.0)
    return (log_spec + 4.0) / 4.0


@pytest.mark.parametrize("shape", [(0, 1600), (401,), (2, 16000), (1, 3, 4001)])
def test_log_mel_spectrogram_edges_match_torchaudio_composite(shape):
    x0 = torch.rand(shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    for view_name, x in _audio_views(x0).items():
        r, o = call_both(lambda: _whisper_log_mel_reference(x, 80), lambda: FA.LogMelSpectrogram(80)(x))
        if isinstance(r, RuntimeError) and x.shape[0] == 0:
            # torchaudio's stft refuses an empty batch (deviation 7); ours gives the empty batch.
            one = _whisper_log_mel_reference(x.new_zeros(x.shape[-1]), 80)
            assert isinstance(o, torch.Tensor) and o.shape == (*x.shape[:-1], *one.shape), o
            continue
        try:
            check_same_outcome(r, o, lambda a, b: torch.testing.assert_close(a, b, rtol=0, atol=2e-5))
        except AssertionError as e:
            raise AssertionError(f"{view_name} {shape}: {e}") from e


# ---------------------------------------------------------------- pad (not in the fuzz)

PAD_SPECS = [[1], [0], [2, 3], [1, 0, 2, 1], [0, 0, 0, 5], [3, 1, 0, 2], [-1, 0, 1, 0], [-1], [1, -2, 0, 1]]


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_pad_every_mode_on_edge_shapes_and_layouts(mode, dtype):
    import torchvision.transforms.v2.functional as TVF

    import fastprep.transforms.functional as FF

    shapes = [(3, 1, 1), (1, 2, 1031), (3, 7, 9), (2, 3, 4, 5), (0, 3, 4, 5), (1, 2, 3, 4, 5)]
    for shape in shapes:
        x0 = _image(shape, dtype)
        for view_name, x in _views(x0).items():
            for padding in PAD_SPECS:
                for fill in ([None, 7] if mode == "constant" else [None]):
                    kwargs = dict(padding_mode=mode) if fill is None else dict(padding_mode=mode, fill=fill)
                    r, o = call_both(lambda: TVF.pad(x, padding, **kwargs), lambda: FF.pad(x, padding, **kwargs))
                    try:
                        check_same_outcome(r, o, assert_same)
                    except AssertionError as e:
                        raise AssertionError(f"pad {padding} {kwargs} on {view_name} {shape} {dtype}: {e}") from e
