r"""Gaussian four-point moments of an activation for two independent input pairs.

The finite-width recursion tracks the empirical kernel (and channel means) of four inputs: a
pair ``(X, Y)`` (inputs 0, 1) and a second, independent pair ``(X', Y')`` (inputs 2, 3) that
goes through the *same* weights. In the mean-field limit their pre-activation covariance has
the symmetric form

.. math::
    G = \begin{pmatrix} q & c & e & e\\ c & q & e & e\\ e & e & q & c\\ e & e & c & q
    \end{pmatrix},\qquad 0 \le e \le c \le q,

which is the law of ``z_i = sqrt(e) w + sqrt(c - e) w_P + sqrt(q - c) n_i`` with independent
standard normals ``w`` (shared), ``w_P`` (one per pair) and ``n_i`` (one per input). Any
expectation ``E prod_i phi(z_i)^{k_i}`` is then three nested one-dimensional Gaussian
integrals. For smooth activations each is a Gauss-Hermite rule (``NODES``).

For ReLU the innermost level is the closed-form truncated-normal moment, and the kink, smoothed
at the width ``sqrt(q - c)`` by the inner level and ``sqrt(q - e)`` by the middle one, is
*resolved* at the two outer levels however narrow it is (the correlations approach 1 with depth
and near ``rho = 1``): where a level's Gaussian is wider than the kink, the integrand is split
into a polynomial times ``1(x > 0)``, integrated in closed form (Stein's recursion for the
truncated moments), plus a remainder of the kink's width, integrated by a composite
Gauss-Legendre rule in units of that width with the jump at a panel edge; otherwise the
integrand is smooth on the Gaussian's scale and Gauss-Hermite is used. Against nested adaptive
quadrature and the certified arb moments the entries agree to ~1e-15 (relative), also at
``c / q = 0.9999``; a fixed 64-node rule per level was off by up to 1e-5 there (30% on a
depth-2 coefficient at ``rho = 0.99``).

:func:`kernel_entries` lists the ten kernel entries ``(a, b)``, ``a <= b``;
:func:`four_point_source` returns ``S[(ab), (cd)] = E[phi_a phi_b phi_c phi_d] - F_ab F_cd``
(the conditional covariance of the empirical kernel times the width).

>>> s = four_point_source("identity", 1.0, 0.5, 0.0)
>>> ent = kernel_entries()
>>> round(float(s[ent.index((0, 0)), ent.index((0, 0))]), 12)   # Var(z^2) = 2 q^2
2.0
>>> round(float(s[ent.index((0, 1)), ent.index((2, 3))]), 12)   # independent pairs
0.0
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from nstheory.errors import NSTheoryError

#: Gauss-Hermite nodes of the outer (shared), middle (per pair) and inner (per input) levels
NODES = (64, 64, 64)


def stat_entries() -> list[tuple]:
    """The 14 tracked statistics: the kernel entries ``(a, b)`` of :func:`kernel_entries`, then
    the channel means ``(a,)`` of the four inputs (needed by LayerNorm).

    >>> stat_entries()[10:]
    [(0,), (1,), (2,), (3,)]
    """
    return kernel_entries() + [(a,) for a in range(4)]


def kernel_entries() -> list[tuple[int, int]]:
    """The ten entries ``(a, b)``, ``0 <= a <= b <= 3``, of the four-input kernel, in the
    order used by every vector and matrix of the recursion.

    >>> kernel_entries()[:4]
    [(0, 0), (0, 1), (0, 2), (0, 3)]
    """
    return [(a, b) for a in range(4) for b in range(a, 4)]


@cache
def _gh(n: int):
    t, w = np.polynomial.hermite_e.hermegauss(n)
    return t, w / w.sum()


#: composite Gauss-Legendre rule of ReLU's resolving levels: unit panels on
#: ``[-RESOLVE_HALF_WIDTH, RESOLVE_HALF_WIDTH]`` in units of the feature's width, the kink at a
#: panel edge, ``RESOLVE_POINTS`` nodes per panel
RESOLVE_HALF_WIDTH, RESOLVE_POINTS = 10, 8
#: Gauss-Hermite nodes of ReLU's middle level where the integrand is smooth on its scale
RELU_MIDDLE_NODES = 32


@cache
def _panel_rule():
    x, w = np.polynomial.legendre.leggauss(RESOLVE_POINTS)
    left = np.arange(-RESOLVE_HALF_WIDTH, RESOLVE_HALF_WIDTH, dtype=float)
    return (left[:, None] + 0.5 + 0.5 * x).ravel(), np.tile(0.5 * w, left.size)


def _half_moments(mu, sd: float, pmax: int):
    """``J_p = E[y^p 1(y > 0)]`` for ``y ~ N(mu, sd^2)``, ``p = 0..pmax`` (Stein's recursion
    ``J_p = mu J_{p-1} + (p - 1) sd^2 J_{p-2}``; ``sd = 0`` gives ``mu^p 1(mu > 0)``)."""
    from scipy.special import ndtr

    mu = np.asarray(mu, dtype=float)
    if sd == 0.0:
        pos = (mu > 0).astype(float)
        return [pos * mu**p for p in range(pmax + 1)]
    t = mu / sd
    cdf = ndtr(t)
    J = [cdf, mu * cdf + (sd / math.sqrt(2 * math.pi)) * np.exp(-0.5 * t * t)]
    for p in range(2, pmax + 1):
        J.append(mu * J[p - 1] + ((p - 1) * sd * sd) * J[p - 2])
    return J[: pmax + 1]


def _relu_moments(x, s: float):
    """``E[relu(x + s n)^k]`` for ``k = 0..4`` (closed form)."""
    return [np.ones_like(np.asarray(x, dtype=float)), *_half_moments(x, s, 4)[1:]]


def _smoothing_matrix(var: float, deg: int = 4):
    """``G`` with ``G @ a`` the coefficients (low to high) of ``m -> E A(m + sqrt(var) n)`` for
    the polynomial ``A`` of degree ``<= deg`` with coefficients ``a``."""
    G = np.zeros((deg + 1, deg + 1))
    for p in range(deg + 1):
        for k in range(0, p + 1, 2):
            G[p - k, p] = math.comb(p, k) * var ** (k // 2) * math.prod(range(k - 1, 0, -2))
    return G


def _relu_polynomials(b: float, s: float):
    """Coefficient rows (9 x 5, low to high) of ``A_I = M_i M_j`` and ``Q_I = E A_I(m + b n)``,
    with ``M_k(y) = E (y + s n)^k``: ``relu(y + s n)^k`` averages to ``M_k(y) 1(y > 0)`` up to a
    term of width ``s`` around 0."""
    pi, pj = _index_tables()[:2]
    M = _smoothing_matrix(s * s)
    M[:, 0] = (1, 0, 0, 0, 0)
    A = np.array([np.convolve(M[:, i], M[:, j])[:5] for i, j in zip(pi, pj, strict=True)])
    return A, A @ _smoothing_matrix(b * b).T


def _relu_pair_integrals(m, b: float, s: float, A):
    """``P_I(m) = E[relu(y + s n)^i relu(y + s n')^j]``, ``y ~ N(m, b^2)``, for the nine pairs
    ``I = (i, j)`` of :func:`_index_tables` (row 0 is ``(0, 0)``: ``P = 1``).

    The inner level is closed form. Where ``b < s`` the middle integrand is smooth on the scale
    of ``b`` (Gauss-Hermite); otherwise ``relu(.)`` smoothed at scale ``s`` is written as
    ``A_I(y) 1(y > 0)`` (:func:`_relu_polynomials`; closed form under ``y ~ N(m, b^2)``) plus a
    remainder of width ``s`` integrated by :func:`_panel_rule` in ``y / s`` (``A`` from
    :func:`_relu_polynomials`).
    """
    pi, pj = _index_tables()[:2]
    if s == 0.0:  # the inner level is relu itself: the middle level is closed form
        P = A @ np.array(_half_moments(m, b, 4))
        P[0] = 1.0
        return P
    if b < s:
        t, w = _gh(RELU_MIDDLE_NODES)
        mk = _relu_moments(m[:, None] + b * t, s)
        return np.stack([(mk[i] * mk[j]) @ w for i, j in zip(pi, pj, strict=True)])
    v, wv = _panel_rule()
    y = s * v
    mk = _relu_moments(y, s)
    rem = np.stack([mk[i] * mk[j] for i, j in zip(pi, pj, strict=True)])
    rem -= (A @ np.vander(y, 5, increasing=True).T) * (y > 0)
    rem[0] = 0.0
    z = (y[None, :] - m[:, None]) / b
    K = (wv * s / b) * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    P = A @ np.array(_half_moments(m, b, 4)) + rem @ K.T
    P[0] = 1.0
    return P


def _relu_products(q: float, c: float, e: float):
    """``E[P_I(w) P_J(w)]`` over the shared level ``m ~ N(0, e)`` (ReLU).

    Where ``sqrt(e)`` is at most the width ``sqrt(q - e)`` of the pair integrals' kink, by
    Gauss-Hermite; otherwise the singular part ``Q_I Q_J 1(m > 0)`` is integrated in closed form
    and the remainder by :func:`_panel_rule` in ``m / sqrt(q - e)``. Every level thus resolves
    the kink, whatever the correlations (a fixed Gauss-Hermite rule did not once they near 1).
    """
    a, b, s, width = (math.sqrt(max(x, 0.0)) for x in (e, c - e, q - c, q - e))
    A, Q = _relu_polynomials(b, s)
    if a <= width:
        t, w = _gh(NODES[0])
        P = _relu_pair_integrals(a * t, b, s, A)
        return (P * w) @ P.T
    v, wv = _panel_rule()
    m = width * v
    P = _relu_pair_integrals(m, b, s, A)
    W = (wv * width / a) * np.exp(-0.5 * (m / a) ** 2) / math.sqrt(2 * math.pi)
    B = (Q @ np.vander(m, 5, increasing=True).T) * (m > 0)
    B[0] = 1.0
    # E[m^(k+l) 1(m > 0)] for m ~ N(0, a^2): the closed form of the singular part
    half = np.array([x.item() for x in _half_moments(0.0, a, 8)])
    closed = Q @ half[np.add.outer(np.arange(5), np.arange(5))] @ Q.T
    closed[0, 0] = 1.0
    return closed + (P * W) @ P.T - (B * W) @ B.T


def _inner_moments(name: str, x, s: float):
    """``E[phi(x + s n)^k]``, ``k = 0..4``, on the array ``x`` (smooth ``phi``)."""
    from nstheory.propagation.maps import activation

    phi = activation(name).phi_np
    if s == 0.0:
        p = phi(x)
        return [np.ones_like(x), p, p**2, p**3, p**4]
    t, w = _gh(NODES[2])
    p = phi(x[..., None] + s * t)
    return [np.ones_like(x)] + [np.sum(w * p**k, axis=-1) for k in range(1, 5)]


@cache
def _index_tables():
    """Pair-integral index ``(k, k')`` lists and, for ``F`` (14) and ``S`` (14 x 14), which
    two pair integrals each expectation multiplies."""
    pairs = [(i, j) for i in range(5) for j in range(i, 5 - i)]
    pos = {p: n for n, p in enumerate(pairs)}
    ent = stat_entries()

    def split(idx):
        k = [0, 0, 0, 0]
        for i in idx:
            k[i] += 1
        return pos[tuple(sorted(k[:2]))], pos[tuple(sorted(k[2:]))]

    first = np.array([split(e) for e in ent])
    second = np.array([[split(a + b) for b in ent] for a in ent])
    return [p[0] for p in pairs], [p[1] for p in pairs], first, second


def four_point_source(name: str, q: float, c: float, e: float):
    """The 14 x 14 matrix ``S`` of the post-activation statistics for covariance ``G(q, c, e)``.

    See the module docstring; :func:`four_point_moments` returns ``(F, S)``.

    Examples
    --------
    ``S`` is a covariance matrix: symmetric, with ``S[0, 0] = Var relu(U)^2 = 3/2 - 1/4``
    at unit variance, whatever the correlation:

    >>> import numpy as np
    >>> s = four_point_source("relu", 1.0, 0.5, 0.0)
    >>> s.shape, bool(np.allclose(s, s.T)), round(float(s[0, 0]), 8)
    ((14, 14), True, 1.25)
    """
    return four_point_moments(name, q, c, e)[1]


def four_point_moments(name: str, q: float, c: float, e: float):
    """``(F, S)`` over the 14 statistics of :func:`stat_entries`: ``F[(ab)] = E[phi_a phi_b]``,
    ``F[(a,)] = E phi_a`` and ``S[i, j] = E[prod_i prod_j] - F_i F_j`` (e.g.
    ``E[phi_a phi_b phi_c phi_d] - F_ab F_cd``) for the covariance ``G(q, c, e)``, all by the
    same quadrature.

    >>> f, s = four_point_moments("relu", 1.0, 1.0 - 1e-300, 0.0)
    >>> round(float(f[0]), 10), round(float(s[0, 0]), 10)   # E relu^2 = 1/2, Var relu^2 = 3/2 - 1/4
    (0.5, 1.25)
    """
    q, c, e = float(q), float(c), float(e)
    if not (q > 0 and math.isfinite(q)):
        raise NSTheoryError(f"four-point moments need a finite q > 0, got {q}")
    if not (-1e-12 * q <= e <= c + 1e-12 * q and c <= q * (1 + 1e-12)):
        raise NSTheoryError(f"four-point moments need 0 <= e <= c <= q, got q={q}, c={c}, e={e}")
    e = max(e, 0.0)
    c = min(max(c, e), q)
    pi, pj, first, second = _index_tables()
    if name == "relu":
        e4 = _relu_products(q, c, e)
    else:
        tw, ww = _gh(NODES[0])
        tm, wm = _gh(NODES[1])
        x = math.sqrt(e) * tw[:, None] + math.sqrt(c - e) * tm[None, :]
        mk = _inner_moments(name, x, math.sqrt(q - c))  # mk[k][w, m]
        # per-pair integrals over w_P, one per (k, k') with k + k' <= 4, as functions of w;
        # then every product of two of them integrated over w in one matrix product
        pair = np.stack([wm @ (mk[i] * mk[j]).T for i, j in zip(pi, pj, strict=True)])
        e4 = (pair * ww) @ pair.T
    f = e4[first[:, 0], first[:, 1]]
    s = e4[second[..., 0], second[..., 1]] - np.outer(f, f)
    return f, s
