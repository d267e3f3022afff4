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
(``(4/pi) / sqrt((1 + 2q)^2 - 4c^2)``, evaluated as ``(4/pi) / sqrt((1 + 2q(1 - rho)) (1 +
2q(1 + rho)))``, free of cancellation at ``rho = +-1``), identity (1) and polynomials (Mehler
series). The NTK of sign does not exist (``phi'`` is a delta) and the smooth activations without
closed form are not offered here.

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


def _decimal(x, name: str, what: str = "a finite number") -> tuple[str, float]:
    """``x`` (a decimal string or a real number) as ``(text, float)``, ``text`` the decimal
    string the three routes parse: a string keeps its digits, a number is written by its
    shortest round-trip decimal (the float ``0.1`` is read as ``1/10``). The one place where
    :class:`MLPKernel` turns its real parameters (``sw2``, ``sb2``, the leaky-ReLU slope) into
    exact decimals."""
    text = x.strip() if isinstance(x, str) else None
    try:
        if isinstance(x, bool) or not (text is not None or isinstance(x, numbers.Real)):
            raise TypeError
        if isinstance(x, numbers.Rational) and x.denominator != 1:  # keep it exact: a string
            raise TypeError
        v = float(text if text is not None else x)
    except (TypeError, ValueError, OverflowError):
        raise NSTheoryError(f"{name} must be {what}, got {x!r}") from None
    if not math.isfinite(v):
        raise NSTheoryError(f"{name} must be {what}, got {x!r}")
    return (text if text is not None else repr(v)), v


def _check_var(x, name: str):
    """``x`` as a decimal string (see :func:`_decimal`), checked to be finite and ``>= 0``."""
    text, v = _decimal(x, name, "a finite number >= 0")
    if v < 0:
        raise NSTheoryError(f"{name} must be a finite number >= 0, got {x!r}")
    return text


class MLPKernel:
    """The NNGP and NTK of a depth-``L`` MLP on the cube (see the module docstring).

    ``act`` is an activation name (or an :class:`~nstheory.gaussian.activations.Activation`),
    ``depth`` the number of hidden layers (``>= 0``; 0 = a linear model), ``sw2``/``sb2`` the
    weight and bias variances. ``mp(t)``, ``arb(t)`` and ``float(t)`` return ``(nngp, ntk)``.

    Real parameters -- ``sw2``, ``sb2``, the leaky-ReLU ``slope`` (also its default 0.01) and
    polynomial coefficients -- are read as decimals: a string keeps its digits and a float is
    read as its shortest round-trip decimal, so ``0.1`` and ``"0.1"`` both mean exactly
    ``1/10`` in the mpmath and arb routes (not the binary double nearest to it).

    >>> MLPKernel("relu", depth=2).float(np.array([1.0, 0.0]))[1].round(6)
    array([6.      , 1.371417])
    >>> MLPKernel("leaky_relu", 1, sw2=0.1, slope=0.1)
    MLPKernel('leaky_relu', depth=1, sw2=0.1, sb2=0, slope=1/10)
    """

    def __init__(self, act="relu", depth: int = 1, sw2="2", sb2="0", **act_params):
        self.act = get_activation(act, **act_params) if isinstance(act, str) else act
        if isinstance(self.act, ABReLU) and self.act.name == "leaky_relu":
            a, b = self.act._a, self.act._b  # exact Fractions, or numbers as given
            if not (isinstance(a, numbers.Rational) and isinstance(b, numbers.Rational)):
                self.act = ABReLU(*(v if isinstance(v, numbers.Rational) else _decimal(v, nm)[0]
                                    for v, nm in ((a, "slope"), (b, "positive slope"))),
                                  "leaky_relu")
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
        slope = (f", slope={self.act._a}" if isinstance(self.act, ABReLU)
                 and self.act.name == "leaky_relu" else "")
        return (f"MLPKernel({self.act.name!r}, depth={self.depth}, sw2={self.sw2}, "
                f"sb2={self.sb2}{slope})")

    # ---- derivative maps E[phi'(U) phi'(V)] for U, V ~ N(0, q), corr rho ----------------
    def _dmap_mp(self, rho, q):
        a = self.act
        if isinstance(a, ABReLU):
            k1 = (mpmath.pi - mpmath.acos(rho)) / (2 * mpmath.pi)
            k2, ab = a.coefficients("mp")
            return k2 * k1 + ab
        if isinstance(a, Erf):
            # (1 + 2q)^2 - 4c^2 (c = rho q) as a product of two sums of nonnegative terms:
            # no cancellation at rho = +-1 (t = 1 is always a cube point)
            return 4 / mpmath.pi / (mpmath.sqrt(1 + 2 * q * (1 - rho))
                                    * mpmath.sqrt(1 + 2 * q * (1 + rho)))
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
            return 4 / arb.pi() / (sqrt_nonneg(1 + 2 * q * (1 - rho))
                                   * sqrt_nonneg(1 + 2 * q * (1 + rho)))
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
            return 4 / np.pi / (np.sqrt(1 + 2 * q * (1 - rho)) * np.sqrt(1 + 2 * q * (1 + rho)))
        if isinstance(a, Identity):
            return np.ones_like(rho)
        return np.vectorize(lambda r: float(self._dmap_mp(mpmath.mpf(float(r)),
                                                          mpmath.mpf(float(q)))))(rho)

    # ---- the recursion in three number systems -------------------------------------------
    def mp(self, t, dps: int = 30):
        """``(NNGP(t), NTK(t))`` in mpmath at ``dps`` digits (+ guard digits).

        The guard digits include ``log10(sw2 / sb2)``: at ``t = -1`` the correlation is
        ``rho = -1 + 2 sb2 / (sw2 + sb2)`` and the maps depend on ``1 + rho``, which must
        survive the rounding of ``rho``.
        """
        dps = check_int(dps, "dps", lo=1)
        check_real(t, "t", lo=-1, hi=1)  # an inner product / n of cube points
        guard = 10
        if mpmath.mpf(self.sb2) > 0:
            guard += max(0, int(mpmath.ceil(mpmath.log10(mpmath.mpf(self.sw2)
                                                         / mpmath.mpf(self.sb2)))))
        with mpmath.workdps(dps + guard):
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
        """``(NNGP(t), NTK(t))`` in float64, vectorised over arrays ``t``.

        :class:`~nstheory.errors.NSTheoryError` when a value or an intermediate overflows
        float64 (e.g. erf with ``sw2 = 1e300``, whose NTK exceeds 1e308): use :meth:`mp` or
        :meth:`arb` there.

        >>> MLPKernel("erf", 1, sw2="1e300").float(1.0)
        Traceback (most recent call last):
        ...
        nstheory.errors.NSTheoryError: MLPKernel.float: ...
        """
        t = np.asarray(t, dtype=np.float64)
        if not np.all(np.abs(t) <= 1 + 1e-12):  # rounding only; also catches NaN
            raise NSTheoryError("MLPKernel.float: t (an inner product / n) must lie in [-1, 1]")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            sig, theta = self._float(t)
        if not (np.all(np.isfinite(sig)) and np.all(np.isfinite(theta))):
            raise NSTheoryError(
                f"MLPKernel.float: the kernel or an intermediate of its recursion overflows "
                f"float64 for {self!r}; use MLPKernel.mp or MLPKernel.arb (no overflow there)")
        return sig, theta

    def _float(self, t):
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
                 max_bits: int | None = None, **act_params) -> dict:
    """Certified cube spectra of the MLP's NNGP and NTK: ``{"nngp": [...], "ntk": [...]}``
    (lists of ``n + 1`` arb balls, degree ``k = 0..n``); ``bits`` and ``max_bits`` as in
    :func:`~nstheory.spectrum.cube.spectra_arb` (very large variances, e.g. ``sw2 = 1e300``,
    need a larger ``max_bits``: the recursion is evaluated near ``rho = 1`` with ``q`` huge).

    >>> s = mlp_spectrum("relu", depth=1, n=4)
    >>> s["ntk"][0]
    [0.931063529015406 +/- 3.06e-16]
    """
    from nstheory.spectrum.cube import spectra_arb

    k = MLPKernel(act, depth, sw2, sb2, **act_params)
    nngp, ntk = spectra_arb(k.arb, n, bits, max_bits)
    return {"nngp": nngp, "ntk": ntk}


__all__ = ["NTK_ACTIVATIONS", "MLPKernel", "mlp_spectrum"]
