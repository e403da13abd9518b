"""torch.library.opcheck for the text ops that take tensors (bert_encode,
bert_tokenize), fed from one sample_inputs(device) factory.

basic_english, basic_english_lookup and _pack_strings take only str / str[] /
the Vocab object: opcheck's schema, fake-tensor and autograd checks need tensor
arguments to trace, so those ops are tested directly in test_text_basic_english.py
and test_text_bert.py instead.
"""

import pytest
import torch

from common import cpu_and_cuda

from fastprep.text import BERTTokenizer, _corpus

VOCAB = _corpus.bert_vocab_path()
pytestmark = pytest.mark.skipif(VOCAB is None, reason="bert-base-uncased vocab.txt not found")

TEXTS = ["Hello, World! naïve café", "", "日本語 😀", "x" * 120, "a b c d e f g"]


def sample_inputs(device):
    tok = BERTTokenizer(VOCAB)
    data, offsets = torch.ops.fastprep._pack_strings(TEXTS)
    data, offsets = data.to(device), offsets.to(device)
    table = tuple(tok.vocab._table(torch.device(device)))
    ids = (tok._unk_id, tok._cls_id, tok._sep_id, tok._pad_id)
    return [
        (torch.ops.fastprep.bert_encode.default, (data, offsets) + table + (tok._special_ids, True, True) + ids + (-1, -1, True)),
        (torch.ops.fastprep.bert_encode.default, (data, offsets) + table + (tok._special_ids, True, False) + ids + (8, 8, True)),
        (torch.ops.fastprep.bert_encode.default, (data, offsets) + table + ([], False, False) + ids + (4, -1, False)),
        (torch.ops.fastprep.bert_tokenize.default, (data, offsets) + table + (tok._special_ids, True, True, tok._unk_id)),
    ]


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_opcheck(device):
    for op, args in sample_inputs(device):
        if device == "cuda" and op is torch.ops.fastprep.bert_tokenize.default:
            continue  # CPU-only op (BERTTokenizer.forward builds Python lists anyway)
        torch.library.opcheck(op, args)
