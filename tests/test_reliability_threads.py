"""Concurrency: one module instance called from 8 threads at once gives exactly the serial results
(vision, audio, text, scripted pipelines), and one Vocab is shared safely across threads."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch


def _vision():
    import fastprep.transforms as FT
    import fastprep.transforms.functional as FF

    return FT, FF

THREADS = 8
ROUNDS = 6  # calls per input per thread


def _hammer(fn, inputs):
    """Every thread runs fn over every input ROUNDS times, all starting together; returns per-thread results."""
    start = threading.Barrier(THREADS)

    def work(tid):
        start.wait()
        out = []
        for r in range(ROUNDS):
            # Threads walk the inputs in different orders so different inputs overlap in time.
            order = inputs[tid % len(inputs):] + inputs[: tid % len(inputs)]
            out.append([(i, fn(x)) for i, x in order])
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(work, range(THREADS)))


def _check(fn, inputs, equal):
    indexed = list(enumerate(inputs))
    serial = [fn(x) for x in inputs]
    for per_thread in _hammer(fn, indexed):
        for round_ in per_thread:
            for i, got in round_:
                equal(got, serial[i])


def _tensor_equal(a, b):
    if isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _tensor_equal(x, y)
        return
    assert a.shape == b.shape and a.dtype == b.dtype
    assert torch.equal(a, b) or torch.allclose(a, b, rtol=0, atol=0, equal_nan=True)


def _plain_equal(a, b):
    assert a == b


def _bert_equal(a, b):
    assert a[0] == b[0]
    _tensor_equal(a[1], b[1])


def _images():
    g = torch.Generator().manual_seed(1)
    return [
        torch.randint(0, 256, (3, 97, 131), dtype=torch.uint8, generator=g),
        torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8, generator=g).contiguous(
            memory_format=torch.channels_last),
        torch.randint(0, 256, (3, 1, 640), dtype=torch.uint8, generator=g),
        torch.randint(0, 256, (2, 3, 300, 200), dtype=torch.uint8, generator=g)[..., ::2, 1::3],
    ]


def test_vision_pipeline_from_8_threads():
    FT, _ = _vision()
    pipe = FT.Compose([FT.CenterCrop(48), FT.ToDtype(torch.float32, scale=True),
                       FT.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    _check(pipe, _images(), _tensor_equal)


def test_vision_functional_ops_from_8_threads():
    _, FF = _vision()

    def fn(x):
        return (
            FF.crop_mirror_normalize(x, -3, 5, 40, 33, True, True, [0.5, 0.4, 0.3], [0.2, 0.3, 0.4],
                                     channels_last=True),
            FF.horizontal_flip(x),
            FF.vertical_flip(x),
            FF.crop(x, -2, -2, 30, 30),
            FF.normalize(x.float(), [1.0, 2.0, 3.0], [3.0, 2.0, 1.0]),
        )

    _check(fn, _images(), _tensor_equal)


def test_scripted_vision_pipeline_from_8_threads():
    FT, _ = _vision()
    # TorchScript drops the GIL between ops: the kernels really overlap here.
    pipe = torch.jit.script(torch.nn.Sequential(FT.CenterCrop(40), FT.ToDtype(torch.float32, scale=True),
                                                FT.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])))
    _check(pipe, _images(), _tensor_equal)


def test_audio_modules_from_8_threads():
    import fastprep.audio as FA

    g = torch.Generator().manual_seed(2)
    waves = [torch.randn(1, 16000, generator=g), torch.randn(3, 8001, generator=g),
             torch.randn(2, 20000, generator=g, dtype=torch.float64)[:, ::2], torch.randn(4000, generator=g)]
    mel = FA.MelSpectrogram(n_fft=512, hop_length=128, n_mels=64)
    spec = FA.Spectrogram(n_fft=400, power=None)
    db = FA.AmplitudeToDB(top_db=80.0)
    _check(lambda x: (db(mel(x)), spec(x)), waves, _tensor_equal)


def test_audio_autograd_from_8_threads():
    import fastprep.audio as FA

    g = torch.Generator().manual_seed(3)
    waves = [torch.randn(2, 4000, generator=g) for _ in range(4)]
    mel = FA.MelSpectrogram(n_fft=256, hop_length=64, n_mels=32)

    def grad(x):
        x = x.clone().requires_grad_(True)
        mel(x).pow(0.5).sum().backward()
        return x.grad

    _check(grad, waves, _tensor_equal)


@pytest.fixture(scope="module")
def bert_vocab():
    from fastprep.text import _corpus

    path = _corpus.bert_vocab_path()
    if path is None:
        pytest.skip("bert-base-uncased vocab.txt not found")
    return path


def test_bert_tokenizer_from_8_threads(bert_vocab):
    from fastprep.text import BERTTokenizer, _corpus

    lines = _corpus.english_lines()[:200] + _corpus.multilingual_lines(200)
    batches = [lines[i:i + 50] for i in range(0, len(lines), 50)]
    # A fresh tokenizer: its lazily built device tables are first built under contention.
    tok = BERTTokenizer(bert_vocab)
    _check(lambda b: (tok(b), tok.encode(b, max_length=32, truncation=True, padding="max_length")),
           batches, _bert_equal)


def test_fresh_tokenizer_tables_built_under_contention(bert_vocab):
    from fastprep.text import BERTTokenizer

    for _ in range(3):
        tok = BERTTokenizer(bert_vocab)
        start = threading.Barrier(THREADS)

        def first_call(_):
            start.wait()
            return tok.encode(["hello world, naïve café"])[0]

        with ThreadPoolExecutor(THREADS) as pool:
            outs = list(pool.map(first_call, range(THREADS)))
        for o in outs:
            assert torch.equal(o, outs[0])


def test_one_vocab_shared_across_threads():
    from fastprep.text import _corpus, build_vocab_from_iterator, get_tokenizer

    tok = get_tokenizer("basic_english")
    lines = _corpus.english_lines()[:300]
    vocab = build_vocab_from_iterator((tok(line) for line in lines), specials=["<unk>"])
    vocab.set_default_index(0)
    scripted = torch.jit.script(vocab)
    queries = [tok(line) + ["<never-seen>", ""] for line in lines]
    chunks = [queries[i:i + 30] for i in range(0, len(queries), 30)]

    def fn(chunk):
        ids = [vocab(q) for q in chunk]
        ids_scripted = [scripted(q) for q in chunk]
        back = [vocab.lookup_tokens(i) for i in ids]
        return ids, ids_scripted, back, len(vocab), vocab.get_itos()[:50], "the" in vocab

    _check(fn, chunks, _plain_equal)


def test_basic_english_from_8_threads():
    from fastprep.text import _corpus, get_tokenizer

    tok = get_tokenizer("basic_english")
    lines = _corpus.english_lines()[:400]
    chunks = [lines[i:i + 40] for i in range(0, len(lines), 40)]

    def fn(chunk):
        return [tok(line) for line in chunk]

    _check(fn, chunks, _plain_equal)
