"""Monte Carlo estimators of stability and sensitivity for any torch callable.

Two primitives carry everything else:

* :func:`flip_rate` -- the probability that the predicted label (argmax) changes under a
  perturbation, with a Clopper-Pearson interval (:class:`FlipRate`);
* :func:`paired_moment` -- ``E[<f(x), f(perturb(x))>]`` with a CLT interval
  (:class:`PairedMoment`, wrapping :class:`nstheory.stats.Moments`).

On top of them: :func:`gaussian_stability` (the noise-stability paper's Stab_rho with all
coordinates perturbed at once, in the raw / centred / normalised views),
:func:`token_stability` (the regularizer's token-resampling noise),
:func:`tokenwise_sensitivity` and :func:`patch_sensitivity` (the sensitivity paper's metric:
Gaussian noise on one token / patch / embedding row, flip rate of the argmax; the exact average
over every position or the released code's scattered-pixel variant, recorded in the result),
:func:`token_replacement_sensitivity` (discrete tokens), :func:`boolean_sensitivity` (bit
flips) and :func:`influence_profile` (finite-difference and gradient-norm variants).

Devices: every estimator runs on the device of its inputs (CPU or CUDA); a ``generator``
must live on that same device (``torch.Generator(device=x.device)``).

Conventions (DESIGN.md §3): Stab is the **uncentred** second moment E[f(X) f(Y)]; the flip
rates are probabilities in [0, 1] (the sensitivity paper's normalisation, i.e. as(f)/n for
Boolean bit flips averaged over positions).

Examples
--------
>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> x = torch.randn(2000, 3, generator=g)
>>> w = torch.tensor([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]]).T   # 2 classes: sign of x_0
>>> fr = flip_rate(lambda b: (b @ w).argmax(-1), x,
...                lambda b, gen: b + 0.0 * torch.randn(b.shape, generator=gen), generator=g)
>>> fr.k, fr.n
(0, 2000)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from nstheory.errors import NSTheoryError, check_int, check_positive, check_probability, check_rho
from nstheory.stats import Moments, clopper_pearson
from nstheory.validate import parse_real

# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FlipRate:
    """``k`` prediction flips among ``n`` perturbed evaluations.

    ``what`` says what was perturbed and how (e.g. ``"gaussian sigma=0.1 on one token, exact
    average over positions"``); ``meta`` holds parameters and seeds.

    Examples
    --------
    Three flips in twelve evaluations, merged with one flip in four more:

    >>> f = FlipRate(3, 12, what="toy").merge(FlipRate(1, 4))
    >>> f.k, f.n, f.rate
    (4, 16, 0.25)
    >>> lo, hi = f.ci
    >>> bool(0 < lo < 0.25 < hi < 1)
    True
    """

    k: int
    n: int
    what: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def rate(self) -> float:
        return self.k / self.n if self.n else float("nan")

    @property
    def ci(self) -> tuple[float, float]:
        """Clopper-Pearson 95% interval."""
        return clopper_pearson(self.k, self.n) if self.n else (float("nan"), float("nan"))

    def merge(self, other: FlipRate) -> FlipRate:
        return FlipRate(self.k + other.k, self.n + other.n, self.what or other.what, self.meta)

    def to_dict(self) -> dict:
        lo, hi = self.ci
        return {"k": self.k, "n": self.n, "rate": self.rate, "ci95": [lo, hi],
                "interval": "clopper-pearson", "what": self.what, **self.meta}


@dataclass(frozen=True)
class PairedMoment:
    """A Monte Carlo mean with its CLT interval; ``view`` says which quantity it is.

    Examples
    --------
    >>> import numpy as np
    >>> from nstheory.stats import Moments
    >>> m = PairedMoment(Moments.from_values(np.array([1.0, 2.0, 3.0])), view="raw")
    >>> m.n, m.mean, round(m.stderr, 12)  # sample sd 1, so stderr = 1/sqrt(3)
    (3, 2.0, 0.57735026919)
    >>> m.z(2.0), m.to_dict()["view"]
    (0.0, 'raw')
    """

    moments: Moments
    view: str = "raw"
    what: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def mean(self) -> float:
        return self.moments.mean

    @property
    def stderr(self) -> float:
        return self.moments.stderr

    @property
    def n(self) -> int:
        return self.moments.n

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        return self.moments.ci(level)

    def z(self, theory: float) -> float:
        return self.moments.z(theory)

    def merge(self, other: PairedMoment) -> PairedMoment:
        return PairedMoment(self.moments.merge(other.moments), self.view, self.what, self.meta)

    def to_dict(self) -> dict:
        return {"view": self.view, "what": self.what, "interval": "clt",
                **self.moments.to_dict(), **self.meta}


@dataclass(frozen=True)
class Estimate:
    """A derived estimate (e.g. a centred or normalised stability) with a jackknife stderr.

    Examples
    --------
    >>> e = Estimate(mean=0.5, stderr=0.1, n=100, view="normalised")
    >>> e.z(0.3)
    2.0
    >>> lo, hi = e.ci()
    >>> round(lo, 4), round(hi, 4)
    (0.304, 0.696)
    """

    mean: float
    stderr: float
    n: int
    view: str
    what: str = ""

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        from nstheory.stats import mean_ci

        return mean_ci(self.mean, self.stderr, level)

    def z(self, theory: float) -> float:
        from nstheory.stats import z_score

        return z_score(self.mean, self.stderr, theory)

    def to_dict(self) -> dict:
        lo, hi = self.ci()
        return {"view": self.view, "what": self.what, "mean": self.mean, "stderr": self.stderr,
                "n": self.n, "ci95": [lo, hi], "interval": "clt (delete-a-group jackknife)"}


# ----------------------------------------------------------------------------- helpers


#: Most bytes of model outputs an estimate keeps (the centred and normalised views need every
#: pair's outputs: ``2 n outputs`` float64 values).
MAX_KEPT_OUTPUT_BYTES = 4 << 30


def _check_kept_outputs(n: int, outputs: int) -> None:
    """Refuse, after the first batch, an estimate whose kept outputs would exceed
    :data:`MAX_KEPT_OUTPUT_BYTES`."""
    need = 16 * n * outputs
    if need > MAX_KEPT_OUTPUT_BYTES:
        raise NSTheoryError(
            f"{n} pairs of a model with {outputs} outputs keep {need / 2**30:.3g} GiB of outputs "
            f"(the centred and normalised views need every pair), more than "
            f"{MAX_KEPT_OUTPUT_BYTES / 2**30:.3g} GiB: use at most "
            f"{MAX_KEPT_OUTPUT_BYTES // (16 * outputs)} pairs")


def _batches(n: int, batch_size: int | None):
    bs = n if not batch_size else check_int(batch_size, "batch_size", lo=1)
    for s in range(0, n, bs):
        yield s, min(n, s + bs)


def _check_batch(out, rows: int):
    """``out`` (a model's output on a batch of ``rows`` inputs) if it is a tensor with one row
    per input; else a one-line error (a model that drops or repeats rows would otherwise give a
    wrong count of samples).

    >>> import torch
    >>> _check_batch(torch.zeros(3, 2), 3).shape
    torch.Size([3, 2])
    >>> _check_batch(torch.zeros(1, 2), 3)                  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: the model returned 1 output rows for a batch of 3 inputs; ...
    """
    import torch

    if not torch.is_tensor(out) or out.dim() < 1 or out.shape[0] != rows:
        got = (f"{out.shape[0]} output rows" if torch.is_tensor(out) and out.dim() >= 1
               else f"a {type(out).__name__}" if not torch.is_tensor(out) else "a 0-d tensor")
        raise NSTheoryError(f"the model returned {got} for a batch of {rows} inputs; it must "
                            "return one row per input (B, ...)")
    return out


def _labels(out, rows: int | None = None):
    """Predicted labels from a predict() output: integer labels or (B, C) scores -> argmax.

    Non-finite scores (NaN or inf: no defined argmax) are refused, and so is an output without
    one row per input when ``rows`` (the batch size) is given.

    >>> import torch
    >>> _labels(torch.tensor([[0.0, 1.0], [2.0, 1.0]]), rows=2).tolist()
    [1, 0]
    >>> _labels(torch.tensor([[float("nan"), 1.0]]))        # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: the model returned non-finite scores (NaN or inf): ...
    """
    import torch

    if rows is not None:
        _check_batch(out, rows)
    if out.dtype.is_floating_point and not bool(torch.isfinite(out).all()):
        raise NSTheoryError("the model returned non-finite scores (NaN or inf): its predicted "
                            "labels, and so its flip rate, are undefined")
    if out.dtype.is_floating_point and out.dim() >= 2:
        return out.argmax(-1)
    return out


def _as_2d(out):
    return out.reshape(out.shape[0], -1)


# ----------------------------------------------------------------------------- primitives


def flip_rate(
    predict: Callable,
    x,
    perturb: Callable,
    reps: int = 1,
    generator=None,
    batch_size: int | None = None,
    what: str = "",
) -> FlipRate:
    """Fraction of (input, perturbation) pairs whose predicted label changes.

    Parameters
    ----------
    predict : callable
        Batch -> integer labels (or scores, then argmax over the last axis is taken).
    x : torch.Tensor
        Inputs, batch first.
    perturb : callable
        ``perturb(x_batch, generator) -> perturbed batch``.
    reps : int
        Independent perturbations per input.
    generator : torch.Generator, optional
        Source of the perturbation randomness (record its seed for reproducibility).
    batch_size : int, optional
        Inputs per forward pass (memory bound); all at once when omitted.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[1.0], [-1.0], [2.0]])
    >>> flip = lambda b, g: -b
    >>> flip_rate(lambda b: (b[:, 0] > 0).long(), x, flip, reps=2).to_dict()["rate"]
    1.0
    """
    import torch

    reps = check_int(reps, "reps", lo=1)
    k = n = 0
    with torch.no_grad():
        for s, e in _batches(x.shape[0], batch_size):
            xb = x[s:e]
            clean = _labels(predict(xb), xb.shape[0])
            for _ in range(reps):
                noisy = _labels(predict(perturb(xb, generator)), xb.shape[0])
                k += int((noisy != clean).sum())
                n += int(clean.numel())
    return FlipRate(k, n, what, {"reps": reps})


def _reduce(fx, fy, reduce: str):
    if reduce == "dot":
        return (_as_2d(fx) * _as_2d(fy)).sum(-1)
    if reduce == "mean":
        return (_as_2d(fx) * _as_2d(fy)).mean(-1)
    raise NSTheoryError(f"reduce must be 'dot' or 'mean', got {reduce!r}")


def paired_moment(
    f: Callable,
    x,
    perturb: Callable,
    reps: int = 1,
    generator=None,
    batch_size: int | None = None,
    reduce: str = "dot",
    what: str = "",
) -> PairedMoment:
    """Estimate ``E[<f(x), f(perturb(x))>]`` (raw, uncentred) with a CLT interval.

    ``f`` maps a batch to ``(B, C)`` (or ``(B,)``); ``reduce="dot"`` sums the coordinate
    products (e.g. class probabilities give ``sum_i p_i(X) p_i(Y)``), ``"mean"`` averages them.
    Every (input, rep) pair is one sample of the mean.

    Examples
    --------
    >>> import torch
    >>> x = torch.ones(10, 2)
    >>> r = paired_moment(lambda b: b, x, lambda b, g: 2 * b)
    >>> r.mean, r.n
    (4.0, 10)
    """
    import torch

    reps = check_int(reps, "reps", lo=1)
    m = Moments()
    with torch.no_grad():
        for s, e in _batches(x.shape[0], batch_size):
            xb = x[s:e]
            fx = f(xb)
            for _ in range(reps):
                fy = f(perturb(xb, generator))
                m = m.merge(Moments.from_values(_reduce(fx, fy, reduce)))
    return PairedMoment(m, "raw", what, {"reps": reps, "reduce": reduce})


def paired_views(f: Callable, x, perturb: Callable, generator=None, what: str = "",
                 meta: dict | None = None, groups: int = 50) -> StabilityResult:
    """Raw / centred / normalised stability of ``f`` on fixed inputs ``x`` and one perturbed
    copy ``perturb(x, generator)`` (e.g. token noise on chosen positions).

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(20000, 1, generator=g)
    >>> noisy = lambda b, gen: 0.6 * b + 0.8 * torch.randn(b.shape, generator=gen)
    >>> r = paired_views(lambda b: b, x, noisy, g)
    >>> abs(r.normalised.z(0.6)) < 4
    True
    """
    import torch

    with torch.no_grad():
        fx, fy = f(x), f(perturb(x, generator))
    return _views_from_pairs(fx, fy, groups, what or "paired perturbation", meta or {})


# ----------------------------------------------------------------------------- stability


@dataclass(frozen=True)
class StabilityResult:
    """Gaussian or token stability in three labelled views.

    ``raw`` = E[<f(X), f(Y)>] (the noise-stability paper's Stab_rho, uncentred);
    ``centred`` = sum_c Cov(f_c(X), f_c(Y)); ``normalised`` = centred / sum_c Var(f_c(X))
    (the correlation, "C-map").

    Examples
    --------
    Identity "model" on Gaussian pairs with correlation 0.5: every view is near 0.5.

    >>> import torch
    >>> from nstheory.montecarlo.estimators import gaussian_stability
    >>> g = torch.Generator().manual_seed(0)
    >>> r = gaussian_stability(lambda x: x, (1,), 0.5, 4000, generator=g)
    >>> isinstance(r, StabilityResult), r.raw.view, r.centred.view, r.normalised.view
    (True, 'raw', 'centred', 'normalised')
    >>> abs(r.normalised.mean - 0.5) < 0.1
    True
    """

    raw: PairedMoment
    centred: Estimate
    normalised: Estimate
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"raw": self.raw.to_dict(), "centred": self.centred.to_dict(),
                "normalised": self.normalised.to_dict(), **self.meta}


def _views_from_pairs(fx, fy, groups: int, what: str, meta: dict) -> StabilityResult:
    """Raw / centred / normalised views from paired outputs (N, C) in float64.

    Centred and normalised are plug-in ratios; their standard errors come from a
    delete-a-group jackknife over ``groups`` contiguous groups. The reduction runs on the CPU
    whatever device the outputs come from (its accumulators live there, and CUDA's float64
    ``index_add_`` is not bit-reproducible).
    """
    import torch

    fx, fy = _as_2d(fx).double().cpu(), _as_2d(fy).double().cpu()
    N = fx.shape[0]
    prod = (fx * fy).sum(-1)
    raw = PairedMoment(Moments.from_values(prod), "raw", what, meta)
    G = max(2, min(groups, N // 2))
    idx = torch.arange(N) * G // N
    # sufficient statistics per group
    S_xy = torch.zeros(G, dtype=torch.float64).index_add_(0, idx, prod)
    S_x = torch.zeros(G, fx.shape[1], dtype=torch.float64).index_add_(0, idx, fx)
    S_y = torch.zeros(G, fy.shape[1], dtype=torch.float64).index_add_(0, idx, fy)
    S_xx = torch.zeros(G, dtype=torch.float64).index_add_(0, idx, (fx * fx).sum(-1))
    S_yy = torch.zeros(G, dtype=torch.float64).index_add_(0, idx, (fy * fy).sum(-1))
    cnt = torch.zeros(G, dtype=torch.float64).index_add_(0, idx, torch.ones(N, dtype=torch.float64))

    def stats(sxy, sx, sy, sxx, syy, c):
        mx, my = sx / c, sy / c
        cov = sxy / c - (mx * my).sum()
        # both marginals are the same law: pool the variance estimate of X and Y
        var = 0.5 * (sxx / c - (mx * mx).sum() + syy / c - (my * my).sum())
        return cov, cov / var

    tot = [S_xy.sum(), S_x.sum(0), S_y.sum(0), S_xx.sum(), S_yy.sum(), cnt.sum()]
    cov, cor = stats(*tot)
    jc, jr = [], []
    for g in range(G):
        a, b = stats(tot[0] - S_xy[g], tot[1] - S_x[g], tot[2] - S_y[g], tot[3] - S_xx[g],
                     tot[4] - S_yy[g], tot[5] - cnt[g])
        jc.append(float(a))
        jr.append(float(b))

    def jk_se(vals):
        m = sum(vals) / G
        return math.sqrt((G - 1) / G * sum((v - m) ** 2 for v in vals))

    return StabilityResult(
        raw,
        Estimate(float(cov), jk_se(jc), N, "centred", what),
        Estimate(float(cor), jk_se(jr), N, "normalised", what),
        meta,
    )


def gaussian_stability(
    f: Callable,
    input_shape: tuple[int, ...],
    rho: float,
    n: int,
    generator=None,
    batch_size: int | None = 65536,
    device=None,
    dtype=None,
    groups: int = 50,
) -> StabilityResult:
    """Stab_rho(f) = E[<f(X), f(Y)>] with X ~ N(0, I), Y = rho X + sqrt(1 - rho^2) Z.

    All coordinates of the input of shape ``input_shape`` (per sample) are perturbed at once --
    the noise-stability paper's metric. For embedding space, pass ``f`` that starts from
    embeddings. Returns raw, centred and normalised views (:class:`StabilityResult`).

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(1)
    >>> r = gaussian_stability(lambda x: x, (1,), 0.5, 20000, generator=g)
    >>> abs(r.raw.z(0.5)) < 4, abs(r.normalised.mean - 0.5) < 0.05
    (True, True)
    """
    import torch

    from nstheory.noise import correlated_gaussian

    rho = parse_real(check_rho(rho), "rho")  # '1/2' -> 0.5 for torch
    n = check_int(n, "n", lo=2)
    device = device or torch.device("cpu")
    dtype = dtype or torch.float32
    from nstheory.progress import progress

    fxs, fys = [], []
    with torch.no_grad(), progress(total=n, desc="Gaussian Monte Carlo", unit="pair",
                                   delay=2.0) as bar:
        for s, e in _batches(n, batch_size):
            x = torch.randn((e - s, *input_shape), generator=generator, device=device, dtype=dtype)
            y = correlated_gaussian(x, rho, generator)
            fxs.append(_as_2d(_check_batch(f(x), e - s)).double().cpu())
            fys.append(_as_2d(_check_batch(f(y), e - s)).double().cpu())
            if not (bool(torch.isfinite(fxs[-1]).all()) and bool(torch.isfinite(fys[-1]).all())):
                raise NSTheoryError("the model returned non-finite outputs (NaN or inf) on "
                                    "Gaussian inputs: its stability is undefined")
            if s == 0:
                _check_kept_outputs(n, fxs[0].shape[1])
            bar.update(e - s)
    what = f"gaussian rho={rho} on all {math.prod(input_shape)} input coordinates"
    meta = {"rho": rho, "noise": "gaussian, all coordinates",
            "dtype": str(dtype).removeprefix("torch.")}
    return _views_from_pairs(torch.cat(fxs), torch.cat(fys), groups, what, meta)


def token_stability(
    f: Callable,
    tokens,
    keep_prob: float,
    vocab: int,
    exclude_current: bool = False,
    reps: int = 1,
    generator=None,
    groups: int = 50,
) -> StabilityResult:
    """Stability under token resampling (the regularizer's noise) on discrete inputs.

    Each token is kept with probability ``keep_prob``, else redrawn uniformly (see
    :func:`nstheory.noise.resample_tokens`). The result records the keep probability and the
    effective correlation, which is *not* a Gaussian rho.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> t = torch.randint(0, 4, (4000, 1), generator=g)
    >>> onehot = lambda b: torch.nn.functional.one_hot(b[:, 0], 4).double() - 0.25
    >>> r = token_stability(onehot, t, 0.6, 4, generator=g)
    >>> abs(r.normalised.z(0.6)) < 4
    True
    """
    import torch

    from nstheory.noise import effective_token_correlation, resample_tokens

    check_probability(keep_prob, "keep_prob")
    reps = check_int(reps, "reps", lo=1)
    fxs, fys = [], []
    with torch.no_grad():
        fx = _as_2d(f(tokens)).double()
        for _ in range(reps):
            y = resample_tokens(tokens, keep_prob, vocab, exclude_current, generator)
            fxs.append(fx)
            fys.append(_as_2d(f(y)).double())
    rho_eff = float(effective_token_correlation(keep_prob, vocab, exclude_current))
    what = (f"token resampling keep_prob={keep_prob} (effective correlation {rho_eff:.6g}, "
            f"exclude_current={exclude_current}) on all tokens")
    meta = {"keep_prob": keep_prob, "rho_eff": rho_eff, "vocab": vocab,
            "exclude_current": exclude_current, "reps": reps}
    return _views_from_pairs(torch.cat(fxs), torch.cat(fys), groups, what, meta)


# ----------------------------------------------------------------------------- sensitivity


@dataclass(frozen=True)
class SensitivityResult:
    """Overall flip rate plus the per-position flip rates (right-aligned when lengths vary).

    Examples
    --------
    >>> r = SensitivityResult(FlipRate(3, 8), [FlipRate(1, 4), FlipRate(2, 4)], "toy")
    >>> r.rate, r.profile
    (0.375, [0.25, 0.5])
    >>> r.to_dict()["per_position"][1]
    {'k': 2, 'n': 4, 'rate': 0.5}
    """

    overall: FlipRate
    per_position: list[FlipRate]
    variant: str
    meta: dict = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.overall.rate

    @property
    def profile(self) -> list[float]:
        return [p.rate for p in self.per_position]

    def to_dict(self) -> dict:
        return {"variant": self.variant, "overall": self.overall.to_dict(),
                "per_position": [{"k": p.k, "n": p.n, "rate": p.rate} for p in self.per_position],
                **self.meta}


def tokenwise_sensitivity(
    predict: Callable,
    x,
    sigma: float,
    reps: int = 1,
    lengths=None,
    generator=None,
    batch_size: int | None = None,
) -> SensitivityResult:
    """Token-wise sensitivity: N(0, sigma^2 I) noise on one token (row) of ``x`` at a time.

    ``x`` has shape ``(B, n, d)`` (token embeddings or token feature vectors); the exact
    average over every position ``k < L`` (``L`` = ``lengths[b]``, default ``n``) and
    ``reps`` draws per position, as in the sensitivity paper's language code. The overall
    rate is the average over all (sequence, position, draw) triples (length-weighted); the
    per-position profile is **right-aligned** (the last entry is always the final token).

    Examples
    --------
    >>> import torch
    >>> x = torch.zeros(5, 3, 2)
    >>> pred = lambda b: (b[:, -1, 0] > 0).long()   # only the last token matters
    >>> r = tokenwise_sensitivity(pred, x, 1.0, reps=20, generator=torch.Generator().manual_seed(0))
    >>> r.profile[:2], 0.3 < r.profile[2] < 0.7
    ([0.0, 0.0], True)
    """
    import torch

    check_positive(sigma, "sigma")
    reps = check_int(reps, "reps", lo=1)
    if x.dim() != 3:
        raise NSTheoryError(
            f"tokenwise_sensitivity needs x of shape (B, n, d), got {tuple(x.shape)}")
    B, n, _ = x.shape
    L = torch.full((B,), n, dtype=torch.long) if lengths is None else torch.as_tensor(lengths)
    if L.shape != (B,) or int(L.min()) < 1 or int(L.max()) > n:
        raise NSTheoryError("lengths must be one integer in [1, n] per sequence")
    Lmax = int(L.max())
    k_pos = [0] * Lmax
    n_pos = [0] * Lmax
    with torch.no_grad():
        for s, e in _batches(B, batch_size):
            xb, Lb = x[s:e], L[s:e]
            clean = _labels(predict(xb), xb.shape[0])
            for pos in range(int(Lb.max())):
                active = Lb > pos
                rows = xb[active]
                if rows.shape[0] == 0:
                    continue
                ref = clean[active]
                slot = (Lmax - Lb[active]) + pos  # right-aligned index
                for _ in range(reps):
                    noise = torch.randn(rows.shape[0], rows.shape[2], generator=generator,
                                        device=rows.device, dtype=rows.dtype)
                    xn = rows.clone()
                    xn[:, pos, :] += sigma * noise
                    flips = (_labels(predict(xn), xn.shape[0]) != ref).long().cpu()
                    cnt = torch.bincount(slot.cpu(), weights=flips.double(), minlength=Lmax)
                    tot = torch.bincount(slot.cpu(), minlength=Lmax)
                    for j in torch.nonzero(tot).flatten().tolist():
                        k_pos[j] += round(float(cnt[j]))
                        n_pos[j] += int(tot[j])
    what = f"gaussian sigma={sigma} on one token, exact average over positions, {reps} draws"
    per = [FlipRate(k, m, f"right-aligned position {j}") for j, (k, m) in
           enumerate(zip(k_pos, n_pos, strict=True))]
    overall = FlipRate(sum(k_pos), sum(n_pos), what, {"sigma": sigma, "reps": reps})
    return SensitivityResult(overall, per, "exact-positions",
                             {"sigma": sigma, "reps": reps, "alignment": "right"})


def patch_sensitivity(
    predict: Callable,
    images,
    sigma: float,
    patch: int = 4,
    variant: str = "exact",
    reps: int = 5,
    generator=None,
    batch_size: int | None = None,
) -> SensitivityResult:
    """Sensitivity of an image classifier to Gaussian noise on one patch.

    ``images`` has shape ``(B, C, H, W)``. ``variant="exact"``: every contiguous ``patch x
    patch`` block (all channels) in turn, ``reps`` draws each (the paper's description).
    ``variant="scattered"``: the released code's estimator -- per rep draw two index vectors
    of length ``patch**2`` and perturb the pixels ``(r_j, c_j)`` (up to ``patch**2`` scattered
    pixels, all channels, the same set for the whole batch). Noise std ``sigma`` in the
    images' units.

    Examples
    --------
    >>> import torch
    >>> img = torch.zeros(4, 1, 4, 4)
    >>> pred = lambda b: (b[:, 0, 0, 0] > 0).long()   # only pixel (0, 0) matters
    >>> g = torch.Generator().manual_seed(0)
    >>> r = patch_sensitivity(pred, img, 1.0, patch=2, reps=50, generator=g)
    >>> len(r.per_position), r.per_position[1].k, 0.3 < r.per_position[0].rate < 0.7
    (4, 0, True)
    """
    import torch

    check_positive(sigma, "sigma")
    reps = check_int(reps, "reps", lo=1)
    patch = check_int(patch, "patch", lo=1)
    if images.dim() != 4:
        raise NSTheoryError(
            f"patch_sensitivity needs images (B, C, H, W), got {tuple(images.shape)}")
    B, _, H, W = images.shape
    if variant == "exact":
        if H % patch or W % patch:
            raise NSTheoryError(f"image size {H}x{W} is not a multiple of patch {patch}")
        blocks = [(i, j) for i in range(0, H, patch) for j in range(0, W, patch)]
    elif variant == "scattered":
        blocks = [None]
    else:
        raise NSTheoryError(f"variant must be 'exact' or 'scattered', got {variant!r}")
    k_pos = [0] * len(blocks)
    n_pos = [0] * len(blocks)
    with torch.no_grad():
        for s, e in _batches(B, batch_size):
            xb = images[s:e]
            clean = _labels(predict(xb), xb.shape[0])
            for bi, blk in enumerate(blocks):
                for _ in range(reps):
                    mask = torch.zeros(1, 1, H, W, device=xb.device, dtype=xb.dtype)
                    if blk is None:
                        r = torch.randint(0, H, (patch * patch,), generator=generator,
                                          device=xb.device)
                        c = torch.randint(0, W, (patch * patch,), generator=generator,
                                          device=xb.device)
                        mask[:, :, r, c] = 1
                    else:
                        mask[:, :, blk[0]:blk[0] + patch, blk[1]:blk[1] + patch] = 1
                    eps = torch.randn(xb.shape, generator=generator, device=xb.device,
                                      dtype=xb.dtype)
                    flips = int((_labels(predict(xb + sigma * eps * mask), xb.shape[0])
                                 != clean).sum())
                    k_pos[bi] += flips
                    n_pos[bi] += xb.shape[0]
    desc = ("exact average over all contiguous patches" if variant == "exact" else
            "released code's scattered-pixel variant (patch**2 random pixels, same for batch)")
    what = f"gaussian sigma={sigma} on one {patch}x{patch} patch, {desc}, {reps} reps"
    per = [FlipRate(k, m, f"patch {b}") for k, m, b in zip(k_pos, n_pos, blocks, strict=True)]
    overall = FlipRate(sum(k_pos), sum(n_pos), what, {"sigma": sigma, "patch": patch})
    return SensitivityResult(overall, per, variant, {"sigma": sigma, "patch": patch,
                                                     "reps": reps})


def token_replacement_sensitivity(
    predict: Callable,
    tokens,
    vocab: int,
    reps: int = 1,
    exclude_current: bool = True,
    generator=None,
) -> SensitivityResult:
    """Discrete token-wise sensitivity: replace token ``i`` by a uniform vocabulary symbol.

    The sensitivity paper's synthetic-task perturbation; exact average over positions,
    ``reps`` replacements each. ``exclude_current=True`` draws among the other ``vocab - 1``
    symbols (so the token always changes).

    Examples
    --------
    >>> import torch
    >>> t = torch.zeros(6, 3, dtype=torch.long)
    >>> r = token_replacement_sensitivity(lambda b: b[:, 0], t, vocab=5, reps=2)
    >>> r.profile
    [1.0, 0.0, 0.0]
    """
    import torch

    vocab = check_int(vocab, "vocab", lo=2)
    reps = check_int(reps, "reps", lo=1)
    B, n = tokens.shape
    k_pos, n_pos = [0] * n, [0] * n
    with torch.no_grad():
        clean = _labels(predict(tokens), B)
        for pos in range(n):
            for _ in range(reps):
                t = tokens.clone()
                if exclude_current:
                    shift = torch.randint(1, vocab, (B,), generator=generator, device=t.device)
                    t[:, pos] = (t[:, pos] + shift) % vocab
                else:
                    t[:, pos] = torch.randint(0, vocab, (B,), generator=generator, device=t.device)
                k_pos[pos] += int((_labels(predict(t), B) != clean).sum())
                n_pos[pos] += B
    what = f"uniform token replacement (exclude_current={exclude_current}), exact positions"
    per = [FlipRate(k, m, f"position {j}") for j, (k, m) in enumerate(zip(k_pos, n_pos,
                                                                            strict=True))]
    return SensitivityResult(FlipRate(sum(k_pos), sum(n_pos), what), per, "exact-positions",
                             {"vocab": vocab, "reps": reps, "exclude_current": exclude_current})


def boolean_sensitivity(predict: Callable, x) -> SensitivityResult:
    """Average sensitivity by bit flips on inputs ``x`` in {-1, 1}^n (shape ``(B, n)``).

    ``overall.rate`` = as(f)/n averaged over the given inputs (the sensitivity paper's
    normalisation); ``meta["as"]`` = the sum of per-bit rates = as(f) (O'Donnell's total
    influence I[f] for +-1-valued f). Over the full cube the result is exact.

    Examples
    --------
    >>> import itertools, torch
    >>> cube = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=3)))
    >>> r = boolean_sensitivity(lambda b: (b.prod(-1) > 0).long(), cube)  # parity
    >>> r.meta["as"], r.rate
    (3.0, 1.0)
    """
    import torch

    if x.dim() != 2:
        raise NSTheoryError(f"boolean_sensitivity needs x of shape (B, n), got {tuple(x.shape)}")
    B, n = x.shape
    with torch.no_grad():
        clean = _labels(predict(x), B)
        per = []
        for i in range(n):
            y = x.clone()
            y[:, i] = -y[:, i]
            per.append(FlipRate(int((_labels(predict(y), B) != clean).sum()), B, f"bit {i}"))
    overall = FlipRate(sum(p.k for p in per), n * B, "bit flips, exact over positions")
    as_f = sum(p.rate for p in per)
    return SensitivityResult(overall, per, "bit-flip", {"as": as_f, "as_over_n": as_f / n})


def influence_profile(
    f: Callable,
    x,
    method: str = "finite-difference",
    sigma: float = 1e-2,
    reps: int = 4,
    generator=None,
) -> list[float]:
    """Per-token influence of ``f`` at inputs ``x`` of shape ``(B, n, d)``.

    ``"finite-difference"``: mean over inputs and ``reps`` draws of
    ``||f(x + sigma xi e_i) - f(x)||^2 / sigma^2``, xi ~ N(0, I_d) on token i only (for small
    sigma this tends to the squared Frobenius norm of the token's Jacobian block);
    ``"gradient"``: the mean of that squared Frobenius norm ``||d f / d x_i||_F^2``, computed
    by autograd (one backward pass per output coordinate). The two variants estimate the same
    quantity in the small-sigma limit.

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(3, 2, 4, generator=torch.Generator().manual_seed(0))
    >>> f = lambda b: 2 * b[:, 1, :1]            # depends on token 1 only, gradient norm^2 = 4
    >>> [round(v, 6) for v in influence_profile(f, x, "gradient")]
    [0.0, 4.0]
    """
    import torch

    if x.dim() != 3:
        raise NSTheoryError(f"influence_profile needs x of shape (B, n, d), got {tuple(x.shape)}")
    B, n, d = x.shape
    if method == "finite-difference":
        check_positive(sigma, "sigma")
        out = []
        with torch.no_grad():
            fx = _as_2d(f(x))
            for i in range(n):
                acc = 0.0
                for _ in range(reps):
                    xn = x.clone()
                    xn[:, i, :] += sigma * torch.randn(B, d, generator=generator,
                                                       dtype=x.dtype, device=x.device)
                    acc += float(((_as_2d(f(xn)) - fx) ** 2).sum(-1).mean()) / sigma**2
                out.append(acc / reps)
        return out
    if method == "gradient":
        xg = x.detach().clone().requires_grad_(True)
        fx = _as_2d(f(xg))
        tot = torch.zeros(n, dtype=torch.float64)
        for c in range(fx.shape[1]):
            (g,) = torch.autograd.grad(fx[:, c].sum(), xg, retain_graph=c + 1 < fx.shape[1],
                                       allow_unused=True)
            if g is not None:
                tot += (g.double() ** 2).sum(-1).mean(0).cpu()
        return tot.tolist()
    raise NSTheoryError(f"method must be 'finite-difference' or 'gradient', got {method!r}")


__all__ = [
    "Estimate",
    "FlipRate",
    "PairedMoment",
    "SensitivityResult",
    "StabilityResult",
    "boolean_sensitivity",
    "flip_rate",
    "gaussian_stability",
    "influence_profile",
    "paired_moment",
    "patch_sensitivity",
    "token_replacement_sensitivity",
    "token_stability",
    "tokenwise_sensitivity",
]
