r"""From a run's log to results: per-position influences with CIs, totals, junta sizes,
positional profile, Friedgut's bound, whole-sequence stability and the Table 1 bounds.

Views (every number says which):

* **raw**: influences in squared output units (sum over the m output coordinates);
* **normalised (centred)**: divided by Var f = E||f - E f||^2, the trace of f's covariance
  across the real-text inputs (the Efron-Stein / Hermite weight of all non-constant degrees);
* **normalised (uncentred)**: divided by ||f||^2 = E||f||^2 (the paper's delta view, which
  counts the constant term (E f)^2).

Uncertainty: per-position and total influences carry a Student-t 95% interval from the spread
over the k inputs (``k - 1`` degrees of freedom, :func:`_t95`; a normal quantile would cover only
~86% with the 4 inputs of a typical run); the centred total (over ``Var f``) a jackknife-t
interval of its logarithm (:func:`_jackknife_ci`), and so do the Table 1 bounds and their
ratio; junta sizes an interval built from two jackknife-t ratio bounds (:func:`junta_interval`).
These intervals need at least :data:`MIN_INPUTS` inputs: with fewer they are ``None`` with the
reason :data:`NO_JACK` (leaving one of two inputs out leaves no spread).

Undefined values: where ``Var f = 0`` over the inputs (e.g. identical windows of a repetitive
text) the centred quantities (the centred total, Friedgut's bound, the centred Table 1 bounds)
are ``None`` with the reason :data:`VAR0`, never NaN.

>>> shares_to_junta(np.array([5.0, 3.0, 1.0, 1.0]), (0.5, 0.9, 0.99))
[1, 3, 4]
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nstheory.errors import NSTheoryError
from nstheory.validate import check_real

LEVELS = (0.5, 0.9, 0.99)
T_DEGREE = 15
#: Fewest inputs with an interval over inputs other than Student-t (a jackknife leaving one of
#: two inputs out has no spread left, and Var f left one input out needs two).
MIN_INPUTS = 3
#: Why an interval over inputs (jackknife) is absent.
NO_JACK = (f"no interval: it needs >= {MIN_INPUTS} inputs (a leave-one-out value of two inputs "
           "has no spread, and Var f left one input out needs two)")
#: Why a centred (Var f-normalised) quantity is absent.
VAR0 = "undefined (Var f = 0 over the inputs)"
#: Why a ratio over the whole-sequence noise distance is absent.
D0 = "undefined (D_rho = 0 over the inputs)"


def shares_to_junta(infl, levels=LEVELS):
    """Smallest number of positions whose (largest) influences hold each share of the total.

    ``infl`` is one profile (1-D: a list, one size per level) or a stack of profiles (2-D: an
    integer array, one row of sizes per profile).

    >>> shares_to_junta(np.ones(10), (0.5,))
    [5]
    >>> shares_to_junta([[1, 1, 1, 1], [3, 1, 0, 0], [0, 0, 0, 0]], (0.5, 0.9)).tolist()
    [[2, 4], [1, 2], [0, 0]]
    """
    a = np.asarray(infl, float)
    v = -np.sort(-np.clip(np.atleast_2d(a), 0, None), axis=-1)
    tot = v.sum(axis=-1, keepdims=True)
    cum = np.cumsum(v, axis=-1) / np.where(tot > 0, tot, 1)
    sizes = np.stack([(cum < lv - 1e-12).sum(axis=-1) + 1 for lv in levels], axis=-1)
    sizes[~(tot[:, 0] > 0)] = 0
    return [int(x) for x in sizes[0]] if a.ndim == 1 else sizes


def friedgut_size(total_norm: float, eps: float) -> float:
    """Friedgut's junta-size bound with explicit constants
    (:func:`nstheory.boolean.juntas.friedgut_bound`, I/tau) for a total influence ``I``
    normalised by Var f; ``inf`` when it exceeds the float range. The theorem is for Boolean
    functions: for a real-valued f this is a comparison, not a guarantee.

    >>> friedgut_size(1.0, 0.5)
    36.0
    """
    from nstheory.boolean.juntas import friedgut_bound

    check_real(eps, "eps", lo=0, lo_open=True)
    if math.isnan(total_norm):
        raise NSTheoryError("friedgut_size: the normalised total influence is NaN")
    if not total_norm > 0:
        return math.nan
    if math.ceil(total_norm / eps) > 300:
        return math.inf
    try:
        return float(friedgut_bound(float(total_norm), eps).size_bound)
    except OverflowError:
        return math.inf


def load_run(path):
    """``(config dict, records by key)`` of a run directory or a stored ``models_*.json``.

    Raises
    ------
    NSTheoryError
        If the run cannot be read.

    Examples
    --------
    >>> from nstheory.models.figures import DATA
    >>> meta, recs = load_run(DATA / "models_minilm.json")
    >>> meta["config"]["n"], "gram" in recs
    (256, True)
    >>> load_run(DATA / "no_such_run.json")                    # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: cannot read run ...no_such_run.json: ...
    """
    from nstheory.store import JsonlLog, load_json

    p = Path(path)
    try:
        if p.is_dir():
            meta = load_json(p / "config.json")
            recs = JsonlLog(p / "log.jsonl", key="key").records()
        else:
            meta = load_json(p)
            recs = meta.get("records") if isinstance(meta, dict) else None
    except (OSError, ValueError) as exc:
        raise NSTheoryError(f"cannot read run {p}: {exc}") from None
    what = (f"{p / 'config.json'}" if p.is_dir() else f"{p}")
    hint = ("give a run directory of nstheory model influence (--out) or a models_*.json "
            "written by nstheory.models.run.export_run")
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise NSTheoryError(f"cannot read run {p}: {what} is not a model run's configuration "
                            f"(no 'config' object); {hint}")
    missing = [k for k in ("model", "arm", "n", "inputs", "rhos", "noises")
               if k not in meta["config"]]
    if missing:
        raise NSTheoryError(f"cannot read run {p}: its configuration lacks "
                            f"{', '.join(missing)}; {hint}")
    if not isinstance(recs, list) or not all(isinstance(r, dict) and "key" in r for r in recs):
        raise NSTheoryError(f"cannot read run {p}: {'its log' if p.is_dir() else what} does not "
                            f"hold a list of keyed records; {hint}")
    return meta, {r["key"]: r for r in recs}


def _var_from_gram(g, idx):
    g = np.asarray(g, float)[np.ix_(idx, idx)]
    k = len(idx)
    if k < 2:
        return math.nan
    return float((np.trace(g) - g.sum() / k) / (k - 1))


def _jackknife_ci(stat, k: int):
    """95% interval of a positive statistic ``stat(idx)`` of the inputs ``idx`` (e.g. a total
    over ``Var f``): the jackknife standard error of its logarithm (leave one input out) with
    the Student-t quantile for ``k - 1`` degrees of freedom. ``None`` when a leave-one-out value
    is not positive and finite.

    ``stat`` may return an array (several statistics at once): the interval is then a pair of
    arrays, NaN where a leave-one-out value is not positive and finite.

    A percentile bootstrap covered the true ``total / Var f`` only 69% of the time with 4
    inputs (the resamples' duplicated inputs shrink ``Var f``, so the interval sat above the
    truth); this interval covered 94-96% in the same simulations (4 to 16 inputs, ``f`` of
    rank 1 to 384, totals independent of or correlated with ``f``).

    >>> tot, gram = np.array([4.0, 5.0, 6.0]), np.diag([1.0, 2.0, 3.0])
    >>> lo, hi = _jackknife_ci(lambda i: tot[i].mean() / _var_from_gram(gram, i), 3)
    >>> bool(lo < 5.0 / 2.0 < hi)        # the point value: mean 5 over Var f = 2
    True
    >>> lo, hi = _jackknife_ci(lambda i: np.array([tot[i].mean(), tot[i].mean() - 5]), 3)
    >>> bool(lo[0] < 5.0 < hi[0]), bool(np.isnan(lo[1]))
    (True, True)
    """
    idx = np.arange(k)
    loo = np.array([np.asarray(stat(idx[idx != i]), float) for i in range(k)])
    value = np.asarray(stat(idx), float)
    ok = np.all((loo > 0) & np.isfinite(loo), axis=0)
    if value.ndim == 0 and not ok:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        h = _t95(k) * jackknife_se(np.log(np.where(ok, loo, 1.0)))
        lo = np.where(ok, value * np.exp(-h), np.nan)
        hi = np.where(ok, value * np.exp(h), np.nan)
    return [float(lo), float(hi)] if value.ndim == 0 else [lo, hi]


def jackknife_se(loo):
    """Jackknife standard error ``sqrt((k - 1)/k sum_i (v_i - mean v)^2)`` of a statistic from
    its ``k`` leave-one-out values (along the first axis).

    >>> float(jackknife_se(np.array([1.0, 2.0, 3.0])))        # sqrt(2/3 * 2)
    1.1547005383792515
    """
    loo = np.asarray(loo, float)
    k = loo.shape[0]
    return np.sqrt((k - 1) / k * np.sum((loo - loo.mean(axis=0)) ** 2, axis=0))


def junta_interval(mat, levels=LEVELS):
    """95% interval of the junta sizes of the mean influence profile over the population of
    inputs, from the per-input profiles ``mat`` (shape ``(inputs, n)``, at least
    :data:`MIN_INPUTS` inputs).

    The junta size at level ``t`` is the smallest ``K`` whose top-``K`` share of the total
    reaches ``t``; bounds on the top-``K`` share give bounds on the size. Each bound is a
    jackknife-t limit (:func:`_jackknife_ci`) of the log-odds ``share / (1 - share)`` of a ratio
    of means over the inputs (the log-odds keeps both ends calibrated where shares crowd
    against 1):

    * **lower end**: the top-``K`` share of the mean profile is at most the mean per-input
      top-``K`` sum over the mean total (Jensen: a top-``K`` sum is convex, and an estimate's
      noise only raises it); the lower end is the smallest ``K`` at which that ratio's upper
      limit reaches ``t``;
    * **upper end**: any set's share is at most the top-``K`` share; each input is summed over
      the top-``K`` set of the *other* inputs' mean profile (cross-fitted, so the selection does
      not see the input it is scored on), and the upper end is the smallest ``K`` at which that
      ratio's lower limit reaches ``t`` (``n`` if none does).

    Coverage, measured in simulations where every input shares one ranking of 256 positions
    with its own concentration (the case where neither bound has Jensen slack; 400 runs each,
    3 to 8 inputs): the upper end missed at most 3.75% at every level, the lower end at most
    4.5% at the 90% and 99% levels and 7% at the 50% level; less where inputs disagree on the
    ranking. The percentile bootstrap over
    inputs this replaces had its upper end at the point estimate (a sorted average of noisy
    profiles overweights its largest entries) and covered 0-24% in simulations with 4-8 inputs.

    Parameters
    ----------
    mat : array_like
        Per-input, per-position influence estimates (negative values count as 0).
    levels : sequence of float, optional
        Shares of the total, in (0, 1).

    Returns
    -------
    list of [int, int]
        ``[lower, upper]`` per level, with ``lower <= size <= upper`` for the size of the mean
        of ``mat`` (:func:`shares_to_junta`).

    Raises
    ------
    NSTheoryError
        With fewer than :data:`MIN_INPUTS` inputs.

    Examples
    --------
    Three inputs that agree on a profile with 2 of 8 positions holding 90%: the size is
    pinned; when they disagree on which positions, the interval widens.

    >>> base = np.array([45, 45, 2, 2, 2, 2, 1, 1.0])
    >>> junta_interval(np.stack([base, 1.1 * base, 0.9 * base]), (0.9,))
    [[2, 2]]
    >>> rolled = np.stack([base, np.roll(base, 2), np.roll(base, 4)])
    >>> shares_to_junta(rolled.mean(axis=0), (0.9,)), junta_interval(rolled, (0.9,))
    ([6], [[2, 8]])
    """
    v = np.clip(np.asarray(mat, float), 0, None)
    k, n = v.shape
    if k < MIN_INPUTS:
        raise NSTheoryError(f"a junta interval needs >= {MIN_INPUTS} inputs, got {k}")
    top = np.cumsum(-np.sort(-v, axis=1), axis=1)             # per-input top-K sums
    tot = top[:, -1]
    cross = np.empty_like(top)                                 # summed over the others' top-K
    for j in range(k):
        order = np.argsort(-np.delete(v, j, axis=0).mean(axis=0), kind="stable")
        cross[j] = np.cumsum(v[j, order])

    def odds(held):
        def stat(i):
            num = held[i].mean(axis=0)
            rest = tot[i].mean() - num
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(rest > 0, num / np.where(rest > 0, rest, 1.0), np.inf)
        return stat

    # where a limit does not exist (a share of 0 or 1 left one input out), the side that
    # cannot narrow the interval: the lower end's bound reaches every level, the upper's none
    hi = np.nan_to_num(_jackknife_ci(odds(top), k)[1], nan=np.inf)
    lo = np.nan_to_num(_jackknife_ci(odds(cross), k)[0], nan=0.0, posinf=0.0)

    def first(bound, lv):
        hit = np.nonzero(bound >= lv / (1 - lv) * (1 - 1e-12))[0]
        return int(hit[0]) + 1 if hit.size else n

    return [[first(hi, lv), first(lo, lv)] for lv in levels]


def _norm2_from_gram(g, idx):
    return float(np.mean(np.diag(np.asarray(g, float))[idx]))


def _per_input_matrix(recs, measure, spec, inputs, n, field="est"):
    """(inputs, n) array of per-position estimates (NaN where not measured)."""
    m = np.full((inputs, n), np.nan)
    for key, r in recs.items():
        parts = key.split(":")
        if parts[0] != measure:
            continue
        x = int(parts[1])
        if measure == "gradient":
            m[x, :] = r["jsq"][spec]
        else:
            m[x, r["positions"]] = r[field][spec]
    return m


def _t95(k: int) -> float:
    """The two-sided 95% Student-t quantile for a mean over ``k >= 2`` values (``k - 1``
    degrees of freedom): the interval ``mean +- _t95(k) * stderr`` covers the true mean with
    probability 0.95 for normal data.

    Examples
    --------
    >>> round(_t95(4), 4), round(_t95(10**6), 4)     # 3 degrees of freedom; the normal limit
    (3.1824, 1.96)
    """
    from nstheory.stats import t_quantile

    return t_quantile(0.95, k - 1)


def _ci(a):
    a = np.asarray(a, float)
    k = a.size
    mean = float(a.mean())
    if k < 2:
        return mean, math.nan, math.nan, math.nan
    se = float(a.std(ddof=1) / math.sqrt(k))
    half = _t95(k) * se
    return mean, se, mean - half, mean + half


def influence_summary(mat, gram, scale2: float = 1.0, complete: bool = True) -> dict:
    """Summary of one measure for one functional from its (inputs, n) matrix of estimates.

    Parameters
    ----------
    mat : array_like
        Per-input, per-position estimates, shape ``(inputs, n)`` (NaN where not measured).
    gram : array_like
        Gram matrix ``<f(x_a), f(x_b)>`` of the functional over the inputs.
    scale2 : float, optional
        Multiplies raw values, e.g. ``s^2`` for the Hermite influence.
    complete : bool, optional
        Whether to add per-position statistics, junta sizes and the profile.

    Returns
    -------
    dict
        Totals (raw, centred over ``Var f``, uncentred over ``||f||^2``) with CIs and,
        when complete, per-position means, junta sizes and Friedgut's bound. A value or
        interval that does not exist is ``None``, with its reason under a ``*_note`` key
        (:data:`VAR0`, :data:`NO_JACK`).

    Examples
    --------
    Two inputs with ``f = (1, 0)`` and ``(-1, 0)``: ``Var f = 2`` and ``||f||^2 = 1``;
    total influence ``4``:

    >>> r = influence_summary([[2, 1, 1], [2, 1, 1]], [[1, -1], [-1, 1]])
    >>> r["total_raw"]["mean"], r["var_f"], r["total_centred"], r["total_uncentred"]
    (4.0, 2.0, 2.0, 4.0)
    >>> r["junta"]["50%"]["size"], r["junta"]["90%"]["size"]
    (1, 3)
    >>> r["total_centred_ci95"], r["total_centred_ci95_note"] == NO_JACK      # 2 inputs
    (None, True)

    Identical inputs (``Var f = 0``): the centred total is undefined, not NaN:

    >>> r = influence_summary([[2, 1, 1], [2, 1, 1]], [[1, 1], [1, 1]])
    >>> r["total_centred"], r["total_centred_note"], r["friedgut_size_bound"]
    (None, 'undefined (Var f = 0 over the inputs)', None)
    """
    mat = np.asarray(mat, float) * scale2
    k, n = mat.shape
    idx = np.arange(k)
    var, norm2 = _var_from_gram(gram, idx), _norm2_from_gram(gram, idx)
    measured = ~np.isnan(mat)
    # per-input total: n x the mean over the measured positions (all positions, or a sample)
    totals = n * np.nanmean(mat, axis=1)
    t_mean, t_se, t_lo, t_hi = _ci(totals)
    out = {
        "inputs": int(k), "n": int(n),
        "positions_per_input": int(measured.sum(axis=1).min()),
        "total_raw": {"mean": t_mean, "stderr": t_se, "ci95": [t_lo, t_hi]},
        "var_f": var, "norm2_f": norm2,
        "total_centred": t_mean / var if var > 0 else None,
        "total_uncentred": t_mean / norm2 if norm2 > 0 else None,
    }
    if not var > 0:
        out["total_centred_note"] = VAR0
    if not norm2 > 0:
        out["total_uncentred_note"] = "undefined (||f||^2 = 0 over the inputs)"
    if k < MIN_INPUTS or not var > 0:
        out["total_centred_ci95"] = None
        out["total_centred_ci95_note"] = NO_JACK if k < MIN_INPUTS else VAR0
    else:
        out["total_centred_ci95"] = _jackknife_ci(
            lambda i: totals[i].mean() / _var_from_gram(gram, i), k)
        if out["total_centred_ci95"] is None:
            out["total_centred_ci95_note"] = ("no interval: a leave-one-out total or Var f is "
                                              "not positive")
    if not complete or not measured.all():
        return out
    stats = [_ci(mat[:, i]) for i in range(n)]
    mean = np.array([s[0] for s in stats])
    se = np.array([s[1] for s in stats])
    out["per_position"] = {"mean": mean.tolist(), "stderr": se.tolist(),
                           "ci95_lo": [s[2] for s in stats], "ci95_hi": [s[3] for s in stats]}
    rel = np.where(mean > 0, (np.array([s[3] for s in stats]) - mean)
                   / np.where(mean > 0, mean, 1), np.inf)
    out["max_rel_ci_halfwidth"] = float(rel.max())
    out["junta"] = _junta(mean, mat)
    if k < MIN_INPUTS:
        out["junta_ci95_note"] = NO_JACK
    order = np.argsort(-mean)
    rank = np.empty(n, int)
    rank[order] = np.arange(1, n + 1)
    mid = mean[n // 4: n - n // 4]
    out["profile"] = {
        "first": float(mean[0]), "last": float(mean[-1]), "middle_mean": float(mid.mean()),
        "rank_first": int(rank[0]), "rank_last": int(rank[-1]),
        "top10_positions": order[:10].tolist(),
        "top10_share": float(mean[order[:10]].sum() / mean.sum()),
        "all_estimates_positive": bool((mat > 0).all()),
        "min_estimate": float(mat.min()),
    }
    tn = out["total_centred"]
    out["friedgut_size_bound"] = None if tn is None else {
        f"eps={1 - lv:.2g}": friedgut_size(tn, round(1 - lv, 6)) for lv in LEVELS}
    if tn is None:
        out["friedgut_note"] = VAR0
    return out


def _junta(mean, mat) -> dict:
    """Junta sizes of the mean profile, with the 95% intervals of :func:`junta_interval`
    (``None`` with fewer than :data:`MIN_INPUTS` inputs)."""
    j = shares_to_junta(mean)
    ci = junta_interval(mat) if len(mat) >= MIN_INPUTS else [None] * len(LEVELS)
    return {f"{int(lv * 100)}%": {"size": j[a], "ci95": ci[a]} for a, lv in enumerate(LEVELS)}


def geometric_summary(mat) -> dict:
    """Geometric influence ``E||J_i||_F`` per position.

    The mean over inputs of the square root of each input's Hutchinson estimate of
    ``||J_i||_F^2`` (a slight underestimate: Jensen).

    Examples
    --------
    >>> g = geometric_summary([[4, 1, 0], [4, 1, 0]])
    >>> g["mean"], g["profile"]["rank_first"], g["profile"]["all_estimates_positive"]
    ([2.0, 1.0, 0.0], 1, False)
    """
    g = np.sqrt(np.clip(np.asarray(mat, float), 0, None))
    n = g.shape[1]
    stats = [_ci(g[:, i]) for i in range(n)]
    mean = np.array([s[0] for s in stats])
    se = np.array([s[1] for s in stats])
    order = np.argsort(-mean)
    rank = np.empty(n, int)
    rank[order] = np.arange(1, n + 1)
    return {"inputs": int(g.shape[0]), "mean": mean.tolist(), "stderr": se.tolist(),
            "ci95_lo": [s[2] for s in stats], "ci95_hi": [s[3] for s in stats],
            "junta": _junta(mean, g),
            **({"junta_ci95_note": NO_JACK} if g.shape[0] < MIN_INPUTS else {}),
            "profile": {"first": float(mean[0]), "last": float(mean[-1]),
                        "rank_first": int(rank[0]), "rank_last": int(rank[-1]),
                        "top10_positions": order[:10].tolist(),
                        "all_estimates_positive": bool((g > 0).all())}}


def stability_summary(recs, spec, noise, rho, k) -> np.ndarray | None:
    """Per-input ``D_rho`` of one functional for one noise and rho, or ``None`` if incomplete.

    Parameters
    ----------
    recs : dict
        Records by key, as returned by :func:`load_run`.
    spec : str
        The functional.
    noise : str
        ``token`` or ``gaussian``.
    rho : float
        The noise parameter.
    k : int
        Number of inputs.

    Examples
    --------
    >>> recs = {"stab:token:0.5:0": {"d": {"cls": 0.25}}, "stab:token:0.5:1": {"d": {"cls": 0.75}}}
    >>> stability_summary(recs, "cls", "token", 0.5, 2).tolist()
    [0.25, 0.75]
    >>> stability_summary(recs, "cls", "token", 0.5, 3) is None
    True
    """
    keys = [f"stab:{noise}:{rho}:{x}" for x in range(k)]
    if not all(key in recs for key in keys):
        return None
    return np.array([recs[key]["d"][spec] for key in keys])


def table1_rows(total_per_input, d_per_input: dict, gram, T: int = T_DEGREE) -> dict:
    """Both Table 1 bounds on the weight at degree >= T, with jackknife-t CIs over inputs
    (:func:`_jackknife_ci`, leave one input out for numerator and normaliser alike).

    Centred view (divided by ``Var f``), for each rho: (a) ``I / (T Var f)``,
    (b) ``D_rho / ((1 - rho^T) Var f)``; and the uncentred versions (divided by
    ``||f||^2``; (b) is then the paper's ``delta / (1 - rho^T)`` with
    ``delta = D_rho / ||f||^2 = 1 - Stab_rho / ||f||^2`` under stationarity).

    Examples
    --------
    ``Var f = 2``, total influence 4, ``D_rho = 1`` at ``rho = 1/2``, ``T = 2``:
    (a) ``4 / (2 * 2) = 1``, (b) ``1 / ((1 - 1/4) * 2) = 2/3``:

    >>> t = table1_rows([4.0, 4.0], {0.5: [1.0, 1.0]}, [[1, -1], [-1, 1]], T=2)
    >>> t["sensitivity_bound_centred"]["value"]
    1.0
    >>> round(t["rho"]["0.5"]["stability_bound_centred"]["value"], 12)
    0.666666666667

    Two inputs give no interval (leaving one out leaves no ``Var f``), and ``Var f = 0`` no
    centred bound:

    >>> t["sensitivity_bound_centred"]["ci95"], t["sensitivity_bound_centred"]["note"][:11]
    (None, 'no interval')
    >>> t = table1_rows([4.0, 4.0], {0.5: [1.0, 1.0]}, [[1, 1], [1, 1]], T=2)
    >>> t["sensitivity_bound_centred"]
    {'value': None, 'ci95': None, 'note': 'undefined (Var f = 0 over the inputs)'}
    >>> t["rho"]["0.5"]["ratio_sensitivity_over_stability"]["value"]      # (4/2) / (1/(3/4))
    1.5
    """
    tot = np.asarray(total_per_input, float)
    k = tot.size
    idx = np.arange(k)
    var, norm2 = _var_from_gram(gram, idx), _norm2_from_gram(gram, idx)

    def sens(i):
        return tot[i].mean() / (T * _var_from_gram(gram, i))

    a = sens(idx) if var > 0 else None
    rows = {"T": T, "inputs": k, "var_f": var, "norm2_f": norm2,
            "sensitivity_bound_centred": _bounded(a, sens, k),
            "sensitivity_bound_uncentred": _ratio(tot.mean(), T * norm2), "rho": {}}
    for rho, d in d_per_input.items():
        d = np.asarray(d, float)
        den = 1 - float(rho) ** T

        def stab(i, d=d, den=den):
            return d[i].mean() / (den * _var_from_gram(gram, i))

        def ratio(i, d=d, den=den):
            return (tot[i].mean() / T) / (d[i].mean() / den)

        b = stab(idx) if var > 0 else None
        r = a / b if var > 0 and b > 0 else _ratio(tot.mean() / T, d.mean() / den)
        rows["rho"][str(rho)] = {
            "stability_bound_centred": _bounded(b, stab, k),
            "stability_bound_uncentred": _ratio(d.mean(), den * norm2),
            "delta_uncentred": _ratio(d.mean(), norm2),
            "ratio_sensitivity_over_stability": _bounded(r, ratio, k, undefined=D0),
        }
    return rows


def _ratio(num, den):
    """``num / den`` as a float, or ``None`` where ``den`` is 0 (no NaN or inf)."""
    return float(num / den) if den > 0 else None


def _bounded(value, stat, k: int, undefined: str = VAR0) -> dict:
    """``{"value", "ci95"}`` of a Table 1 quantity ``stat(all inputs)``, its interval by
    :func:`_jackknife_ci`. What is missing is ``None`` with a ``note`` (``undefined`` when
    ``value`` is None, else :data:`NO_JACK` with fewer than 3 inputs)."""
    if value is None:
        return {"value": None, "ci95": None, "note": undefined}
    if k < MIN_INPUTS:
        return {"value": float(value), "ci95": None, "note": NO_JACK}
    with np.errstate(divide="ignore", invalid="ignore"):
        q = _jackknife_ci(stat, k)
    if q is None:
        return {"value": float(value), "ci95": None,
                "note": "no interval: a leave-one-out value is not positive"}
    return {"value": float(value), "ci95": q}


def summarise(path) -> dict:
    """Everything the CLI prints and the claims check, from a run directory or stored JSON.

    Returns
    -------
    dict
        The run's configuration and provenance and, per functional, the influence
        summaries, the stability per noise and rho and the Table 1 bounds.

    Raises
    ------
    NSTheoryError
        If the run cannot be read or has no logged units.

    Examples
    --------
    >>> import math
    >>> from nstheory.models.figures import DATA
    >>> res = summarise(DATA / "models_minilm.json")
    >>> tok = res["functionals"]["cls"]["token"]
    >>> math.isclose(tok["total_centred"], tok["total_raw"]["mean"] / tok["var_f"])
    True
    """
    meta, recs = load_run(path)
    cfg = meta["config"]
    if "gram" not in recs:
        raise NSTheoryError(f"run {path} has no logged units yet")
    g0 = recs["gram"]
    k, n = cfg["inputs"], cfg["n"]
    s2 = g0["embedding_scale"] ** 2
    res = {"config": cfg, "hash": meta.get("hash"), "provenance": meta.get("provenance"),
           "text": g0["text"], "embedding_scale": g0["embedding_scale"],
           "resample_vocab": g0["resample_vocab"], "kind": g0["kind"], "functionals": {}}
    for spec in g0["functionals"]:
        gram = g0["gram"][spec]
        fr: dict = {}
        for m in ("token", "gaussian"):
            mat = _per_input_matrix(recs, m, spec, k, n)
            if not np.isnan(mat).all(axis=1).any():
                fr[m] = influence_summary(mat, gram)
                if m == "gaussian":
                    r = next(v for kk, v in recs.items() if kk.startswith("gaussian:"))
                    fr[m]["sigma_abs"] = r["sigma"]
                    fr[m]["sigma_rel"] = cfg["sigma_rel"]
        mat = _per_input_matrix(recs, "gradient", spec, k, n)
        if not np.isnan(mat).any():
            fr["hermite"] = influence_summary(mat, gram, scale2=s2)
            fr["geometric"] = geometric_summary(mat)
        stab = {}
        for nz in cfg["noises"]:
            for rho in cfg["rhos"]:
                d = stability_summary(recs, spec, nz, rho, k)
                if d is not None:
                    stab.setdefault(nz, {})[str(rho)] = d
        fr["stability"] = {nz: {r: dict(zip(("mean", "stderr", "lo", "hi"), _ci(v), strict=True))
                                for r, v in dd.items()} for nz, dd in stab.items()}
        t1 = {}
        if "token" in fr and "token" in stab:
            tot = n * np.nanmean(_per_input_matrix(recs, "token", spec, k, n), axis=1)
            t1["token"] = table1_rows(tot, stab["token"], gram)
        if "hermite" in fr and "gaussian" in stab:
            tot = n * s2 * np.nanmean(_per_input_matrix(recs, "gradient", spec, k, n), axis=1)
            t1["gaussian"] = table1_rows(tot, stab["gaussian"], gram)
        fr["table1"] = t1
        res["functionals"][spec] = fr
    return res
