"""Deterministic quadrature of one attention layer's noise stability in the smallest case.

For ``n = 2`` tokens of dimension ``d = 1`` the layer ``f(X) = softmax(X W X^T) X`` (random
scalar ``W ~ N(0, 1)``, unscaled logits, query = the last token, value ``v = 1``) reads

    f(a, b) = b + (a - b) * sigmoid(W b (a - b)),

so ``Stab_rho = E[f(X) f(Y)]`` is a 5-dimensional Gaussian integral over ``(W, x_1, x_2, z_1,
z_2)`` with ``Y = rho X + sqrt(1 - rho^2) Z``. :func:`stab_random_d1_n2` evaluates it by a
tensor Gauss–Hermite rule: an independent, non-random route to the finite-d stability of
random attention (Monte Carlo is the other). The integrand is analytic but has steep sigmoid
fronts, so the rule converges slowly (roughly 1e-3 at 32 nodes); compare two node counts for an
error estimate.

>>> round(stab_random_d1_n2(0.5, 12), 3)
0.342
"""

from __future__ import annotations

import numpy as np

from nstheory.errors import check_int, check_rho


def stab_random_d1_n2(rho: float, nodes: int = 32) -> float:
    """``E[f(X) f(Y)]`` for ``n = 2``, ``d = 1``, random scalar ``W``, by a ``nodes^5`` tensor
    Gauss–Hermite rule (probabilists' weights).

    Parameters
    ----------
    rho : float
        Correlation of the Gaussian noise, applied to both tokens.
    nodes : int
        Nodes per dimension (cost grows as ``nodes^5``; 32 takes a few seconds).
    """
    from numpy.polynomial.hermite_e import hermegauss

    check_rho(rho)
    nodes = check_int(nodes, "nodes", lo=2, hi=48)
    t, w = hermegauss(nodes)
    w = w / np.sqrt(2 * np.pi)
    s = np.sqrt(max(0.0, 1 - rho * rho))
    total = 0.0
    for iw, wv in enumerate(t):  # loop over W keeps the 4-D slices small
        x1, x2, z1, z2 = np.meshgrid(t, t, t, t, indexing="ij", sparse=True)
        weight = w[iw] * np.einsum("a,b,c,d->abcd", w, w, w, w)
        y1, y2 = rho * x1 + s * z1, rho * x2 + s * z2
        total += float((weight * _f(wv, x1, x2) * _f(wv, y1, y2)).sum())
    return total


def _f(wv, a, b):
    """Output of the n = 2, d = 1 layer for tokens (a, b) and query b."""
    u = wv * b * (a - b)
    sig = np.exp(-np.logaddexp(0.0, -u))  # sigmoid(u), overflow-free
    return b + (a - b) * sig
