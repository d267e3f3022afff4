r"""NNGP and NTK of infinitely wide MLPs on the Boolean cube, as functions of ``t = <x, y>/n``.

Architecture (NTK parametrisation, width -> infinity). Input ``x in {-1, 1}^n``;
``h^1 = W^1 x / sqrt(n) + b^1`` and ``h^{l+1} = W^{l+1} phi(h^l) / sqrt(width) + b^{l+1}`` for
``l = 1..L`` (``L`` hidden layers = ``depth``), all weights ``N(0, sigma_w^2)``, biases
``N(0, sigma_b^2)``, output ``f = h^{L+1}`` (one unit). Every parameter is trained. Since
``||x||^2 / n = 1`` on the cube, every input has the same variances and the kernels depend on
``t`` only:

* ``Sigma^1(t) = sigma_w^2 t + sigma_b^2``, ``q^1 = sigma_w^2 + sigma_b^2``;
* ``Sigma^{l+1}(t) = sigma_w^2 E[phi(U) phi(V)] + sigma_b^2`` and
  ``Sigma_dot^{l+1}(t) = sigma_w^2 E[phi'(U) phi'(V)]`` with ``U, V ~ N(0, q^l)``,
  ``corr(U, V) = Sigma^l(t) / q^l``; ``q^{l+1} = Sigma^{l+1}(1)``;
* ``NNGP = Sigma^{L+1}``, ``NTK = Theta^{L+1}`` with ``Theta^1 = Sigma^1`` and
  ``Theta^{l+1} = Sigma^{l+1} + Sigma_dot^{l+1} Theta^l``.

``E[phi(U) phi(V)]`` is the activation's ``raw`` map of :mod:`nstheory.gaussian.activations`;
the derivative map ``E[phi'(U) phi'(V)] = d/dc E[phi(U) phi(V)]`` (Price's theorem,
``c = Cov(U, V)``) is given here in closed form for the (a, b)-ReLU family (relu, leaky_relu,
abs: ``(a - b)^2 kappa'(rho) + ab``, ``kappa'(rho) = (pi - arccos rho)/(2 pi)``), erf
(``(4/pi) / sqrt((1 + 2q)^2 - 4c^2)``), identity (1) and polynomials (Mehler series). The NTK
of sign does not exist (``phi'`` is a delta) and the smooth activations without closed form are
not offered here.

Examples
--------
>>> k = MLPKernel("relu", depth=1, sw2=2, sb2=0)
>>> [mpmath.nstr(v, 12) for v in k.mp(0)]   # NNGP(0) = 2 * 2 kappa(0) = 2/pi, NTK adds 0
['0.636619772368', '0.636619772368']
>>> [mpmath.nstr(v, 12) for v in k.mp(1)]   # NNGP(1) = q = 2; NTK = 2 + 2 kappa'(1) * 2 = 4
['2.0', '4.0']
"""

from __future__ import annotations

import math
import numbers

import mpmath
import numpy as np

from nstheory.errors import NSTheoryError, check_int
from nstheory.gaussian._backend import clip_endpoints, sqrt_nonneg, to_arb
from nstheory.gaussian.activations import (
    ABReLU,
    Erf,
    Identity,
    Polynomial,
    _kappa_point,
    get_activation,
)
from nstheory.validate import check_real

#: Activations whose derivative map is available (the NTK needs it).
NTK_ACTIVATIONS = ("abs", "erf", "identity", "leaky_relu", "polynomial", "relu")


def _check_var(x, name: str):
    """``x`` (a decimal string or a real number) as the decimal string the three routes parse:
    a string keeps its digits, a number is written by its shortest round-trip decimal."""
    text = x.strip() if isinstance(x, str) else None
    try:
        if isinstance(x, bool) or not (text is not None or isinstance(x, numbers.Real)):
            raise TypeError
        if isinstance(x, numbers.Rational) and x.denominator != 1:  # keep it exact: a string
            raise TypeError
        v = float(text if text is not None else x)
    except (TypeError, ValueError, OverflowError):
        raise NSTheoryError(f"{name} must be a number >= 0, got {x!r}") from None
    if not math.isfinite(v) or v < 0:
        raise NSTheoryError(f"{name} must be a finite number >= 0, got {x!r}")
    return text if text is not None else repr(v)


class MLPKernel:
    """The NNGP and NTK of a depth-``L`` MLP on the cube (see the module docstring).

    ``act`` is an activation name (or an :class:`~nstheory.gaussian.activations.Activation`),
    ``depth`` the number of hidden layers (``>= 0``; 0 = a linear model), ``sw2``/``sb2`` the
    weight and bias variances (decimal strings keep their digits in the certified route).
    ``mp(t)``, ``arb(t)`` and ``float(t)`` return ``(nngp, ntk)``.

    >>> MLPKernel("relu", depth=2).float(np.array([1.0, 0.0]))[1].round(6)
    array([6.      , 1.371417])
    """

    def __init__(self, act="relu", depth: int = 1, sw2="2", sb2="0", **act_params):
        self.act = get_activation(act, **act_params) if isinstance(act, str) else act
        if not isinstance(self.act, ABReLU | Erf | Identity | Polynomial):
            raise NSTheoryError(
                f"the NTK needs E[phi'(U) phi'(V)], available for {', '.join(NTK_ACTIVATIONS)}; "
                f"got {self.act.name!r}"
            )
        self.depth = check_int(depth, "depth", lo=0, hi=10_000)
        self.sw2 = _check_var(sw2, "sw2")
        self.sb2 = _check_var(sb2, "sb2")
        if mpmath.mpf(self.sw2) == 0:
            raise NSTheoryError("sw2 must be > 0 (got 0: every kernel would be constant)")

    def __repr__(self) -> str:
        return (f"MLPKernel({self.act.name!r}, depth={self.depth}, sw2={self.sw2}, "
                f"sb2={self.sb2})")

    # ---- derivative maps E[phi'(U) phi'(V)] for U, V ~ N(0, q), corr rho ----------------
    def _dmap_mp(self, rho, q):
        a = self.act
        if isinstance(a, ABReLU):
            k1 = (mpmath.pi - mpmath.acos(rho)) / (2 * mpmath.pi)
            k2, ab = a.coefficients("mp")
            return k2 * k1 + ab
        if isinstance(a, Erf):
            c = rho * q
            return 4 / mpmath.pi / mpmath.sqrt((1 + 2 * q) ** 2 - 4 * c * c)
        if isinstance(a, Identity):
            return mpmath.mpf(1)
        cs = a._c_mp(q)
        return mpmath.fsum(k * cs[k] ** 2 * rho ** (k - 1) for k in range(1, len(cs))) / q

    def _dmap_arb(self, rho, q):
        from flint import arb

        a = self.act
        if isinstance(a, ABReLU):
            k1 = (arb.pi() - _acos_ball(rho)) / (2 * arb.pi())
            k2, ab = a.coefficients("arb")
            return k2 * k1 + ab
        if isinstance(a, Erf):
            c = rho * q
            return 4 / arb.pi() / sqrt_nonneg((1 + 2 * q) ** 2 - 4 * c * c)
        if isinstance(a, Identity):
            return arb(1)
        cs = a._c_arb(q)
        tot = arb(0)
        for k in range(len(cs) - 1, 0, -1):  # Horner in rho
            tot = tot * rho + k * cs[k] ** 2
        return tot / q

    def _dmap_np(self, rho, q):
        a = self.act
        if isinstance(a, ABReLU):
            k1 = (np.pi - np.arccos(np.clip(rho, -1, 1))) / (2 * np.pi)
            k2, ab = a.coefficients()
            return k2 * k1 + ab
        if isinstance(a, Erf):
            c = rho * q
            return 4 / np.pi / np.sqrt((1 + 2 * q) ** 2 - 4 * c * c)
        if isinstance(a, Identity):
            return np.ones_like(rho)
        return np.vectorize(lambda r: float(self._dmap_mp(mpmath.mpf(float(r)),
                                                          mpmath.mpf(float(q)))))(rho)

    # ---- the recursion in three number systems -------------------------------------------
    def mp(self, t, dps: int = 30):
        """``(NNGP(t), NTK(t))`` in mpmath at ``dps`` digits (+ guard digits)."""
        dps = check_int(dps, "dps", lo=1)
        check_real(t, "t", lo=-1, hi=1)  # an inner product / n of cube points
        with mpmath.workdps(dps + 10):
            sw2, sb2 = mpmath.mpf(str(self.sw2)), mpmath.mpf(str(self.sb2))
            t = mpmath.mpf(t)
            sig, q = sw2 * t + sb2, sw2 + sb2
            theta = sig
            for _ in range(self.depth):
                rho = max(mpmath.mpf(-1), min(mpmath.mpf(1), sig / q))
                raw = self.act._raw_mp(rho, q, q)
                dot = sw2 * self._dmap_mp(rho, q)
                sig = sw2 * raw + sb2
                q = sw2 * self.act._raw_mp(mpmath.mpf(1), q, q) + sb2
                theta = sig + dot * theta
        with mpmath.workdps(dps):
            return +sig, +theta

    def _arb_constants(self):
        """``(sw2, sb2, [q^1, ..., q^L])`` as balls at the current precision (cached)."""
        from flint import arb, ctx

        key = ctx.prec
        cache = self.__dict__.setdefault("_arb_cache", {})
        if key not in cache:
            sw2, sb2 = to_arb(str(self.sw2)), to_arb(str(self.sb2))
            qs, q = [], sw2 + sb2
            for _ in range(self.depth):
                qs.append(q)
                q = sw2 * self.act._raw_arb(arb(1), q, q) + sb2
            cache[key] = (sw2, sb2, qs)
        return cache[key]

    def arb(self, t):
        """``(NNGP(t), NTK(t))`` as arb balls at the current precision (``t`` a ball)."""
        from flint import arb

        sw2, sb2, qs = self._arb_constants()
        t = to_arb(t)
        sig = sw2 * t + sb2
        theta = sig
        relu = isinstance(self.act, ABReLU) and self.act.a == 0 and self.act.b == 1
        if relu:
            pi = arb.pi()
            inv2pi = 1 / (2 * pi)
        for q in qs:
            rho = sig / q
            if relu:
                # kappa(rho) = (sqrt(1 - rho^2) + rho (pi - acos rho)) / (2 pi), kappa' =
                # (pi - acos rho) / (2 pi); ball arithmetic is rigorous inside (-1, 1), and at
                # the edges arccos is taken on the clipped endpoints (it is monotone).
                if rho.lower() > -1 and rho.upper() < 1:
                    kp = (pi - rho.acos()) * inv2pi
                    kap = ((1 - rho) * (1 + rho)).sqrt() * inv2pi + rho * kp
                else:  # kappa and kappa' are increasing: take the clipped endpoints' images
                    lo, hi = clip_endpoints(rho, -1, 1)
                    kp = _relu_kp(lo, pi, inv2pi).union(_relu_kp(hi, pi, inv2pi))
                    kap = _kappa_point(lo).union(_kappa_point(hi))
                sig = sw2 * q * kap + sb2
                theta = sig + sw2 * kp * theta
                continue
            if rho.upper() > 1 or rho.lower() < -1:  # rounding past +-1: clip (|rho| <= 1)
                rho = _clip_ball(rho)
            dot = sw2 * self._dmap_arb(rho, q)
            sig = sw2 * self.act._raw_arb(rho, q, q) + sb2
            theta = sig + dot * theta
        return sig, theta

    def float(self, t):
        """``(NNGP(t), NTK(t))`` in float64, vectorised over arrays ``t``."""
        t = np.asarray(t, dtype=np.float64)
        if not np.all(np.abs(t) <= 1 + 1e-12):  # rounding only; also catches NaN
            raise NSTheoryError("MLPKernel.float: t (an inner product / n) must lie in [-1, 1]")
        sw2, sb2 = float(self.sw2), float(self.sb2)
        sig, q = sw2 * t + sb2, sw2 + sb2
        theta = sig
        for _ in range(self.depth):
            rho = np.clip(sig / q, -1.0, 1.0)
            raw = self.act._raw_np(rho, np.float64(q), np.float64(q))
            dot = sw2 * self._dmap_np(rho, q)
            sig = sw2 * raw + sb2
            q = float(sw2 * self.act._raw_np(np.float64(1.0), np.float64(q), np.float64(q)) + sb2)
            theta = sig + dot * theta
        return sig, theta


def _relu_kp(r, pi, inv2pi):
    return (pi - r.acos()) * inv2pi


def _acos_ball(r):
    """``arccos`` over the ball ``r`` clipped to [-1, 1] (decreasing: image of the endpoints)."""
    lo, hi = clip_endpoints(r, -1, 1)
    return hi.acos() if lo == hi else hi.acos().union(lo.acos())


def _clip_ball(r):
    from flint import arb

    lo = max(r.lower(), arb(-1))
    hi = min(r.upper(), arb(1))
    return lo.union(hi)


def mlp_spectrum(act="relu", depth: int = 1, n: int = 20, sw2="2", sb2="0", bits: int = 53,
                 **act_params) -> dict:
    """Certified cube spectra of the MLP's NNGP and NTK: ``{"nngp": [...], "ntk": [...]}``
    (lists of ``n + 1`` arb balls, degree ``k = 0..n``).

    >>> s = mlp_spectrum("relu", depth=1, n=4)
    >>> s["ntk"][0]
    [0.931063529015406 +/- 3.06e-16]
    """
    from nstheory.spectrum.cube import spectra_arb

    k = MLPKernel(act, depth, sw2, sb2, **act_params)
    nngp, ntk = spectra_arb(k.arb, n, bits)
    return {"nngp": nngp, "ntk": ntk}


__all__ = ["NTK_ACTIVATIONS", "MLPKernel", "mlp_spectrum"]
