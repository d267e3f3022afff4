r"""Smooth activations without a closed-form Gaussian map: tanh, erf-GELU ``x Phi(x)``,
SiLU ``x sigma(x)`` and softplus ``log(1 + e^x)``.

Routes
------
* precise (mpmath), way 1: the Hermite series ``sum_k c_k(q1) c_k(q2) rho^k`` with coefficients
  by composite Gauss-Legendre quadrature and the Cauchy-Schwarz tail bound
  (:mod:`nstheory.gaussian.hermite`); used while the tail bound is below the requested accuracy.
* precise, way 2: the 1-D reduction ``E_X[phi(sqrt(q1) X) g(X)]``,
  ``g(x) = E_Z phi(sqrt(q2)(rho x + s Z))`` with both integrals by composite Gauss-Legendre
  (:mod:`nstheory.gaussian.precise`).
* certified (arb): the Hermite series with each coefficient a rigorous ``acb.integral`` over
  ``[-L, L]`` plus Cramér's tail bound for ``|x| > L``, the second moment likewise, and the series
  tail ``|rho|^{K+1} sqrt(R_K(q1) R_K(q2))`` added to the radius. At ``rho = +-1`` exactly the
  map is the 1-D integral ``E[phi(aX) phi(+-bX)]``.

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
    gaussian_expectation_arb,
    hermite_coefficient_arb,
    hermite_coefficients,
    stab_series,
)

#: largest Hermite degree used by the series routes
K_MAX_MP = 240
K_MAX_ARB = 160


class SmoothActivation(Activation):
    """An analytic activation with ``|phi(y)| <= A + B|y|``; see the module docstring."""

    closed_form = False
    parity = "odd"  # or "linear+even"
    A, B = 1.0, 0.0

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
            return gaussian_expectation(lambda x: self.phi_mp(a * x) * self.phi_mp(b * x), dps)
        val, tail = self.series_mp(rho, q1, q2, dps)
        if tail <= mpmath.mpf(10) ** (-dps - 2) * max(abs(val), mpmath.mpf(10) ** -dps):
            return val
        from nstheory.gaussian.precise import reduction_mp

        return reduction_mp(self, rho, q1, q2, dps)

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
        return gaussian_expectation(lambda x: self.phi_mp(mpmath.sqrt(q) * x), dps)

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

        if r.is_exact() and abs(r) == 1:
            a, b = sqrt_nonneg(q1), sqrt_nonneg(q2) * r
            p0, p1, p2 = self._product_growth(a, b)
            return gaussian_expectation_arb(
                lambda z, an: self.phi_acb(a * z, an) * self.phi_acb(b * z, an), p0, p1, p2, prec
            )
        rmax = float(r.abs_upper())
        target = 2.0 ** (-prec)
        m1 = _CoefficientCache.second_moment(self, q1, prec)
        same = _same(q1, q2)
        m2 = m1 if same else _CoefficientCache.second_moment(self, q2, prec)
        val, rk, s1, s2 = arb(0), arb(1), arb(0), arb(0)
        K = 0
        for k in range(K_MAX_ARB + 1):
            K = k
            a1 = _CoefficientCache.coefficient(self, q1, prec, k)
            a2 = a1 if same else _CoefficientCache.coefficient(self, q2, prec, k)
            s1 += a1 * a1
            s2 += a2 * a2
            if not self.zero_coefficient(k):
                val += a1 * a2 * rk
            rk = rk * r
            if k >= 1 and not self.zero_coefficient(k):
                rem = float((m1 - s1).upper()) * float((m2 - s2).upper())
                if rmax == 0 or max(rem, 0.0) ** 0.5 * rmax ** (k + 1) <= target * 0.01:
                    break
        rem = (m1 - s1).nonnegative_part() * (m2 - s2).nonnegative_part()
        tail = sqrt_nonneg(rem).upper() * r.abs_upper() ** (K + 1)
        return val + arb(0, tail)

    def coefficient_arb(self, q, k: int):
        """Certified ``c_k(q)`` at the current arb precision (cached)."""
        from flint import ctx

        return _CoefficientCache.coefficient(self, to_arb(q), ctx.prec, k)

    def _product_growth(self, a, b):
        A, B = self.A, self.B
        aa, bb = float(a.abs_upper()), float(b.abs_upper())
        return A * A, A * B * (aa + bb), B * B * aa * bb

    def _mean_arb(self, q):
        from flint import arb, ctx

        if self.parity == "odd":
            return arb(0)  # E phi(U) = 0 exactly for odd phi

        a = sqrt_nonneg(q)
        B = self.B * float(a.abs_upper())
        fn = lambda z, an: self.phi_acb(a * z, an)  # noqa: E731
        return gaussian_expectation_arb(fn, self.A, B, 0, ctx.prec)

    def _m2_arb(self, q):
        from flint import ctx

        return _CoefficientCache.second_moment(self, q, ctx.prec)

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
        return gaussian_expectation(lambda x: act.phi_mp(a * x) ** 2, dps)


class _CoefficientCache:
    _store: ClassVar[dict] = {}

    @classmethod
    def _key(cls, act, q, prec):
        return (act.name, q.mid().str(radius=False, more=True), float(q.rad()), prec)

    @classmethod
    def second_moment(cls, act, q, prec):
        key = ("m2", *cls._key(act, q, prec))
        if key not in cls._store:
            a = sqrt_nonneg(q)
            A, B = act.A, act.B * float(a.abs_upper())
            cls._store[key] = gaussian_expectation_arb(
                lambda z, an: act.phi_acb(a * z, an) ** 2, A * A, 2 * A * B, B * B, prec
            )
        return cls._store[key]

    @classmethod
    def coefficient(cls, act, q, prec, k):
        from flint import arb

        key = ("c", *cls._key(act, q, prec))
        have = cls._store.setdefault(key, {})
        if k not in have:
            if act.zero_coefficient(k):
                have[k] = arb(0)
            else:
                a = sqrt_nonneg(q)
                have[k] = hermite_coefficient_arb(act.phi_acb, k, a, act.A, act.B, prec)
        return have[k]


def float_hermite_coefficients(phi_np, q: float, K: int, L: float | None = None, panels: int = 200):
    """Float64 Hermite coefficients ``c_0..c_K`` at variance ``q`` by composite Gauss-Legendre,
    with the stable Hermite-function recurrence ``psi_k = h_k e^{-x^2/4}`` (``|psi_k| <= 1.09``).

    >>> c = float_hermite_coefficients(np.tanh, 1.0, 5)
    >>> round(float(c[1]), 12)
    0.605705509602
    """
    L = L if L is not None else 2 * math.sqrt(K) + 12
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


@lru_cache(maxsize=64)
def _float_series(name: str, q1: float, q2: float, K: int = 150):
    """A float64 evaluator of the Hermite series for plots: partial sum to degree K plus the
    remainder ``T rho^{K+1}`` with ``T`` matching the exact values at rho = +-1 (approximate
    near |rho| = 1, exact at the endpoints)."""
    act = get_smooth(name)
    c1 = float_hermite_coefficients(act.phi_np, q1, K)
    c2 = c1 if q1 == q2 else float_hermite_coefficients(act.phi_np, q2, K)
    coef = c1 * c2
    t, w = np.polynomial.legendre.leggauss(16)
    edges = np.linspace(-14, 14, 201)
    half = (edges[1:] - edges[:-1]) / 2
    x = (((edges[:-1] + edges[1:]) / 2)[:, None] + half[:, None] * t[None, :]).ravel()
    wt = (half[:, None] * w[None, :]).ravel() * np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)
    a, b = math.sqrt(q1), math.sqrt(q2)
    at_one = float(wt @ (act.phi_np(a * x) * act.phi_np(b * x)))
    at_minus = float(wt @ (act.phi_np(a * x) * act.phi_np(-b * x)))
    t_plus = at_one - coef.sum()
    t_minus = at_minus - (coef * (-1.0) ** np.arange(K + 1)).sum()

    def f(rho):
        rho = np.asarray(rho, dtype=np.float64)
        val = np.polynomial.polynomial.polyval(rho, coef)
        return val + np.abs(rho) ** (K + 1) * np.where(rho >= 0, t_plus, t_minus)

    return f


# --------------------------------------------------------------------------------------------
# the four activations
# --------------------------------------------------------------------------------------------


class Tanh(SmoothActivation):
    """``tanh``: odd, ``|tanh| <= 1``, monotone."""

    name, parity, A, B = "tanh", "odd", 1.0, 0.0
    strip = math.pi / 2  # poles at +-i pi/2

    def phi_mp(self, x):
        return mpmath.tanh(x)

    def phi_np(self, x):
        return np.tanh(np.asarray(x, dtype=np.float64))

    def derivative_mp(self, x):
        return mpmath.sech(x) ** 2

    def phi_acb(self, z, analytic):
        return z.tanh()


class Gelu(SmoothActivation):
    """Exact erf-GELU ``x Phi(x) = x (1 + erf(x/sqrt 2))/2``: ``|phi| <= |x|``, not monotone."""

    name, parity, A, B = "gelu", "linear+even", 0.0, 1.0
    strip = 2.0  # entire, but grows like exp(y^2/2) off the axis
    increasing_in_rho = False

    def phi_mp(self, x):
        return x * mpmath.ncdf(x)

    def phi_np(self, x):
        from scipy.special import erf

        x = np.asarray(x, dtype=np.float64)
        return x * (1 + erf(x / math.sqrt(2))) / 2

    def derivative_mp(self, x):
        return mpmath.ncdf(x) + x * mpmath.npdf(x)

    def phi_acb(self, z, analytic):
        from flint import arb

        return z * (1 + (z / arb(2).sqrt()).erf()) / 2


class Silu(SmoothActivation):
    """SiLU / swish-1 ``x sigma(x)``: ``|phi| <= |x|``, not monotone."""

    name, parity, A, B = "silu", "linear+even", 0.0, 1.0
    strip = math.pi  # poles at +-i pi
    increasing_in_rho = False

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


class Softplus(SmoothActivation):
    """``log(1 + e^x)``: ``0 < phi <= log 2 + |x|``, monotone."""

    name, parity, A, B = "softplus", "linear+even", math.log(2) * (1 + 1e-12), 1.0
    strip = math.pi  # branch points at +-i pi

    def phi_mp(self, x):
        return mpmath.log1p(mpmath.exp(x)) if x < 30 else x + mpmath.log1p(mpmath.exp(-x))

    def phi_np(self, x):
        return np.logaddexp(0.0, np.asarray(x, dtype=np.float64))

    def derivative_mp(self, x):
        return 1 / (1 + mpmath.exp(-x))

    def phi_acb(self, z, analytic):
        return (1 + z.exp()).log(analytic=analytic)


_SMOOTH = {"tanh": Tanh, "gelu": Gelu, "silu": Silu, "softplus": Softplus}


@cache
def get_smooth(name: str) -> SmoothActivation:
    """The smooth activation called ``name`` (tanh, gelu, silu, softplus); cached instances
    share their coefficient caches."""
    try:
        return _SMOOTH[name]()
    except KeyError:
        raise NSTheoryError(f"unknown smooth activation {name!r}") from None
