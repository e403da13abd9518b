"""Demo of the text pipeline (see fastprep.demo): BERT ids vs Hugging Face
tokenizers, and basic_english + vocab vs torchtext's Python rule."""

import torch

from fastprep.demo import bench
from fastprep.text import BERTTokenizer, _corpus
from fastprep.text.functional import basic_english_lookup


def run():
    rows = []
    lines = _corpus.english_lines(2000) + _corpus.multilingual_lines(2000)
    vocab_path = _corpus.bert_vocab_path()
    if vocab_path is not None:
        try:
            from tokenizers import BertWordPieceTokenizer
        except ImportError:
            BertWordPieceTokenizer = None
        if BertWordPieceTokenizer is not None:
            tok = BERTTokenizer(vocab_path)
            hf = BertWordPieceTokenizer(vocab_path, lowercase=True)
            hf.enable_padding()
            ids, mask = tok.encode(lines)
            enc = hf.encode_batch(lines)
            ref = torch.tensor([e.ids for e in enc])
            same = ref.shape == ids.shape and bool(torch.equal(ref, ids))
            rows.append(dict(
                pipeline=f"BERT WordPiece ids, {len(lines)} lines (en+multi)",
                reference="hf tokenizers",
                parity="identical ids" if same else "ids DIFFER",
                ok=same,
                ours_ms=bench(lambda: tok.encode(lines), min_time=0.5, warmup=1),
                ref_ms=bench(lambda: hf.encode_batch(lines), min_time=0.5, warmup=1),
            ))
    v, baseline = _corpus.basic_english_case(lines)
    same = _corpus.ragged_rows(*basic_english_lookup(lines, v)) == baseline()
    rows.append(dict(
        pipeline=f"basic_english + vocab, {len(lines)} lines",
        reference="torchtext rule (py)",
        parity="identical ids" if same else "ids DIFFER",
        ok=same,
        ours_ms=bench(lambda: basic_english_lookup(lines, v), min_time=0.5, warmup=1),
        ref_ms=bench(baseline, min_time=0.5, warmup=1),
    ))
    return rows
