"""Per-step cost of the modular-addition preset (p = 113, 30% train, full batch of 3830).

Compares, in one run (machines are noisy: read the ratios):

* ``naive``       -- the straightforward step: attention, MLP and unembedding at all 3 positions;
* ``embed-path``  -- answer position only, from embeddings (the path Gaussian noise uses);
* ``fast``        -- answer position only, projected token tables gathered (the default);
* ``reg-token``   -- ``fast`` + the regularizer (token noise, one extra forward+backward);
* ``reg-gauss``   -- the regularizer with Gaussian embedding noise.

Run: ``python benchmarks/bench_training.py [--threads 2] [--rounds 7] [--per-round 3]``.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F


def naive_logits(m, tokens):
    """All positions through attention (causal), MLP and unembedding; read the last."""
    e = m.embed(tokens)
    B, T, d = e.shape
    H, dh = m.n_heads, m.d_head
    q = (e @ m.W_Q).view(B, T, H, dh).transpose(1, 2)
    k = (e @ m.W_K).view(B, T, H, dh).transpose(1, 2)
    v = (e @ m.W_V).view(B, T, H, dh).transpose(1, 2)
    s = q @ k.transpose(-1, -2) / math.sqrt(dh)
    s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    z = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, d) @ m.W_O
    x = e + z if m.residual else z
    h = F.relu(x @ m.W_in + m.b_in) @ m.W_out + m.b_out
    x = x + h if m.residual else h
    return (x @ m.W_U)[:, -1]


def time_interleaved(steps: dict, rounds: int, per_round: int) -> dict:
    """Per variant: the median and the minimum over ``rounds`` of the mean time of
    ``per_round`` steps; variants alternate within each round, so load drifts on a shared
    machine hit them alike."""
    import statistics

    for fn in steps.values():  # warm-up
        fn()
    per = {k: [] for k in steps}
    for _ in range(rounds):
        for k, fn in steps.items():
            t0 = time.perf_counter()
            for _ in range(per_round):
                fn()
            per[k].append((time.perf_counter() - t0) / per_round)
    return {k: (statistics.median(v), min(v)) for k, v in per.items()}


def main() -> None:
    from dataclasses import replace

    from nstheory.training.config import preset
    from nstheory.training.loop import build_data, build_model, regularized_loss

    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--per-round", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = preset("modadd113")
    data = build_data(cfg)
    model = build_model(cfg, data)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))
    gen = torch.Generator().manual_seed(0)
    x, y = data.train_x, data.train_y

    def mk(loss_fn):
        def step():
            loss = loss_fn()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step

    variants = {
        "naive": lambda: F.cross_entropy(naive_logits(model, x), y),
        "embed-path": lambda: F.cross_entropy(model.forward_embeddings(model.embed(x)), y),
        "fast": lambda: regularized_loss(model, x, y, cfg, data, gen)[0],
        "reg-token": lambda: regularized_loss(
            model, x, y, replace(cfg, reg_gamma=0.75, reg_rho=0.25), data, gen)[0],
        "reg-gauss": lambda: regularized_loss(
            model, x, y, replace(cfg, reg_gamma=0.75, reg_rho=0.25, reg_noise="gaussian"),
            data, gen)[0],
    }
    both = time_interleaved({k: mk(f) for k, f in variants.items()}, args.rounds,
                            args.per_round)
    res = {k: med for k, (med, _) in both.items()}
    print(f"modadd113 full-batch step (B={x.shape[0]}), torch threads={args.threads}, "
          f"{args.rounds} interleaved rounds x {args.per_round} steps")
    for k, t in res.items():
        print(f"  {k:11s} median {1e3 * t:7.1f} ms/step (min {1e3 * both[k][1]:7.1f})   "
              f"x{t / res['fast']:.2f} of fast   x{t / res['naive']:.2f} of naive")
    print(f"  regularized/plain (token) = {res['reg-token'] / res['fast']:.2f}; "
          f"(gaussian) = {res['reg-gauss'] / res['fast']:.2f}")
    print(f"  projected time for 15000 plain steps: {15000 * res['fast'] / 60:.1f} min")


if __name__ == "__main__":
    main()
