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

__all__ = [
    "N2_COARSE",
    "N2_FINE",
    "chi2_gauss_rule",
    "extrapolate_in_inverse_d",
    "logistic_mixture_rule",
    "stab_random_d1_n2",
    "stab_random_hard_n2",
    "stab_random_n2_finite_d",
    "stab_random_softmax_n2",
]


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


def _dot(u, v):
    return sum(p * q for p, q in zip(u, v, strict=True))


def _bartlett_pairs(rho: float, d: int, nodes: int):
    """Tensor Gauss rule over the Bartlett factor of the Gram matrix of the two token pairs
    ``(x_1, y_1)``, ``(x_2, y_2)`` (each pair rho-correlated): ``nodes^10`` points, as
    broadcastable 10-D arrays. Returns ``weight, x1, y1, x2, y2`` (the vectors as 4-tuples of
    coordinates in the Bartlett frame)."""
    from numpy.polynomial.hermite_e import hermegauss

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
    y1 = tuple(rho * p + s * q for p, q in zip(a1, a2, strict=True))
    y2 = tuple(rho * p + s * q for p, q in zip(a3, a4, strict=True))
    return weight, a1, y1, a3, y2


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
    check_rho(rho)
    d = check_int(d, "d", lo=4)
    nodes = check_int(nodes, "nodes", lo=2, hi=8)
    weight, x1, y1, x2, y2 = _bartlett_pairs(rho, d, nodes)
    dx = tuple(p - q for p, q in zip(x1, x2, strict=True))
    dy = tuple(p - q for p, q in zip(y1, y2, strict=True))
    dxy = _dot(dx, dy)
    r = (_dot(x1, y1) / np.sqrt(_dot(x1, x1) * _dot(y1, y1))
         * dxy / np.sqrt(_dot(dx, dx) * _dot(dy, dy)))
    mean = float((weight * np.arcsin(np.clip(r, -1.0, 1.0)) * dxy).sum())
    return rho / 2 + mean / (2 * np.pi * d)


def _ks_density(x):
    """Density of the Kolmogorov-Smirnov law (alternating series above 0.8, the theta series
    below it; both to double precision)."""
    import math

    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    big = x > 0.8
    k = np.arange(1, 40)[:, None]
    xb = x[big]
    out[big] = (8 * xb * ((-1.0) ** (k - 1) * k * k * np.exp(-2 * k * k * xb * xb))).sum(0)
    xs = x[~big]
    j = ((2 * np.arange(1, 40) - 1) ** 2 * math.pi ** 2 / 8)[:, None]
    e = np.exp(-j / xs ** 2)
    out[~big] = (math.sqrt(2 * math.pi) * e * (2 * j / xs ** 4 - 1 / xs ** 2)).sum(0)
    return out


def logistic_mixture_rule(nodes: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Gauss rule for the variance ``V`` of the normal scale mixture that is the logistic law:
    ``sigmoid(u) = E[Phi(u / sqrt(V))]`` with ``V = 4 K^2`` and ``K`` Kolmogorov-Smirnov
    distributed (Andrews and Mallows, 1974). Nodes and probability weights by the discretised
    Stieltjes procedure on a 600-point Gauss-Legendre discretisation of ``K``'s law.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import expit, ndtr
    >>> v, w = logistic_mixture_rule(16)
    >>> round(float(w @ v), 9), round(float(np.pi ** 2 / 3), 9)  # Var of the logistic law
    (3.289868134, 3.289868134)
    >>> abs(float(w @ ndtr(1.3 / np.sqrt(v))) - float(expit(1.3))) < 2e-5
    True
    """
    from numpy.polynomial.legendre import leggauss

    nodes = check_int(nodes, "nodes", lo=1, hi=40)
    g, wg = leggauss(600)
    lo, hi = 0.02, 6.0  # K's law has mass ~1e-300 below 0.02 and ~1e-31 above 6
    k = (hi - lo) / 2 * g + (hi + lo) / 2
    mass = wg * (hi - lo) / 2 * _ks_density(k)
    x = 4 * k * k
    p_prev, p = np.zeros_like(x), np.ones_like(x)
    alpha, beta, prev = [], [], None
    for m in range(nodes):
        norm = float((mass * p * p).sum())
        alpha.append(float((mass * x * p * p).sum()) / norm)
        if m:
            beta.append(norm / prev)
        p_prev, p = p, (x - alpha[-1]) * p - (beta[-1] if m else 0.0) * p_prev
        prev = norm
    jac = np.diag(alpha) + np.diag(np.sqrt(beta), 1) + np.diag(np.sqrt(beta), -1)
    v, vec = np.linalg.eigh(jac)
    return v, float(mass.sum()) * vec[0] ** 2


def stab_random_softmax_n2(rho: float, d: int, scale="sqrt", *, nodes: int = 4,
                           mixture_nodes: int = 16, v_norm: float = 1.0) -> float:
    """Raw ``Stab_rho(f_ij)`` of **softmax** attention with ``n = 2`` tokens and a random ``W``
    (i.i.d. N(0, 1), drawn with the tokens), exact in ``d >= 4`` up to the quadrature error.

    With query token 1, ``f(X) = x_1 + sigmoid(u) (x_2 - x_1)`` where ``u = t x_1^T W (x_2 -
    x_1)``. Given the Gram matrix of ``(x_1, y_1, x_2, y_2)`` the pair ``(u, u')`` is Gaussian
    with variances ``t^2 |x_1|^2 |dx|^2``, ``t^2 |y_1|^2 |dy|^2`` and covariance
    ``c = t^2 (x_1.y_1)(dx.dy)`` (``W`` integrated out exactly; ``dx = x_2 - x_1``), so
    ``E[sigmoid(u)] = 1/2`` and, writing the logistic law as a normal scale mixture
    (:func:`logistic_mixture_rule`),

    ``E[sigmoid(u) sigmoid(u')] = 1/4 + E_{V, V'}[arcsin(c / sqrt((Var u + V)(Var u' + V')))]
    / (2 pi)``,

    the bivariate-normal orthant probability averaged over the two mixing variances. Then
    ``Stab = E_G[x_1.y_1 + (dx.y_1 + x_1.dy) / 2 + E[sigmoid sigmoid'] dx.dy] / d`` by the
    ``nodes^10`` Bartlett tensor rule of :func:`stab_random_hard_n2` (the hard-argmax limit is
    ``t -> infinity``).

    Parameters
    ----------
    rho : float
        Noise correlation.
    d : int
        Token dimension, at least 4.
    scale : ``"sqrt"``, ``"linear"``, ``"none"`` or a number
        Logit scale ``t``.
    nodes : int
        Bartlett nodes per variable, 2 to 5 (``nodes^10`` points; 4 takes a few seconds, 5
        about 35 s).
    mixture_nodes : int
        Nodes of the logistic mixture rule per side.
    v_norm : float
        ``||(W_V)_{:,j}||``; the result scales as its square.

    Examples
    --------
    Independent inputs give 0 (f is odd); at d = 64 the value is 0.0021 above the
    d -> infinity value ``rho s_2(rho^2) = 0.29022``:

    >>> abs(stab_random_softmax_n2(0.0, 8, nodes=3)) < 1e-12
    True
    >>> round(stab_random_softmax_n2(0.5, 64, nodes=3), 5)
    0.29236
    """
    import math

    from nstheory.attention.identity_finite_d import _check

    _, d, rho, t, v_norm = _check(2, check_int(d, "d", lo=4), rho, scale, v_norm)
    nodes = check_int(nodes, "nodes", lo=2, hi=5)  # 5^10 points take ~35 s and ~1 GB
    v, wv = logistic_mixture_rule(mixture_nodes)
    weight, x1, y1, x2, y2 = _bartlett_pairs(rho, d, nodes)
    total = 0.0
    for i in range(nodes):  # one slice of the first Bartlett variable at a time (memory)
        def cut(vec, i=i):
            return tuple(c[i:i + 1] if np.ndim(c) and np.shape(c)[0] > 1 else c for c in vec)

        a1, b1, a2, b2 = cut(x1), cut(y1), cut(x2), cut(y2)
        shape = np.broadcast_shapes(*(np.shape(c) for c in (*a1, *b1, *a2, *b2)))

        def flat(x, shape=shape):
            return np.broadcast_to(x, shape).ravel()

        dx = tuple(p - q for p, q in zip(a2, a1, strict=True))
        dy = tuple(p - q for p, q in zip(b2, b1, strict=True))
        xy, dxy = flat(_dot(a1, b1)), flat(_dot(dx, dy))
        var_u = t * t * flat(_dot(a1, a1) * _dot(dx, dx))
        var_v = t * t * flat(_dot(b1, b1) * _dot(dy, dy))
        cov = t * t * xy * dxy
        mix = np.zeros_like(cov)
        for vj, wj in zip(v, wv, strict=True):
            r = cov[:, None] / np.sqrt((var_u + vj)[:, None] * (var_v[:, None] + v[None, :]))
            mix += wj * (np.arcsin(np.clip(r, -1.0, 1.0)) @ wv)
        both = 0.25 + mix / (2 * math.pi)
        lin = flat(_dot(dx, b1) + _dot(a1, dy))
        total += float(flat(weight[i:i + 1]) @ (xy + 0.5 * lin + both * dxy))
    return v_norm * v_norm * total / d


#: Resolution (Bartlett nodes, mixture nodes) of :func:`stab_random_n2_finite_d` and the coarser
#: one whose difference is its error estimate.
N2_FINE, N2_COARSE = (4, 16), (3, 12)


def stab_random_n2_finite_d(rho: float, d: int, scale="sqrt", *, v_norm: float = 1.0):
    """:func:`stab_random_softmax_n2` at :data:`N2_FINE` with the difference from
    :data:`N2_COARSE` as its error estimate (an estimate, not a bound: at rho = 0.5 it is
    3e-6 at d = 16, 7e-8 at d = 64, 1e-12 at d = 4096 with ``1/sqrt(d)`` logits, while the
    difference from five Bartlett nodes is 2e-6, 3e-8; about 3.5 s).

    Returns
    -------
    QuadratureStab

    Examples
    --------
    >>> r = stab_random_n2_finite_d(0.5, 4096)
    >>> round(r.value, 8), r.error < 1e-10  # the d -> infinity value rho s_2(rho^2) = 0.29022
    (0.29024996, True)
    """
    from nstheory.attention.identity_finite_d import QuadratureStab

    fine = stab_random_softmax_n2(rho, d, scale, nodes=N2_FINE[0], mixture_nodes=N2_FINE[1],
                                  v_norm=v_norm)
    rough = stab_random_softmax_n2(rho, d, scale, nodes=N2_COARSE[0],
                                   mixture_nodes=N2_COARSE[1], v_norm=v_norm)
    params = dict(n=2, d=d, rho=rho, scale=scale, v_norm=v_norm, resolution=list(N2_FINE),
                  coarse_resolution=list(N2_COARSE))
    return QuadratureStab(fine, abs(fine - rough), rough, params,
                          "raw Stab E[f_ij(X) f_ij(Y)], random W (i.i.d. N(0, 1)), n = 2, "
                          "softmax: W integrated exactly, Bartlett tensor rule over the Gram "
                          "matrix and the logistic normal-mixture rule (deterministic)")


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
