"""Independent replication of three training studies (its own corpus reading, tokenisation,
data generation, batching, models, token noise, training loop, metrics, thresholds and
statistics).

The noise-stability regularizer adds ``gamma * R`` to the task's cross-entropy, with
``R = -mean over output rows of sum_i p_i(X) p_i(Y)``: ``p(X)`` the softmax output on the clean
input and ``p(Y)`` on a token-noised copy (every noised token is kept with probability
``q = (1 + rho)/2``, otherwise redrawn uniformly from all ``U`` symbols, possibly itself).
Gradients flow through both forward passes. Each study has a base arm (``gamma = 0``) and a
regularized arm, paired by seed (same initialisation and batches):

* ``ntp`` -- next-token prediction on the Debian fortunes corpus: every topic file of the
  installed corpus, quotations of >= 20 characters joined by blank lines; tokens are the
  lower-cased runs of ``[a-z0-9']`` and every other non-space character; vocabulary the 499
  most frequent tokens of the whole text plus ``<unk>`` (id 0); the first 400 000 tokens cut
  into non-overlapping windows of 33; the last 10 % of windows validate. Causal LM with 4
  pre-norm layers, width 30, 6 heads, MLP 120; AdamW (lr 3e-3, weight decay 0.1, betas
  (0.9, 0.98)), linear warm-up over 50 steps then constant, batches of 64, 1500 steps,
  validation loss on the whole validation set every 25 steps. Regularized arm: gamma 0.1,
  rho 0.5, noise on every input position, ``U`` = 500, ``R`` averaged over all positions.
  Thresholds (fixed before any run): validation loss 3.5 nats/token (primary), 3.6, 3.4, 3.3.
* ``modadd`` -- modular addition ``[a, b, =] -> (a + b) mod 59`` (``=`` is token 59), half of
  the 3481 pairs for training (1740), split per seed; one attention layer + ReLU MLP (width
  128, 4 heads, MLP 512), residual, read out at the ``=`` position; AdamW (lr 1e-3, weight decay
  1, betas (0.9, 0.98)), warm-up 10 steps, full batch, budget 4000 steps, validation accuracy
  every 25 steps. Regularized arm: gamma 0.75, rho 0.25, noise on the two operands only,
  ``U`` = 59. Threshold: validation accuracy >= 99 % (95 % also reported).
* ``parity`` -- noisy sparse parity: 40 uniform bits and a read-out token (vocabulary 3), the
  label the parity of 3 hidden bits, 5 % of the 1000 training labels flipped, 1000 clean
  validation strings (support, strings and flips per seed from
  ``numpy.random.default_rng(seed + 20000)``); the same one-layer model at width 64, 4 heads,
  MLP 256; AdamW (lr 1e-3, weight decay 1, betas (0.9, 0.98)), warm-up 10 steps, full batch,
  10 000 steps without early stop, validation accuracy every 25 steps (threshold 90 %).
  Every 100 steps the normalised token stability of the class probabilities
  (:func:`normalised_stability`, 512 training strings, one noisy copy each, rho = 0.05: keep
  each bit with probability 0.525, else redraw it from {0, 1}). Regularized arm: gamma 0.05,
  rho 0.05, noise on the 40 bits, ``U`` = 2 (the stored study trains the base arm only:
  ``--arms base``).
* ``grokking`` -- the modular-addition model at p = 113 with 30 % of the 12 769 pairs for
  training (split as for ``modadd``), the same optimiser, full batch, base arm only
  (``--arms base``): every 125 steps the training accuracy and the embedding sensitivity
  (:func:`embedding_sensitivity`: 0.1 times a standard normal vector added to the token +
  position embeddings of both operands, one draw per input, on 1024 training inputs; the
  fraction whose answer changes); a run stops when validation accuracy reaches 50 % (the end
  of the grokking plateau) or after 5000 steps. :func:`plateau_summary` gives per run the
  measurements on the plateau (training accuracy 1, validation accuracy below 0.5), their rank
  correlation with the step and exact intervals of the first and last value.

Where this replication chooses differently from the library's training code (on purpose):

* batches are drawn without replacement from a fresh numpy permutation per epoch (the library
  samples with replacement); the incomplete tail of an epoch is dropped;
* vocabulary ties are broken by first occurrence in the text (not alphabetically); a
  quotation is whatever lies between lines holding only ``%``;
* models (:mod:`proofs_check.replication.lm_models`): PyTorch's default initialisation of
  linear layers with biases everywhere, embeddings ``N(0, 0.02^2)`` for the language model;
  the modular-addition model computes attention for every position the standard way;
* the noisy forward pass always runs on the whole batch (the library reuses the clean rows
  the noise left unchanged: the same value and gradient, a different code path);
* runs stop early once they can no longer change a steps-to-threshold number: a modadd run at
  99 % validation accuracy, an ntp run at validation loss <= 3.3 (the lowest threshold; every
  higher one has been crossed by then). This saves CPU and leaves every analysed number as it
  would be after the full budget; a run that never gets there trains the whole budget;
* the parity data come from numpy (the library draws them with torch), and the normalised
  stability takes both moments about the pooled mean of the clean and the noisy copies (the
  library's estimator is another);
* seeds: model seed ``s`` initialises with ``torch.manual_seed(s)``; batches use
  ``numpy.random.default_rng(s + 1000)``, the noise ``torch.Generator`` is seeded
  ``s + 500000``, the modadd split and the parity data use
  ``numpy.random.default_rng(s + 20000)``, and the stability measurement at step ``t`` a
  ``torch.Generator`` seeded ``s + 700000 + t`` (the sensitivity measurement
  ``s + 900000 + t``).

Statistics: per threshold, steps to the first evaluation at the threshold; runs that never get
there enter at their budget (with censoring only in the regularized arm the ratio is an upper
bound and can only refute; only in the base arm a lower bound). ``T_base/T_reg`` is the ratio
of mean steps with a percentile-bootstrap 95 % interval (arms resampled separately, 20 000
resamples, fixed generator), and an exact permutation test enumerates every split of the pooled
runs. For parity, :func:`stability_summary` gives per base run the stability's first and last
value, the step at which it is half-way down and the step to 90 % validation accuracy.

Run (resumable: finished runs are appended to ``--log`` and not repeated)::

    python -m proofs_check.replication.training_replication --study ntp --seeds 0-4 \\
        --log /tmp/rep_ntp.jsonl --out proofs_check/data/replication_training_ntp.json
    python -m proofs_check.replication.training_replication --study parity --arms base \\
        --seeds 0-4 --log /tmp/rep_parity.jsonl \\
        --out proofs_check/data/replication_training_parity.json

Every run uses one torch thread and deterministic kernels.

Examples
--------
>>> ratio_bound_kind(0, 2)
'upper bound (regularized runs censored at the budget)'
>>> permutation_pvalues([3, 4, 5], [0, 1, 2])     # 1 of the 20 splits is as extreme
(0.05, 1.0)
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import time
from itertools import combinations
from pathlib import Path

from nstheory.errors import NSTheoryError, check_choice, check_int, parse_seeds

STUDIES = ("ntp", "modadd", "parity", "grokking")
ARMS = ("base", "reg")
THREADS = 1
BATCH_SEED_OFFSET = 1000
SPLIT_SEED_OFFSET = 20_000
NOISE_SEED_OFFSET = 500_000
STAB_SEED_OFFSET = 700_000
SENS_SEED_OFFSET = 900_000
BOOTSTRAP_RESAMPLES = 20_000
BOOTSTRAP_SEED = 2026
LEVEL = 0.95
#: Per study: data, model, optimiser, regularizer and threshold settings.
CONFIG = {
    "ntp": {"vocab": 500, "seq_len": 32, "max_tokens": 400_000, "val_frac": 0.1,
            "min_chars": 20, "layers": 4, "width": 30, "heads": 6, "mlp": 120,
            "lr": 3e-3, "weight_decay": 0.1, "betas": [0.9, 0.98], "warmup": 50,
            "batch": 64, "steps": 1500, "eval_every": 25, "gamma": 0.1, "rho": 0.5,
            "metric": "val_loss", "thresholds": [3.6, 3.5, 3.4, 3.3], "primary": 3.5,
            "stop_when_all_reached": True},
    "modadd": {"p": 59, "train_frac": 0.5, "width": 128, "heads": 4, "mlp": 512,
               "lr": 1e-3, "weight_decay": 1.0, "betas": [0.9, 0.98], "warmup": 10,
               "batch": None, "steps": 4000, "eval_every": 25, "gamma": 0.75, "rho": 0.25,
               "metric": "val_acc", "thresholds": [0.95, 0.99], "primary": 0.99,
               "stop_when_all_reached": True},
    "parity": {"n_bits": 40, "k": 3, "label_noise": 0.05, "n_train": 1000, "n_val": 1000,
               "width": 64, "heads": 4, "mlp": 256, "lr": 1e-3, "weight_decay": 1.0,
               "betas": [0.9, 0.98], "warmup": 10, "batch": None, "steps": 10_000,
               "eval_every": 25, "gamma": 0.05, "rho": 0.05, "metric": "val_acc",
               "thresholds": [0.9], "primary": 0.9, "stop_when_all_reached": False,
               "stab_every": 100, "stab_samples": 512},
    "grokking": {"p": 113, "train_frac": 0.3, "width": 128, "heads": 4, "mlp": 512,
                 "lr": 1e-3, "weight_decay": 1.0, "betas": [0.9, 0.98], "warmup": 10,
                 "batch": None, "steps": 5000, "eval_every": 25, "gamma": 0.75, "rho": 0.25,
                 "metric": "val_acc", "thresholds": [0.5], "primary": 0.5,
                 "stop_when_all_reached": True, "sens_every": 125, "sens_samples": 1024,
                 "sens_sigma": 0.1},
}
#: The paper's speed-ups (haris2026): next-token prediction ~1.75, algorithmic tasks 4500/3300.
PAPER_RATIO = {"ntp": 1.75, "modadd": 4500 / 3300, "parity": 1.35, "grokking": 4500 / 3300}
#: The files whose code computes this study's numbers.
PRODUCERS = ("proofs_check/replication/training_replication.py",
             "proofs_check/replication/lm_models.py", "nstheory/reproducible.py")
FORTUNES_DIRS = ("/usr/share/games/fortunes", "/usr/share/fortune", "/usr/share/fortunes",
                 "/usr/local/share/games/fortunes")
_TOKEN = re.compile(r"[a-z0-9']+|[^\sa-z0-9']")


# ----------------------------------------------------------------------------- data


def corpus_dir() -> Path | None:
    """The installed fortunes directory (``$NSTHEORY_FORTUNES`` if set, empty meaning none),
    or None.

    >>> import os
    >>> old = os.environ.get("NSTHEORY_FORTUNES"); os.environ["NSTHEORY_FORTUNES"] = ""
    >>> corpus_dir() is None
    True
    >>> _ = os.environ.pop("NSTHEORY_FORTUNES") if old is None else os.environ.update(
    ...     NSTHEORY_FORTUNES=old)
    """
    import os

    env = os.environ.get("NSTHEORY_FORTUNES")
    for d in ((env,) if env is not None else FORTUNES_DIRS):
        if d and Path(d).is_dir() and any(Path(d).glob("s*")):
            return Path(d)
    return None


def split_quotations(text: str, min_chars: int = 20) -> list[str]:
    """Quotations of a fortunes file: the text between lines holding only ``%``, stripped,
    at least ``min_chars`` long.

    >>> text = "First one, long enough.\\n%\\nshort\\n%\\nThird one, also long enough.\\n"
    >>> split_quotations(text)
    ['First one, long enough.', 'Third one, also long enough.']
    """
    out, cur = [], []
    for line in text.splitlines():
        if line.strip() == "%":
            out.append("\n".join(cur).strip())
            cur = []
        else:
            cur.append(line)
    out.append("\n".join(cur).strip())
    return [q for q in out if len(q) >= min_chars]


def corpus_text(directory, min_chars: int = 20) -> str:
    """Every topic file of a fortunes directory (names without a dot, sorted), quotations
    joined by blank lines.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "b").write_text("Bee quotation, long enough!\\n%\\n")
    >>> _ = (d / "a").write_text("An apple a day, long enough.\\n")
    >>> _ = (d / "a.dat").write_text("x")
    >>> corpus_text(d)
    'An apple a day, long enough.\\n\\nBee quotation, long enough!'
    """
    files = sorted(p for p in Path(directory).iterdir()
                   if p.is_file() and "." not in p.name and not p.name.startswith("-"))
    quotes = []
    for f in files:
        quotes += split_quotations(f.read_text(encoding="latin-1"), min_chars)
    return "\n\n".join(quotes)


def tokenize(text: str) -> list[str]:
    """Lower-cased words (runs of ``[a-z0-9']``) and single other non-space characters.

    >>> tokenize("Don't panic, 42 times!")
    ["don't", 'panic', ',', '42', 'times', '!']
    """
    return _TOKEN.findall(text.lower())


def build_vocab(tokens, size: int) -> dict[str, int]:
    """``<unk>`` = 0, then the ``size - 1`` most frequent tokens (ties: first occurrence).

    >>> build_vocab(list("abcbcc"), 3)
    {'<unk>': 0, 'c': 1, 'b': 2}
    """
    counts: dict[str, int] = {}
    for t in tokens:
        counts[t] = counts.get(t, 0) + 1  # dicts keep first-occurrence order
    order = sorted(counts, key=lambda t: -counts[t])  # stable: ties keep first occurrence
    return {"<unk>": 0, **{t: i + 1 for i, t in enumerate(order[:size - 1])}}


def lm_windows(ids, seq_len: int, val_frac: float) -> dict:
    """Non-overlapping windows of ``seq_len + 1`` ids; the last ``int(val_frac * n)`` windows
    validate. Inputs are a window's first ``seq_len`` ids, targets the next ones.

    >>> w = lm_windows(list(range(20)), 4, 0.25)
    >>> w["train_x"].tolist(), w["val_y"].tolist()
    ([[0, 1, 2, 3], [5, 6, 7, 8], [10, 11, 12, 13]], [[16, 17, 18, 19]])
    """
    import torch

    w = seq_len + 1
    n = len(ids) // w
    n_val = int(val_frac * n)
    if n < 2 or not 0 < n_val < n:
        raise NSTheoryError(f"corpus of {len(ids)} tokens is too small for windows of {w}")
    win = torch.tensor(ids[:n * w], dtype=torch.long).view(n, w)
    tr, va = win[:n - n_val], win[n - n_val:]
    return {"train_x": tr[:, :-1], "train_y": tr[:, 1:], "val_x": va[:, :-1],
            "val_y": va[:, 1:]}


def ntp_data(cfg: dict, directory=None) -> dict:
    """The next-token task of ``cfg`` on the installed fortunes corpus.

    Examples
    --------
    >>> d = study_data("ntp", CONFIG["ntp"], 0) if corpus_dir() else None   # cached
    >>> d is None or (tuple(d["train_x"].shape[1:]), d["noise_vocab"]) == ((32,), 500)
    True
    """
    directory = directory or corpus_dir()
    if directory is None:
        raise NSTheoryError("the fortunes corpus is not installed (apt-get install fortunes, "
                            "or set NSTHEORY_FORTUNES to a directory of fortune files)")
    toks = tokenize(corpus_text(directory, cfg["min_chars"]))
    vocab = build_vocab(toks, cfg["vocab"])
    ids = [vocab.get(t, 0) for t in toks[:cfg["max_tokens"]]]
    d = lm_windows(ids, cfg["seq_len"], cfg["val_frac"])
    d.update({"noise_positions": None, "noise_vocab": cfg["vocab"], "n_out": cfg["vocab"],
              "info": {"tokens_used": len(ids), "tokens_in_corpus": len(toks),
                       "windows_train": int(d["train_x"].shape[0]),
                       "windows_val": int(d["val_x"].shape[0]),
                       "unk_rate": sum(i == 0 for i in ids) / len(ids),
                       "corpus_dir": str(directory)}})
    return d


def modadd_data(cfg: dict, seed: int) -> dict:
    """All pairs ``[a, b, =]`` with label ``(a + b) mod p``; ``int(train_frac * p^2)`` of them,
    chosen by ``numpy.random.default_rng(seed + 20000)``, train.

    >>> d = modadd_data({"p": 5, "train_frac": 0.5}, 0)
    >>> tuple(d["train_x"].shape), tuple(d["val_x"].shape)
    ((12, 3), (13, 3))
    >>> bool(((d["val_x"][:, 0] + d["val_x"][:, 1]) % 5 == d["val_y"]).all())
    True
    """
    import numpy as np
    import torch

    p = cfg["p"]
    pairs = [(a, b) for a in range(p) for b in range(p)]
    x = torch.tensor([[a, b, p] for a, b in pairs], dtype=torch.long)
    y = torch.tensor([(a + b) % p for a, b in pairs], dtype=torch.long)
    order = torch.from_numpy(np.random.default_rng(seed + SPLIT_SEED_OFFSET).permutation(p * p))
    cut = int(cfg["train_frac"] * p * p)
    tr, va = order[:cut], order[cut:]
    return {"train_x": x[tr], "train_y": y[tr], "val_x": x[va], "val_y": y[va],
            "noise_positions": [0, 1], "noise_vocab": p, "n_out": p,
            "info": {"n_train": cut, "n_val": p * p - cut}}


def parity_data(cfg: dict, seed: int) -> dict:
    """Noisy sparse parity: ``n_bits`` uniform bits (tokens 0/1) and a read-out token 2; the
    label is the parity of ``k`` hidden bits; each training label is flipped with probability
    ``label_noise`` (validation labels clean). Support, strings and flips come from
    ``numpy.random.default_rng(seed + 20000)``.

    >>> d = parity_data({"n_bits": 6, "k": 2, "label_noise": 0.0, "n_train": 8,
    ...                  "n_val": 4}, 0)
    >>> tuple(d["train_x"].shape), d["n_out"], len(d["info"]["support"])
    ((8, 7), 2, 2)
    >>> s = d["info"]["support"]
    >>> bool((d["val_x"][:, s].sum(1) % 2 == d["val_y"]).all())
    True
    """
    import numpy as np
    import torch

    n, k, m = cfg["n_bits"], cfg["k"], cfg["n_train"] + cfg["n_val"]
    rng = np.random.default_rng(seed + SPLIT_SEED_OFFSET)
    support = sorted(int(i) for i in rng.choice(n, size=k, replace=False))
    bits = rng.integers(0, 2, size=(m, n))
    y = bits[:, support].sum(1) % 2
    flips = rng.random(cfg["n_train"]) < cfg["label_noise"]
    y[:cfg["n_train"]] ^= flips.astype(y.dtype)
    x = torch.from_numpy(np.concatenate([bits, np.full((m, 1), 2)], axis=1)).long()
    y = torch.from_numpy(y).long()
    t = cfg["n_train"]
    return {"train_x": x[:t], "train_y": y[:t], "val_x": x[t:], "val_y": y[t:],
            "noise_positions": list(range(n)), "noise_vocab": 2, "n_out": 2,
            "info": {"n_train": t, "n_val": cfg["n_val"], "support": support,
                     "flipped_train_labels": int(flips.sum())}}


_NTP_CACHE: dict = {}


def study_data(study: str, cfg: dict, seed: int) -> dict:
    """The data of one run (the ntp corpus is read once per process).

    >>> study_data("modadd", CONFIG["modadd"], 0)["info"]
    {'n_train': 1740, 'n_val': 1741}
    """
    if study in ("modadd", "grokking"):
        return modadd_data(cfg, seed)
    if study == "parity":
        return parity_data(cfg, seed)
    key = tuple(cfg[k] for k in ("vocab", "seq_len", "max_tokens", "val_frac", "min_chars"))
    if key not in _NTP_CACHE:
        _NTP_CACHE[key] = ntp_data(cfg)
    return _NTP_CACHE[key]


# ------------------------------------------------------------------ noise and objective


def token_noise(x, rho: float, vocab: int, positions, generator):
    """Keep each token of the ``positions`` (None: all) with probability ``(1 + rho)/2``,
    otherwise replace it by a uniform draw from ``range(vocab)``.

    Examples
    --------
    With ``rho = 1`` nothing changes; with ``rho = -1`` every noised token is redrawn, so about
    ``1/vocab`` of them come back unchanged:

    >>> import torch
    >>> x = torch.zeros(4000, 3, dtype=torch.long)
    >>> g = torch.Generator().manual_seed(0)
    >>> bool(torch.equal(token_noise(x, 1.0, 5, [0, 1], g), x))
    True
    >>> y = token_noise(x, -1.0, 5, [0, 1], g)
    >>> bool((y[:, 2] == 0).all()), abs(float((y[:, :2] == 0).double().mean()) - 0.2) < 0.02
    (True, True)
    """
    import torch

    keep = torch.rand(x.shape, generator=generator) < (1 + rho) / 2
    if positions is not None:
        only = torch.zeros(x.shape[1], dtype=torch.bool)
        only[list(positions)] = True
        keep |= ~only
    fresh = torch.randint(0, vocab, x.shape, generator=generator)
    return torch.where(keep, x, fresh)


def stability_penalty(logits_x, logits_y):
    """``R = -mean over rows of sum_i p_i(X) p_i(Y)`` (rows: every leading index).

    >>> import torch
    >>> stability_penalty(torch.zeros(2, 4), torch.zeros(2, 4)).item()   # uniform: -1/4
    -0.25
    """
    import torch

    px = torch.softmax(logits_x, dim=-1)
    py = torch.softmax(logits_y, dim=-1)
    return -(px * py).sum(-1).mean()


def normalised_stability(model, x, rho: float, vocab: int, positions, generator) -> float:
    """Normalised token stability of the class probabilities: one noisy copy ``Y`` of every
    row of ``x`` (:func:`token_noise`), then ``sum_c Cov(p_c(X), p_c(Y)) / sum_c Var(p_c)``
    with both moments taken about the pooled mean of ``p(X)`` and ``p(Y)`` (the two share one
    distribution), in float64.

    For a model that computes a k-sparse parity of bits kept with probability
    ``q = (1 + rho)/2`` (else redrawn from {0, 1}) the value is ``q^k``: each noised bit agrees
    with its copy with correlation ``q``, independently.

    >>> import torch
    >>> class Parity2(torch.nn.Module):              # computes the parity of bits 0 and 1
    ...     def forward(self, t):
    ...         odd = ((t[:, 0] + t[:, 1]) % 2).double()
    ...         return 30 * torch.stack([-odd, odd], -1)
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randint(0, 2, (200_000, 3), generator=g)
    >>> v = normalised_stability(Parity2(), x, 0.5, 2, [0, 1, 2], g)
    >>> abs(v - 0.75 ** 2) < 0.01
    True
    """
    import torch

    with torch.no_grad():
        px = torch.softmax(model(x).double(), -1)
        py = torch.softmax(model(token_noise(x, rho, vocab, positions, generator)).double(), -1)
    mean = (px.mean(0) + py.mean(0)) / 2
    cov = ((px - mean) * (py - mean)).mean(0).sum()
    var = (((px - mean) ** 2).mean(0) + ((py - mean) ** 2).mean(0)).sum() / 2
    return float(cov / var)


def embedding_sensitivity(model, x, sigma: float, positions, generator) -> float:
    """Fraction of the inputs ``x`` whose predicted answer changes when ``sigma`` times a
    standard normal vector is added to the (token + position) embeddings of the ``positions``
    (one draw per input).

    >>> import torch
    >>> from proofs_check.replication.lm_models import AnswerNet
    >>> _ = torch.manual_seed(0)
    >>> m = AnswerNet(vocab=8, n_out=7, seq_len=3, width=16, heads=4, mlp=32)
    >>> x = torch.randint(0, 7, (500, 3)); x[:, 2] = 7
    >>> g = torch.Generator().manual_seed(1)
    >>> embedding_sensitivity(m, x, 0.0, [0, 1], g)
    0.0
    >>> 0 < embedding_sensitivity(m, x, 5.0, [0, 1], g)
    True
    """
    import torch

    with torch.no_grad():
        e = model.embed(x)
        mask = torch.zeros(e.shape[1], 1, dtype=e.dtype)
        mask[list(positions)] = 1.0
        noisy = e + sigma * torch.randn(e.shape, generator=generator, dtype=e.dtype) * mask
        same = model.forward_embeddings(e).argmax(-1) == model.forward_embeddings(noisy).argmax(-1)
    return float(1.0 - same.double().mean())


def objective(model, x, y, gamma: float, rho: float, noise_vocab: int, positions, generator):
    """Cross-entropy (mean over every predicted token) plus ``gamma * R``; returns
    ``(loss, ce)``. With ``gamma = 0`` no noise is drawn.

    >>> import torch
    >>> m = torch.nn.Sequential(torch.nn.Embedding(4, 4))
    >>> x = torch.tensor([[0, 1]]); y = torch.tensor([[1, 2]])
    >>> loss, ce = objective(m, x, y, 0.0, 0.5, 4, None, torch.Generator())
    >>> bool(loss == ce)
    True
    """
    import torch.nn.functional as F

    lx = model(x)
    ce = F.cross_entropy(lx.reshape(-1, lx.shape[-1]), y.reshape(-1))
    if gamma == 0:
        return ce, ce
    ly = model(token_noise(x, rho, noise_vocab, positions, generator))
    return ce + gamma * stability_penalty(lx, ly), ce


# ------------------------------------------------------------------------- training


def batch_stream(n: int, batch, seed: int):
    """Index batches: a fresh permutation per epoch from ``numpy.random.default_rng(seed)``,
    consecutive slices of ``batch``, the short tail dropped; ``batch=None`` is the full set.

    >>> s = batch_stream(5, 2, 0)
    >>> sorted(next(s).tolist() + next(s).tolist()) == sorted(set(
    ...     next(batch_stream(5, 4, 0)).tolist()))
    True
    """
    import numpy as np
    import torch

    if batch is None or batch >= n:
        full = torch.arange(n)
        while True:
            yield full
    rng = np.random.default_rng(seed)
    while True:
        perm = torch.from_numpy(rng.permutation(n))
        for s in range(0, n - batch + 1, batch):
            yield perm[s:s + batch]


def evaluate(model, x, y, chunk: int = 512) -> dict:
    """Validation cross-entropy per predicted token (float64 sum) and accuracy.

    >>> import math, torch
    >>> m = torch.nn.Linear(2, 3, bias=False); _ = torch.nn.init.zeros_(m.weight)
    >>> r = evaluate(m, torch.ones(4, 2), torch.tensor([0, 1, 2, 0]))
    >>> abs(r["val_loss"] - math.log(3)) < 1e-6
    True
    """
    import torch
    import torch.nn.functional as F

    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for s in range(0, x.shape[0], chunk):
            lg = model(x[s:s + chunk])
            yy = y[s:s + chunk]
            flat = lg.reshape(-1, lg.shape[-1])
            total += float(F.cross_entropy(flat, yy.reshape(-1), reduction="sum").double())
            correct += int((flat.argmax(-1) == yy.reshape(-1)).sum())
            count += yy.numel()
    return {"val_loss": total / count, "val_acc": correct / count}


def first_crossing(trajectory, metric: str, threshold: float):
    """Step of the first evaluation whose ``metric`` reaches ``threshold`` (loss: ``<=``,
    accuracy: ``>=``), or None (censored).

    >>> t = [{"step": 0, "val_loss": 4.0}, {"step": 25, "val_loss": 3.5}]
    >>> first_crossing(t, "val_loss", 3.5), first_crossing(t, "val_loss", 3.4)
    (25, None)
    """
    for rec in trajectory:
        v = rec[metric]
        if (v <= threshold) if metric == "val_loss" else (v >= threshold):
            return rec["step"]
    return None


def build_model(study: str, cfg: dict, data: dict):
    """The model of ``study`` (seed torch before calling).

    >>> import torch; _ = torch.manual_seed(0)
    >>> from proofs_check.replication.lm_models import count_params
    >>> count_params(build_model("modadd", CONFIG["modadd"], modadd_data(CONFIG["modadd"], 0)))
    213376
    """
    from proofs_check.replication.lm_models import AnswerNet, CausalLM

    if study == "ntp":
        return CausalLM(cfg["vocab"], cfg["seq_len"], cfg["width"], cfg["heads"],
                        cfg["layers"], cfg["mlp"])
    if study == "parity":
        return AnswerNet(3, 2, cfg["n_bits"] + 1, cfg["width"], cfg["heads"], cfg["mlp"])
    return AnswerNet(cfg["p"] + 1, cfg["p"], 3, cfg["width"], cfg["heads"], cfg["mlp"])


def run_one(study: str, arm: str, seed: int, overrides: dict | None = None,
            progress=None) -> dict:
    """Train one arm of ``study`` with ``seed`` and record its validation trajectory.

    Parameters
    ----------
    study : {"ntp", "modadd"}
    arm : {"base", "reg"}
        ``base``: gamma = 0; ``reg``: the study's gamma and rho.
    seed : int
    overrides : dict, optional
        Replaces :data:`CONFIG` entries (e.g. ``steps`` for a short run).
    progress : callable, optional
        Called with each evaluation record.

    Returns
    -------
    dict
        ``key``, ``steps_to`` (threshold -> first step or None), ``final_step``,
        ``stop_reason``, ``trajectory`` (step, val_loss, val_acc, last batch ce), timings
        (``seconds``, ``train_seconds``, ``ms_per_step``), ``params``, ``config``.

    Examples
    --------
    >>> r = run_one("modadd", "reg", 0, {"steps": 4, "eval_every": 2})
    >>> r["key"], [t["step"] for t in r["trajectory"]], r["stop_reason"]
    ('modadd/reg/0', [0, 2, 4], 'budget')
    """
    import torch

    from nstheory.reproducible import deterministic

    check_choice(study, STUDIES, "study")
    check_choice(arm, ARMS, "arm")
    cfg = {**CONFIG[study], **(overrides or {})}
    gamma = cfg["gamma"] if arm == "reg" else 0.0
    data = study_data(study, cfg, seed)
    metric, thresholds = cfg["metric"], cfg["thresholds"]
    t0 = time.perf_counter()
    train_s = 0.0
    with deterministic(threads=THREADS):
        torch.manual_seed(seed)
        model = build_model(study, cfg, data)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], betas=tuple(cfg["betas"]),
                                weight_decay=cfg["weight_decay"])
        noise = torch.Generator().manual_seed(seed + NOISE_SEED_OFFSET)
        batches = batch_stream(data["train_x"].shape[0], cfg["batch"], seed + BATCH_SEED_OFFSET)
        traj, step, ce, stop = [], 0, None, "budget"  # no batch before step 1
        stab_every = cfg.get("stab_every")
        while True:
            if step % cfg["eval_every"] == 0 or step == cfg["steps"]:
                rec = {"step": step, **evaluate(model, data["val_x"], data["val_y"]),
                       "batch_ce": ce}
                sens_every = cfg.get("sens_every")
                if sens_every and step % sens_every == 0:
                    rec["sens"] = embedding_sensitivity(
                        model, data["train_x"][:cfg["sens_samples"]], cfg["sens_sigma"],
                        data["noise_positions"],
                        torch.Generator().manual_seed(seed + SENS_SEED_OFFSET + step))
                    rec["train_acc"] = evaluate(model, data["train_x"], data["train_y"])["val_acc"]
                if stab_every and (step % stab_every == 0 or step == cfg["steps"]):
                    rec["stab_norm"] = normalised_stability(
                        model, data["train_x"][:cfg["stab_samples"]], cfg["rho"],
                        data["noise_vocab"], data["noise_positions"],
                        torch.Generator().manual_seed(seed + STAB_SEED_OFFSET + step))
                traj.append(rec)
                if progress:
                    progress(rec)
                if cfg["stop_when_all_reached"] and all(
                        first_crossing([rec], metric, t) is not None for t in thresholds):
                    stop = "every threshold reached"
                    break
            if step >= cfg["steps"]:
                break
            t1 = time.perf_counter()
            for group in opt.param_groups:
                group["lr"] = cfg["lr"] * min(1.0, (step + 1) / max(1, cfg["warmup"]))
            idx = next(batches)
            loss, ce_t = objective(model, data["train_x"][idx], data["train_y"][idx], gamma,
                                   cfg["rho"], data["noise_vocab"], data["noise_positions"],
                                   noise)
            if not torch.isfinite(loss.detach()):
                raise NSTheoryError(f"{study}/{arm}/{seed}: loss {float(loss)} at step {step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            ce = float(ce_t.detach())
            step += 1
            train_s += time.perf_counter() - t1
    from proofs_check.replication.lm_models import count_params

    seconds = time.perf_counter() - t0
    return {"key": f"{study}/{arm}/{seed}", "study": study, "arm": arm, "seed": seed,
            "gamma": gamma, "rho": cfg["rho"] if gamma else None,
            "metric": metric, "budget": cfg["steps"],
            "steps_to": {repr(t): first_crossing(traj, metric, t) for t in thresholds},
            "final_step": step, "stop_reason": stop, "final": traj[-1],
            "params": count_params(model), "trajectory": traj, "data_info": data["info"],
            "config": cfg, "seconds": seconds, "train_seconds": train_s,
            "ms_per_step": 1000 * train_s / max(step, 1)}


# ----------------------------------------------------------------------- statistics


def ratio_bound_kind(censored_base: int, censored_reg: int) -> str:
    """What a ratio of mean steps with censored runs at their budget is.

    >>> ratio_bound_kind(0, 0)
    'point estimate (no censoring)'
    """
    if censored_base and censored_reg:
        return "no bound (censored runs in both arms)"
    if censored_reg:
        return "upper bound (regularized runs censored at the budget)"
    if censored_base:
        return "lower bound (base runs censored at the budget)"
    return "point estimate (no censoring)"


def bootstrap_ratio(base, reg, level: float = LEVEL, resamples: int = BOOTSTRAP_RESAMPLES,
                    seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """``mean(base)/mean(reg)`` and its percentile-bootstrap interval (arms resampled with
    replacement separately, numpy's default quantile interpolation).

    >>> bootstrap_ratio([300, 300], [200, 200])
    (1.5, 1.5, 1.5)
    """
    import numpy as np

    b = np.asarray(base, dtype=float)
    r = np.asarray(reg, dtype=float)
    if len(b) < 1 or len(r) < 1 or not (r > 0).all():
        raise NSTheoryError("bootstrap_ratio needs non-empty arms with positive steps")
    rng = np.random.default_rng(seed)
    mb = b[rng.integers(0, len(b), (resamples, len(b)))].mean(1)
    mr = r[rng.integers(0, len(r), (resamples, len(r)))].mean(1)
    a = (1 - level) / 2
    lo, hi = np.quantile(mb / mr, [a, 1 - a])
    return float(b.mean() / r.mean()), float(lo), float(hi)


def permutation_pvalues(base, reg) -> tuple[float, float]:
    """Exact one-sided permutation p-values over every split of the pooled runs into arms of
    the observed sizes: ``(p_faster, p_slower)``, the fractions of splits whose base-arm sum
    is ``>=`` (regularized arm faster) and ``<=`` (slower) the observed one. Integer steps are
    compared exactly.

    >>> permutation_pvalues([1, 2], [1, 2])     # sums 2, 3, 3, 3, 3, 4 over the 6 splits
    (0.8333333333333334, 0.8333333333333334)
    """
    pooled = list(base) + list(reg)
    k = len(base)
    obs = sum(base)
    ge = le = total = 0
    for idx in combinations(range(len(pooled)), k):
        s = sum(pooled[i] for i in idx)
        ge += s >= obs
        le += s <= obs
        total += 1
    return ge / total, le / total


def decide(lo: float, hi: float, kind: str, target: float | None = None) -> str | None:
    """A claim's verdict from an interval ``[lo, hi]`` for ``T_base/T_reg``: ``"verified"``,
    ``"refuted"`` or None (undecided).

    ``target=None`` is a direction claim (ratio > 1): verified when ``lo > 1``, refuted when
    ``hi < 1``. With a ``target`` (the paper's ratio): verified when ``lo > 1`` and the
    interval contains it, refuted when ``hi < target``. An upper bound (censored regularized
    runs) can only refute, a lower bound only verify; no bound decides nothing.

    >>> decide(0.93, 1.03, "point estimate (no censoring)", 1.75)
    'refuted'
    >>> decide(0.93, 1.03, "point estimate (no censoring)") is None
    True
    >>> decide(1.2, 1.9, "upper bound (regularized runs censored at the budget)") is None
    True
    """
    if kind.startswith("no bound"):
        return None
    if target is None:
        verdict = "verified" if lo > 1 else ("refuted" if hi < 1 else None)
    else:
        verdict = "verified" if lo > 1 and lo <= target <= hi else (
            "refuted" if hi < target else None)
    if verdict == "verified" and kind.startswith("upper"):
        return None
    if verdict == "refuted" and kind.startswith("lower"):
        return None
    return verdict


def interval_power(lo: float, hi: float, effect: float) -> float:
    """Normal-approximation power of the 95 % interval to tell a true ratio of 1 from
    ``1 + effect``: standard error ``(hi - lo)/3.92``, power ``Phi(effect/se - 1.96)``.

    >>> round(interval_power(0.9, 1.1, 0.36), 4)
    1.0
    >>> interval_power(1.0, 1.0, 0.36)
    1.0
    """
    from nstheory.claims import one_sided_power

    se = (hi - lo) / (2 * 1.959964)
    if se <= 0:
        return 1.0
    return one_sided_power(effect, se, 1.959964)


def threshold_table(runs, study: str | None = None) -> list[dict]:
    """Per threshold: per-arm steps by seed (censored at the budget), censoring counts, the
    ratio with its bootstrap interval and kind, the permutation p-values and the power
    against the paper's ratio. Only seeds with both arms enter (paired design).

    Examples
    --------
    >>> runs = [{"study": "ntp", "arm": a, "seed": s, "budget": 1500, "metric": "val_loss",
    ...          "steps_to": {"3.5": v}} for a, vs in (("base", (275, 300)),
    ...          ("reg", (300, None))) for s, v in enumerate(vs)]
    >>> row = threshold_table(runs)[0]
    >>> row["base"], row["reg"], row["censored"], row["kind"][:11]
    ([275, 300], [300, 1500], {'base': 0, 'reg': 1}, 'upper bound')
    """
    study = study or runs[0]["study"]
    by = {(r["arm"], r["seed"]): r for r in runs if r["study"] == study}
    seeds = sorted(s for a, s in by if a == "base" and ("reg", s) in by)
    if not seeds:
        return []
    out = []
    for thr in by[("base", seeds[0])]["steps_to"]:
        row = {"threshold": float(thr), "metric": by[("base", seeds[0])]["metric"],
               "seeds": seeds}
        cens = {}
        for arm in ARMS:
            vals = [by[(arm, s)]["steps_to"][thr] for s in seeds]
            cens[arm] = sum(v is None for v in vals)
            row[arm] = [by[(arm, s)]["budget"] if v is None else v
                        for v, s in zip(vals, seeds, strict=True)]
        row["censored"] = cens
        row["kind"] = ratio_bound_kind(cens["base"], cens["reg"])
        if min(row["reg"]) > 0:
            r, lo, hi = bootstrap_ratio(row["base"], row["reg"])
            power = 0.0 if row["kind"].startswith("no bound") else \
                interval_power(lo, hi, PAPER_RATIO[study] - 1)
            row.update({"ratio": r, "ci95": [lo, hi], "power_vs_paper": power})
        else:
            row.update({"ratio": None, "ci95": None, "power_vs_paper": 0.0})
        row["p_faster"], row["p_slower"] = permutation_pvalues(row["base"], row["reg"])
        out.append(row)
    return out


def stability_summary(runs) -> list[dict]:
    """Per base run of the parity study: the normalised token stability at the first and the
    last measurement, whether it fell, the first step at which it was half-way down (at or
    below the midpoint of its first and last value; None when it did not fall) and the first
    step at the primary validation-accuracy threshold (None: never within the budget).

    >>> runs = [{"study": "parity", "arm": "base", "seed": 0, "steps_to": {"0.9": 300},
    ...          "trajectory": [{"step": 0, "stab_norm": 0.5}, {"step": 25},
    ...                         {"step": 100, "stab_norm": 0.3}, {"step": 200,
    ...                          "stab_norm": 0.1}]}]
    >>> row = stability_summary(runs)[0]
    >>> row["first"], row["last"], row["fell"], row["half_way_step"], row["steps_to_primary"]
    (0.5, 0.1, True, 100, 300)
    """
    out = []
    for r in sorted((r for r in runs if r["study"] == "parity" and r["arm"] == "base"),
                    key=lambda r: r["seed"]):
        pts = [(t["step"], t["stab_norm"]) for t in r["trajectory"] if "stab_norm" in t]
        v0, v1 = pts[0][1], pts[-1][1]
        mid = (v0 + v1) / 2
        half = next((st for st, v in pts if v <= mid), None) if v1 < v0 else None
        out.append({"seed": r["seed"], "first": v0, "last": v1, "fell": v1 < v0,
                    "half_way_step": half,
                    "steps_to_primary": next(iter(r["steps_to"].values()))})
    return out


def rank_correlation(x, y) -> float:
    """Spearman's rank correlation: Pearson's correlation of the average ranks.

    >>> rank_correlation([1, 2, 3, 4], [10, 9, 9, 1]), rank_correlation([1, 2, 3], [1, 2, 3])
    (-0.9486832980505138, 1.0)
    """
    import numpy as np

    def ranks(v):
        v = np.asarray(v, float)
        order = np.argsort(v, kind="mergesort")
        r = np.empty(len(v))
        r[order] = np.arange(1, len(v) + 1)
        for u in np.unique(v):  # ties share their average rank
            r[v == u] = r[v == u].mean()
        return r

    a, b = ranks(x), ranks(y)
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def binomial_interval(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval for a proportion ``k / n`` from beta quantiles.

    >>> binomial_interval(0, 10)[0], round(binomial_interval(5, 10)[1], 4)
    (0.0, 0.8129)
    """
    from scipy.stats import beta

    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def plateau_summary(runs) -> list[dict]:
    """Per base run of the grokking study: the sensitivity measurements on the plateau
    (training accuracy 1, validation accuracy below 0.5), their rank correlation with the step,
    and the exact 95 % intervals of the first and last plateau value.

    >>> traj = [{"step": s, "val_acc": 0.1, "train_acc": 1.0, "sens": 0.5 - s / 2000}
    ...         for s in range(0, 1001, 250)]
    >>> row = plateau_summary([{"study": "grokking", "arm": "base", "seed": 0,
    ...                         "config": {"sens_samples": 1000}, "trajectory": traj}])[0]
    >>> row["points"], row["rank_correlation"], row["first"], row["last"]
    (5, -1.0, 0.5, 0.0)
    """
    out = []
    for r in sorted((r for r in runs if r["study"] == "grokking" and r["arm"] == "base"),
                    key=lambda r: r["seed"]):
        n = r["config"]["sens_samples"]
        pts = [(t["step"], t["sens"]) for t in r["trajectory"]
               if "sens" in t and t["train_acc"] >= 1.0 and t["val_acc"] < 0.5]
        row = {"seed": r["seed"], "n": n, "points": len(pts),
               "steps": [s for s, _ in pts], "sens": [v for _, v in pts]}
        if len(pts) >= 3:
            v0, v1 = pts[0][1], pts[-1][1]
            row.update(rank_correlation=rank_correlation(row["steps"], row["sens"]),
                       first=v0, last=v1,
                       first_ci=binomial_interval(round(v0 * n), n),
                       last_ci=binomial_interval(round(v1 * n), n))
        out.append(row)
    return out


# ------------------------------------------------------------------------- command


def _format_row(row) -> str:
    ci = (f"{row['ratio']:.6g} [{row['ci95'][0]:.6g}, {row['ci95'][1]:.6g}]"
          if row["ratio"] is not None else "none")
    return (f"{row['metric']} threshold {row['threshold']:g}: T_base/T_reg {ci} (95% "
            f"percentile bootstrap, {row['kind']}); base {row['base']}, reg {row['reg']}; "
            f"exact permutation p(reg faster) {row['p_faster']:.6g}, p(reg slower) "
            f"{row['p_slower']:.6g}; power vs ratio {PAPER_RATIO[row.get('study', 'ntp')]:.4g}"
            f" {row['power_vs_paper']:.3g}")


def main(argv=None) -> int:
    """Run (or resume) one replication study and store it with its provenance.

    Examples
    --------
    >>> main(["--study", "lm"])
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --study must be one of ntp, modadd, parity, grokking; got 'lm'
    >>> main(["--study", "ntp", "--steps", "0"])
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --steps must be >= 1, got 0
    """
    import json

    from nstheory.store import JsonlLog, provenance_block, save_study

    p = argparse.ArgumentParser(prog="python -m proofs_check.replication.training_replication",
                                description=__doc__.splitlines()[0])
    p.add_argument("--study", default="ntp")
    p.add_argument("--seeds", default="0-4")
    p.add_argument("--arms", default="both", help="base, reg or both (default)")
    p.add_argument("--steps", default=None, help="override the step budget (testing only)")
    p.add_argument("--log", help="JSONL log of finished runs (resume from it)")
    p.add_argument("--out", help="stored study to write (refuses to overwrite without --force)")
    p.add_argument("--force", action="store_true")
    p.add_argument("--from-log-only", action="store_true",
                   help="train nothing: store the runs the log already holds")
    a = p.parse_args(argv)
    study = check_choice(a.study, STUDIES, "--study")
    seeds = parse_seeds(a.seeds)
    arms = ARMS if check_choice(a.arms, (*ARMS, "both"), "--arms") == "both" else (a.arms,)
    over = {}
    if a.steps is not None:
        over["steps"] = check_int(a.steps, "--steps", lo=1)
    if a.out and Path(a.out).exists() and not a.force:
        raise NSTheoryError(f"--out {a.out} exists: pass --force to replace it")
    if a.from_log_only and not a.log:
        raise NSTheoryError("--from-log-only needs --log FILE")
    log = JsonlLog(a.log, key="key") if a.log else None
    done = {r["key"]: r for r in log.records()} if log else {}
    # seed-major order, base before reg: any finished prefix holds whole seed pairs
    todo = [(f"{study}/{arm}/{s}", arm, s) for s in seeds for arm in arms]
    for i, (key, arm, s) in enumerate(todo, 1):
        if key in done:
            r = done[key]
            if r["config"] != {**CONFIG[study], **over}:
                raise NSTheoryError(f"--log {a.log}: run {key} has another configuration")
            continue
        if a.from_log_only:
            continue

        def show(rec, key=key):
            if rec["step"] % 250 == 0:
                print(f"  {key} step {rec['step']}: val loss {rec['val_loss']:.6g} nats per "
                      f"predicted token, val acc {rec['val_acc']:.6g}", flush=True)

        r = run_one(study, arm, s, over, progress=show)
        done[key] = r
        if log:
            log.append(r)
        print(f"[{i}/{len(todo)}] {key}: steps to {r['metric']} thresholds "
              f"{json.dumps(r['steps_to'])} (None: not within {r['budget']}), stopped at "
              f"{r['final_step']} ({r['stop_reason']}), {r['ms_per_step']:.4g} ms/step, "
              f"{r['seconds']:.4g} s", flush=True)
    runs = [done[k] for k, *_ in todo if k in done]
    table = threshold_table(runs, study) if runs else []
    for row in table:
        print(_format_row(row | {"study": study}))
    stab = stability_summary(runs) if study == "parity" else []
    plateau = plateau_summary(runs) if study == "grokking" else []
    for row in plateau:
        print(f"grokking/base/{row['seed']}: {row['points']} plateau points, steps "
              f"{row['steps'][:1]}-{row['steps'][-1:]}, rank correlation "
              f"{row.get('rank_correlation')}, sensitivity {row.get('first')} -> "
              f"{row.get('last')}")
    for row in stab:
        print(f"parity/base/{row['seed']}: normalised token stability {row['first']:.4f} -> "
              f"{row['last']:.4f}, half-way down at step {row['half_way_step']}, validation "
              f"accuracy >= {CONFIG[study]['primary']:g} at step {row['steps_to_primary']}")
    if a.out:
        cfg = {"study": study, "seeds": seeds, "arms": list(arms),
               "config": {**CONFIG[study], **over},
               "threads": THREADS, "paper_ratio": PAPER_RATIO[study],
               "seed_offsets": {"batches": BATCH_SEED_OFFSET, "noise": NOISE_SEED_OFFSET,
                                "modadd_split": SPLIT_SEED_OFFSET,
                                "parity_data": SPLIT_SEED_OFFSET,
                                "stability": STAB_SEED_OFFSET,
                                "sensitivity": SENS_SEED_OFFSET},
               "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED,
                             "level": LEVEL}}
        prov = provenance_block(cfg, PRODUCERS, command=shlex.join(
            ["python", "-m", "proofs_check.replication.training_replication",
             *(argv if argv is not None else sys.argv[1:])]))
        timing = {arm: {"ms_per_step": [r["ms_per_step"] for r in runs if r["arm"] == arm],
                        "seconds": [r["seconds"] for r in runs if r["arm"] == arm]}
                  for arm in ARMS}
        save_study({"study": study, "runs": runs, "summary": {"thresholds": table,
                    "stability": stab, "plateau": plateau,
                    "primary": CONFIG[study]["primary"], "complete": len(runs) == len(todo)},
                    "timing": timing, "config": cfg}, a.out, prov, force=a.force)
        print(f"wrote {a.out} ({len(runs)} of {len(todo)} runs)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    try:
        sys.exit(main())
    except NSTheoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


__all__ = [
    "ARMS",
    "CONFIG",
    "PAPER_RATIO",
    "PRODUCERS",
    "STUDIES",
    "batch_stream",
    "binomial_interval",
    "bootstrap_ratio",
    "build_model",
    "build_vocab",
    "corpus_dir",
    "corpus_text",
    "decide",
    "embedding_sensitivity",
    "evaluate",
    "first_crossing",
    "interval_power",
    "lm_windows",
    "main",
    "modadd_data",
    "normalised_stability",
    "ntp_data",
    "objective",
    "parity_data",
    "permutation_pvalues",
    "plateau_summary",
    "rank_correlation",
    "ratio_bound_kind",
    "run_one",
    "split_quotations",
    "stability_penalty",
    "stability_summary",
    "study_data",
    "threshold_table",
    "token_noise",
    "tokenize",
]

