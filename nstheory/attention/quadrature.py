"""Deterministic quadrature of one attention layer's noise stability for random ``W``.

For ``n = 2`` tokens of dimension ``d = 1`` the layer ``f(X) = softmax(X W X^T) X`` (random
scalar ``W ~ N(0, 1)``, unscaled logits, query = the last token, value ``v = 1``) reads

    f(a, b) = b + (a - b) * sigmoid(W b (a - b)),

so ``Stab_rho = E[f(X) f(Y)]`` is a 5-dimensional Gaussian integral over ``(W, x_1, x_2, z_1,
z_2)`` with ``Y = rho X + sqrt(1 - rho^2) Z``. :func:`stab_random_d1_n2` evaluates it by a
tensor Gauss–Hermite rule: an independent, non-random route to the finite-d stability of
random attention (Monte Carlo is the other). The integrand is analytic but has steep sigmoid
fronts, so the rule converges slowly (errors of about 1e-3 at 32 nodes, up to 3.4e-3 at
``rho = 1``); compare two node counts for an error estimate.

>>> round(stab_random_d1_n2(0.5, 12), 3)
0.342

For ``n = 2`` and any ``d >= 4`` with hard-argmax attention, :func:`stab_random_hard_n2`
integrates ``W`` out exactly and is deterministic in ``d``. Given ``X`` and ``Y`` the logits
``x_i^T W x_k`` and ``y_i^T W y_l`` are jointly Gaussian with covariances
``(x_i . y_i)(x_k . y_l)`` (and likewise within ``X`` and within ``Y``), so the argmaxes agree
with an orthant probability that depends on the Gram matrix ``G`` of ``(x_1, y_1, x_2, y_2)``
only. For two tokens, ``P(k = k' | G) = 1/2 + arcsin(r)/pi`` with
``r = cos(x_i, y_i) cos(x_1 - x_2, y_1 - y_2)``; with the value column ``v = e_1`` and the
rotation invariance of the frame given ``G`` (``E[a_1 b_1 | G] = a . b / d``),

    Stab_rho = rho/2 + E_G[arcsin(r) (x_1 - x_2).(y_1 - y_2)] / (2 pi d),

an expectation over a 4 x 4 Wishart matrix with ``d`` degrees of freedom. Its Bartlett
factor has four chi-square and six standard normal entries; a tensor Gauss rule in these ten
variables (Gauss–Laguerre for the chi-squares, Gauss–Hermite for the normals) converges fast
because the integrand is smooth and, for large ``d``, nearly polynomial in them. As ``d`` grows
the value tends to ``rho s_2(rho^2)`` (Theorem 5.3 as reconstructed) with a gap of order ``1/d``.

>>> round(stab_random_hard_n2(0.5, 256), 8)
0.29103245
"""

from __future__ import annotations

import numpy as np

from nstheory.errors import NSTheoryError, check_int, check_rho


def stab_random_d1_n2(rho: float, nodes: int = 32) -> float:
    """``E[f(X) f(Y)]`` for ``n = 2``, ``d = 1``, random scalar ``W``, by a ``nodes^5`` tensor
    Gauss–Hermite rule (probabilists' weights).

    Parameters
    ----------
    rho : float
        Correlation of the Gaussian noise, applied to both tokens.
    nodes : int
        Nodes per dimension (cost grows as ``nodes^5``; 32 takes a few seconds).

    Examples
    --------
    The layer output is odd in the tokens, so independent noise (``rho = 0``) gives 0:

    >>> abs(stab_random_d1_n2(0.0, nodes=8)) < 1e-15
    True
    >>> stab_random_d1_n2(0.5, nodes=64)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: nodes must be <= 48, got 64
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


def chi2_gauss_rule(nodes: int, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss rule for the chi-square law with ``k`` degrees of freedom.

    Nodes and probability weights (summing to 1) from the Golub–Welsch eigenproblem of the
    generalised Laguerre recurrence with ``alpha = k/2 - 1``: exact for polynomials of degree
    ``< 2 nodes`` in the chi-square variable, and free of the ``Gamma(alpha + 1)`` overflow of
    unnormalised Laguerre weights at large ``k``.

    >>> x, w = chi2_gauss_rule(3, 10)
    >>> round(float(w @ x), 10), round(float(w @ x**2), 8)  # E = k, E[x^2] = k (k + 2)
    (10.0, 120.0)
    """
    nodes = check_int(nodes, "nodes", lo=1, hi=64)
    if not k > 0:
        raise NSTheoryError(f"degrees of freedom must be positive, got {k!r}")
    alpha = k / 2 - 1
    j = np.arange(1, nodes)
    jac = np.diag(2 * np.arange(nodes) + alpha + 1) + np.diag(np.sqrt(j * (j + alpha)), 1)
    x, vec = np.linalg.eigh(jac, UPLO="U")
    return 2 * x, vec[0] ** 2


def stab_random_hard_n2(rho: float, d: int, nodes: int = 4) -> float:
    """Raw ``Stab_rho(f_ij)`` of hard-argmax attention with ``n = 2`` tokens and a random
    ``W`` (i.i.d. N(0, 1)), ``||v|| = 1``, exact in ``d`` up to the quadrature error.

    A ``nodes^10`` tensor rule over the Bartlett factor of the Gram matrix (see the module
    docstring); the scale of the logits is irrelevant for the argmax.

    Parameters
    ----------
    rho : float
        Correlation of the Gaussian noise on all ``2 d`` coordinates.
    d : int
        Token dimension, at least 4 (the Gram matrix of four vectors must be non-singular).
    nodes : int
        Nodes per variable (cost ``nodes^10``: 4 takes ~0.1 s, 5 ~1 s, 6 ~10 s). Four and
        five nodes differ by 4e-5 at ``d = 8``, 3.5e-8 at ``d = 64`` and 1.6e-10 at
        ``d = 256`` (rho = 0.5). Compare two node counts for an error estimate.

    Examples
    --------
    >>> round(stab_random_hard_n2(1.0, 64), 12)  # Y = X: E[f^2] = 1
    1.0
    >>> abs(stab_random_hard_n2(0.0, 64)) < 1e-12  # independent inputs, odd f
    True
    """
    from numpy.polynomial.hermite_e import hermegauss

    check_rho(rho)
    d = check_int(d, "d", lo=4)
    nodes = check_int(nodes, "nodes", lo=2, hi=8)
    s = np.sqrt(max(0.0, 1 - rho * rho))
    t, wt = hermegauss(nodes)
    wt = wt / wt.sum()

    def axis(arr, k):  # put a 1-D node array on axis k of a 10-D broadcast grid
        shape = [1] * 10
        shape[k] = -1
        return np.asarray(arr).reshape(shape)

    rules = [chi2_gauss_rule(nodes, d - j) for j in range(4)]  # Bartlett diagonal: chi_{d-j}
    a11, a22, a33, a44 = (axis(np.sqrt(rules[j][0]), j) for j in range(4))
    a21, a31, a32, a41, a42, a43 = (axis(t, 4 + j) for j in range(6))
    weight = 1.0
    for j in range(4):
        weight = weight * axis(rules[j][1], j)
    for j in range(6):
        weight = weight * axis(wt, 4 + j)
    # Rows of the Bartlett factor A give x_1 = a_1, y_1 = rho a_1 + s a_2, x_2 = a_3,
    # y_2 = rho a_3 + s a_4 (the Cholesky factor of the pairs' correlation [[1, rho], [rho, 1]]).
    a1, a2 = (a11, 0.0, 0.0, 0.0), (a21, a22, 0.0, 0.0)
    a3, a4 = (a31, a32, a33, 0.0), (a41, a42, a43, a44)
    x1, x2 = a1, a3
    y1 = tuple(rho * p + s * q for p, q in zip(a1, a2, strict=True))
    y2 = tuple(rho * p + s * q for p, q in zip(a3, a4, strict=True))
    dx = tuple(p - q for p, q in zip(x1, x2, strict=True))
    dy = tuple(p - q for p, q in zip(y1, y2, strict=True))

    def dot(u, v):
        return sum(p * q for p, q in zip(u, v, strict=True))

    dxy = dot(dx, dy)
    r = dot(x1, y1) / np.sqrt(dot(x1, x1) * dot(y1, y1)) * dxy / np.sqrt(dot(dx, dx) * dot(dy, dy))
    mean = float((weight * np.arcsin(np.clip(r, -1.0, 1.0)) * dxy).sum())
    return rho / 2 + mean / (2 * np.pi * d)


def extrapolate_in_inverse_d(ds, values) -> tuple[float, float]:
    """Neville extrapolation of ``values[k] = F(ds[k])`` to ``d = infinity`` in ``h = 1/d``.

    Fits the polynomial in ``1/d`` through all points and returns its value at ``h = 0`` and,
    as an error estimate, the change from dropping the smallest ``d``.

    >>> ds = [10, 20, 40, 80]
    >>> v, err = extrapolate_in_inverse_d(ds, [1 + 2 / d + 3 / d**2 for d in ds])
    >>> round(v, 12), err < 1e-12
    (1.0, True)
    """
    h = [1.0 / check_int(d, "d", lo=1) for d in ds]
    if len(h) != len(values) or len(h) < 2:
        raise NSTheoryError("need at least two (d, value) pairs of equal length")

    def neville(hs, vs):
        p = list(vs)
        for m in range(1, len(hs)):
            for k in range(len(hs) - m):
                p[k] = (hs[k + m] * p[k] - hs[k] * p[k + 1]) / (hs[k + m] - hs[k])
        return p[0]

    order = np.argsort(h)[::-1]  # largest h (smallest d) first
    hs, vs = [h[k] for k in order], [float(values[k]) for k in order]
    full = neville(hs, vs)
    return full, abs(full - neville(hs[1:], vs[1:]))
