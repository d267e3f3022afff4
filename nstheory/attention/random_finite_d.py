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
    "MAX_LOGIT_SPREAD",
    "ConditionalStab",
    "logit_spread",
    "random_query_geometry",
    "stab_random_finite_d",
]

#: Largest typical logit standard deviation ``t d`` the route accepts. Beyond it the softmax is
#: nearly hard: the per-token Gauss-Hermite rules stop converging (at ``t d = 16`` 24 and 48
#: nodes differ by 6e-4) and the Laplace grids grow like ``t^2 d^2``.
MAX_LOGIT_SPREAD = 8.0


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
    >>> r = ConditionalStab(0.2, 1e-4, [0.2, 0.2], {"n": 4}, "raw Stab")
    >>> [round(x, 6) for x in r.ci95], r.to_dict()["stderr"]
    ([0.199804, 0.200196], 0.0001)
    """

    value: float
    stderr: float
    replicate_values: list
    params: dict
    quantity: str

    @property
    def ci95(self) -> tuple[float, float]:
        """Normal 95% interval ``value +- 1.96 stderr``."""
        return self.value - 1.96 * self.stderr, self.value + 1.96 * self.stderr

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
    q = r1[:, None] * x1
    qq = big_pi1[:, None] * x1 + big_pi2[:, None] * x2
    p = np.zeros((pts, 4))
    p[:, 0] = r1
    pp = np.zeros((pts, 4))
    pp[:, 0], pp[:, 1] = big_pi1, big_pi2
    nq = np.linalg.norm(q, axis=1)
    e1 = q / np.where(nq > 0, nq, 1.0)[:, None]
    pi1 = (qq * e1).sum(axis=1)
    rest = qq - pi1[:, None] * e1
    pi2 = np.linalg.norm(rest, axis=1)
    e2 = rest / np.where(pi2 > 0, pi2, 1.0)[:, None]

    def dot(x, y):
        return (x * y).sum(axis=1)

    return dict(r1=nq, pi1=pi1, pi2=pi2, off_x=dot(p, q), off_y=dot(pp, qq), p1=dot(p, e1),
                p2=dot(p, e2), q1=dot(pp, e1), q2=dot(pp, e2), xy=r1 * big_pi1)


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


def _estimate(n, d, rho, t, u, inner_nodes, h, budget=30_000):
    """Mean of the conditional values over the points ``u``. The Laplace grid's lower end is
    set per group of points: sorted by the end each needs, grouped so that ``points x nodes^2``
    stays under ``budget`` (a query whose own logit is far below the others' needs a long grid;
    one such point must not stretch the grid, time and memory of a whole group)."""
    from nstheory.attention.softmax_conditional import (
        conditional_output_products,
        laplace_floor,
    )

    geo = random_query_geometry(rho, *_outer_points(u, d))
    floor = laplace_floor(n - 1, t, *(geo[k] for k in ("r1", "pi1", "pi2", "off_x", "off_y")))
    order = np.argsort(floor)[::-1]  # shortest grids first
    total, start = 0.0, 0
    while start < order.size:
        nodes = (3.8 - floor[order[start]]) / h + 2
        size = max(1, int(budget / nodes ** 2))
        idx = order[start:start + size]
        total += float(conditional_output_products(
            n, d, rho, t, inner_nodes=inner_nodes, h=h, lo=float(floor[idx].min()),
            **{key: val[idx] for key, val in geo.items()}).sum())
        start += size
    return total / u.shape[0] / d


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
        Seed of the first scrambling (the others follow).
    inner_nodes : int, optional
        Gauss–Hermite nodes per inner variable (8 to 64); by default 24 for a logit spread
        ``t d <= 4`` and 48 above (24 and 48 nodes differ by 2e-4 at ``t d = 8``, 48 and 64 by
        1e-5).
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
    from scipy.stats import qmc

    from nstheory.attention.identity_finite_d import _check

    n, d, rho, t, v_norm = _check(n, d, rho, scale, v_norm)
    points = check_int(points, "points", lo=16, hi=1 << 20)
    if points & (points - 1):
        raise NSTheoryError(f"points must be a power of two in [16, 2^20]; got {points}")
    replicates = check_int(replicates, "replicates", lo=2, hi=1024)
    seed = check_int(seed, "seed", lo=0)
    if logit_spread(d, t) > MAX_LOGIT_SPREAD:
        raise NSTheoryError(
            f"the logits' typical spread t d = {logit_spread(d, t):.3g} exceeds "
            f"{MAX_LOGIT_SPREAD:g}: the softmax is nearly hard there and the conditional "
            "route's inner rules do not converge; use the Monte Carlo (or hard argmax)")
    if inner_nodes is None:
        inner_nodes = 24 if logit_spread(d, t) <= 4 else 48
    inner_nodes = check_int(inner_nodes, "inner_nodes", lo=8, hi=64)
    try:
        h = float(h)
    except (TypeError, ValueError):
        h = math.nan
    if not 0 < h <= 1:
        raise NSTheoryError(f"h must be in (0, 1]; got {h!r}")
    v2 = v_norm * v_norm
    params = dict(n=n, d=d, rho=rho, scale=scale, t=t, v_norm=v_norm, points=points,
                  replicates=replicates, seed=seed, inner_nodes=inner_nodes, h=h)
    quantity = ("raw Stab E[f_ij(X) f_ij(Y)], random W (i.i.d. N(0, 1), fresh with the tokens): "
                "W and the other tokens integrated exactly, the query pair and W's action on it "
                "by scrambled Sobol points; error = standard error over the scramblings")
    if n == 1:
        vals = [v2 * rho] * replicates
    else:
        vals = []
        for rep in range(replicates):
            u = qmc.Sobol(10, scramble=True, seed=seed + rep).random_base2(
                int(math.log2(points)))
            vals.append(v2 * _estimate(n, d, rho, t, u, inner_nodes, h))
            if progress is not None:
                progress(rep + 1)
    arr = np.asarray(vals)
    if not np.all(np.isfinite(arr)):
        raise NSTheoryError("the conditional route overflowed (non-finite values); use the Monte "
                            "Carlo for this configuration")
    return ConditionalStab(float(arr.mean()), float(arr.std(ddof=1) / math.sqrt(arr.size)),
                           [float(v) for v in vals], params, quantity)
