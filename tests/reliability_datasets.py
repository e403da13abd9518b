"""Picklable, importable datasets for the DataLoader tests: spawn workers import this module by name
(tests/ is on sys.path in the parent, and multiprocessing passes sys.path to spawned children)."""

import torch
from torch.utils.data import Dataset


def _image(i):
    g = torch.Generator().manual_seed(1000 + i)
    h, w = 40 + (i % 5) * 7, 50 + (i % 3) * 11  # odd, varying sizes
    return torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g)


def _wave(i):
    g = torch.Generator().manual_seed(2000 + i)
    return torch.randn(1, 8000 + 37 * i, generator=g)


class VisionDataset(Dataset):
    """Images through a transform built by name (``"fastprep"`` or ``"torchvision"``) in each process."""

    def __init__(self, n=16, lib="fastprep", random=False):
        self.n, self.lib, self.random = n, lib, random
        self._t = None

    def _transform(self):
        if self._t is None:
            if self.lib == "fastprep":
                import fastprep.transforms as T
            else:
                import torchvision.transforms.v2 as T
            crop = T.RandomCrop(32) if self.random else T.CenterCrop(32)
            flip = T.RandomHorizontalFlip() if self.random else T.RandomHorizontalFlip(p=0.0)
            self._t = T.Compose([crop, flip, T.ToDtype(torch.float32, scale=True),
                                 T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
        return self._t

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self._transform()(_image(i))

    def __getstate__(self):
        # The transform is rebuilt in the worker (tests the import there), not pickled.
        return {"n": self.n, "lib": self.lib, "random": self.random, "_t": None}


class AudioDataset(Dataset):
    def __init__(self, n=12):
        self.n = n
        import fastprep.audio as FA

        # Built in the parent and pickled into the workers (buffers travel with it).
        self.t = torch.nn.Sequential(FA.MelSpectrogram(n_fft=400, hop_length=160, n_mels=40),
                                     FA.AmplitudeToDB(top_db=80.0))

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.t(_wave(i))[..., :40]


class TextDataset(Dataset):
    """Lines tokenized by a BERTTokenizer and a basic_english + Vocab built in the parent (the Vocab
    is a TorchBind object pickled into each worker)."""

    def __init__(self, lines, vocab_path):
        from fastprep.text import BERTTokenizer, build_vocab_from_iterator, get_tokenizer

        self.lines = lines
        self.bert = BERTTokenizer(vocab_path)
        self.tok = get_tokenizer("basic_english")
        self.vocab = build_vocab_from_iterator((self.tok(x) for x in lines[::2]), specials=["<unk>"])
        self.vocab.set_default_index(0)

    def __len__(self):
        return len(self.lines)

    def __getitem__(self, i):
        line = self.lines[i]
        ids, mask = self.bert.encode([line], max_length=24, truncation=True, padding="max_length")
        words = torch.tensor(self.vocab(self.tok(line))[:24] + [0] * max(0, 24 - len(self.tok(line))))
        return ids[0], mask[0], words
