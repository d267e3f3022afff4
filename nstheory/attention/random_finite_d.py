r"""Noise stability of one softmax attention layer with random ``W`` at finite d, for any n.

The layer is ``f(X) = softmax(t X W X^T) X v`` with ``W`` of i.i.d. ``N(0, 1)`` entries drawn
afresh with the tokens (the ``random`` mode of :mod:`nstheory.attention.montecarlo`), ``n``
tokens of dimension ``d`` with i.i.d. ``N(0, 1)`` entries and ``Y = rho X + sqrt(1 - rho^2)
Z``; the quantity is the raw ``Stab_rho = E[f_i(X) f_i(Y)]`` for a unit value column (times
``||v||^2`` otherwise). The route integrates ``W`` and the ``n - 1`` other tokens out *exactly*
and samples only the ten variables that describe the query pair and ``W``'s action on it:

1. *Rotation invariance* (``X -> X O``, ``W -> O^T W O``): ``Stab = E[f(X).f(Y)] / d``.
2. *Logit vectors.* Query ``i``'s logits are ``t q.x_l`` and ``t q'.y_l`` with ``q = W^T x_i``,
   ``q' = W^T y_i``. Given the query pair ``(p, p') = (x_i, y_i)`` with Bartlett factor
   ``p = R_1 f_1``, ``p' = Pi_1 f_1 + Pi_2 f_2`` (``R_1^2 ~ chi^2_d``, ``Pi_1 = rho R_1 +
   sqrt(1 - rho^2) g``, ``Pi_2^2 / (1 - rho^2) ~ chi^2_{d-1}``), ``q = R_1 xi_1`` and
   ``q' = Pi_1 xi_1 + Pi_2 xi_2`` for two independent ``N(0, I_d)`` vectors: their components
   along ``f_1, f_2`` are four standard normals ``a_jk``, and their parts orthogonal to the
   plane have a 2 x 2 Wishart Gram matrix with ``d - 2`` degrees of freedom (Bartlett:
   ``chi_{d-2}``, a normal, ``chi_{d-3}``). These ten variables fix the logit vectors'
   geometry, the query's own logits ``t p.q`` and ``t p'.q'``, and the coordinates of
   ``p, p'`` in the frame of ``(q, q')``.
3. *The other tokens, exactly.* Given them, the other tokens are i.i.d. and the expectation
   over them is the Laplace-factorised two-dimensional Gauss–Hermite computation of
   :mod:`~nstheory.attention.softmax_conditional` (the same as for identity ``W``, whose
   logit vectors are ``p, p'`` themselves); ``n`` enters only as an exponent, so the cost does
   not depend on ``n``.
4. *The ten outer variables* by scrambled Sobol points (randomised quasi-Monte Carlo): the
   integrand is a conditional expectation, far smoother and ~50x less variable than one
   Monte Carlo draw, but near-hard softmax logits (the query's own logit has standard
   deviation ``t |x_i|^2``, about 4 at ``d = 16``) keep it steep, so the outer integral
   converges at roughly the quasi-Monte Carlo rate, not the spectral rate of the
   three-variable identity route. The estimate is the mean
   over independent scramblings and its error the **standard error over them**: this is a
   statistical route (about 2e-4 at ``n = 4``, ``d = 16`` in ~5 s), independent of the torch
   Monte Carlo's code path, not a deterministic one.

Rare outer points whose logit vectors are so steep that the Laplace grid would have to reach
below ``e^LO_MIN`` (see :mod:`~nstheory.attention.softmax_conditional`) have their other tokens
*sampled* instead (:data:`FALLBACK_DRAWS` sets, an unbiased estimate of the same conditional
expectation); ``params["sampled_points"]`` counts them (none at ``n = 4``, ``d = 16``).

Low-rank ``W = U U^T`` (:func:`stab_lowrank_finite_d`) goes the same way in the ``rank``-dimensional
coordinates ``U``'s range gives the tokens: the other tokens exactly (with the pattern overlap
for the value's part outside that range), ``U^T U`` and the query pair by scrambled Sobol
points.

Examples
--------
>>> r = stab_random_finite_d(4, 16, 0.5, points=256, replicates=4)
>>> 0.18 < r.value < 0.22, r.stderr < 0.005
(True, True)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from nstheory.errors import NSTheoryError, check_int

__all__ = [
    "FALLBACK_DRAWS",
    "MAX_LOGIT_SPREAD",
    "MAX_RANK",
    "ConditionalStab",
    "logit_spread",
    "lowrank_logit_spread",
    "lowrank_query_geometry",
    "random_query_geometry",
    "stab_lowrank_finite_d",
    "stab_random_finite_d",
]

#: Largest typical logit standard deviation ``t d`` the route accepts. Beyond it the softmax is
#: nearly hard: the per-token Gauss-Hermite rules stop converging (at ``t d = 16`` 24 and 48
#: nodes differ by 6e-4) and the Laplace grids grow like ``t^2 d^2``.
MAX_LOGIT_SPREAD = 8.0
#: Largest rank of the low-rank route (its outer integral has ``rank (rank + 5) / 2``
#: dimensions).
MAX_RANK = 64


def logit_spread(d: int, t: float) -> float:
    """Typical standard deviation ``t d`` of a random-``W`` logit ``t x^T W y`` (``|x| |y| ~ d``).

    Examples
    --------
    >>> logit_spread(64, 1 / 8), logit_spread(8, 1.0) <= MAX_LOGIT_SPREAD
    (8.0, True)
    """
    return abs(t) * d


@dataclass
class ConditionalStab:
    """Result of :func:`stab_random_finite_d`.

    Parameters
    ----------
    value : float
        Mean over the independent scramblings.
    stderr : float
        Standard error of that mean (over the scramblings).
    replicate_values : list of float
        One estimate per scrambling.
    params : dict
        ``n, d, rho, scale, t, v_norm, points, replicates, seed, inner_nodes, h``.
    quantity : str
        What was computed, and how.

    Examples
    --------
    >>> r = ConditionalStab(0.2, 1e-4, [0.2] * 8, {"n": 4}, "raw Stab")
    >>> [round(x, 6) for x in r.ci95], r.to_dict()["stderr"]        # t with 7 dof: 2.3646
    ([0.199764, 0.200236], 0.0001)
    """

    value: float
    stderr: float
    replicate_values: list
    params: dict
    quantity: str

    @property
    def ci95(self) -> tuple[float, float]:
        """Student-t 95% interval over the scramblings (``replicates - 1`` degrees of freedom:
        with the default 8 a normal 1.96 would cover ~91%)."""
        from nstheory.stats import t_quantile

        h = t_quantile(0.95, max(len(self.replicate_values) - 1, 1)) * self.stderr
        return self.value - h, self.value + h

    def to_dict(self) -> dict:
        out = asdict(self)
        out["ci95"] = list(self.ci95)
        return out


def _chi(u, dof):
    from scipy.stats import chi2

    if dof <= 0:
        return np.zeros_like(u)
    return np.sqrt(chi2.ppf(u, dof))


def random_query_geometry(rho: float, r1, g, r2, a, b) -> dict:
    """The query data of :func:`~nstheory.attention.softmax_conditional.conditional_output_products`
    for random ``W``, from the ten outer variables (see the module docstring).

    Parameters
    ----------
    rho : float
        Noise correlation.
    r1, g, r2 : ndarray
        Bartlett factor of the query pair: ``|x_i|``, the normal and ``chi_{d-1}`` entries.
    a : ndarray, shape (P, 2, 2)
        ``a[:, j, k]``: component of ``xi_k`` along ``f_j`` (zero rows where ``d < 2``).
    b : ndarray, shape (P, 3)
        Bartlett factor of the orthogonal parts (``chi_{d-2}``, normal, ``chi_{d-3}``).

    Returns
    -------
    dict
        ``r1, pi1, pi2`` (logit vectors), ``off_x, off_y`` (own logits / t), ``p1, p2, q1, q2``,
        ``xy`` per point.

    Examples
    --------
    With ``xi_1 = f_1``, ``xi_2 = f_2`` the map ``W^T`` is the identity on the plane, so the
    logit vectors are the query pair itself:

    >>> import numpy as np
    >>> one = np.ones(1)
    >>> geo = random_query_geometry(0.6, 2 * one, 0.5 * one, one, np.eye(2)[None],
    ...                             np.zeros((1, 3)))
    >>> [round(float(geo[k][0]), 6) for k in ("r1", "pi1", "pi2", "off_x", "xy")]
    [2.0, 1.6, 0.8, 4.0, 3.2]
    """
    sig = math.sqrt(max(0.0, 1.0 - rho * rho))
    big_pi1 = rho * r1 + sig * g
    big_pi2 = sig * r2
    pts = r1.size
    x1 = np.zeros((pts, 4))
    x2 = np.zeros((pts, 4))
    x1[:, 0], x1[:, 1], x1[:, 2] = a[:, 0, 0], a[:, 1, 0], b[:, 0]
    x2[:, 0], x2[:, 1], x2[:, 2], x2[:, 3] = a[:, 0, 1], a[:, 1, 1], b[:, 1], b[:, 2]
    from nstheory.attention.softmax_conditional import query_data

    p = np.zeros((pts, 4))
    p[:, 0] = r1
    pp = np.zeros((pts, 4))
    pp[:, 0], pp[:, 1] = big_pi1, big_pi2
    return query_data(p, pp, r1[:, None] * x1, big_pi1[:, None] * x1 + big_pi2[:, None] * x2)


def _outer_points(u, d):
    """The ten outer variables from uniforms (inverse distribution functions)."""
    from scipy.special import ndtri

    u = np.clip(u, 1e-16, 1 - 1e-16)  # scrambled points are interior; guard the tails
    zero = np.zeros(len(u))
    r1 = _chi(u[:, 0], d)
    g = ndtri(u[:, 1])
    r2 = _chi(u[:, 2], d - 1)
    a = ndtri(u[:, 3:7]).reshape(-1, 2, 2)
    if d < 2:  # no second direction: the components along f_2 vanish
        a[:, 1, :] = 0.0
    b = np.stack([_chi(u[:, 7], d - 2), ndtri(u[:, 8]) if d >= 3 else zero,
                  _chi(u[:, 9], d - 3)], axis=1)
    return r1, g, r2, a, b


#: Draws of the other tokens for a point whose logits are too steep for the Laplace route
#: (:func:`~nstheory.attention.softmax_conditional.sampled_output_products`).
FALLBACK_DRAWS = 4096


def _sampled(n, d, rho, t, geo, idx, rng):
    """Sampled conditional values (and overlaps) at the points ``idx``, in blocks of draws that
    keep the token arrays near 2^22 numbers."""
    from nstheory.attention.softmax_conditional import sampled_output_products

    if n - 1 > 1 << 20:
        raise NSTheoryError(f"a near-hard point with n = {n} tokens: too many tokens to sample "
                            "(at most 2^20 + 1); use the Monte Carlo")
    block = max(1, min(FALLBACK_DRAWS, (1 << 22) // (2 * (n - 1))))
    value, over = np.zeros(idx.size), np.zeros(idx.size)
    for start in range(0, FALLBACK_DRAWS, block):
        m = min(block, FALLBACK_DRAWS - start)
        v, o = sampled_output_products(n, d, rho, t, rng, m,
                                       **{key: val[idx] for key, val in geo.items()})
        value += v * m
        over += o * m
    return value / FALLBACK_DRAWS, over / FALLBACK_DRAWS


def _grouped(n, d, rho, t, geo, inner_nodes, h, rng, overlap=False, budget=30_000,
             stats=None):
    """Per-point conditional values (and overlaps) for the query data ``geo``. The Laplace
    grid's lower end is set per group of points: sorted by the end each needs, grouped so that
    ``points x nodes^2`` stays under ``budget`` (a query whose own logit is far below the
    others' needs a long grid; one such point must not stretch the grid, time and memory of a
    whole group). Points that would need a grid below ``LO_MIN`` (near-hard logits, rare tail
    points) have their other tokens sampled instead (unbiased; counted in ``stats``)."""
    from numpy.polynomial.hermite_e import hermegauss

    from nstheory.attention.softmax_conditional import (
        LO_MIN,
        conditional_output_products,
        laplace_floor,
    )

    xi_max = float(hermegauss(inner_nodes)[0][-1])
    floor = laplace_floor(n - 1, t, *(geo[k] for k in ("r1", "pi1", "pi2", "off_x", "off_y")),
                          xi_max=xi_max, rho=rho)
    value = np.empty(floor.size)
    over = np.empty(floor.size)
    steep = np.flatnonzero(~(floor >= LO_MIN))
    if steep.size:
        value[steep], over[steep] = _sampled(n, d, rho, t, geo, steep, rng)
        if stats is not None:
            stats["sampled_points"] = stats.get("sampled_points", 0) + int(steep.size)
    order = np.argsort(floor)[::-1][:floor.size - steep.size]  # shortest grids first
    start = 0
    while start < order.size:
        nodes = (3.8 - floor[order[start]]) / h + 2
        idx = order[start:start + max(1, int(budget / nodes ** 2))]
        out = conditional_output_products(
            n, d, rho, t, inner_nodes=inner_nodes, h=h, lo=float(floor[idx].min()),
            overlap=overlap, **{key: val[idx] for key, val in geo.items()})
        if overlap:
            value[idx], over[idx] = out
        else:
            value[idx] = out
        start += idx.size
    return (value, over) if overlap else value


def _estimate(n, d, rho, t, u, inner_nodes, h, rng, stats=None):
    """Mean conditional value over the outer points ``u`` (random ``W``)."""
    geo = random_query_geometry(rho, *_outer_points(u, d))
    return float(_grouped(n, d, rho, t, geo, inner_nodes, h, rng, stats=stats).mean()) / d


def _qmc_options(spread, points, replicates, seed, inner_nodes, h):
    """Checked ``points, replicates, seed, inner_nodes, h`` of a conditional route whose
    typical logit spread is ``spread``."""
    points = check_int(points, "points", lo=16, hi=1 << 20)
    if points & (points - 1):
        raise NSTheoryError(f"points must be a power of two in [16, 2^20]; got {points}")
    replicates = check_int(replicates, "replicates", lo=2, hi=1024)
    seed = check_int(seed, "seed", lo=0)
    if spread > MAX_LOGIT_SPREAD:
        raise NSTheoryError(
            f"the logits' typical spread {spread:.3g} exceeds {MAX_LOGIT_SPREAD:g}: the "
            "softmax is nearly hard there and the conditional route's inner rules do not "
            "converge; use the Monte Carlo (or hard argmax)")
    if inner_nodes is None:
        inner_nodes = 24 if spread <= 4 else (48 if spread <= 6 else 64)
    inner_nodes = check_int(inner_nodes, "inner_nodes", lo=8, hi=64)
    try:
        h = float(h)
    except (TypeError, ValueError):
        h = math.nan
    if not 0 < h <= 1:
        raise NSTheoryError(f"h must be in (0, 1]; got {h!r}")
    return points, replicates, seed, inner_nodes, h


def _rqmc(dim, points, replicates, seed, estimate, progress, v2):
    """``v2 x estimate(u, rng)`` over independent scramblings of ``points`` Sobol points in
    ``dim`` dimensions (``rng`` seeded per scrambling, for the sampled fallback): the values,
    checked finite. Scrambling ``rep`` of ``seed`` is seeded by the pair ``(seed, rep)``, so
    runs at different seeds share no scrambling (``seed + rep`` made seeds 0 and 1 share seven
    of eight, and their estimates nearly equal)."""
    from scipy.stats import qmc

    vals = []
    for rep in range(replicates):
        scrambler = np.random.default_rng([seed, rep])
        u = qmc.Sobol(dim, scramble=True, seed=scrambler).random_base2(int(math.log2(points)))
        vals.append(v2 * estimate(u, np.random.default_rng([seed, rep, 0x5A17])))
        if progress is not None:
            progress(rep + 1)
    if not all(math.isfinite(v) for v in vals):
        raise NSTheoryError("the conditional route overflowed (non-finite values); use the Monte "
                            "Carlo for this configuration")
    return vals


def _result(vals, params, quantity) -> ConditionalStab:
    arr = np.asarray(vals, dtype=float)
    return ConditionalStab(float(arr.mean()), float(arr.std(ddof=1) / math.sqrt(arr.size)),
                           [float(v) for v in vals], params, quantity)


def stab_random_finite_d(n: int, d: int, rho: float, scale="sqrt", *, v_norm: float = 1.0,
                         points: int = 2048, replicates: int = 8, seed: int = 0,
                         inner_nodes: int | None = None, h: float = 0.5, progress=None
                         ) -> ConditionalStab:
    """Raw ``Stab_rho(f_ij)`` of one softmax attention layer with random ``W`` at finite ``d``,
    ``W`` and the other tokens integrated exactly, the query pair by randomised quasi-Monte
    Carlo (see the module docstring).

    Parameters
    ----------
    n, d : int
        Tokens (1 to 10^7; the cost does not depend on ``n``) and channels (``>= 1``).
    rho : float
        Gaussian noise correlation in ``[-1, 1]``.
    scale : ``"sqrt"`` (``1/sqrt(d)``), ``"linear"`` (``1/d``), ``"none"`` or a number.
    v_norm : float
        ``||(W_V)_{:,j}||``; the result scales as its square.
    points : int
        Sobol points per scrambling (a power of two, 16 to 2^20).
    replicates : int
        Independent scramblings (``>= 2``); the standard error is taken over them.
    seed : int
        Seed of the scramblings (each is seeded by ``(seed, replicate)``: different seeds give
        independent estimates).
    inner_nodes : int, optional
        Gauss–Hermite nodes per inner variable (8 to 64); by default 24 for a logit spread
        ``t d <= 4``, 48 up to 6 and 64 above (at ``t d = 8``: 24 and 48 nodes differ by 2e-4,
        48 and 64 by 3e-5 at n = 256 and 4096, d = 64).
    h : float
        Laplace step (0 < h <= 1).
    progress : callable, optional
        Called with the number of scramblings done.

    Returns
    -------
    ConditionalStab

    Raises
    ------
    NSTheoryError
        For a logit spread ``t d`` above :data:`MAX_LOGIT_SPREAD` (near-hard softmax).

    Examples
    --------
    One token attends to itself, so ``Stab = rho`` whatever the draws:

    >>> stab_random_finite_d(1, 8, 0.3, points=16, replicates=2).value
    0.3
    >>> stab_random_finite_d(4, 16, 0.5, points=100)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: points must be a power of two in [16, 2^20]; got 100
    """
    from nstheory.attention.identity_finite_d import _check

    n, d, rho, t, v_norm = _check(n, d, rho, scale, v_norm)
    points, replicates, seed, inner_nodes, h = _qmc_options(
        logit_spread(d, t), points, replicates, seed, inner_nodes, h)
    v2 = v_norm * v_norm
    params = dict(n=n, d=d, rho=rho, scale=scale, t=t, v_norm=v_norm, points=points,
                  replicates=replicates, seed=seed, inner_nodes=inner_nodes, h=h)
    quantity = ("raw Stab E[f_ij(X) f_ij(Y)], random W (i.i.d. N(0, 1), fresh with the tokens): "
                "W and the other tokens integrated exactly, the query pair and W's action on it "
                "by scrambled Sobol points; error = standard error over the scramblings")
    if n == 1:
        return _result([v2 * rho] * replicates, params, quantity)
    stats = {"sampled_points": 0}
    vals = _rqmc(10, points, replicates, seed,
                 lambda u, rng: _estimate(n, d, rho, t, u, inner_nodes, h, rng, stats),
                 progress, v2)
    params.update(stats)
    return _result(vals, params, quantity)


def lowrank_logit_spread(d: int, rank: int, t: float) -> float:
    """Typical standard deviation ``t d / sqrt(rank)`` of a low-rank logit
    ``t (U^T x).(U^T y)`` (``U`` of shape ``d x rank`` with ``N(0, 1/rank)`` entries: ``U^T U``
    is about ``(d / rank) I`` and ``|U^T x|^2 / |U^T U| ~ rank``).

    Examples
    --------
    >>> lowrank_logit_spread(16, 1, 0.25), lowrank_logit_spread(64, 4, 1 / 8)
    (4.0, 4.0)
    """
    return abs(t) * d / math.sqrt(rank)


def lowrank_query_geometry(rho: float, u, d: int, rank: int) -> dict:
    """The query data of
    :func:`~nstheory.attention.softmax_conditional.conditional_output_products` for low-rank
    ``W = U U^T`` in the ``rank``-dimensional coordinates ``p = Q^T x`` (see
    :func:`stab_lowrank_finite_d`), from uniforms ``u`` of shape ``(P, rank (rank + 5) / 2)``:
    the Bartlett factor ``L`` of ``U^T U ~ Wishart_rank(d, I / rank)`` (``M = L L^T / rank``),
    the query ``p ~ N(0, I)`` and ``p' = rho p + sqrt(1 - rho^2) z``; logit vectors ``M p`` and
    ``M p'``.

    Examples
    --------
    Rank one, uniforms ``(u_M, u_p, u_z)``: ``M = chi^2_4`` at its quantile ``u_M``, ``p`` and
    ``z`` standard normal quantiles; with ``rho = 0.6``, ``p' = 0.6 p + 0.8 z``, the own logit
    over ``t`` is ``M p^2`` and ``|q| = M |p|``:

    >>> import numpy as np
    >>> from scipy.stats import chi2, norm
    >>> geo = lowrank_query_geometry(0.6, np.array([[0.3, 0.8, 0.4]]), 4, 1)
    >>> m, p, z = chi2.ppf(0.3, 4), norm.ppf(0.8), norm.ppf(0.4)
    >>> bool(np.isclose(geo["off_x"][0], m * p * p) and np.isclose(geo["r1"][0], m * abs(p)))
    True
    >>> bool(np.isclose(geo["xy"][0], p * (0.6 * p + 0.8 * z)))
    True
    """
    from scipy.special import ndtri

    from nstheory.attention.softmax_conditional import query_data

    u = np.clip(np.asarray(u, dtype=float), 1e-16, 1 - 1e-16)
    pts, k = u.shape[0], rank
    L = np.zeros((pts, k, k))
    col = 0
    for j in range(k):
        L[:, j, j] = _chi(u[:, col], d - j)
        col += 1
        for m in range(j):
            L[:, j, m] = ndtri(u[:, col])
            col += 1
    M = L @ np.swapaxes(L, 1, 2) / k
    p = ndtri(u[:, col:col + k])
    z = ndtri(u[:, col + k:col + 2 * k])
    pp = rho * p + math.sqrt(max(0.0, 1.0 - rho * rho)) * z
    return query_data(p, pp, np.einsum("pab,pb->pa", M, p), np.einsum("pab,pb->pa", M, pp))


def stab_lowrank_finite_d(n: int, d: int, rho: float, rank: int, scale="sqrt", *,
                          v_norm: float = 1.0, points: int = 2048, replicates: int = 8,
                          seed: int = 0, inner_nodes: int | None = None, h: float = 0.5,
                          progress=None) -> ConditionalStab:
    """Raw ``Stab_rho(f_ij)`` of one softmax attention layer with low-rank ``W = U U^T``
    (``U`` of shape ``d x rank``, i.i.d. ``N(0, 1/rank)`` entries drawn with the tokens: the
    ``lowrank`` mode of :mod:`nstheory.attention.montecarlo`) at finite ``d``, by conditional
    randomised quasi-Monte Carlo over ``rank (rank + 5) / 2`` variables.

    The route. Write ``U = Q R`` (``Q`` with orthonormal columns, Haar, independent of ``R``).
    The logits are ``t p_l^T M p_i`` with ``p_l = Q^T x_l``, i.i.d. ``N(0, I_rank)`` over
    tokens, and ``M = R R^T`` (the eigenvalues of ``U^T U``; ``p``'s law is rotation-invariant,
    so ``M`` may be taken with the law of ``U^T U ~ Wishart_rank(d, I / rank)``). The value
    coordinate is ``x_l1 = c.p_l + (part orthogonal to range Q)`` with ``c = Q^T e_1``
    independent of everything else and ``E[c c^T] = I / d``; the orthogonal parts enter no
    logit and have correlation ``rho`` within a token. Hence

    ``Stab = E[(sum_a a_a p_a).(sum_b b_b p'_b)] / d + rho (1 - rank / d) E[sum_a a_a b_a]``,

    both terms of a ``rank``-dimensional layer with query-key matrix ``M``. Given ``M`` and the
    query pair, the other tokens are integrated exactly (the Laplace-factorised computation of
    :mod:`~nstheory.attention.softmax_conditional`, which returns both terms); ``M``'s Bartlett
    factor and the query pair are drawn by scrambled Sobol points. The error is the **standard
    error over the scramblings** (statistical, independent of the torch Monte Carlo's code
    path).

    Parameters
    ----------
    n, d : int
        Tokens (the cost does not depend on ``n``) and channels.
    rho : float
        Gaussian noise correlation in ``[-1, 1]``.
    rank : int
        Rank of ``W`` (1 to ``min(d, MAX_RANK)``).
    scale, v_norm, points, replicates, seed, inner_nodes, h, progress
        As for :func:`stab_random_finite_d`.

    Returns
    -------
    ConditionalStab

    Raises
    ------
    NSTheoryError
        For a logit spread :func:`lowrank_logit_spread` above :data:`MAX_LOGIT_SPREAD`.

    Examples
    --------
    One token attends to itself (``Stab = rho`` whatever the draws):

    >>> stab_lowrank_finite_d(1, 16, 0.3, 2, points=16, replicates=2).value
    0.3

    Rank 2 at d = 16 (0.2551; identity W gives 0.4369 there):

    >>> r = stab_lowrank_finite_d(4, 16, 0.5, 2, points=256, replicates=4)
    >>> 0.25 < r.value < 0.26, r.stderr < 0.002
    (True, True)
    """
    from nstheory.attention.identity_finite_d import _check

    n, d, rho, t, v_norm = _check(n, d, rho, scale, v_norm)
    rank = check_int(rank, "rank", lo=1, hi=min(d, MAX_RANK))
    points, replicates, seed, inner_nodes, h = _qmc_options(
        lowrank_logit_spread(d, rank, t), points, replicates, seed, inner_nodes, h)
    v2 = v_norm * v_norm
    params = dict(n=n, d=d, rho=rho, rank=rank, scale=scale, t=t, v_norm=v_norm, points=points,
                  replicates=replicates, seed=seed, inner_nodes=inner_nodes, h=h)
    quantity = (f"raw Stab E[f_ij(X) f_ij(Y)], low-rank W = U U^T (rank {rank}, U i.i.d. "
                "N(0, 1/rank), fresh with the tokens): the other tokens integrated exactly, "
                "U^T U's Bartlett factor and the query pair by scrambled Sobol points; error = "
                "standard error over the scramblings")
    if n == 1:
        return _result([v2 * rho] * replicates, params, quantity)

    stats = {"sampled_points": 0}

    def estimate(u, rng):
        geo = lowrank_query_geometry(rho, u, d, rank)
        prod, over = _grouped(n, rank, rho, t, geo, inner_nodes, h, rng, overlap=True,
                              stats=stats)
        return float(prod.mean()) / d + rho * (1 - rank / d) * float(over.mean())

    vals = _rqmc(rank * (rank + 5) // 2, points, replicates, seed, estimate, progress, v2)
    params.update(stats)
    return _result(vals, params, quantity)
