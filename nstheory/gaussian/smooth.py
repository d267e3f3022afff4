r"""Smooth activations without a closed-form Gaussian map: tanh, erf-GELU ``x Phi(x)``,
SiLU ``x sigma(x)`` and softplus ``log(1 + e^x)``.

Routes
------
* precise (mpmath), way 1: the Hermite series ``sum_k c_k(q1) c_k(q2) rho^k`` with coefficients
  by composite Gauss-Legendre quadrature and the Cauchy-Schwarz tail bound
  (:mod:`nstheory.gaussian.hermite`); used while the tail bound is below the requested accuracy.
* precise, way 2: the 1-D reduction ``E_X[phi(sqrt(q1) X) g(X)]``,
  ``g(x) = E_Z phi(sqrt(q2)(rho x + s Z))`` with both integrals by trapezoidal sums on aligned
  grids (:func:`nstheory.gaussian.precise.reduction_trapezoid`; the composite Gauss-Legendre
  version :func:`nstheory.gaussian.precise.reduction_mp` is slower).
* certified (arb): the Hermite series with all coefficients and the second moment from one
  truncated trapezoidal rule with a rigorous error bound (:mod:`nstheory.gaussian.trapezoid`),
  the series tail ``|rho|^{K+1} sqrt(R_K(q1) R_K(q2))`` added to the radius, ``K`` chosen from
  the requested precision. Near ``rho = +-1`` (where the series would need
  ``~prec / (1 - |rho|)`` terms) and at ``rho = +-1`` exactly: the Taylor expansion at the end
  point with Price's theorem and a rigorous remainder (:mod:`nstheory.gaussian.endpoint`).

Parity is used exactly: tanh is odd (``c_k = 0`` for even k); GELU, SiLU and softplus are
``x/2 +`` an even function (``c_k = 0`` for odd ``k >= 3``).

Examples
--------
>>> t = get_smooth("tanh")
>>> print(mpmath.nstr(t.raw(0.5, dps=20), 15))
0.186324413203448
>>> t.raw_arb(0.5).contains(to_arb("0.18632441320344808611"))
True
"""

from __future__ import annotations

import math
from functools import cache, lru_cache
from typing import ClassVar

import mpmath
import numpy as np

from nstheory.errors import NSTheoryError
from nstheory.gaussian._backend import clip_endpoints, monotone_image, sqrt_nonneg, to_arb
from nstheory.gaussian.activations import Activation
from nstheory.gaussian.hermite import (
    gaussian_expectation,
    hermite_coefficients,
    stab_series,
)
from nstheory.gaussian.trapezoid import StripBound

#: largest Hermite degree used by the mpmath series route
K_MAX_MP = 240
#: the certified series is used up to degree max(K_SERIES_MIN, 3 * prec) before the end-point
#: expansion (nstheory.gaussian.endpoint) takes over
K_SERIES_MIN = 400


class SmoothActivation(Activation):
    """An analytic activation with ``|phi(y)| <= A + B|y|``; see the module docstring.

    Examples
    --------
    Hermite coefficients that vanish by parity are known exactly:

    >>> get_smooth("tanh").zero_coefficient(2), get_smooth("gelu").zero_coefficient(3)
    (True, True)
    >>> get_smooth("gelu").zero_coefficient(2)
    False
    """

    closed_form = False
    parity = "odd"  # or "linear+even"
    A, B = 1.0, 0.0

    def second_moment_bound(self, q: float) -> float:
        """``(A + B sqrt(q))^2`` (Minkowski on ``|phi| <= A + B|y|``); see
        :meth:`~nstheory.gaussian.activations.Activation.second_moment_bound`."""
        return (self.A + self.B * math.sqrt(float(q))) ** 2

    # ---- coefficient caches -------------------------------------------------------------------
    def zero_coefficient(self, k: int) -> bool:
        """True when ``c_k`` vanishes by parity (exactly)."""
        if self.parity == "odd":
            return k % 2 == 0
        return k % 2 == 1 and k >= 3

    def coefficients_mp(self, q, K: int, dps: int):
        """``[c_0(q) .. c_K(q)]`` (mpmath, cached)."""
        return _coeffs_mp(self.name, str(mpmath.mpf(q)), K, dps)

    # ---- precise -----------------------------------------------------------------------------
    def _raw_mp(self, rho, q1, q2):
        dps = mpmath.mp.dps - 10
        if abs(rho) == 1:
            a, b = mpmath.sqrt(q1), mpmath.sqrt(q2) * rho
            return gaussian_expectation(lambda x: self.phi_mp(a * x) * self.phi_mp(b * x), dps,
                                        width=panel_width(q1, q2))
        val, tail = self.series_mp(rho, q1, q2, dps)
        if tail <= mpmath.mpf(10) ** (-dps - 2) * max(abs(val), mpmath.mpf(10) ** -dps):
            return val
        from nstheory.gaussian.precise import reduction_trapezoid

        return reduction_trapezoid(self, rho, q1, q2, dps)

    def series_mp(self, rho, q1, q2, dps: int, K: int | None = None):
        """Hermite series value and rigorous tail bound (``(val, tail)``), K chosen for the
        requested ``dps`` unless given."""
        rho = mpmath.mpf(rho)
        if K is None:
            r = abs(float(rho))
            if r == 0:
                K = 2
            elif r >= 0.999:
                K = K_MAX_MP
            else:
                K = min(K_MAX_MP, int((dps + 3) / -math.log10(r)) + 2)
        with mpmath.workdps(dps + 10):
            c1 = self.coefficients_mp(q1, K, dps)
            c2 = c1 if q1 == q2 else self.coefficients_mp(q2, K, dps)
            return stab_series(c1, c2, rho, self._m2_mp(q1), self._m2_mp(q2))

    def _mean_mp(self, q):
        if self.parity == "odd":
            return mpmath.mpf(0)
        dps = mpmath.mp.dps - 10
        return gaussian_expectation(lambda x: self.phi_mp(mpmath.sqrt(q) * x), dps,
                                    width=panel_width(q))

    def _m2_mp(self, q):
        dps = mpmath.mp.dps - 10
        return _m2_mp_cached(self.name, str(mpmath.mpf(q)), dps)

    # ---- certified ---------------------------------------------------------------------------
    def _raw_arb(self, rho, q1, q2):
        from flint import ctx

        lo, hi = clip_endpoints(rho, -1, 1)
        prec = ctx.prec
        if self.increasing_in_rho:
            return monotone_image(lambda r: self._raw_arb_point(r, q1, q2, prec), lo, hi)
        return self._raw_arb_point(lo.union(hi) if lo != hi else lo, q1, q2, prec)

    def _raw_arb_point(self, r, q1, q2, prec):
        from flint import arb

        from nstheory.gaussian.endpoint import choose_terms, endpoint_expansion

        rmax = float(r.abs_upper())
        if rmax >= 1 and r.is_exact():
            return endpoint_expansion(self, r, q1, q2, prec)
        K = series_degree(rmax, prec)
        k_cap = max(K_SERIES_MIN, 3 * prec)
        if K > k_cap:
            sigma = 1 if float(r.mid()) >= 0 else -1
            delta = float((r - sigma).abs_upper())
            au = float(sqrt_nonneg(q1).abs_upper())
            bu = float(sqrt_nonneg(q2).abs_upper())
            N = choose_terms(self, delta, max(au, 1e-300), max(bu, 1e-300), prec)
            if N is not None:
                return endpoint_expansion(self, r, q1, q2, prec, N)
            K = k_cap  # neither route is cheap here: a capped series, its tail in the radius
        c1, m1 = _trapezoid_coefficients(self, q1, prec, K)
        same = _same(q1, q2)
        c2, m2 = (c1, m1) if same else _trapezoid_coefficients(self, q2, prec, K)
        val, s1, s2 = arb(0), arb(0), arb(0)
        for k in range(K, -1, -1):  # Horner in the ball r
            val = val * r + c1[k] * c2[k]
        for k in range(K + 1):
            s1 += c1[k] * c1[k]
            s2 += c2[k] * c2[k]
        rem = (m1 - s1).nonnegative_part() * (m2 - s2).nonnegative_part()
        tail = sqrt_nonneg(rem).upper() * r.abs_upper() ** (K + 1)
        return val + arb(0, tail.upper())

    def coefficient_arb(self, q, k: int):
        """Certified ``c_k(q)`` at the current arb precision (cached).

        >>> from nstheory.numerics import arb_precision
        >>> from nstheory.gaussian.hermite import hermite_coefficient_arb
        >>> tanh = get_smooth("tanh")
        >>> with arb_precision(bits=53):
        ...     c = tanh.coefficient_arb(1, 3)
        ...     ref = hermite_coefficient_arb(tanh.phi_acb, 3, 1, 1.0, 0.0, 53)  # acb.integral
        >>> c.overlaps(ref), float(c.rad()) < 1e-15
        (True, True)
        """
        from flint import ctx

        c, _ = _trapezoid_coefficients(self, to_arb(q), ctx.prec, max(k, 8))
        return c[k]

    def _mean_arb(self, q):
        from flint import arb, ctx

        if self.parity == "odd":
            return arb(0)  # E phi(U) = 0 exactly for odd phi
        c, _ = _trapezoid_coefficients(self, q, ctx.prec, 8)
        return c[0]

    def _m2_arb(self, q):
        from flint import ctx

        _, m2 = _trapezoid_coefficients(self, q, ctx.prec, 8)
        return m2

    # ---- float -------------------------------------------------------------------------------
    def _raw_np(self, rho, q1, q2):
        rho, q1, q2 = np.broadcast_arrays(rho, q1, q2)
        out = np.empty(rho.shape, dtype=np.float64)
        pairs = {(float(a), float(b)) for a, b in zip(q1.ravel(), q2.ravel(), strict=True)}
        for a, b in pairs:
            mask = (q1 == a) & (q2 == b)
            out[mask] = _float_series(self.name, a, b)(rho[mask])
        return out


def _same(x, y) -> bool:
    return x.mid() == y.mid() and x.rad() == y.rad()


@lru_cache(maxsize=64)
def _coeffs_mp(name: str, q: str, K: int, dps: int):
    act = get_smooth(name)
    with mpmath.workdps(dps + 10):
        c = hermite_coefficients(act.phi_mp, K, mpmath.mpf(q), dps)
        return [mpmath.mpf(0) if act.zero_coefficient(k) else v for k, v in enumerate(c)]


@lru_cache(maxsize=64)
def _m2_mp_cached(name: str, q: str, dps: int):
    act = get_smooth(name)
    with mpmath.workdps(dps + 10):
        a = mpmath.sqrt(mpmath.mpf(q))
        return gaussian_expectation(lambda x: act.phi_mp(a * x) ** 2, dps, width=panel_width(q))


def panel_width(*qs) -> float:
    """Panel width of the composite rules for ``phi(sqrt(q) X)`` at the largest of ``qs``:
    ``2 / sqrt(q)`` (the scale of ``phi``'s features in ``X``), at most 1.

    >>> panel_width(1), panel_width("1e4", 4)
    (1.0, 0.02)
    """
    return min(1.0, 2.0 / math.sqrt(max(float(q) for q in qs)))


def series_degree(rmax: float, prec: int) -> int:
    """Hermite degree ``K`` with ``rmax^{K+1} <= 2^-(prec+10)`` (the Parseval remainder is at
    most ``E phi^2``, of order one).

    >>> series_degree(0.5, 53)
    63
    """
    if rmax <= 0:
        return 1
    if rmax >= 1:
        return 10**9
    return max(1, math.ceil((prec + 10) * math.log(2) / -math.log(rmax)))


class _TrapezoidCache:
    """Certified coefficient lists per (activation, q, precision); a list of degree K serves
    every smaller degree (its error bounds hold for all k <= K)."""

    store: ClassVar[dict] = {}


def _trapezoid_coefficients(act, q, prec: int, K: int):
    from nstheory.gaussian.trapezoid import hermite_coefficients_trapezoid

    key = (act.name, q.mid().str(radius=False, more=True), float(q.rad()), prec)
    have = _TrapezoidCache.store.get(key)
    if have is None or have[0] < K:
        K = max(K, 8)
        c, m2 = hermite_coefficients_trapezoid(act, sqrt_nonneg(q), K, prec)
        have = (K, c, m2)
        _TrapezoidCache.store[key] = have
    return have[1], have[2]


def float_hermite_coefficients(phi_np, q: float, K: int, L: float | None = None, panels: int = 200):
    """Float64 Hermite coefficients ``c_0..c_K`` at variance ``q`` by composite Gauss-Legendre
    (at least ``panels`` panels, and enough to resolve ``phi``'s scale ``1/sqrt(q)``), with the
    stable Hermite-function recurrence ``psi_k = h_k e^{-x^2/4}`` (``|psi_k| <= 1.09``).

    >>> c = float_hermite_coefficients(np.tanh, 1.0, 5)
    >>> round(float(c[1]), 12)
    0.605705509602
    """
    L = L if L is not None else 2 * math.sqrt(K) + 12
    panels = max(panels, math.ceil(2 * L * math.sqrt(q)))  # resolve phi's scale 1/sqrt(q)
    if panels > 1e6:
        raise NSTheoryError(f"float Hermite coefficients at q = {q} would need {panels:.2g} "
                            "panels; use the precise or certified route")
    t, w = np.polynomial.legendre.leggauss(16)
    edges = np.linspace(-L, L, panels + 1)
    half = (edges[1:] - edges[:-1]) / 2
    x = ((edges[:-1] + edges[1:]) / 2)[:, None] + half[:, None] * t[None, :]
    wt = (half[:, None] * w[None, :]).ravel()
    x = x.ravel()
    base = phi_np(math.sqrt(q) * x) * wt * np.exp(-(x**2) / 4) / math.sqrt(2 * math.pi)
    out = np.empty(K + 1)
    pm, p = np.zeros_like(x), np.exp(-(x**2) / 4)
    out[0] = base @ p
    for k in range(K):
        pm, p = p, (x * p - math.sqrt(k) * pm) / math.sqrt(k + 1)
        out[k + 1] = base @ p
    return out


#: Largest bound on the float series' omitted tail accepted; beyond it (``|rho|`` near 1 at a
#: large variance, where the coefficients decay slowly) the float route integrates directly.
FLOAT_TAIL_TOL = 1e-11
#: Most integrand evaluations of that direct rule (about 10 s of numpy).
MAX_FLOAT_NODES = 1e9


def normal_panel_rule(scale: float, L: float = 9.0):
    """Nodes and weights (summing to 1 up to the ``e^{-L^2/2}`` tails) of ``E g(Z)``,
    ``Z ~ N(0, 1)``, for a ``g`` with features of width ``~1/scale``: 8-node Gauss-Legendre
    panels on ``[-L, L]`` no wider than ``1 / (2 scale)`` (and 0.5).

    >>> x, w = normal_panel_rule(10.0)
    >>> x.size, round(float(w @ x**2), 12)
    (2880, 1.0)
    """
    t, w = np.polynomial.legendre.leggauss(8)
    n = max(36, math.ceil(2 * L * 2 * max(1.0, scale)))
    edges = np.linspace(-L, L, n + 1)
    half = (edges[1:] - edges[:-1]) / 2
    x = (((edges[:-1] + edges[1:]) / 2)[:, None] + half[:, None] * t[None, :]).ravel()
    wt = (half[:, None] * w[None, :]).ravel() * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    return x, wt


def float_pair_expectation(phi_np, rho: float, q1: float, q2: float) -> float:
    """``E phi(sqrt(q1) U) phi(sqrt(q2) V)`` for standard normals of correlation ``rho``, in
    float64 by a tensor Gauss-Legendre rule (``V = rho U + sqrt(1 - rho^2) Z``) whose panels
    resolve both factors (width ``1 / (2 scale)``): accurate where the Hermite series converges
    slowly, at the cost of ``~(scale L)^2`` evaluations (refused beyond
    :data:`MAX_FLOAT_NODES`).

    >>> v = float_pair_expectation(np.tanh, 0.99, 400.0, 400.0)
    >>> round(v, 9)  # a 60-digit mpmath quadrature gives 0.901218964712
    0.901218965
    """
    a, b = math.sqrt(q1), math.sqrt(q2)
    s = math.sqrt(max(0.0, 1.0 - rho * rho))
    u, wu = normal_panel_rule(max(a, b * abs(rho)))
    z, wz = normal_panel_rule(b * s)
    if u.size * z.size > MAX_FLOAT_NODES:
        raise NSTheoryError(f"the float route would need {u.size * z.size:.2g} evaluations at "
                            f"rho = {rho}, q = ({q1}, {q2}); use the precise or certified route")
    total = 0.0
    chunk = max(1, int(2e7 // z.size))
    for i in range(0, u.size, chunk):
        uu = u[i:i + chunk]
        inner = phi_np(b * (rho * uu[:, None] + s * z[None, :])) @ wz
        total += float((wu[i:i + chunk] * phi_np(a * uu)) @ inner)
    return total


@lru_cache(maxsize=64)
def _float_series(name: str, q1: float, q2: float, K: int = 150):
    """A float64 evaluator of the Hermite series: partial sum to degree K plus the remainder
    ``T rho^{K+1}`` with ``T`` matching the exact values at rho = +-1; where the omitted tail
    is not bounded below :data:`FLOAT_TAIL_TOL` (Parseval: ``|rho|^{K+1} sqrt(R_1 R_2)``,
    ``R = E phi^2 - sum c_k^2``), the value comes from :func:`float_pair_expectation`."""
    act = get_smooth(name)
    c1 = float_hermite_coefficients(act.phi_np, q1, K)
    c2 = c1 if q1 == q2 else float_hermite_coefficients(act.phi_np, q2, K)
    coef = c1 * c2
    rest = []
    for q, c in ((q1, c1), (q2, c2)):
        try:
            m2 = float(act.second_moment(q, 17))
        except NSTheoryError:  # too large a variance for the precise moment
            m2 = math.inf
        rest.append(max(0.0, m2 - float(c @ c)))
    tail_scale = math.sqrt(rest[0] * rest[1])
    # the exact values at rho = +-1 by a rule whose panels resolve phi at these variances
    at_one = float_pair_expectation(act.phi_np, 1.0, q1, q2)
    at_minus = float_pair_expectation(act.phi_np, -1.0, q1, q2)
    t_plus = at_one - coef.sum()
    t_minus = at_minus - (coef * (-1.0) ** np.arange(K + 1)).sum()

    def f(rho):
        rho = np.asarray(rho, dtype=np.float64)
        val = np.polynomial.polynomial.polyval(rho, coef)
        out = val + np.abs(rho) ** (K + 1) * np.where(rho >= 0, t_plus, t_minus)
        loose = np.abs(rho) ** (K + 1) * tail_scale > FLOAT_TAIL_TOL
        loose &= np.abs(rho) < 1  # the endpoints are exact
        if np.any(loose):
            out = np.array(out, dtype=np.float64)
            out[loose] = [float_pair_expectation(act.phi_np, float(r), q1, q2)
                          for r in np.atleast_1d(rho)[np.atleast_1d(loose)]]
        return out

    return f


# --------------------------------------------------------------------------------------------
# the four activations
# --------------------------------------------------------------------------------------------


class Tanh(SmoothActivation):
    """``tanh``: odd, ``|tanh| <= 1``, monotone.

    Examples
    --------
    At ``rho = 1`` the map is ``E tanh(X)^2``; compare a direct quadrature:

    >>> t, line = Tanh(), [-mpmath.inf, 0, mpmath.inf]
    >>> direct = mpmath.quad(lambda x: mpmath.tanh(x) ** 2 * mpmath.npdf(x), line)
    >>> abs(t.raw(1, dps=15) - direct) < 1e-12, t.mean(1, dps=15) == 0
    (True, True)
    """

    name, parity, A, B = "tanh", "odd", 1.0, 0.0
    strip = math.pi / 2  # poles at +-i pi/2
    # |tanh(u+iv)|^2 = (cosh 2u - cos 2v) / (cosh 2u + cos 2v) <= 3 for |v| <= pi/3
    strip_bound = StripBound(D="1.047", A="1.7321", B="0")

    def phi_mp(self, x):
        return mpmath.tanh(x)

    def phi_np(self, x):
        return np.tanh(np.asarray(x, dtype=np.float64))

    def derivative_mp(self, x):
        return mpmath.sech(x) ** 2

    def phi_acb(self, z, analytic):
        return z.tanh()

    def phi_arb(self, x):
        return x.tanh()

    def phi_series(self, w):
        return 1 - 2 * (1 + (2 * w).exp()).inv()


class Gelu(SmoothActivation):
    """Exact erf-GELU ``x Phi(x) = x (1 + erf(x/sqrt 2))/2``: ``|phi| <= |x|``, not monotone.

    Examples
    --------
    By Stein's identity ``E[X Phi(X)] = E[phi(X)] = 1/(2 sqrt(pi))``:

    >>> abs(Gelu().mean(1, dps=15) - 1 / (2 * mpmath.sqrt(mpmath.pi))) < 1e-12
    True
    """

    name, parity, A, B = "gelu", "linear+even", 0.0, 1.0
    strip = 2.0  # entire, but grows like exp(y^2/2) off the axis
    increasing_in_rho = False
    # |Phi(u+iv)| <= e^{v^2/2} Phi(u) (integrate phi along the horizontal line from -inf), so
    # |z Phi(z)| <= e^2 (|u| + 2) for |v| <= 2
    strip_bound = StripBound(D="2", A="14.7782", B="7.3891")

    def phi_mp(self, x):
        # x Phi(x) with Phi(x) = erfc(-x / sqrt 2) / 2 (what mpmath.ncdf computes, a third
        # faster without its argument handling)
        return x * mpmath.erfc(-x / mpmath.sqrt(2)) / 2

    def phi_np(self, x):
        from scipy.special import erf

        x = np.asarray(x, dtype=np.float64)
        return x * (1 + erf(x / math.sqrt(2))) / 2

    def derivative_mp(self, x):
        return mpmath.ncdf(x) + x * mpmath.npdf(x)

    def phi_acb(self, z, analytic):
        from flint import arb

        return z * (1 + (z / arb(2).sqrt()).erf()) / 2

    def phi_arb(self, x):
        from flint import arb

        return x * (-x / arb(2).sqrt()).erfc() / 2  # 1 + erf(u) = erfc(-u): no cancellation

    def phi_series(self, w):
        from flint import arb

        return w * (1 + (w / arb(2).sqrt()).erf()) / 2


class Silu(SmoothActivation):
    """SiLU / swish-1 ``x sigma(x)``: ``|phi| <= |x|``, not monotone.

    Examples
    --------
    By Stein's identity ``E[X sigma(X)] = E[sigma'(X)] = E[sigma(X) (1 - sigma(X))]``:

    >>> sig = lambda x: 1 / (1 + mpmath.exp(-x))
    >>> line = [-mpmath.inf, 0, mpmath.inf]
    >>> stein = mpmath.quad(lambda x: sig(x) * (1 - sig(x)) * mpmath.npdf(x), line)
    >>> abs(Silu().mean(1, dps=15) - stein) < 1e-12
    True
    """

    name, parity, A, B = "silu", "linear+even", 0.0, 1.0
    strip = math.pi  # poles at +-i pi
    increasing_in_rho = False
    # sigma(z) = (1 + tanh(z/2))/2 and |tanh| <= sqrt 3 for |Im| <= pi/3: |sigma| <= (1+sqrt 3)/2
    # for |v| <= 2 pi/3, so |z sigma(z)| <= 1.3661 (|u| + 2 pi/3)
    strip_bound = StripBound(D="2.094", A="2.8612", B="1.36603")

    def phi_mp(self, x):
        return x / (1 + mpmath.exp(-x))

    def phi_np(self, x):
        from scipy.special import expit

        x = np.asarray(x, dtype=np.float64)
        return x * expit(x)

    def derivative_mp(self, x):
        s = 1 / (1 + mpmath.exp(-x))
        return s * (1 + x * (1 - s))

    def phi_acb(self, z, analytic):
        return z / (1 + (-z).exp())

    def phi_arb(self, x):
        return x / (1 + (-x).exp())

    def phi_series(self, w):
        return w * (1 + (-w).exp()).inv()


class Softplus(SmoothActivation):
    """``log(1 + e^x)``: ``0 < phi <= log 2 + |x|``, monotone.

    Examples
    --------
    ``phi(0) = log 2`` and ``phi(x) - phi(-x) = x``:

    >>> s = Softplus()
    >>> abs(s.phi_mp(0) - mpmath.log(2)) < 1e-15
    True
    >>> x = np.array([-2.0, 0.5, 3.0])
    >>> np.allclose(s.phi_np(x) - s.phi_np(-x), x, rtol=0, atol=1e-14)
    True
    """

    name, parity, A, B = "softplus", "linear+even", math.log(2) * (1 + 1e-12), 1.0
    strip = math.pi  # branch points at +-i pi
    # for |v| <= 2 pi/3: 3/4 <= |1 + e^z|^2 <= (1 + e^u)^2 and 1 + e^z avoids (-inf, 0], so
    # |log(1 + e^z)| <= log 2 + |u| + pi
    strip_bound = StripBound(D="2.094", A="3.8348", B="1")

    def phi_mp(self, x):
        return mpmath.log1p(mpmath.exp(x)) if x < 30 else x + mpmath.log1p(mpmath.exp(-x))

    def phi_np(self, x):
        return np.logaddexp(0.0, np.asarray(x, dtype=np.float64))

    def derivative_mp(self, x):
        return 1 / (1 + mpmath.exp(-x))

    def phi_acb(self, z, analytic):
        return (1 + z.exp()).log(analytic=analytic)

    def phi_arb(self, x):
        return (1 + x.exp()).log()

    def phi_series(self, w):
        """Power series of ``phi(z + s)`` *without* its constant term (the logistic series
        integrated): derivatives of order >= 1 only, so no branch cut is crossed."""
        return (1 + (-w).exp()).inv().integral()


_SMOOTH = {"tanh": Tanh, "gelu": Gelu, "silu": Silu, "softplus": Softplus}


@cache
def get_smooth(name: str) -> SmoothActivation:
    """The smooth activation called ``name`` (tanh, gelu, silu, softplus); cached instances
    share their coefficient caches."""
    try:
        return _SMOOTH[name]()
    except KeyError:
        raise NSTheoryError(f"unknown smooth activation {name!r}") from None
