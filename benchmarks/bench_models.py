"""Benchmark of nstheory.models: forward passes per second on a real model, and the time to all
n per-position token influences at a target relative CI half-width.

Run: ``python benchmarks/bench_models.py [--model minilm] [--n 256] [--inputs 16]``.

* throughput: nstheory's batched no-grad forward from embeddings (``functionals.evaluate``,
  batch ``--batch``) vs a plain per-input Hugging Face loop (``model(input_ids=x[None])`` one
  input at a time, default grad mode), on the same inputs in the same run; CUDA rows when a GPU
  is present;
* time to all n token influences at 10% relative 95%-CI half-width: the number of per-input
  estimates each position needs, (1.96 cv_i / 0.1)^2 with cv_i the coefficient of variation of
  position i's per-input estimates in the stored run ``proofs_check/data/models_minilm.json``
  (2 resamples per estimate), times n positions, divided by the measured batched throughput.
  This is an extrapolation from the stored run, stated as such.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--inputs", type=int, default=16)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--target", type=float, default=0.1)
    args = ap.parse_args()

    import numpy as np
    import torch

    from nstheory.models.functionals import default_functionals, evaluate
    from nstheory.models.loading import load_model
    from nstheory.models.texts import text_windows

    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, torch threads "
          f"{torch.get_num_threads()}, torch {torch.__version__}")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rate = {}
    for dev in devices:
        lm = load_model(args.model, device=dev)
        ids, _desc = text_windows(lm, args.n, args.inputs, 0)
        ids = ids.to(lm.device)
        fs = default_functionals(lm.kind)

        def sync(dev=dev):  # CUDA work is asynchronous: wait for it before reading the clock
            if dev == "cuda":
                torch.cuda.synchronize()

        lm.model(input_ids=ids[:1])  # warm-up (CUDA context, kernels), not timed
        evaluate(lm, lm.embed(ids[:1]), fs)
        sync()
        t0 = time.perf_counter()
        for x in ids:
            lm.model(input_ids=x[None])
        sync()
        t_plain = time.perf_counter() - t0
        t0 = time.perf_counter()
        for c in range(0, len(ids), args.batch):
            evaluate(lm, lm.embed(ids[c:c + args.batch]), fs)
        sync()
        t_ours = time.perf_counter() - t0
        rate[dev] = len(ids) / t_ours
        print(f"{dev}: {len(ids)} inputs of n = {args.n}: plain per-input HF loop "
              f"{len(ids) / t_plain:.4g} forward passes/s; nstheory batched no-grad "
              f"(batch {args.batch}) {rate[dev]:.4g} /s; ratio {t_plain / t_ours:.3g}x")

    stored = Path(__file__).resolve().parents[1] / "proofs_check" / "data" / "models_minilm.json"
    if stored.exists() and args.model == "minilm":
        from nstheory.models.summary import _per_input_matrix, load_run

        meta, recs = load_run(stored)
        cfg = meta["config"]
        for spec in ("cls", "mean", "pos:-1"):
            m = _per_input_matrix(recs, "token", spec, cfg["inputs"], cfg["n"])
            cv = m.std(axis=0, ddof=1) / m.mean(axis=0)
            need = np.ceil((1.959964 * cv / args.target) ** 2)
            passes = float(need.sum() * cfg["resamples"])
            for dev, r in rate.items():
                print(f"time to all {cfg['n']} token influences at {args.target:.0%} relative "
                      f"CI half-width, f = {spec}: {passes:.4g} forward passes (max per-position "
                      f"estimates needed {need.max():.4g}; cv from {cfg['inputs']} stored "
                      f"inputs) = {passes / r:.4g} s on {dev} (extrapolated)")


if __name__ == "__main__":
    main()
