r"""One query's softmax output pair, averaged over the other tokens exactly (Laplace route).

Both finite-``d`` routes of a softmax attention layer (identity ``W`` in
:mod:`~nstheory.attention.identity_finite_d`, random ``W`` in
:mod:`~nstheory.attention.random_finite_d`) reduce ``E[f(X).f(Y)]`` to the same conditional
expectation. Fix the query's pair of *logit vectors* ``q, q'`` (the logits of token ``l`` are
``t q.x_l`` and ``t q'.y_l``; ``q = x_i`` for identity ``W``, ``q = W^T x_i`` for random ``W``)
and the query's own data: its logits ``t o_X``, ``t o_Y``, the coordinates ``(P_1, P_2)`` of
``x_i`` and ``(Q_1, Q_2)`` of ``y_i`` in the orthonormal frame ``(e_1, e_2)`` of ``(q, q')``
(``q = r_1 e_1``, ``q' = pi_1 e_1 + pi_2 e_2``) and the product ``x_i.y_i``. Given these, the
other ``k = n - 1`` tokens are i.i.d. and independent of them:

* token ``l``'s logits are ``t r_1 xi`` and ``t (rho pi_1 xi + sqrt(V) eta)`` for two standard
  normals ``(xi, eta)`` (``V = (1 - rho^2) pi_1^2 + pi_2^2``), and the conditional expectations
  of ``x_l``, ``y_l`` along ``e_1, e_2`` and of ``x_l.y_l`` are polynomials of degree <= 2 in
  them (the components orthogonal to ``e_1, e_2`` average out, leaving ``rho (d - 2)``);
* with self-relative weights ``A_l = e^{t (r_1 xi - o_X)}`` (likewise ``B_l``), the two
  normalisations ``S_X = 1 + sum A_l``, ``S_Y = 1 + sum B_l`` go by
  ``1 / (S_X S_Y) = int int e^{-s S_X - u S_Y} ds du`` (trapezoid rule in ``log s``, ``log u``);
  then the sum over the ``k`` tokens becomes powers of per-token two-dimensional Gaussian
  integrals (Gauss–Hermite), and ``n`` enters only as an exponent.

:func:`conditional_output_products` returns ``E[sum_{a,b} a_a b_b x_a.y_b | query data]`` per
query point (vectorised over points) and, on request, the pattern overlap
``E[sum_a a_a b_a | query data]`` from the same per-token integrals.

Examples
--------
A query alone (``n = 1``) attends to itself: the result is ``x_i.y_i``.

>>> import numpy as np
>>> one = np.ones(1)
>>> float(conditional_output_products(
...     1, 4, 0.5, 0.5, r1=2 * one, pi1=one, pi2=one, off_x=one, off_y=one,
...     p1=2 * one, p2=0 * one, q1=one, q2=one, xy=0.7 * one)[0])
0.7
"""

from __future__ import annotations

import math

import numpy as np

from nstheory.errors import NSTheoryError

__all__ = [
    "LOG_WEIGHT_CAP",
    "LO_MIN",
    "conditional_output_products",
    "laplace_floor",
    "laplace_rule",
    "query_data",
    "sampled_output_products",
]


#: Cap on the exponent of the self-relative weights ``A``, ``B``: products such as ``A B`` times
#: a polynomial stay finite, and a capped weight meets only Laplace nodes ``s >= e^LO_MIN``
#: where ``e^{-s A}`` vanishes whether capped or not (``e^{-e^{10}}``), so the cap changes
#: nothing.
LOG_WEIGHT_CAP = 340.0
#: Lowest Laplace-grid end the cap is exact for.
LO_MIN = 10.0 - LOG_WEIGHT_CAP


def laplace_rule(h: float, lo: float = -24.0, hi: float = 3.8):
    """Nodes ``s = e^tau`` and weights ``h s e^{-s}`` of the trapezoid rule for
    ``int_0^inf e^{-s} F(s) ds`` in ``tau = log s``.

    ``e^{-sS}`` for ``S >= 1`` is resolved to a relative ``4e-10`` at ``h = 0.4``, ``5e-8`` at
    ``h = 0.5``; the part below ``e^lo`` is about ``e^lo S``, so ``lo`` must sit below
    ``-log S`` for the normalisations ``S`` met.

    Examples
    --------
    >>> s, w = laplace_rule(0.4)
    >>> round(float(w.sum()), 9)  # int_0^inf e^{-s} ds = 1
    1.0
    """
    if not (0 < h <= 1 and lo < hi):
        raise NSTheoryError(f"need 0 < h <= 1 and lo < hi; got h={h!r}, lo={lo!r}, hi={hi!r}")
    tau = np.arange(hi, lo - h / 2, -h)[::-1]
    s = np.exp(tau)
    return s, h * s * np.exp(-s)


def laplace_floor(k: int, t: float, r1, pi1, pi2, off_x, off_y, xi_max: float | None = None,
                  rho: float = 0.0):
    """Per point, the lower end of the Laplace grid, ``-24 - log(1 + k sqrt(E[A^2]))``, with
    ``A`` the other tokens' self-relative weight on the side where its second moment is larger,
    so that the truncated part stays ~1e-10 of the normalisations that carry the probability.

    With ``xi_max`` (the largest inner Gauss–Hermite node) and ``rho``, the second moment is
    capped by the largest weight the inner rule ever evaluates, ``A <= e^{t (|q| xi_max - q.x_i)}``
    (likewise ``B``): the discretised integrals never meet a larger normalisation, so a longer
    grid would only integrate zeros (it matters for steep logit vectors, whose second moment
    comes from far beyond the inner nodes).

    Examples
    --------
    >>> import numpy as np
    >>> z = np.zeros(1)
    >>> bool(laplace_floor(1, 0.5, z, z, z, z, z)[0] == -24 - np.log(2))  # E[A^2] = 1
    True
    >>> one = np.ones(1)  # |q| = 20, t = 1: E[A^2] = e^800, but A <= e^{20 x 9.5 - 1}
    >>> float(laplace_floor(1, 1.0, 20 * one, z, z, one, z)[0]) < -400
    True
    >>> round(float(laplace_floor(1, 1.0, 20 * one, z, z, one, z, xi_max=9.5)[0]), 6)
    -213.0
    """
    r1, pi1, pi2 = (np.asarray(a, dtype=float) for a in (r1, pi1, pi2))
    la = 2 * t * t * r1 ** 2 - 2 * t * np.asarray(off_x)  # log E[A^2]
    lb = 2 * t * t * (pi1 ** 2 + pi2 ** 2) - 2 * t * np.asarray(off_y)  # log E[B^2]
    if xi_max is not None:  # log of the largest A^2, B^2 the inner nodes produce
        spread_b = abs(rho) * np.abs(pi1) + np.sqrt((1 - rho * rho) * pi1 ** 2 + pi2 ** 2)
        la = np.minimum(la, 2 * t * (r1 * xi_max - np.asarray(off_x)))
        lb = np.minimum(lb, 2 * t * (spread_b * xi_max - np.asarray(off_y)))
    return -24.0 - np.logaddexp(0.0, math.log(k) + 0.5 * np.maximum(la, lb))


def query_data(p, pp, q, qq) -> dict:
    """The query data of :func:`conditional_output_products` from the query pair ``p = x_i``,
    ``pp = y_i`` and its logit vectors ``q``, ``qq`` (arrays of shape ``(P, m)``, one row per
    point, in any common coordinates).

    Returns
    -------
    dict
        ``r1 = |q|``, ``pi1, pi2`` (``qq`` in the frame ``e_1 = q / |q|``, ``e_2``), the own
        logits over ``t`` (``off_x = p.q``, ``off_y = pp.qq``), ``p1, p2, q1, q2`` (``p``, ``pp``
        along ``e_1, e_2``) and ``xy = p.pp``.

    Examples
    --------
    Identity ``W``: the logit vectors are the query pair itself.

    >>> import numpy as np
    >>> p, pp = np.array([[2.0, 0.0]]), np.array([[1.6, 0.8]])
    >>> geo = query_data(p, pp, p, pp)
    >>> [round(float(geo[k][0]), 6) for k in ("r1", "pi1", "pi2", "off_x", "off_y", "xy")]
    [2.0, 1.6, 0.8, 4.0, 3.2, 3.2]
    """
    nq = np.linalg.norm(q, axis=1)
    e1 = q / np.where(nq > 0, nq, 1.0)[:, None]
    pi1 = (qq * e1).sum(axis=1)
    rest = qq - pi1[:, None] * e1
    pi2 = np.linalg.norm(rest, axis=1)
    e2 = rest / np.where(pi2 > 0, pi2, 1.0)[:, None]

    def dot(x, y):
        return (x * y).sum(axis=1)

    return dict(r1=nq, pi1=pi1, pi2=pi2, off_x=dot(p, q), off_y=dot(pp, qq), p1=dot(p, e1),
                p2=dot(p, e2), q1=dot(pp, e1), q2=dot(pp, e2), xy=dot(p, pp))


def _frame(r1, pi1, pi2, rho):
    """Coefficients of the other tokens' conditional moments in the frame of ``(q, q')``."""
    sig = math.sqrt(max(0.0, 1.0 - rho * rho))
    V = sig * sig * pi1 * pi1 + pi2 * pi2
    sV = np.sqrt(V)
    safe = np.where(sV > 0, sV, 1.0)
    k2 = np.where(sV > 0, rho * pi2 / safe, 0.0)
    k3 = np.where(sV > 0, sig * pi1 / safe, 0.0)
    k4 = np.where(sV > 0, sig * pi2 / safe, 0.0)
    return sig, sV, k2, k3, k4


def conditional_output_products(n: int, d: int, rho: float, t: float, *, r1, pi1, pi2, off_x,
                                off_y, p1, p2, q1, q2, xy, inner_nodes: int = 32,
                                h: float = 0.4, lo: float | None = None,
                                overlap: bool = False):
    """``E[sum_{a,b} a_a(X) b_b(Y) x_a.y_b | query data]`` per query point (see the module
    docstring), the softmax weights ``a`` of ``X`` and ``b`` of ``Y`` for one query; with
    ``overlap``, also the pattern overlap ``E[sum_a a_a b_a | query data]``.

    Parameters
    ----------
    n, d : int
        Tokens and channels.
    rho : float
        Noise correlation of the other tokens.
    t : float
        Numeric logit scale.
    r1, pi1, pi2 : ndarray
        Geometry of the logit vectors: ``|q|``, ``q'.e_1``, ``q'.e_2 >= 0``.
    off_x, off_y : ndarray
        The query's own logits divided by ``t`` (``q.x_i``, ``q'.y_i``).
    p1, p2, q1, q2 : ndarray
        ``x_i.e_1``, ``x_i.e_2``, ``y_i.e_1``, ``y_i.e_2``.
    xy : ndarray
        ``x_i.y_i``.
    inner_nodes : int
        Gauss–Hermite nodes per inner variable.
    h : float
        Laplace step in ``log s``.
    lo : float, optional
        Lower end of the Laplace grid; by default the lowest :func:`laplace_floor` of the
        points given.
    overlap : bool
        Also return the pattern overlap (the query's own term ``1 / (S_X S_Y)`` plus the other
        tokens' ``A_l B_l / (S_X S_Y)``).

    Returns
    -------
    ndarray, or (ndarray, ndarray) with ``overlap``
        One value per point (and the overlap per point).

    Examples
    --------
    Independent noise (``rho = 0``) and an orthogonal query pair (``x_i.y_i = 0``, ``x_i`` along
    ``e_1``, ``y_i`` along ``e_2``): every product the output needs has conditional mean zero.

    >>> import numpy as np
    >>> one = np.ones(1)
    >>> v = conditional_output_products(2, 3, 0.0, 0.5, r1=2 * one, pi1=0 * one, pi2=2 * one,
    ...     off_x=4 * one, off_y=4 * one, p1=2 * one, p2=0 * one, q1=0 * one, q2=2 * one,
    ...     xy=0 * one)
    >>> abs(float(v[0])) < 1e-12
    True

    Two tokens with logit vectors of length zero: both patterns are uniform, so the overlap is
    ``2 (1/2)(1/2) = 1/2``:

    >>> z = 0 * one
    >>> _, ov = conditional_output_products(2, 3, 0.5, 0.5, r1=z, pi1=z, pi2=z, off_x=z,
    ...     off_y=z, p1=z, p2=z, q1=z, q2=z, xy=z, overlap=True)
    >>> round(float(ov[0]), 9)
    0.5
    """
    from numpy.polynomial.hermite_e import hermegauss

    if n == 1:  # the query attends to itself only
        own = np.asarray(xy, dtype=float).copy()
        return (own, np.ones_like(own)) if overlap else own
    k = n - 1
    z, wz = hermegauss(inner_nodes)
    wz = wz / math.sqrt(2 * math.pi)
    sig, sV_, k2_, k3_, k4_ = _frame(r1, pi1, pi2, rho)
    if lo is None:
        lo = float(np.min(laplace_floor(k, t, r1, pi1, pi2, off_x, off_y,
                                        xi_max=float(z[-1]), rho=rho)))
    if not lo >= LO_MIN:
        raise NSTheoryError(
            f"the Laplace grid would need to reach e^{lo:.4g} (below e^{LO_MIN:g}): the other "
            "tokens' weights relative to the query's own logit are too extreme (near-hard "
            "softmax); use the Monte Carlo")
    s, ws = laplace_rule(h, lo=lo)

    def col(a):
        return np.asarray(a, dtype=float)[:, None, None]

    xi = z[None, :, None]  # (P, Z1, Z2) broadcasting
    eta = z[None, None, :]
    p1_, p2_, q1_, q2_, sV, k2, k3, k4, pi1c = map(col, (p1, p2, q1, q2, sV_, k2_, k3_, k4_,
                                                         pi1))
    A = np.exp(np.minimum(t * (np.asarray(r1)[:, None] * z[None, :]
                               - np.asarray(off_x)[:, None]), LOG_WEIGHT_CAP))
    B = np.exp(np.minimum(t * (rho * pi1c * xi + sV * eta - col(off_y)),
                          LOG_WEIGHT_CAP))  # (P, Z1, Z2)
    mx = (xi, k2 * eta)  # E[x_l] along e_1, e_2
    my = (rho * xi + sig * k3 * eta, (rho * k2 + sig * k4) * eta)  # E[y_l]
    lam_y = p1_ * my[0] + p2_ * my[1]  # E[x_i . y_l]
    lam_x = q1_ * mx[0] + q2_ * mx[1]  # E[x_l . y_i]
    q_same = (rho * (xi * xi - k2 * k2 + k2 * k2 * eta * eta + d - 1)
              + sig * (k3 * xi * eta + k2 * k4 * (eta * eta - 1)))  # E[x_l . y_l]
    Ab = A[:, :, None]
    ones = np.ones_like(B)
    fns = [ones, B * lam_y, Ab * lam_x, Ab * B * q_same, Ab * mx[0] * ones, Ab * mx[1] * ones,
           B * my[0] * ones, B * my[1] * ones] + ([Ab * B] if overlap else [])
    g_fns = np.stack(fns, axis=2)  # (P, Z1, 8 or 9, Z2)
    EB = np.exp(-B[..., None] * s)  # (P, Z1, Z2, U)
    T = np.matmul(g_fns * wz, EB)  # (P, Z1, 8, U): sum over eta
    EA = np.exp(-s[None, :, None] * A[:, None, :]) * wz  # (P, S, Z1)
    P_, Z1_ = A.shape
    F = np.matmul(EA, T.reshape(P_, Z1_, -1)).reshape(P_, s.size, len(fns), s.size)
    Z, GY, GX, H, mA1, mA2, mB1, mB2, *AB = np.moveaxis(F, 2, 0)  # each (P, S, U)
    inner = np.asarray(xy, dtype=float)[:, None, None] * Z ** k + k * Z ** (k - 1) * (GY + GX + H)
    if k >= 2:
        inner = inner + k * (k - 1) * Z ** (k - 2) * (mA1 * mB1 + mA2 * mB2)
    value = np.einsum("psu,s,u->p", inner, ws, ws)
    if not overlap:
        return value
    return value, np.einsum("psu,s,u->p", Z ** k + k * Z ** (k - 1) * AB[0], ws, ws)


def sampled_output_products(n: int, d: int, rho: float, t: float, rng, draws: int = 2048, *,
                            r1, pi1, pi2, off_x, off_y, p1, p2, q1, q2, xy):
    """The two conditional expectations of :func:`conditional_output_products` (output
    products and pattern overlap) with the other tokens **sampled** instead of integrated: an
    unbiased estimate per point from ``draws`` sets of ``n - 1`` tokens, for points whose
    logits are too steep for the Laplace route (near-hard softmax).

    Each other token is drawn in the frame ``(e_1, e_2)`` of the logit vectors (its components
    orthogonal to the plane enter no logit; they contribute their conditional mean,
    ``rho (d - 2)`` to ``x_l.y_l`` and zero elsewhere).

    Parameters
    ----------
    n, d, rho, t
        As for :func:`conditional_output_products`.
    rng : numpy.random.Generator
        Source of the draws.
    draws : int
        Sets of other tokens per point.
    r1, pi1, pi2, off_x, off_y, p1, p2, q1, q2, xy : ndarray
        The query data (see :func:`query_data`).

    Returns
    -------
    (ndarray, ndarray)
        Per point: the mean output product and the mean overlap over the draws.

    Examples
    --------
    Logit vectors of length zero: both patterns are uniform over the two tokens, so the
    overlap is 1/2 in every draw:

    >>> import numpy as np
    >>> z = np.zeros(1)
    >>> _, ov = sampled_output_products(2, 3, 0.5, 1.0, np.random.default_rng(0), 64, r1=z,
    ...     pi1=z, pi2=z, off_x=z, off_y=z, p1=z, p2=z, q1=z, q2=z, xy=z)
    >>> float(ov[0])
    0.5
    """
    k = n - 1
    sig = math.sqrt(max(0.0, 1.0 - rho * rho))

    def col(a):
        return np.asarray(a, dtype=float)[:, None, None]

    pts = np.asarray(r1).size
    dims = 2 if d >= 2 else 1
    xi = np.zeros((pts, draws, k, 2))
    xi[..., :dims] = rng.standard_normal((pts, draws, k, dims))
    noise = np.zeros_like(xi)
    noise[..., :dims] = rng.standard_normal((pts, draws, k, dims))
    y = rho * xi + sig * noise
    lx = t * col(r1) * xi[..., 0]  # (P, D, k): logits of the other tokens
    ly = t * (col(pi1) * y[..., 0] + col(pi2) * y[..., 1])
    own_x = np.broadcast_to(t * col(off_x)[..., 0], (pts, draws))
    own_y = np.broadcast_to(t * col(off_y)[..., 0], (pts, draws))

    def softmax(own, other):
        top = np.maximum(own, other.max(axis=-1))
        e_own, e_other = np.exp(own - top), np.exp(other - top[..., None])
        norm = e_own + e_other.sum(axis=-1)
        return e_own / norm, e_other / norm[..., None]

    a_i, a = softmax(own_x, lx)
    b_i, b = softmax(own_y, ly)
    px = np.stack([np.asarray(p1, float), np.asarray(p2, float)], axis=-1)[:, None, :]
    qy = np.stack([np.asarray(q1, float), np.asarray(q2, float)], axis=-1)[:, None, :]
    sx = a_i[..., None] * px + (a[..., None] * xi).sum(axis=2)  # (P, D, 2)
    sy = b_i[..., None] * qy + (b[..., None] * y).sum(axis=2)
    same = (a * b).sum(axis=2)
    rest_own = np.asarray(xy, float) - (px * qy).sum(axis=-1)[:, 0]
    value = ((sx * sy).sum(axis=-1) + a_i * b_i * rest_own[:, None]
             + rho * max(d - 2, 0) * same)
    return value.mean(axis=1), (a_i * b_i + same).mean(axis=1)
