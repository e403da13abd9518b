"""The generated Unicode tables: reproducible from the generator, and equal to
Hugging Face's BERT normalizer over every code point except where HF's own
tables are a different Unicode version than Python's unicodedata."""

import os
import subprocess
import sys
import unicodedata

import pytest
import torch

import unicode_versions
from fastprep.text import BERTTokenizer, _corpus

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN = os.path.join(ROOT, "csrc", "text", "unicode", "gen_tables.py")
HEADER = os.path.join(ROOT, "csrc", "text", "unicode", "bert_tables.h")


def _header_unicode_version():
    with open(HEADER) as f:
        head = f.read(400)
    return head.split("(Unicode ")[1].split(")")[0]


def test_generator_reproduces_committed_header(tmp_path):
    if _header_unicode_version() != unicodedata.unidata_version:
        pytest.skip(f"header is Unicode {_header_unicode_version()}, this Python has {unicodedata.unidata_version}")
    out = tmp_path / "bert_tables.h"
    subprocess.run([sys.executable, GEN, "--output", str(out)], check=True)
    with open(HEADER, "rb") as a, open(out, "rb") as b:
        assert a.read() == b.read(), "bert_tables.h drifted from gen_tables.py: re-run the generator"


VOCAB = _corpus.bert_vocab_path()


@pytest.mark.skipif(VOCAB is None, reason="bert-base-uncased vocab.txt not found")
@pytest.mark.parametrize("lowercase, strip", [(True, None), (False, False)])
def test_every_code_point_matches_hf_or_is_a_unicode_version_difference(lowercase, strip):
    from tokenizers import BertWordPieceTokenizer

    ours = BERTTokenizer(VOCAB, do_lower_case=lowercase, strip_accents=strip)
    ref = BertWordPieceTokenizer(VOCAB, lowercase=lowercase, strip_accents=strip)
    ref.enable_padding()
    # Planes 0-3 (every assigned script) and the tags / variation selectors of plane 14 in full;
    # the unassigned and private-use rest sampled.
    cps = [c for c in range(0x40000) if not 0xD800 <= c <= 0xDFFF] + list(range(0xE0000, 0xE1000))
    cps += list(range(0x40000, 0x110000, 97))
    # "a<c>b": the character between letters shows removal, splitting and isolation, and its word piece.
    lines = ["a" + chr(c) + "b" for c in cps]
    got, _ = ours.encode(lines, add_special_tokens=False)
    want = torch.tensor([e.ids for e in ref.encode_batch(lines, add_special_tokens=False)], dtype=torch.int64)
    assert got.shape == want.shape
    rows = (got != want).any(dim=1).nonzero().flatten().tolist()

    unexplained, version_diffs = [], []
    for r in rows:
        c, a, b = cps[r], got[r].tolist(), want[r].tolist()
        if unicode_versions.differs(c, lowercase, strip):
            version_diffs.append(c)
        else:
            unexplained.append((hex(c), unicodedata.category(chr(c)), a, b))
    assert not unexplained, unexplained[:20]
    # HF's category tables predate Unicode 14 (and its case tables follow a newer Rust): a few hundred
    # rarely used code points differ (the first is U+061D, new in Unicode 14); none in Latin, Greek, Cyrillic.
    assert len(version_diffs) < 700
    assert all(c >= 0x600 for c in version_diffs), [hex(c) for c in version_diffs if c < 0x600]


@pytest.mark.skipif(VOCAB is None, reason="bert-base-uncased vocab.txt not found")
def test_the_version_gap_predicate_names_known_cases_only():
    # U+061D (Po since Unicode 14, a letter to HF) and U+0890 (Cf, removed by us, kept by HF) are in the gap;
    # Latin, Cyrillic, CJK, ASCII punctuation and U+FFFD (both remove it) are not.
    assert unicode_versions.differs(0x061D) and unicode_versions.differs(0x0890)
    assert not any(unicode_versions.differs(ord(c)) for c in "aZéДж日,!\ufffd\u00a0")
