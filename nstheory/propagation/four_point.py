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
integrals, each by Gauss-Hermite quadrature (``NODES``); for ReLU the innermost one is the
closed-form truncated-normal moment, so no quadrature sees the kink. Accuracy (ReLU, against
200-node levels): ~1e-5 relative on the depth-20 1/width coefficient, ~1e-3 at depth 100 (the
correlation nears 1 and the smoothed kink sharpens), far below the expansion's own truncation.

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


def _relu_moments(x, s):
    """``E[relu(x + s n)^k]`` for ``k = 0..4`` (closed form; ``s > 0``)."""
    from scipy.special import ndtr

    t = x / s
    big, small = ndtr(t), np.exp(-0.5 * t * t) * (1 / math.sqrt(2 * math.pi))
    x2, s2 = x * x, s * s
    m1 = x * big + s * small
    m2 = (x2 + s2) * big + x * s * small
    m3 = x * (x2 + 3 * s2) * big + s * (x2 + 2 * s2) * small
    m4 = (x2 * x2 + 6 * x2 * s2 + 3 * s2 * s2) * big + x * s * (x2 + 5 * s2) * small
    return [np.ones_like(x), m1, m2, m3, m4]


def _phi_np(name: str):
    from nstheory.propagation.maps import activation

    if name == "relu":
        return lambda x: np.maximum(x, 0.0)
    return activation(name).phi_np


def _inner_moments(name: str, x, s: float):
    """``E[phi(x + s n)^k]``, ``k = 0..4``, on the array ``x``."""
    if s == 0.0:
        p = _phi_np(name)(x)
        return [np.ones_like(x), p, p**2, p**3, p**4]
    if name == "relu":
        return _relu_moments(x, s)
    t, w = _gh(NODES[2])
    p = _phi_np(name)(x[..., None] + s * t)
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
    tw, ww = _gh(NODES[0])
    tm, wm = _gh(NODES[1])
    x = math.sqrt(e) * tw[:, None] + math.sqrt(c - e) * tm[None, :]
    mk = _inner_moments(name, x, math.sqrt(q - c))  # mk[k][w, m]
    # per-pair integrals over w_P, one per (k, k') with k + k' <= 4, as functions of w; then
    # every product of two of them integrated over w in one matrix product
    pi, pj, first, second = _index_tables()
    pair = np.stack([wm @ (mk[i] * mk[j]).T for i, j in zip(pi, pj, strict=True)])
    e4 = (pair * ww) @ pair.T
    f = e4[first[:, 0], first[:, 1]]
    s = e4[second[..., 0], second[..., 1]] - np.outer(f, f)
    return f, s
