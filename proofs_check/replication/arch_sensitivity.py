"""Independent replication of the architecture-sensitivity comparison (its own data handling,
models, training loop, estimator and statistics).

It tests the same two statements as the library's comparison study, on the same two real
tasks and with the same noise definitions:

* **digits** -- scikit-learn's 8x8 digits, pixels scaled to [-1, 1], 1200 training images;
  noise N(0, 0.5^2) on one 2x2 pixel block, averaged exactly over all 16 blocks; models of
  about 12 000 parameters trained 30 epochs (Adam, learning rate 3e-3, batches of 64).
* **fortunes** -- topic classification of the first 16 words of each quotation of six Debian
  fortunes topic files (70 % training split, 2000-word vocabulary with an unknown-word token);
  noise N(0, 1) added to one token's embedding after Embedding + LayerNorm, averaged exactly
  over all 16 positions; models of about 80 000 parameters trained 12 epochs.

The flip rate is measured on the training inputs, as in the sensitivity paper.

Where this replication chooses differently from the library study (on purpose: the statements
are about architectures, not one implementation):

* tokenisation: words are runs of ``[a-z0-9]`` (apostrophes split words), vocabulary ties
  broken alphabetically; the train/test splits come from numpy's generator;
* models (:mod:`proofs_check.replication.arch_models`): the image CNN max-pools after its first
  convolution; the image LSTM reads one pixel row per step (8 steps) instead of 2x2 patches;
  the token CNN max-pools over positions; the transformer's feed-forward uses GELU (the
  library's uses ReLU); the LSTM is written gate by gate (initialised like a standard LSTM:
  ``lstm_forget_bias`` 0); ``--forget-bias-variant-seeds`` also trains the fortunes LSTM
  with forget-gate bias 1, a sensitivity analysis stored apart (``variant_runs``);
* estimator: one antithetic pair of draws per (input, site) instead of two independent draws
  (the same number of evaluations, ``2 x inputs x sites``);
* seeds: model seed ``s`` initialises with ``torch.manual_seed(s)`` and shuffles with numpy's
  generator; the noise generator is seeded ``s + 500000``; the splits do not depend on ``s``.

Run (resumable: finished runs are appended to ``--log`` and not repeated)::

    python -m proofs_check.replication.arch_sensitivity --tasks digits,fortunes \\
        --seeds 0-9 --forget-bias-variant-seeds 0-9 --log /tmp/rep.jsonl \\
        --out proofs_check/data/replication_arch_sensitivity.json

Every run uses one torch thread and deterministic kernels, so the command reproduces the
stored numbers bit for bit on the same machine class.

Examples
--------
The statistics used by the claim checks are plain functions of the per-seed runs:

>>> s = t_summary([0.01, 0.02, 0.03])
>>> round(s["mean"], 6), s["n"], round(s["t_crit"], 4)
(0.02, 3, 4.3027)
>>> required_seeds(sd=0.01, effect=0.01)   # Phi(sqrt(n) - t_{n-1}) >= 0.9 first at n = 13
13
"""

from __future__ import annotations

import argparse
import math
import re
import shlex
import sys
import time

from nstheory.errors import NSTheoryError, check_choice, parse_seeds

TASKS = ("digits", "fortunes")
ARCHS = ("mlp", "cnn", "lstm", "transformer")
#: Per task: parameter budget, epochs, learning rate, batch size, noise std and data sizes.
CONFIG = {
    "digits": {"budget": 12000, "epochs": 30, "lr": 3e-3, "batch": 64, "sigma": 0.5,
               "n_train": 1200, "patch": 2, "lstm_forget_bias": 0.0},
    "fortunes": {"budget": 80000, "epochs": 12, "lr": 3e-3, "batch": 64, "sigma": 1.0,
                 "seq_len": 16, "vocab": 2000, "train_frac": 0.7, "lstm_forget_bias": 0.0},
}
THREADS = 1
#: Effects each claim check must detect (flip-rate units), fixed before any run.
EFFECT_ARCH = 0.005
EFFECT_LAST = 0.02
NOISE_SEED_OFFSET = 500_000
#: The sensitivity analysis of the LSTM's initialisation (``--forget-bias-variant-seeds``).
VARIANT = {"lstm_forget_bias": 1.0}
VARIANT_TAG = "forget_bias=1"
#: The files whose code computes this study's numbers.
PRODUCERS = ("proofs_check/replication/arch_sensitivity.py",
             "proofs_check/replication/arch_models.py", "nstheory/reproducible.py")
_WORD = re.compile(r"[a-z0-9]+")


# ----------------------------------------------------------------------------- data


def digits_data(n_train: int = 1200) -> dict:
    """scikit-learn digits as ``(N, 1, 8, 8)`` pixels in [-1, 1], split by numpy's generator.

    Examples
    --------
    >>> d = digits_data()
    >>> tuple(d["x_train"].shape), len(d["y_test"]), float(d["x_train"].max())
    ((1200, 1, 8, 8), 597, 1.0)
    """
    import numpy as np
    import torch
    from sklearn.datasets import load_digits

    raw = load_digits()
    x = raw.images.astype(np.float32) / 8.0 - 1.0
    order = np.random.default_rng(20_240_817).permutation(len(x))
    tr, te = order[:n_train], order[n_train:]
    X, Y = torch.from_numpy(x[:, None]), torch.from_numpy(raw.target.astype(np.int64))
    return {"kind": "image", "x_train": X[tr], "y_train": Y[tr], "x_test": X[te],
            "y_test": Y[te], "n_classes": 10, "shape": {"image_hw": 8}}


def fortunes_data(seq_len: int = 16, vocab: int = 2000, train_frac: float = 0.7) -> dict:
    """First ``seq_len`` words of every long-enough quotation of the default fortunes topics,
    labelled by topic; vocabulary: unknown-word token 0, then the most frequent training words.

    Examples
    --------
    >>> from nstheory.corpora import fortunes_available
    >>> d = fortunes_data() if fortunes_available() else None
    >>> d is None or (d["x_train"].shape[1] == 16 and d["n_classes"] == 6)
    True
    """
    from collections import Counter

    import numpy as np
    import torch

    from nstheory.corpora import DEFAULT_TOPICS, fortunes

    texts = fortunes(DEFAULT_TOPICS)
    seqs, labels = [], []
    for c, topic in enumerate(DEFAULT_TOPICS):
        for q in texts[topic]:
            words = _WORD.findall(q.lower())
            if len(words) >= seq_len:
                seqs.append(words[:seq_len])
                labels.append(c)
    order = np.random.default_rng(19_937).permutation(len(seqs))
    cut = int(train_frac * len(seqs))
    tr, te = order[:cut], order[cut:]
    counts = Counter(w for i in tr for w in seqs[i])
    words = sorted(counts, key=lambda w: (-counts[w], w))[:vocab - 1]
    index = {w: i + 1 for i, w in enumerate(words)}
    X = torch.tensor([[index.get(w, 0) for w in s] for s in seqs], dtype=torch.long)
    Y = torch.tensor(labels, dtype=torch.long)
    tr_t, te_t = torch.from_numpy(tr), torch.from_numpy(te)
    return {"kind": "tokens", "x_train": X[tr_t], "y_train": Y[tr_t], "x_test": X[te_t],
            "y_test": Y[te_t], "n_classes": len(DEFAULT_TOPICS),
            "shape": {"vocab": vocab, "seq_len": seq_len}}


_DATA: dict = {}


def task_data(task: str) -> dict:
    """The (cached) data of ``task`` with its :data:`CONFIG` sizes.

    >>> task_data("digits")["n_classes"]
    10
    """
    check_choice(task, TASKS, "task")
    if task not in _DATA:
        cfg = CONFIG[task]
        _DATA[task] = (digits_data(cfg["n_train"]) if task == "digits" else
                       fortunes_data(cfg["seq_len"], cfg["vocab"], cfg["train_frac"]))
    return _DATA[task]


# ------------------------------------------------------------------------- training


def fit(model, x, y, epochs: int, lr: float, batch: int, seed: int) -> None:
    """Adam on cross-entropy; minibatch order from ``numpy.random.default_rng(seed)``.

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(200, 2, generator=torch.Generator().manual_seed(1))
    >>> y = (x[:, 1] > 0).long()
    >>> _ = torch.manual_seed(0); m = torch.nn.Linear(2, 2)
    >>> fit(m, x, y, epochs=20, lr=0.05, batch=32, seed=0)
    >>> float((m(x).argmax(1) == y).float().mean()) > 0.95
    True
    """
    import numpy as np
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = x.shape[0]
    model.train()
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(n))
        for s in range(0, n, batch):
            idx = order[s:s + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    model.eval()


def _accuracy(model, x, y) -> float:
    import torch

    with torch.no_grad():
        return float((model(x).argmax(-1) == y).double().mean())


def run_one(task: str, arch: str, seed: int, overrides: dict | None = None) -> dict:
    """Build the parameter-matched ``arch``, train it on ``task`` with ``seed``, and measure
    its flip rate on the training inputs (per site, by antithetic pairs).

    Parameters
    ----------
    task : {"digits", "fortunes"}
    arch : {"mlp", "cnn", "lstm", "transformer"}
    seed : int
        Model seed (initialisation, minibatch order, noise).
    overrides : dict, optional
        Replaces :data:`CONFIG` entries (``epochs``, ``budget``, ``sigma``, ...).

    Returns
    -------
    dict
        ``key``, ``params``, ``width``, accuracies, ``flips`` per site out of ``2 * pairs``,
        the per-site ``profile`` of rates, the overall ``rate`` and its ``stderr``.

    Examples
    --------
    >>> r = run_one("digits", "mlp", 0, {"epochs": 1, "budget": 3000})
    >>> r["key"], r["params"], len(r["profile"]), 2 * r["pairs"] * 16 == r["evaluations"]
    ('digits/mlp/0', 3055, 16, True)
    """
    import torch

    from nstheory.reproducible import deterministic
    from proofs_check.replication import arch_models as M

    check_choice(arch, ARCHS, "arch")
    data = task_data(task)
    cfg = {**CONFIG[task], **(overrides or {})}
    t0 = time.perf_counter()
    with deterministic(threads=THREADS):
        width, params = M.matched_width(arch, data["kind"], cfg["budget"], data["n_classes"],
                                        **data["shape"])
        torch.manual_seed(seed)
        model = M.build(arch, data["kind"], width, data["n_classes"], **data["shape"],
                        forget_bias=cfg.get("lstm_forget_bias", 0.0))
        fit(model, data["x_train"], data["y_train"], cfg["epochs"], cfg["lr"], cfg["batch"],
            seed)
        with torch.no_grad():
            z = model.noise_space(data["x_train"])
        masks = M.site_masks(data["kind"], tuple(z.shape[1:]), cfg.get("patch", 2))
        g = torch.Generator().manual_seed(seed + NOISE_SEED_OFFSET)
        est = M.antithetic_flips(model.from_noise_space, z, masks, cfg["sigma"], g)
        acc = (_accuracy(model, data["x_train"], data["y_train"]),
               _accuracy(model, data["x_test"], data["y_test"]))
    n = est["pairs"]
    return {"key": f"{task}/{arch}/{seed}", "task": task, "arch": arch, "seed": seed,
            "params": params, "width": width, "train_acc": acc[0], "test_acc": acc[1],
            "flips": est["flips"], "pairs": n, "evaluations": 2 * n * len(est["flips"]),
            "profile": [k / (2 * n) for k in est["flips"]], "rate": est["rate"],
            "stderr": est["stderr"], "both_flipped": est["both_flipped"],
            "config": cfg, "seconds": time.perf_counter() - t0}


# ----------------------------------------------------------------------- statistics


def t_summary(values) -> dict:
    """Mean, standard deviation, standard error and two-sided 95 % Student-t interval.

    Examples
    --------
    >>> s = t_summary([1.0, 3.0])
    >>> s["sd"] == math.sqrt(2), [round(c, 3) for c in s["ci95"]]
    (True, [-10.706, 14.706])
    """
    from scipy.stats import t as student_t

    v = [float(a) for a in values]
    n = len(v)
    if n < 2:
        raise NSTheoryError(f"a t-interval needs >= 2 seeds, got {n}")
    mean = sum(v) / n
    sd = math.sqrt(sum((a - mean) ** 2 for a in v) / (n - 1))
    se = sd / math.sqrt(n)
    tc = float(student_t.ppf(0.975, n - 1))
    return {"mean": mean, "sd": sd, "stderr": se, "n": n, "t_crit": tc,
            "ci95": [mean - tc * se, mean + tc * se]}


def seed_power(effect: float, sd: float, n: int) -> float:
    """Power of the one-sided 97.5 % t-test on ``n`` seeds to detect a mean ``effect`` when
    seeds spread by ``sd`` (normal approximation: ``Phi(effect sqrt(n) / sd - t_{n-1})``).

    With ``effect = sd`` and 13 seeds: ``Phi(sqrt(13) - 2.1788) = Phi(1.4268)``:

    >>> round(seed_power(0.01, 0.01, 13), 3)
    0.923
    """
    from scipy.stats import norm
    from scipy.stats import t as student_t

    if n < 2:
        return 0.0
    if not sd > 0:
        return 1.0
    return float(norm.cdf(effect * math.sqrt(n) / sd - student_t.ppf(0.975, n - 1)))


def required_seeds(sd: float, effect: float, power: float = 0.9, n_max: int = 100_000) -> int:
    """Smallest number of seeds whose :func:`seed_power` reaches ``power``.

    >>> required_seeds(0.0059, 0.005)
    17
    """
    from scipy.stats import norm

    if not sd > 0:
        return 2
    # the t-test needs at least the normal-theory n; step up from there
    n = max(2, int(((norm.ppf(0.975) + norm.ppf(power)) * sd / effect) ** 2))
    while seed_power(effect, sd, n) < power:
        n += 1
        if n > n_max:
            return n_max
    return n


def _by_seed(runs, task, arch) -> dict:
    return {r["seed"]: r for r in runs if r["task"] == task and r["arch"] == arch}


def arch_comparison(runs, effect: float = EFFECT_ARCH) -> dict:
    """Per task: each architecture's mean flip rate over seeds, and each (arch - transformer)
    difference paired by seed with its t-interval, power against ``effect`` and the seeds that
    power 0.9 would need at the observed spread.

    Examples
    --------
    >>> runs = [{"task": "t", "arch": a, "seed": s, "rate": r, "params": 9}
    ...         for a, rs in (("mlp", (0.2, 0.3, 0.25)), ("transformer", (0.1, 0.1, 0.2)))
    ...         for s, r in enumerate(rs)]
    >>> d = arch_comparison(runs)["t"]["vs_transformer"]["mlp"]
    >>> round(d["mean"], 6), d["n"]
    (0.116667, 3)
    """
    out = {}
    for task in sorted({r["task"] for r in runs}):
        archs = sorted({r["arch"] for r in runs if r["task"] == task})
        res = {"archs": {}, "vs_transformer": {}}
        for a in archs:
            by = _by_seed(runs, task, a)
            seeds = sorted(by)
            res["archs"][a] = {**t_summary([by[s]["rate"] for s in seeds]),
                               "params": by[seeds[0]]["params"],
                               "train_acc": sum(by[s].get("train_acc", 0) for s in seeds)
                               / len(seeds),
                               "test_acc": sum(by[s].get("test_acc", 0) for s in seeds)
                               / len(seeds)}
        tr = _by_seed(runs, task, "transformer")
        for a in archs:
            if a == "transformer" or not tr:
                continue
            by = _by_seed(runs, task, a)
            seeds = sorted(set(by) & set(tr))
            d = t_summary([by[s]["rate"] - tr[s]["rate"] for s in seeds])
            d["power"] = seed_power(effect, d["sd"], d["n"])
            d["seeds_for_power_0.9"] = required_seeds(d["sd"], effect)
            res["vs_transformer"][a] = d
        out[task] = res
    return out


def last_token_excess(runs, task: str = "fortunes", arch: str = "lstm",
                      effect: float = EFFECT_LAST) -> dict:
    """Final position's flip rate minus the mean of the other positions, per seed, with its
    t-interval, power against ``effect`` and the seeds power 0.9 would need; plus the mean
    profile and its peak position (0-based).

    Examples
    --------
    >>> runs = [{"task": "fortunes", "arch": "lstm", "seed": s, "profile": p}
    ...         for s, p in enumerate([[0.1, 0.1, 0.3], [0.1, 0.2, 0.3], [0.2, 0.1, 0.4]])]
    >>> r = last_token_excess(runs)
    >>> [round(v, 6) for v in r["per_seed"]], r["peak"]
    ([0.2, 0.15, 0.25], 2)
    """
    by = _by_seed(runs, task, arch)
    seeds = sorted(by)
    profs = [by[s]["profile"] for s in seeds]
    L = len(profs[0])
    per = [p[-1] - sum(p[:-1]) / (L - 1) for p in profs]
    d = t_summary(per)
    mean_prof = [sum(p[i] for p in profs) / len(profs) for i in range(L)]
    d.update({"per_seed": per, "profile": mean_prof,
              "peak": max(range(L), key=mean_prof.__getitem__),
              "power": seed_power(effect, d["sd"], d["n"]),
              "seeds_for_power_0.9": required_seeds(d["sd"], effect)})
    return d


def plan_from_library_study(paths) -> dict:
    """The seeds power 0.9 needs, computed from the seed spread of the library's stored
    comparison studies (the planning step of this replication): per task and architecture,
    the sd of the seed-paired (arch - transformer) flip-rate difference, and for the fortunes
    LSTM the sd of its final-token excess.

    >>> from pathlib import Path
    >>> plan_from_library_study([Path("/no/such.json")])
    {}
    """
    import json
    from pathlib import Path

    runs = []
    for p in paths:
        if Path(p).is_file():
            runs += [{"task": r["task"], "arch": r["arch"], "seed": r["seed"],
                      "rate": r["sensitivity"]["rate"], "params": r["params"],
                      **({"profile": r["embedding_profile"]} if "embedding_profile" in r
                         else {})}
                     for r in json.loads(Path(p).read_text())["runs"]
                     if r["task"] in TASKS]
    if not runs:
        return {}
    out = {}
    for task, res in arch_comparison(runs).items():
        out[task] = {a: {"sd": d["sd"], "n": d["n"],
                         "seeds_for_power_0.9": d["seeds_for_power_0.9"]}
                     for a, d in res["vs_transformer"].items()}
    if _by_seed(runs, "fortunes", "lstm"):
        e = last_token_excess(runs)
        out["fortunes_lstm_last_token"] = {"sd": e["sd"], "n": e["n"],
                                           "seeds_for_power_0.9": e["seeds_for_power_0.9"]}
    return out


# ------------------------------------------------------------------------- command


def study_config(tasks, archs, seeds) -> dict:
    """Everything that determines the study's numbers (hashed into its provenance).

    >>> study_config(["digits"], ["mlp"], [0])["config"]["digits"]["sigma"]
    0.5
    """
    return {"tasks": list(tasks), "archs": list(archs), "seeds": list(seeds),
            "config": {t: CONFIG[t] for t in tasks}, "threads": THREADS,
            "noise_seed_offset": NOISE_SEED_OFFSET, "estimator": "antithetic pairs, every site"}


def _parse_list(text: str, choices, name: str) -> list[str]:
    items = [s.strip() for s in str(text).split(",") if s.strip()]
    if not items:
        raise NSTheoryError(f"{name} is empty; give a comma-separated list of "
                            f"{', '.join(choices)}")
    return [check_choice(s, choices, name) for s in items]


def main(argv=None) -> int:
    """Run (or resume) the replication study and store it with its provenance.

    Examples
    --------
    >>> main(["--tasks", "mnist"])
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --tasks must be one of digits, fortunes; got 'mnist'
    """
    from pathlib import Path

    from nstheory.store import JsonlLog, provenance_block, save_study

    p = argparse.ArgumentParser(prog="python -m proofs_check.replication.arch_sensitivity",
                                description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default="digits,fortunes")
    p.add_argument("--archs", default=",".join(ARCHS))
    p.add_argument("--seeds", default="0-2")
    p.add_argument("--log", help="JSONL log of finished runs (resume from it)")
    p.add_argument("--out", help="stored study to write (refuses to overwrite without --force)")
    p.add_argument("--force", action="store_true")
    p.add_argument("--forget-bias-variant-seeds", default="",
                   help="also run the fortunes LSTM with forget-gate bias 1 for these seeds "
                   "(a sensitivity analysis kept apart from the main runs)")
    a = p.parse_args(argv)
    tasks = _parse_list(a.tasks, TASKS, "--tasks")
    archs = _parse_list(a.archs, ARCHS, "--archs")
    seeds = parse_seeds(a.seeds)
    if a.out and Path(a.out).exists() and not a.force:
        raise NSTheoryError(f"--out {a.out} exists: pass --force to replace it")
    variant_seeds = parse_seeds(a.forget_bias_variant_seeds,
                                name="--forget-bias-variant-seeds") \
        if a.forget_bias_variant_seeds else []
    log = JsonlLog(a.log, key="key") if a.log else None
    done = {r["key"]: r for r in log.records()} if log else {}
    # seed-major order: any finished prefix holds whole seeds of every (task, arch)
    todo = [(f"{t}/{ar}/{s}", t, ar, s, None) for s in seeds for t in tasks for ar in archs]
    todo += [(f"fortunes/lstm/{s}/{VARIANT_TAG}", "fortunes", "lstm", s, VARIANT)
             for s in variant_seeds]
    for i, (key, t, ar, s, over) in enumerate(todo, 1):
        if key not in done:
            r = run_one(t, ar, s, over)
            done[key] = r | {"key": key, "variant": over} if over else r
            if log:
                log.append(done[key])
            print(f"[{i}/{len(todo)}] {key}: flip rate {r['rate']:.6g} "
                  f"(antithetic pairs, stderr {r['stderr']:.2g}), params {r['params']}, "
                  f"train acc {r['train_acc']:.4g}, {r['seconds']:.3g} s", flush=True)
    runs = [done[k] for k, *_, over in todo if not over]
    variant_runs = [done[k] for k, *_, over in todo if over]
    if a.out:
        data = Path(__file__).resolve().parents[1] / "data"
        cfg = study_config(tasks, archs, seeds) | {"forget_bias_variant": {
            "seeds": variant_seeds, "overrides": VARIANT}}
        prov = provenance_block(cfg, (*PRODUCERS, "nstheory/corpora.py"),
                                command=shlex.join(
                                    ["python", "-m", "proofs_check.replication.arch_sensitivity",
                                     *(argv if argv is not None else sys.argv[1:])]))
        summary = {"arch_comparison": arch_comparison(runs)}
        if any(r["task"] == "fortunes" and r["arch"] == "lstm" for r in runs):
            summary["lstm_last_token"] = last_token_excess(runs)
        plan = plan_from_library_study(sorted(data.glob("montecarlo_comparison*.json")))
        if len(variant_runs) >= 2:
            summary["lstm_last_token_forget_bias_1"] = last_token_excess(variant_runs)
        save_study({"runs": runs, "variant_runs": variant_runs, "summary": summary,
                    "plan_from_library_study": plan, "config": cfg}, a.out, prov,
                   force=a.force)
        print(f"wrote {a.out} ({len(runs)} runs)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    try:
        sys.exit(main())
    except NSTheoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


__all__ = ["ARCHS", "CONFIG", "EFFECT_ARCH", "EFFECT_LAST", "PRODUCERS", "TASKS",
           "arch_comparison", "digits_data", "fit", "fortunes_data", "last_token_excess", "main",
           "plan_from_library_study", "required_seeds", "run_one", "seed_power",
           "study_config", "t_summary", "task_data"]
