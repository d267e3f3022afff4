"""Softmax attention pattern moments at finite ``d`` with Gaussian logits (deterministic).

For random query-key weights ``W`` with i.i.d. N(0, 1) entries, the logits of row ``i``,
``L_ik = c x_i^T W x_k`` (``c`` the logit scale), are jointly Gaussian given the tokens, with
covariance ``c^2 (x_i . x_j)(x_k . x_l)``. When the token Gram matrices concentrate (channel
averages ``x_i . x_i / d -> Q``, ``x_i . x_k / d -> P``, ``x_i . y_i / d -> C``,
``x_i . y_k / d -> D``), a row of logits is ``sigma G`` plus a shift common to all tokens
(which softmax ignores), with ``G`` standard normal in ``R^n`` and

``sigma^2 = c^2 d^2 Q (Q - P)``,

and the logits of a second row (of ``X`` or of ``Y``) are ``sigma G'`` with coordinate-wise
correlation ``r``. Every pattern moment of the mean-field rules is then one function,

``S_n(sigma, r) = E sum_k softmax(sigma G)_k softmax(sigma G')_k``, ``corr(G_k, G'_k) = r``:

consistency ``s = S_n(sigma, C (C - D) / (Q (Q - P)))``, self-weight ``w = S_n(sigma, 1)``,
cross-row ``t = S_n(sigma, D (C - D) / (Q (Q - P)))`` and ``t2 = S_n(sigma, P / Q)``
(:func:`finite_d_pattern`). As ``sigma -> inf`` the softmax becomes a hard argmax and
``S_n -> s_n(r)``, the consistency of Theorem 5.3; ``sigma = 0`` gives the uniform pattern,
``S_n = 1/n``.

How ``S_n`` is computed (no sampling): by the Gumbel-max identity ``softmax(sigma G)_k`` is the
probability that ``k`` maximises ``G_l + E_l / sigma`` over i.i.d. standard Gumbel ``E_l``, so

``S_n = n int int f(a, b) F(a, b)^(n-1) da db``

with ``f``, ``F`` the joint density and distribution function of one token's pair
``(G + E / sigma, G' + E' / sigma)``. Writing ``G = sqrt|r| U + sqrt(1 - |r|) Z`` (and ``G'``
with the sign of ``r`` on ``U``), both are one-dimensional integrals over ``U`` of products of
the law of ``V = sqrt(1 - |r|) Z + E / sigma``, tabulated on a lattice. Every integral is a
trapezoid rule on an analytic, rapidly decaying integrand (exponentially convergent); the step
is a quarter of the integrand's length scale ``max(sqrt(1 - |r|), 1 / sigma)``. The returned
error estimate is the difference from the same rule at twice the step (which converges much
more slowly than the reported value, so the estimate is conservative, not a rigorous bound).
The self-weight ``w = S_n(sigma, 1)`` has its own one-dimensional route
(:func:`softmax_self_weight`, from ``1 / A^2 = int_0^inf v exp(-v A) dv``), and for
``|r| < 0.001`` (or where the lattice would exceed :data:`MAX_LATTICE` points: large ``sigma``
with ``r`` near 1, or tiny ``sigma``) the Mehler expansion brackets
``S_n(r) = 1/n + c_1 r + sum_{k >= 2} c_k r^k`` with ``c_1 = sigma^2 (1 - w)^2 / (n - 1)``,
``c_k >= 0`` and ``sum_{k >= 1} c_k = w - 1/n`` (all Hermite coefficients are non-negative):
the bracket's half-width is the error reported there (rigorous given ``w``).

Examples
--------
Two tokens: ``softmax(sigma G)_1 = sigmoid(sigma (G_1 - G_2))``; at ``r = 0`` the rows are
independent and ``S_2 = 1/2``:

>>> v, err = softmax_consistency(2, 4.0, 0.0)
>>> v, err
(0.5, 0.0)
>>> v, err = softmax_consistency(4, 16.0, 0.81)
>>> round(v, 6), err < 1e-7
(0.655381, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from nstheory.errors import NSTheoryError, check_int

#: Below this ``sigma`` (a nearly uniform pattern, where the lattices' ranges ``~ 1/sigma``
#: overflow) the self-weight is its expansion ``1/n + sigma^2 (n - 1)/n^2`` (error
#: ``O(sigma^4)``) and every other moment the Mehler bracket.
TINY_SIGMA = 1e-4
#: Below this ``|r|`` the first-order Mehler expansion (with its rigorous remainder) is used.
SMALL_R = 1e-3
#: Floor of every error estimate: summation rounding over up to ``MAX_LATTICE^2`` terms (two
#: independent routes agree to a few ``1e-12`` at ``n = 2``).
ROUNDING = 1e-11
#: Largest lattice the two-dimensional route accepts (its cost grows like ``N^3``).
MAX_LATTICE = 4000
#: Largest grid of the self-weight route (about ``76 sigma`` points); above it (``sigma`` beyond
#: about 13000, a nearly hard argmax) :func:`softmax_self_weight` returns a rigorous bracket.
MAX_SELF_POINTS = 1_000_000
#: Grid rows the self-weight route evaluates at once (memory ~ 3 MB per 1000 rows).
_ROWS = 4096
#: Target digits of the certified moments in :func:`finite_d_pattern_balls` (a deep stack
#: amplifies their radius: at 10 digits the 12th block of a pre-LN transformer at d = 256 is
#: 1000x wider than at 13).
BALL_DIGITS = 13
#: Gumbel variable range: ``P(E < -4) = exp(-e^4) ~ 1e-24``, ``P(E > 38) ~ 3e-17``.
_E_LO, _E_HI = -4.0, 38.0
#: Gaussian range: ``P(|Z| > 9.5) ~ 2e-21``.
_Z_MAX = 9.5
#: Most tokens the float routes take: their absolute error (~1e-11) must stay far below the
#: self-weight ``~ e^{sigma^2} / n`` (at n = 1e9 and sigma = 1 they agree with ``e / n`` to
#: 2.5e-7 relative; at n = 1e18 the grid returned 4e82).
MAX_FLOAT_TOKENS = 10**9
#: About the largest logit standard deviation of :func:`softmax_consistency_two_tokens` at
#: ``r = 0`` (its (u, v) trapezoid grid grows like sigma^2).
MAX_TWO_SIGMA = 200.0


def _check(n, sigma, r):
    n = check_int(n, "n", lo=1, hi=MAX_FLOAT_TOKENS)
    sigma = float(sigma)
    r = float(r)
    if not (math.isfinite(sigma) and sigma >= 0):
        raise NSTheoryError(f"sigma must be finite and >= 0, got {sigma!r}")
    if not (math.isfinite(r) and -1 <= r <= 1):
        raise NSTheoryError(f"r must lie in [-1, 1], got {r!r}")
    return n, sigma, r


def _gumbel_pdf(e):
    with np.errstate(over="ignore"):  # far left tail: exp(-e) = inf gives the limit 0 exactly
        return np.exp(-e - np.exp(-e))


def _gumbel_cdf(e):
    with np.errstate(over="ignore"):
        return np.exp(-np.exp(-e))


def _v_law(y, tau: float, sigma: float):
    """Distribution function and density of ``V = tau Z + E / sigma`` at the points ``y``.

    Integrates over the smoother of the two variables with a step of a quarter of its scale
    (trapezoid rule, both integrands analytic and decaying)."""
    from scipy.special import ndtr

    y = np.asarray(y, dtype=float)
    if tau == 0.0:
        return _gumbel_cdf(sigma * y), sigma * _gumbel_pdf(sigma * y)
    if tau * sigma >= 1.0:  # the Gaussian is the wider part: integrate over the Gumbel E
        e = np.arange(_E_LO, _E_HI + 1e-12, 0.25)
        we = 0.25 * _gumbel_pdf(e)
        x = (y[..., None] - e / sigma) / tau
        cdf = ndtr(x) @ we
        pdf = (np.exp(-0.5 * x * x) / (tau * math.sqrt(2 * math.pi))) @ we
        return cdf, pdf
    # the Gumbel part is wider: integrate over the Gaussian Z
    z = np.arange(-_Z_MAX, _Z_MAX + 1e-12, 0.25)
    wz = 0.25 * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    x = sigma * (y[..., None] - tau * z)
    return _gumbel_cdf(x) @ wz, (sigma * _gumbel_pdf(x)) @ wz


def _lattice_scale(sigma: float, r: float) -> float:
    tau = math.sqrt(1.0 - abs(r))
    return max(tau, 1.0 / sigma)


def _two_dim(n: int, sigma: float, r: float, step: float) -> float:
    """``n int int f F^(n-1)`` on the lattice of spacing ``step`` (see the module docstring)."""
    alpha = math.sqrt(abs(r))
    tau = math.sqrt(max(0.0, 1.0 - abs(r)))
    lo = -_Z_MAX + _E_LO / sigma
    hi = _Z_MAX + _E_HI / sigma
    n_pts = math.ceil((hi - lo) / step) + 1
    if n_pts > MAX_LATTICE:
        raise NSTheoryError(f"S_n(sigma={sigma:.6g}, r={r!r}) needs a lattice of {n_pts} points "
                            f"(> {MAX_LATTICE}): sigma too large for r this close to 1")
    # u-lattice aligned with the y-lattice: alpha * u_k = k * step
    h_u = step / alpha
    k_max = math.ceil(_Z_MAX / h_u)
    ks = np.arange(-k_max, k_max + 1)
    u = ks * h_u
    wu = h_u * np.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)
    idx = np.arange(-k_max - k_max, n_pts + 2 * k_max)  # table covers i -/+ k for all k
    cdf, pdf = _v_law(lo + idx * step, tau, sigma)
    off = 2 * k_max
    i = np.arange(n_pts)[:, None]
    a_idx = i - ks[None, :] + off
    sgn = 1 if r >= 0 else -1
    b_idx = i - sgn * ks[None, :] + off
    F = (cdf[a_idx] * wu) @ cdf[b_idx].T
    f = (pdf[a_idx] * wu) @ pdf[b_idx].T
    F = np.clip(F, 0.0, 1.0)
    return float(n * step * step * np.sum(f * F ** (n - 1)))


@lru_cache(maxsize=4096)
def _self_weight(n: int, sigma: float, step: float) -> float:
    """``w = n sigma int psi2(a) psi0(a)^(n-1) da`` with ``psi0(a) = P(G + E / sigma <= a)`` and
    ``psi2(a) = E[k2(sigma (G - a))]``, ``k2(x) = exp(2 x - e^x)``."""
    lo = -_Z_MAX + _E_LO / sigma
    hi = _Z_MAX + _E_HI / sigma
    total = 0.0
    for start in range(0, math.ceil((hi + step - lo) / step), _ROWS):  # bounded memory
        a = lo + step * np.arange(start, start + _ROWS)
        a = a[a < hi + step]
        psi0, _ = _v_law(a, 1.0, sigma)
        if sigma >= 1.0:  # integrate in x = sigma (g - a): k2 has unit scale there
            x = np.arange(-40.0, 4.0 + 1e-12, 0.125)
            g = a[:, None] + x[None, :] / sigma
            k2 = np.exp(2 * x - np.exp(x))
            psi2 = (np.exp(-0.5 * g * g) / math.sqrt(2 * math.pi)) @ (0.125 * k2) / sigma
        else:  # integrate in g: the kernel (scale 1/sigma) is wider than the Gaussian
            g = np.arange(-_Z_MAX, _Z_MAX + 1e-12, 0.125)
            x = sigma * (g[None, :] - a[:, None])
            k2 = np.exp(2 * x - np.exp(np.minimum(x, 700.0)))
            psi2 = k2 @ (0.125 * np.exp(-0.5 * g * g) / math.sqrt(2 * math.pi))
        total += float(np.sum(psi2 * psi0 ** (n - 1)))
    return n * sigma * step * total


def softmax_self_weight(n: int, sigma: float) -> tuple[float, float]:
    """Self-weight ``w = E sum_k softmax(sigma G)_k^2`` and its estimated error.

    One-dimensional route (independent of :func:`softmax_consistency`'s lattice): from
    ``1 / A^2 = int_0^inf v exp(-v A) dv`` with ``v = exp(-sigma a)``.

    Parameters
    ----------
    n : int
        Tokens (``>= 1``).
    sigma : float
        Logit standard deviation (``>= 0``).

    Returns
    -------
    (float, float)
        Value and error estimate (difference from the rule at twice the step).

    Examples
    --------
    ``sigma = 0`` is the uniform pattern (``1/n``); large ``sigma`` a hard argmax (``-> 1``):

    >>> softmax_self_weight(4, 0.0)
    (0.25, 0.0)
    >>> v, err = softmax_self_weight(4, 16.0)
    >>> round(v, 6), err < 1e-8
    (0.935876, True)

    Beyond :data:`MAX_SELF_POINTS` grid points the value is the midpoint of a rigorous bracket
    ``[1 - n (n - 1) / (sigma sqrt(pi)), 1]``, the error its half-width:

    >>> v, err = softmax_self_weight(4, 1e5)
    >>> round(v, 7), err < 4e-5
    (0.9999661, True)
    """
    n, sigma, _ = _check(n, sigma, 1.0)
    if n == 1:
        return 1.0, 0.0
    if sigma == 0.0:
        return 1.0 / n, 0.0
    if sigma < TINY_SIGMA:  # w = 1/n + c_1 + O(sigma^4), c_1 = sigma^2 (1 - w)^2 / (n - 1)
        return 1.0 / n + sigma * sigma * (n - 1) / (n * n), n * sigma ** 4 + ROUNDING
    step = min(0.1, 0.25 / sigma) if sigma >= 1.0 else 0.1 / sigma  # a quarter of the scale
    if (_Z_MAX * 2 + (_E_HI - _E_LO) / sigma) / step > MAX_SELF_POINTS:
        # nearly a hard argmax: 1 - w <= 2 (1 - max_k a_k) <= 2 sum_{j<k} E exp(-sigma |G_j -
        # G_k|) <= n (n - 1) / (sigma sqrt(pi)) (Mills' ratio), so w lies in [1 - 2h, 1]
        h = n * (n - 1) / (2 * sigma * math.sqrt(math.pi))
        return 1.0 - h, h + ROUNDING
    fine = _self_weight(n, sigma, step)
    coarse = _self_weight(n, sigma, 2 * step)
    return fine, abs(fine - coarse) + ROUNDING


def _mehler(n: int, sigma: float, r: float) -> tuple[float, float]:
    """``S = 1/n + c_1 r + sum_{k>=2} c_k r^k`` with ``c_k >= 0``, ``c_1 = sigma^2 (1 - w)^2 /
    (n - 1)`` and ``sum_{k>=1} c_k = w - 1/n``: the tail lies in ``[0, r^2 rest]`` for
    ``r >= 0`` and in ``[-r^2 rest, r^2 rest]`` otherwise (``rest = w - 1/n - c_1``)."""
    w, w_err = softmax_self_weight(n, sigma)
    c1 = sigma * sigma * (1.0 - w) ** 2 / (n - 1)
    c1_err = sigma * sigma * 2 * abs(1.0 - w) * w_err / (n - 1)
    rest = max(0.0, w + w_err - 1.0 / n - (c1 - c1_err))
    base = 1.0 / n + c1 * r
    if r >= 0:
        v, err = base + 0.5 * r * r * rest, 0.5 * r * r * rest + r * c1_err + ROUNDING
        prior = (1.0 / n, w + w_err)  # S increases from S(0) = 1/n to S(1) = w
    else:
        v, err = base, r * r * rest + abs(r) * c1_err + ROUNDING
        prior = (max(0.0, 2.0 / n - w - w_err), w + w_err)  # odd terms >= -(w - 1/n)
    lo, hi = max(v - err, prior[0]), min(v + err, prior[1])
    if (lo, hi) == (v - err, v + err) or lo > hi:
        return v, err
    return 0.5 * (lo + hi), 0.5 * (hi - lo) + ROUNDING  # intersected with the a priori range


@lru_cache(maxsize=4096)
def _consistency(n: int, sigma: float, r: float) -> tuple[float, float]:
    if abs(r) < SMALL_R or sigma < TINY_SIGMA:
        return _mehler(n, sigma, r)
    step = min(_lattice_scale(sigma, r), math.sqrt(abs(r))) / 4  # u-step <= 1/4 too
    try:
        fine = _two_dim(n, sigma, r, step)
    except NSTheoryError:  # lattice too large: the Mehler bracket, with its (wider) error
        return _mehler(n, sigma, r)
    coarse = _two_dim(n, sigma, r, 2 * step)
    return fine, abs(fine - coarse) + ROUNDING


def softmax_consistency(n: int, sigma: float, r: float) -> tuple[float, float]:
    """``S_n(sigma, r) = E sum_k softmax(sigma G)_k softmax(sigma G')_k`` and its error estimate.

    ``G, G'`` standard normal in ``R^n`` with ``corr(G_k, G'_k) = r`` (pairs independent across
    ``k``). See the module docstring for the route and the meaning of the error estimate.

    Parameters
    ----------
    n : int
        Tokens (``>= 1``).
    sigma : float
        Logit standard deviation (``>= 0``).
    r : float
        Coordinate-wise logit correlation in ``[-1, 1]``.

    Returns
    -------
    (float, float)
        Value and error estimate.

    Raises
    ------
    NSTheoryError
        For arguments out of range.

    Examples
    --------
    Large ``sigma`` approaches the hard-argmax consistency ``s_2(r) = 1/2 + arcsin(r)/pi``
    (``2/3`` at ``r = 1/2``):

    >>> v, err = softmax_consistency(2, 1000.0, 0.5)
    >>> abs(v - 2 / 3) < 1e-3, err < 1e-8
    (True, True)
    >>> softmax_consistency(2, 1.0, 1.5)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: r must lie in [-1, 1], got 1.5
    """
    n, sigma, r = _check(n, sigma, r)
    if n == 1:
        return 1.0, 0.0
    if sigma == 0.0 or r == 0.0:
        return 1.0 / n, 0.0
    if r == 1.0:
        return softmax_self_weight(n, sigma)
    return _consistency(n, sigma, r)


def logit_scale(scale, d: int) -> float:
    """The logit scale ``c``: ``"sqrt"`` -> ``1/sqrt(d)``, ``"linear"`` -> ``1/d``, ``"none"``
    -> 1, or a positive number used as is (torch-free; the attention layer uses it too).

    >>> logit_scale("sqrt", 64), logit_scale("linear", 64), logit_scale("none", 64)
    (0.125, 0.015625, 1.0)
    >>> logit_scale("cube", 4)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: scale must be one of sqrt, linear, none or a number; got 'cube'
    """
    d = check_int(d, "d", lo=1)
    if isinstance(scale, str):
        table = {"sqrt": 1.0 / math.sqrt(d), "linear": 1.0 / d, "none": 1.0}
        if scale not in table:
            raise NSTheoryError("scale must be one of sqrt, linear, none or a number; "
                                f"got {scale!r}")
        return table[scale]
    c = float(scale)
    if not (c > 0 and math.isfinite(c)):
        raise NSTheoryError(f"a numeric scale must be finite and > 0; got {scale!r}")
    return c


def logit_sigma2_factor(scale: str, d: int) -> float:
    """``c^2 d^2`` for logit scale ``c`` (``sqrt``: ``d``; ``linear``: 1; ``none``: ``d^2``).

    The logit variance of a row is ``c^2 d^2 Q (Q - P)`` (see the module docstring).

    Examples
    --------
    >>> logit_sigma2_factor("sqrt", 256), logit_sigma2_factor("linear", 256)
    (256.0, 1.0)
    """
    d = check_int(d, "d", lo=1)
    return (logit_scale(scale, d) * d) ** 2


@dataclass(frozen=True)
class PatternMoments:
    """The four pattern moments with error estimates (``*_err``) and the logit ``sigma``.

    Examples
    --------
    >>> pm = finite_d_pattern(4, 256, "sqrt", 1.0, 0.0, 0.9, 0.0)
    >>> pm.t, pm.t2, round(pm.sigma, 6)
    (0.25, 0.25, 16.0)
    """

    s: float
    w: float
    t: float
    t2: float
    s_err: float
    w_err: float
    t_err: float
    t2_err: float
    sigma: float


def logit_correlations(Q, P, C, D) -> tuple[float, float, float]:
    """Logit correlations ``(r_s, r_t, r_t2)`` of the rows entering ``s``, ``t`` and ``t2``.

    ``r_s = C (C - D) / (Q (Q - P))``, ``r_t = D (C - D) / (Q (Q - P))``, ``r_t2 = P / Q``,
    each clipped to ``[-1, 1]``; ``Q = P`` (identical tokens) gives 0 (the pattern is uniform).
    mpmath numbers are kept at their precision, anything else is read as a float.

    Examples
    --------
    >>> logit_correlations(1.0, 0.0, 0.9, 0.0)
    (0.81, 0.0, 0.0)
    """
    import mpmath

    Q, P, C, D = (v if isinstance(v, mpmath.mpf) else float(v) for v in (Q, P, C, D))
    den = Q * (Q - P)

    def clip(x):
        return min(1, max(-1, x))

    if den <= 0:
        return 0.0, 0.0, 0.0
    return clip(C * (C - D) / den), clip(D * (C - D) / den), clip(P / Q)


def finite_d_pattern(n: int, d: int, scale: str, Q, P, C, D) -> PatternMoments:
    """Pattern moments of random-``W`` softmax attention at head dimension ``d``.

    Mean-field semantics: the tokens' Gram matrices are taken at their concentrated values
    (second moment ``Q``, cross-token ``P``, cross-input ``C`` and ``D``), the logits are then
    exactly Gaussian over ``W`` with the logit scale at the actual ``d``.

    Parameters
    ----------
    n : int
        Tokens.
    d : int
        Head dimension (the width of the stream).
    scale : str
        ``sqrt`` (``1/sqrt d``), ``linear`` (``1/d``) or ``none``.
    Q, P, C, D : float
        Moments of the stream entering the layer (raw view).

    Returns
    -------
    PatternMoments

    Examples
    --------
    At ``d = 256`` the self-weight is visibly below the hard-argmax value 1:

    >>> pm = finite_d_pattern(4, 256, "sqrt", 1.0, 0.0, 0.9, 0.0)
    >>> round(pm.w, 6), round(pm.s, 6)
    (0.935876, 0.655381)
    """
    n = check_int(n, "n", lo=1)
    Q, P = float(Q), float(P)
    sigma = math.sqrt(max(0.0, logit_sigma2_factor(scale, d) * Q * (Q - P)))
    r_s, r_t, r_t2 = logit_correlations(Q, P, C, D)
    s, s_err = softmax_consistency(n, sigma, r_s)
    w, w_err = softmax_self_weight(n, sigma)
    t, t_err = softmax_consistency(n, sigma, r_t)
    t2, t2_err = softmax_consistency(n, sigma, r_t2)
    return PatternMoments(s, w, t, t2, s_err, w_err, t_err, t2_err, sigma)


def moment_lipschitz(n: int, sigma_max: float) -> tuple[float, float]:
    """Bounds ``(L_r, L_sigma)`` on ``|dS_n/dr|`` and ``|dS_n/dsigma|`` (for any ``r``, and any
    ``sigma <= sigma_max``).

    ``dS/dr <= S'(1) = E |D softmax(sigma G)|_F^2 <= 2 sigma^2`` (Mehler: the Hermite weights
    are non-negative); ``|d softmax_k / d sigma| = softmax_k |G_k - sum_j softmax_j G_j|`` sums
    to at most ``2 max_j |G_j|``, whose mean is at most ``sqrt(2 ln(2n))``, so
    ``|dS/dsigma| <= 4 sqrt(2 ln(2 n))``. Given ``w``, the sharper ``|dS/dr| <= sigma^2 (1 - w)
    / 2`` of :func:`~nstheory.attention.certified_softmax.consistency_slope_bound` holds; the
    interval rules (:func:`finite_d_pattern_balls`) use that one and this ``L_sigma``.

    Examples
    --------
    >>> moment_lipschitz(4, 16.0)[0]
    512.0
    """
    return 2.0 * sigma_max * sigma_max, 4.0 * math.sqrt(2.0 * math.log(2.0 * n))


def _float_outward(x, direction: float) -> float:
    """The float nearest to the exact arb ``x``, moved one ulp towards ``direction`` if it
    fell on the wrong side."""
    from flint import arb

    f = float(x)
    if (direction < 0 and arb(f) > x) or (direction > 0 and arb(f) < x):
        f = math.nextafter(f, direction)
    return f


def finite_d_pattern_balls(n: int, d: int, scale: str, Q, P, C, D, slack=0.0):
    """Certified enclosures (arb balls) of ``(s, w, t, t2)`` for every stream moment in the balls.

    Each moment is a certified enclosure of ``S_n`` (:mod:`nstheory.attention.certified_softmax`,
    rigorous quadrature and truncation bounds) at the midpoint ``sigma`` of the logit scale's
    range: over the ends of the logit correlation's range when it lies in ``[0, 1]`` (where
    ``S_n`` increases with ``r``), else at its midpoint widened by the slope bound
    ``sigma^2 (1 - w) / 2`` in ``r``
    (:func:`~nstheory.attention.certified_softmax.consistency_slope_bound`); then widened by the
    Lipschitz bound in ``sigma`` of :func:`moment_lipschitz` times the
    radius of ``sigma`` (and by ``slack``, an explicit user allowance), and intersected with
    ``[0, 1]`` (``w`` with ``[1/n, 1]``). Every step is proved, so the balls contain the
    mean-field pattern moments at ``d`` (Gaussian logits, token Gram matrices at the moments).

    Parameters
    ----------
    n, d, scale
        Tokens, head dimension, logit scale.
    Q, P, C, D : flint.arb
        Stream moments entering the layer.
    slack : float, optional
        Extra widening in ``[0, 1]``.

    Returns
    -------
    tuple of flint.arb

    Examples
    --------
    >>> from flint import arb
    >>> s, w, t, t2 = finite_d_pattern_balls(4, 256, "sqrt", arb(1), arb(0), arb("0.9"), arb(0))
    >>> s.contains(arb("0.65538058105578")), 0 < float(w.rad()) < 1e-9
    (True, True)
    """
    from flint import arb

    from nstheory.attention.certified_softmax import (
        consistency_certified,
        consistency_certified_range,
        consistency_slope_bound,
        self_weight_certified,
    )

    kappa2 = arb(logit_sigma2_factor(scale, d))
    var = kappa2 * Q * (Q - P)
    sig_hi = _float_outward(var.upper().sqrt().upper(), math.inf) if var.upper() > 0 else 0.0
    sig_lo = _float_outward(var.lower().sqrt().lower(), -math.inf) if var.lower() > 0 else 0.0
    sigma = 0.5 * (sig_lo + sig_hi)
    rad_sigma = arb(sig_hi - sigma).upper()  # sig_lo <= sigma <= sig_hi, rounded outward
    rad_sigma = rad_sigma.union(arb(sigma - sig_lo).upper())
    den = Q * (Q - P)
    if den > 0:
        rs = [C * (C - D) / den, D * (C - D) / den, P / Q]
    else:
        rs = [arb(0, 1)] * 3  # [-1, 1]: no information
    L_sigma = 4 * (2 * arb(2 * n).log()).sqrt()  # moment_lipschitz's L_sigma, rounded in arb
    w_mid = self_weight_certified(n, sigma, BALL_DIGITS)
    # |dS/dr| <= sigma^2 (1 - w) / 2 at every sigma of the range (w there >= w_mid - L_sigma rad)
    L_r = consistency_slope_bound(sig_hi, w_mid - L_sigma * rad_sigma.upper())
    balls = []
    for r_ball in (rs[0], None, rs[1], rs[2]):
        pad = L_sigma * rad_sigma.upper()
        if r_ball is None:
            ball = w_mid
            lo_cap = arb(1) / n
        else:
            r_lo = max(-1.0, _float_outward(r_ball.lower(), -math.inf))
            r_hi = min(1.0, _float_outward(r_ball.upper(), math.inf))
            lo_cap = arb(0)
            if 0.0 <= r_lo:  # increasing in r on [0, 1]: the ends bound it
                ball = consistency_certified_range(n, sigma, r_lo, r_hi, BALL_DIGITS)
            else:
                r_mid = 0.5 * (r_lo + r_hi)
                ball = consistency_certified(n, sigma, r_mid, BALL_DIGITS)
                half = (arb(r_hi) - r_mid).union(arb(r_mid) - r_lo).upper()
                pad = pad + L_r * half
        pad = pad + arb(slack)
        lo = (ball - pad).lower()
        hi = (ball + pad).upper()
        lo = lo_cap if lo < lo_cap else lo
        hi = arb(1) if hi > 1 else hi
        balls.append(lo.union(hi))
    return tuple(balls)


def softmax_consistency_two_tokens(sigma: float, r: float) -> float:
    """``S_2(sigma, r)`` by an independent route: ``2 E[sigmoid(sigma sqrt2 U) sigmoid(sigma
    sqrt2 U')]`` over a standard bivariate normal ``(U, U')`` of correlation ``r``.

    For two tokens ``softmax(sigma G)_1 = sigmoid(sigma (G_1 - G_2))`` with
    ``G_1 - G_2 = sqrt2 U``, and ``S_2 = 2 E[p p'] `` because the two products
    ``p p' + (1 - p)(1 - p')`` average to ``2 E[p p']``. Trapezoid rule in ``U`` and in
    ``V = (U' - r U) / sqrt(1 - r^2)``, each step a quarter of the distance of the sigmoid's
    nearest complex pole (error about ``exp(-4 pi^2)`` relative), range ``+-9.5``.

    Parameters
    ----------
    sigma : float
        Logit standard deviation (``>= 0``).
    r : float
        Logit correlation in ``[-1, 1]``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(softmax_consistency_two_tokens(4.0, 0.5), 9)
    0.650208423
    """
    from scipy.special import expit

    _, sigma, r = _check(2, sigma, r)
    k = sigma * math.sqrt(2.0)
    if k == 0.0:
        return 0.5
    tau = math.sqrt(max(0.0, 1.0 - r * r))

    def nodes(scale):
        h = min(0.1, math.pi / (4.0 * scale)) if scale > 0 else 0.1
        x = np.arange(-_Z_MAX, _Z_MAX + 1e-12, h)
        return x, h * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)

    def count(scale):  # nodes of the rule below: 2 Z_MAX / min(0.1, pi / (4 scale))
        return max(20 * _Z_MAX, 8 * _Z_MAX * scale / math.pi)

    points = count(k) * (count(k * tau) if tau > 0 else 1)
    if points > 5e7:  # the (u, v) grid would not fit in memory
        raise NSTheoryError(f"sigma = {sigma:g} is too large for the two-token trapezoid route "
                            f"({points:.2g} grid points; it covers sigma up to ~{MAX_TWO_SIGMA:g} "
                            "at r = 0): near the hard-argmax limit use s_2 = 1/2 + arcsin(r)/pi "
                            "with its O(1/sigma) gap, or softmax_consistency")
    u, wu = nodes(k)
    pu = expit(k * u)
    if tau == 0.0:
        return float(2.0 * np.dot(wu, pu * expit(k * r * u)))
    v, wv = nodes(k * tau)
    inner = expit(k * (r * u[:, None] + tau * v[None, :])) @ wv
    return float(2.0 * np.dot(wu * pu, inner))
