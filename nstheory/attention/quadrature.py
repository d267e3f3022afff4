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
factor has four chi and six standard normal entries; a tensor Gauss rule in these ten
variables (a Gauss rule for each chi law in the chi variable itself, Gauss–Hermite for the
normals) converges fast because the integrand is smooth and, for large ``d``, nearly
polynomial in them. (The vectors' coordinates are linear in the chi entries, so a rule in the
chi-square variable would integrate odd powers of them only approximately.) As ``d`` grows
the value tends to ``rho s_2(rho^2)`` (Theorem 5.3 as reconstructed) with a gap of order ``1/d``.

>>> round(stab_random_hard_n2(0.5, 256), 8)
0.29103245
"""

from __future__ import annotations

import functools
import math

import numpy as np

from nstheory.errors import NSTheoryError, check_int, check_rho

__all__ = [
    "BARTLETT_MAX_POINTS",
    "BARTLETT_VARIABLES",
    "chi2_gauss_rule",
    "chi_gauss_rule",
    "extrapolate_in_inverse_d",
    "logistic_mixture_rule",
    "n2_resolution",
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


@functools.lru_cache(maxsize=4)
def _legendre(points: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1] (cached: each costs ~0.07 s at 800 points,
    and every Bartlett rule builds four chi rules on them). Read-only arrays."""
    from numpy.polynomial.legendre import leggauss

    g, w = leggauss(points)
    g.flags.writeable = w.flags.writeable = False
    return g, w


def _stieltjes_rule(x, mass, nodes):
    """Gauss rule (nodes, weights) of the discrete measure ``mass`` at the points ``x`` by the
    discretised Stieltjes procedure and the Golub-Welsch eigenproblem."""
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


def _log1p_minus_x(x):
    """``log(1 + x) - x`` without the cancellation at small ``|x|`` (series below 0.25)."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 0.25
    xs = x[small]
    series = np.zeros_like(xs)
    for j in range(40, 1, -1):  # -x^2/2 + x^3/3 - ...: 0.25^40 < 1e-24
        series = xs * (series + (-1.0) ** (j + 1) / j)
    out = np.log1p(x) - x
    out[small] = xs * series
    return out


def chi_gauss_rule(nodes: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss rule for the chi law with ``k`` degrees of freedom, in the chi variable itself.

    Exact for polynomials of degree ``< 2 nodes`` in ``chi = sqrt(chi2_k)`` -- so also for
    odd powers, which a rule in the chi-square variable integrates only approximately. Nodes
    and probability weights by the discretised Stieltjes procedure on an 800-point
    Gauss-Legendre discretisation of the density over its mode ``sqrt(k - 1) -+ 14`` (cut at
    0; the mass left out is below 1e-40), the density taken relative to its mode (no
    cancellation at large ``k``) and normalised by the discrete sum.

    Examples
    --------
    >>> import math
    >>> a, w = chi_gauss_rule(3, 5)
    >>> round(float(w @ a), 12) == round(math.sqrt(2) * math.gamma(3) / math.gamma(2.5), 12)
    True
    >>> round(float(w @ a**2), 10)  # E[chi^2] = k
    5.0
    """
    nodes = check_int(nodes, "nodes", lo=1, hi=64)
    k = check_int(k, "degrees of freedom", lo=1)
    g, wg = _legendre(800)
    mode = math.sqrt(k - 1)
    lo, hi = max(0.0, mode - 14), mode + 14
    a = (hi - lo) / 2 * g + (hi + lo) / 2
    # log density relative to the mode, free of the cancellation between (k - 1) log a and
    # a^2 / 2 at large k: (k - 1) (log1p(x) - x) - (a - mode)^2 / 2 with x = a / mode - 1
    rel = -(a - mode) ** 2 / 2
    if k > 1:
        rel = rel + (k - 1) * _log1p_minus_x(a / mode - 1)
    mass = wg * np.exp(rel)
    return _stieltjes_rule(a, mass / mass.sum(), nodes)


def _dot(u, v):
    return sum(p * q for p, q in zip(u, v, strict=True))


#: The ten Bartlett variables in the order of a ``nodes`` sequence: the diagonal (chi laws),
#: then the sub-diagonal entries (standard normal) row by row.
BARTLETT_VARIABLES = ("a11", "a22", "a33", "a44", "a21", "a31", "a32", "a41", "a42", "a43")
_COLUMN = (0, 1, 2, 3, 0, 0, 1, 0, 1, 2)  # the Bartlett factor's column of each variable


def _bartlett_pairs(rho: float, d: int, counts: tuple[int, ...]):
    """Tensor Gauss rule over the Bartlett factor of the Gram matrix of the two token pairs
    ``(x_1, y_1)``, ``(x_2, y_2)`` (each pair rho-correlated), as broadcastable 10-D arrays.
    ``counts``: the ten node counts of :func:`_node_counts` (:data:`BARTLETT_VARIABLES`). The
    diagonal uses :func:`chi_gauss_rule` (chi_{d - j}), the rest Gauss-Hermite. For ``d < 4``
    the four vectors span only ``d`` dimensions: the factor's columns ``>= d`` are zero (one
    node at 0). Returns ``weight, x1, y1, x2, y2`` (4-tuples of coordinates in the frame)."""
    from numpy.polynomial.hermite_e import hermegauss

    s = np.sqrt(max(0.0, 1 - rho * rho))
    arrays, weight = [], 1.0
    for k, (m, col) in enumerate(zip(counts, _COLUMN, strict=True)):
        if col >= d:
            x, w = np.zeros(1), np.ones(1)
        elif k < 4:
            x, w = chi_gauss_rule(m, d - k)
        else:
            x, w = hermegauss(m)
            w = w / w.sum()
        shape = [1] * 10
        shape[k] = -1
        arrays.append(x.reshape(shape))
        weight = weight * w.reshape(shape)
    a11, a22, a33, a44, a21, a31, a32, a41, a42, a43 = arrays
    # Rows of the Bartlett factor A give x_1 = a_1, y_1 = rho a_1 + s a_2, x_2 = a_3,
    # y_2 = rho a_3 + s a_4 (the Cholesky factor of the pairs' correlation [[1, rho], [rho, 1]]).
    a1, a2 = (a11, 0.0, 0.0, 0.0), (a21, a22, 0.0, 0.0)
    a3, a4 = (a31, a32, a33, 0.0), (a41, a42, a43, a44)
    y1 = tuple(rho * p + s * q for p, q in zip(a1, a2, strict=True))
    y2 = tuple(rho * p + s * q for p, q in zip(a3, a4, strict=True))
    return weight, a1, y1, a3, y2


#: Most tensor-rule points the Bartlett routes evaluate (about a minute for softmax).
BARTLETT_MAX_POINTS = 40_000_000


def _node_counts(nodes, d: int) -> tuple[int, ...]:
    """Validated node counts of the ten Bartlett variables (one count or ten), and a cap on
    the points the rule evaluates (variables absent at ``d < 4`` count once)."""
    counts = (nodes,) * 10 if np.ndim(nodes) == 0 else tuple(nodes)
    if len(counts) != 10:
        raise NSTheoryError(f"nodes must be one count or ten (one per Bartlett variable "
                            f"{', '.join(BARTLETT_VARIABLES)}), got {len(counts)}")
    counts = tuple(check_int(m, "nodes", lo=2, hi=48) for m in counts)
    points = math.prod(m for m, col in zip(counts, _COLUMN, strict=True) if col < d)
    if points > BARTLETT_MAX_POINTS:
        raise NSTheoryError(f"the tensor rule would have {points:.3g} points (at most "
                            f"{BARTLETT_MAX_POINTS:.0e}): use fewer nodes")
    return counts


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
    nodes : int or sequence of 10 ints
        Nodes per variable, or per variable in :data:`BARTLETT_VARIABLES` order (cost
        ``nodes^10``: 4 takes ~0.1 s, 5 ~1 s; 6^10 exceeds :data:`BARTLETT_MAX_POINTS`, so
        refine single variables instead). Four and five nodes differ by 1e-5
        at ``d = 8``, 8e-9 at ``d = 64`` and 3e-11 at ``d = 256`` (rho = 0.5). Compare two
        node counts for an error estimate.

    Examples
    --------
    >>> round(stab_random_hard_n2(1.0, 64), 12)  # Y = X: E[f^2] = 1
    1.0
    >>> abs(stab_random_hard_n2(0.0, 64)) < 1e-12  # independent inputs, odd f
    True
    """
    check_rho(rho)
    d = check_int(d, "d", lo=4)
    weight, x1, y1, x2, y2 = _bartlett_pairs(rho, d, _node_counts(nodes, d))
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
    nodes = check_int(nodes, "nodes", lo=1, hi=40)
    g, wg = _legendre(600)
    lo, hi = 0.02, 6.0  # K's law has mass ~1e-300 below 0.02 and ~1e-31 above 6
    k = (hi - lo) / 2 * g + (hi + lo) / 2
    return _stieltjes_rule(4 * k * k, wg * (hi - lo) / 2 * _ks_density(k), nodes)


def stab_random_softmax_n2(rho: float, d: int, scale="sqrt", *, nodes=4,
                           mixture_nodes: int = 16, v_norm: float = 1.0) -> float:
    """Raw ``Stab_rho(f_ij)`` of **softmax** attention with ``n = 2`` tokens and a random ``W``
    (i.i.d. N(0, 1), drawn with the tokens), exact in every ``d >= 1`` up to the quadrature
    error.

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
        Token dimension, at least 1 (below 4 the Gram matrix is singular and the rule runs
        over the ``d`` non-zero columns of the Bartlett factor).
    scale : ``"sqrt"``, ``"linear"``, ``"none"`` or a number
        Logit scale ``t``.
    nodes : int or sequence of 10 ints
        Bartlett nodes, one count for every variable or one per variable in
        :data:`BARTLETT_VARIABLES` order (at most :data:`BARTLETT_MAX_POINTS` points; 4^10
        take a few seconds). :func:`n2_resolution` gives the rules the library uses.
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
    from nstheory.attention.identity_finite_d import _check

    _, d, rho, t, v_norm = _check(2, check_int(d, "d", lo=1), rho, scale, v_norm)
    counts = _node_counts(nodes, d)
    v, wv = logistic_mixture_rule(mixture_nodes)
    weight, x1, y1, x2, y2 = _bartlett_pairs(rho, d, counts)
    # the logit variances and covariance carry t^2; dividing it out of r keeps every t finite:
    # the mixing variances scaled by 1/t^2 underflow to 0 (hard argmax) or overflow to inf
    # (uniform attention) instead of inf / inf
    with np.errstate(over="ignore"):
        v_scaled = v * np.square(np.float64(1.0) / t)
    total = 0.0
    for i in range(np.shape(weight)[0]):  # one slice of the first variable at a time (memory)
        def cut(vec, i=i):
            return tuple(c[i:i + 1] if np.ndim(c) and np.shape(c)[0] > 1 else c for c in vec)

        a1, b1, a2, b2 = cut(x1), cut(y1), cut(x2), cut(y2)
        shape = np.broadcast_shapes(*(np.shape(c) for c in (*a1, *b1, *a2, *b2)))

        def flat(x, shape=shape):
            return np.broadcast_to(x, shape).ravel()

        dx = tuple(p - q for p, q in zip(a2, a1, strict=True))
        dy = tuple(p - q for p, q in zip(b2, b1, strict=True))
        xy, dxy = flat(_dot(a1, b1)), flat(_dot(dx, dy))
        var_u = flat(_dot(a1, a1) * _dot(dx, dx))  # the logits' moments over t^2
        var_v = flat(_dot(b1, b1) * _dot(dy, dy))
        cov = xy * dxy
        mix = np.zeros_like(cov)
        for vj, wj in zip(v_scaled, wv, strict=True):
            r = cov[:, None] / np.sqrt((var_u + vj)[:, None]
                                       * (var_v[:, None] + v_scaled[None, :]))
            mix += wj * (np.arcsin(np.clip(r, -1.0, 1.0)) @ wv)
        both = 0.25 + mix / (2 * math.pi)
        lin = flat(_dot(dx, b1) + _dot(a1, dy))
        total += float(flat(weight[i:i + 1]) @ (xy + 0.5 * lin + both * dxy))
    return v_norm * v_norm * total / d


def n2_resolution(d: int) -> tuple[tuple, tuple]:
    """The (Bartlett nodes, mixture nodes) of :func:`stab_random_n2_finite_d` at token
    dimension ``d``: its rule and the coarser one whose difference is its error estimate.

    For ``d >= 4`` an anisotropic rule: per-variable refinement at ``d = 16`` showed the
    error concentrated in the normal entries that carry the noise along the clean vectors
    (``a21`` needs 8 nodes for 1e-10, ``a32`` and ``a43`` 6; the chi diagonals 4). For
    ``d < 4`` the integrand is less smooth and the (fewer) variables get more nodes each.

    Examples
    --------
    >>> n2_resolution(16)
    (((4, 4, 4, 4, 8, 4, 6, 5, 4, 6), 12), ((4, 4, 3, 3, 6, 4, 5, 4, 4, 5), 10))
    >>> n2_resolution(1)
    ((40, 16), (32, 12))
    """
    d = check_int(d, "d", lo=1)
    if d >= 4:
        return ((4, 4, 4, 4, 8, 4, 6, 5, 4, 6), 12), ((4, 4, 3, 3, 6, 4, 5, 4, 4, 5), 10)
    return {1: ((40, 16), (32, 12)), 2: ((8, 16), (6, 12)), 3: ((5, 16), (4, 12))}[d]


def stab_random_n2_finite_d(rho: float, d: int, scale="sqrt", *, v_norm: float = 1.0):
    """:func:`stab_random_softmax_n2` at the rule of :func:`n2_resolution` with the difference
    from the coarser rule as its error estimate.

    An estimate, not a bound. At rho = 0.5 with ``1/sqrt(d)`` logits it is 1.3e-5 at d = 4,
    1.9e-7 at d = 16 (the value agrees to 4e-9 with a rule of 14 million points) and 3e-11 at
    d = 256; 4.8e-7 at d = 8 with ``1/d`` logits; for ``d < 4`` it is 1e-6 (d = 1) to 1e-4
    (d = 3). About 15 s at ``d >= 4``.

    Returns
    -------
    QuadratureStab

    Examples
    --------
    One coordinate per token (d = 1; at d = 4096 the value is 0.29024996 with an estimate
    below 1e-14, beside the d -> infinity value ``rho s_2(rho^2) = 0.29022``):

    >>> r = stab_random_n2_finite_d(0.5, 1)
    >>> round(r.value, 6), r.error < 2e-6
    (0.336427, True)
    """
    from nstheory.attention.identity_finite_d import QuadratureStab

    (fine_nodes, fine_mix), (rough_nodes, rough_mix) = n2_resolution(d)
    fine = stab_random_softmax_n2(rho, d, scale, nodes=fine_nodes, mixture_nodes=fine_mix,
                                  v_norm=v_norm)
    rough = stab_random_softmax_n2(rho, d, scale, nodes=rough_nodes, mixture_nodes=rough_mix,
                                   v_norm=v_norm)
    params = dict(n=2, d=d, rho=rho, scale=scale, v_norm=v_norm,
                  resolution=[fine_nodes, fine_mix], coarse_resolution=[rough_nodes, rough_mix])
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
