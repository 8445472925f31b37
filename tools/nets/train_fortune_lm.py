#!/usr/bin/python3
"""Trains the byte-level fortunes language model (tools/nets/fortune_lm.py) and writes its
float16 weights (tools/nets/weights/fortune_lm.npz) and record (fortune_lm.json): the
settings, the corpus, and the validation perplexity measured with the weights as written
(loaded back from the file, float16 cast to float32).

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread OPENBLAS_NUM_THREADS=1 \\
        /usr/bin/python3 tools/nets/train_fortune_lm.py

Training is deterministic: one thread, a fixed seed, deterministic algorithms. Debian's torch
calls whichever libblas.so.3 the system provides; the reference BLAS makes a training step
about ten times slower than OpenBLAS (package libopenblas0-pthread, which once installed
normally becomes the system's libblas.so.3 itself; the library path above makes sure). Different BLAS libraries round differently, so they train slightly different weights;
the record names the BLAS library that was loaded. The committed weights (4000 steps of 16
windows) take about 7 minutes on an idle core with OpenBLAS, 0.1 s a step; the run that wrote
them shared the machine's two cores and took 593 s.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from nets import fortune_lm as flm  # noqa: E402

QUICK_WINDOWS = 16   # the windows of the quick check the tests repeat (accsim-eval --limit 16)


def blas_library() -> str:
    """The BLAS library this process has loaded: the file names (the real files, links
    followed) of the mapped shared objects with "blas" in their name, from /proc/self/maps."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    except OSError:
        return "unknown"
    names = {os.path.basename(os.path.realpath(p)) for p in paths}
    return ", ".join(sorted(n for n in names if "blas" in n.lower())) or "unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--out", default=flm.WEIGHTS, help="weights file (.npz); the record goes beside it as .json")
    args = ap.parse_args(argv)

    corpus = flm.load_corpus()
    x, _ = flm.eval_windows(corpus.valid)
    print(f"corpus: {len(corpus.files)} databases ({package_line(corpus)}), {len(corpus.train_entries)} training "
          f"entries ({len(corpus.train)} bytes), {len(corpus.valid_entries)} validation entries "
          f"({len(corpus.valid)} bytes, {len(x)} windows of {flm.CONTEXT})", flush=True)
    model, settings = flm.train(seed=args.seed, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                                corpus=corpus, log=lambda s: print(s, flush=True))
    flm.save_weights(model, args.out)
    loaded = flm.load_model(args.out)
    start = time.time()
    ppl, nll, windows, tokens = flm.evaluate(loaded, corpus.valid)
    quick_ppl, _, quick_windows, _ = flm.evaluate(loaded, corpus.valid, limit=QUICK_WINDOWS)
    eval_seconds = time.time() - start
    counts = np.bincount(corpus.train, minlength=flm.VOCAB) + 1.0   # add-one unigram over the training bytes
    _, y = flm.eval_windows(corpus.valid)
    unigram = math.exp(float(-np.log(counts / counts.sum())[y.numpy()].mean()))
    params = sum(p.numel() for p in loaded.parameters())
    record = {
        "model": "FortuneLM: byte-level causal transformer, 2 layers, d_model 128, 4 heads, MLP 512 (GELU), "
                 "pre-LayerNorm, learned positions, context 128, untied output layer",
        "parameters": params,
        "macs_per_token": flm.macs_per_token(loaded),
        "weights": {"file": os.path.basename(args.out), "dtype": "float16 (loaded as float32)",
                    "bytes": os.path.getsize(args.out)},
        "corpus": {"package": flm.PACKAGE, "package_version": corpus.package_version, "dir": flm.DATA_DIR,
                   "files": corpus.files, "skipped_not_utf8": corpus.skipped,
                   "duplicate_entries_dropped": corpus.duplicates,
                   "split": f"entry i (after dropping duplicates) is validation when i % {flm.SPLIT_EVERY} == "
                            f"{flm.SPLIT_EVERY - 1}",
                   "train_entries": len(corpus.train_entries), "valid_entries": len(corpus.valid_entries),
                   "train_bytes": len(corpus.train), "valid_bytes": len(corpus.valid),
                   "sha256": corpus.digest()},
        "training": dict(settings, blas=blas_library()),
        "validation": {"perplexity": ppl, "nll": nll, "windows": windows, "predicted_tokens": tokens,
                       "unigram_perplexity": unigram,
                       "first_windows": {"windows": quick_windows, "perplexity": quick_ppl},
                       "measured_with": "the weights file loaded back (float16 cast to float32)",
                       "eval_seconds": round(eval_seconds, 1)},
    }
    path = os.path.splitext(args.out)[0] + ".json"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print(f"validation perplexity {ppl:.4f} (nll {nll:.4f} nats/byte, {windows} windows, {tokens} predicted "
          f"bytes; unigram {unigram:.2f}); first {quick_windows} windows {quick_ppl:.4f}")
    print(f"{params} parameters, {record['weights']['bytes']} bytes of weights; wrote {args.out} and {path}")


def package_line(corpus):
    return f"{flm.PACKAGE} {corpus.package_version or 'version unknown'}"


if __name__ == "__main__":
    main()
