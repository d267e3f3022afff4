r"""The depth recurrences of deep ReLU stacks (haris2026 §2.5) and signal-propagation criticality.

* Paper's (uncentred, unnormalised) recurrence ``rho_L = kappa(rho_{L-1})``: unique, globally
  attracting fixed point ``rho* = 0.21723362821122165740...`` (certified here by interval Newton);
  the paper's ``2/(3 pi)`` is the fixed point of the *linearisation* ``1/(2pi) + rho/4``.
* Normalised C-map ``c(rho) = 2 kappa(rho)``: ``c(1) = 1``, ``c'(1) = 1`` (marginal), and
  ``(1 - rho_L) L^2 -> 9 pi^2 / 2``.
* Criticality ``chi_1 = sigma_w^2 E[phi'(sqrt(q*) Z)^2]``.

Examples
--------
>>> fp = kappa_fixed_point_arb(prec=80)
>>> fp.overlaps(to_arb("0.2172336282112216574"))
True
>>> round(float(contraction_factor_arb(fp)), 10)
0.2848516734
>>> [round(v, 6) for v in iterate_kappa(1.0, 3)]
[1.0, 0.5, 0.304499, 0.242717]
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from nstheory.errors import NSTheoryError, check_int, check_positive
from nstheory.gaussian._backend import to_arb
from nstheory.gaussian.activations import _kappa_point, check_dps, kappa_mp, kappa_np, map_arguments
from nstheory.numerics import arb_precision
from nstheory.validate import check_real


def kappa_prime_arb(r):
    """``kappa'(rho) = (pi - arccos rho) / (2 pi)`` on a ball inside [-1, 1].

    Examples
    --------
    At ``rho = 0`` the slope is ``1/4`` and at ``rho = 1`` it is ``1/2``:

    >>> from flint import arb
    >>> kappa_prime_arb(arb(0)).contains(arb(1) / 4)
    True
    >>> kappa_prime_arb(arb(1)).contains(arb(1) / 2)
    True
    """
    from flint import arb

    return (arb.pi() - r.acos()) / (2 * arb.pi())


def kappa_fixed_point_arb(prec: int = 128, start=("0.2", "0.25")):
    """Certified enclosure of the unique root of ``kappa(rho) = rho`` by interval Newton.

    ``F(rho) = kappa(rho) - rho`` has ``F' = kappa' - 1 in [-3/4, -1/2]`` on [0, 1/2]. Starting
    from ``X_0 = [0.2, 0.25]`` the Newton operator ``N(X) = m - F(m)/F'(X)`` is iterated with
    ``X <- N(X) ∩ X``; ``N(X_0) ⊂ X_0`` proves existence and uniqueness in ``X_0``.
    Returns the final ball (computed at ``prec`` bits, returned at that precision).

    Examples
    --------
    The ball is a fixed point of ``kappa`` and lies near the linearised value ``2/(3 pi)``:

    >>> from nstheory.gaussian.activations import kappa_arb
    >>> fp = kappa_fixed_point_arb(prec=64)
    >>> kappa_arb(fp).overlaps(fp), float(fp.rad()) < 1e-15
    (True, True)
    >>> abs(float(fp.mid()) - 2 / (3 * math.pi)) < 0.01
    True
    """
    from flint import arb

    with arb_precision(bits=prec + 20):
        lo, hi = arb(start[0]).lower(), arb(start[1]).upper()
        X = lo.union(hi)
        proven = False
        for _ in range(200):
            m = X.mid()
            Fm = _kappa_point(m) - m
            dF = kappa_prime_arb(X) - 1
            N = m - Fm / dF
            if not proven:
                if not (N.lower() > X.lower() and N.upper() < X.upper()):
                    raise NSTheoryError("interval Newton could not prove a root in the start box")
                proven = True
            newX = N.intersection(X)
            if newX.rad() >= X.rad() * 0.99 and X.rad() < 2.0 ** (-prec):
                X = newX
                break
            X = newX
    with arb_precision(bits=prec):
        return +X


def fixed_point_sign_change_arb(fp, prec: int = 128):
    """Independent certificate: ``F = kappa - id`` changes sign across the ball ``fp``
    (``F(lower) > 0 > F(upper)``); returns ``(F(lo), F(hi))`` balls.

    Examples
    --------
    >>> f_lo, f_hi = fixed_point_sign_change_arb(kappa_fixed_point_arb(prec=64), prec=64)
    >>> bool(f_lo > 0), bool(f_hi < 0)
    (True, True)
    """
    with arb_precision(bits=prec + 20):
        lo, hi = fp.lower(), fp.upper()
        return _kappa_point(lo) - lo, _kappa_point(hi) - hi


def contraction_factor_arb(fp):
    """``kappa'(rho*)`` on the fixed-point ball.

    Examples
    --------
    ``kappa'(rho*)`` lies strictly between ``kappa'(0) = 1/4`` and ``kappa'(1/2) = 1/3``:

    >>> lam = contraction_factor_arb(kappa_fixed_point_arb(prec=64))
    >>> bool(lam > 0.25) and bool(lam < 1 / 3)
    True
    """
    return kappa_prime_arb(fp)


def global_convergence_certificate():
    """Balls proving global convergence: ``kappa([-1, 1]) ⊂ [0, 1/2]`` and
    ``sup_{[0,1/2]} kappa' = kappa'(1/2) = 1/3 < 1`` (Banach on [0, 1/2]).

    Returns ``(image_ball, lipschitz_ball)``.

    Examples
    --------
    >>> image, lipschitz = global_convergence_certificate()
    >>> bool(image.lower() > -1e-8) and bool(image.upper() < 0.5 + 1e-8)
    True
    >>> lipschitz.contains(1 / to_arb(3)), bool(lipschitz < 1)
    (True, True)
    """
    from flint import arb

    img = _kappa_point(arb(-1)).union(_kappa_point(arb(1)))  # kappa increasing
    lip = kappa_prime_arb(arb(0.5))  # kappa' increasing
    return img, lip


def linearised_fixed_point():
    """The paper's fixed point of ``1/(2pi) + rho/4 = rho``: ``2/(3pi)`` (mpmath).

    Examples
    --------
    >>> r = linearised_fixed_point()
    >>> abs(1 / (2 * mpmath.pi) + r / 4 - r) < mpmath.mpf(10) ** -14
    True
    """
    return 2 / (3 * mpmath.pi)


def taylor2_fixed_point(dps: int = 30):
    """Fixed point of the second-order Taylor map ``1/(2pi) + rho/4 + rho^2/(4pi)`` (the root in
    [0, 1]).

    Examples
    --------
    The second-order map's fixed point is closer to ``rho* = 0.2172336...`` than ``2/(3 pi)``:

    >>> r2 = taylor2_fixed_point(dps=20)
    >>> abs(1 / (2 * mpmath.pi) + r2 / 4 + r2**2 / (4 * mpmath.pi) - r2) < mpmath.mpf(10) ** -18
    True
    >>> abs(r2 - 0.2172336282) < abs(linearised_fixed_point() - 0.2172336282)
    True
    """
    with mpmath.workdps(dps + 10):
        pi = mpmath.pi
        # rho^2/(4pi) - 3 rho/4 + 1/(2pi) = 0
        a, b, c = 1 / (4 * pi), -mpmath.mpf(3) / 4, 1 / (2 * pi)
        return (-b - mpmath.sqrt(b * b - 4 * a * c)) / (2 * a)


def iterate_kappa(rho0, L: int):
    """``[rho_0, ..., rho_L]`` of ``rho_l = kappa(rho_{l-1})`` in float64.

    Examples
    --------
    ``kappa(1) = 1/2`` and the iterates approach ``rho* = 0.2172336...``:

    >>> rhos = iterate_kappa(1.0, 40)
    >>> rhos[1], len(rhos), abs(rhos[-1] - 0.21723362821122166) < 1e-12
    (0.5, 41, True)
    """
    L = check_int(L, "L", lo=0)
    out = [float(rho0)]
    for _ in range(L):
        out.append(float(kappa_np(out[-1])))
    return out


def iterate_kappa_mp(rho0, L: int, dps: int = 30):
    """Same in mpmath at ``dps`` digits.

    Examples
    --------
    It agrees with the float64 iteration to double precision:

    >>> mp_vals = iterate_kappa_mp(1, 3, dps=30)
    >>> [abs(float(a) - b) < 1e-15 for a, b in zip(mp_vals, iterate_kappa(1.0, 3))]
    [True, True, True, True]
    """
    rho0 = map_arguments(rho0, dps=dps)[0]  # a correlation in [-1, 1]
    with mpmath.workdps(dps + 10):
        out = [mpmath.mpf(rho0)]
        for _ in range(check_int(L, "L", lo=0)):
            out.append(kappa_mp(out[-1]))
        return out


# --------------------------------------------------------------------------------------------
# normalised C-map 2 kappa near its marginal fixed point 1
# --------------------------------------------------------------------------------------------


def cmap_gap_step(eps: float) -> float:
    """``1 - c(1 - eps)`` for the ReLU C-map, written stably for small ``eps`` with
    ``arccos(1 - eps) = 2 arcsin(sqrt(eps/2))``.

    >>> round(cmap_gap_step(1.0), 12)   # 1 - c(0) = 1 - 1/pi
    0.681690113816
    """
    eps = check_real(eps, "eps", lo=0, hi=2)  # c = 1 - eps in [-1, 1]
    th = 2 * math.asin(math.sqrt(eps / 2))
    return eps - (math.sqrt(eps * (2 - eps)) - (1 - eps) * th) / math.pi


def cmap_gap_table(Ls=(10, 100, 1000, 10_000, 100_000), rho0: float = 0.0):
    """``{L: (1 - rho_L) L^2}`` for the C-map iterated from ``rho0``.

    Examples
    --------
    ``(1 - rho_L) L^2`` approaches ``9 pi^2 / 2 = 44.41...`` from below:

    >>> table = cmap_gap_table((10, 1000))
    >>> table[10] < table[1000] < 9 * math.pi**2 / 2
    True
    >>> abs(table[1000] / (9 * math.pi**2 / 2) - 1) < 0.05
    True
    """
    eps = 1.0 - rho0
    out, target = {}, sorted(Ls)
    L = 0
    for t in target:
        while L < t:
            eps = cmap_gap_step(eps)
            L += 1
        out[t] = eps * t * t
    return out


# --------------------------------------------------------------------------------------------
# criticality
# --------------------------------------------------------------------------------------------


def q_fixed_point(act, sigma_w2, sigma_b2=0.0, dps: int = 30, q0=1.0):
    """Fixed point of the length map ``q = sigma_w^2 E phi(sqrt(q) Z)^2 + sigma_b^2`` by
    iteration then ``findroot`` (returns 0 when the iteration collapses to 0).

    Examples
    --------
    ReLU with ``sigma_w^2 = 1``, ``sigma_b^2 = 1/2``: the length map ``q/2 + 1/2`` fixes 1.

    >>> from nstheory.gaussian.activations import get_activation
    >>> abs(q_fixed_point(get_activation("relu"), 1, 0.5, dps=15) - 1) < 1e-12
    True
    >>> q_fixed_point(get_activation("relu"), 3.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: the length map of relu at ... no positive fixed point ...
    """
    dps = check_dps(dps)
    check_positive(sigma_w2, "sigma_w2")
    check_real(sigma_b2, "sigma_b2", lo=0)
    check_positive(q0, "q0")
    with mpmath.workdps(dps + 10):
        q = mpmath.mpf(q0)
        for _ in range(200):
            if q < mpmath.mpf(10) ** (-dps):
                return mpmath.mpf(0)
            q = sigma_w2 * act.second_moment(q, dps) + sigma_b2
            if q > mpmath.mpf(10) ** 100:
                break
        none = NSTheoryError(
            f"the length map of {act.name} at sigma_w2 = {sigma_w2}, sigma_b2 = {sigma_b2} "
            f"has no positive fixed point reachable from q0 = {q0} (iterating gave q = "
            f"{mpmath.nstr(q, 3)}: it diverges)")
        if q > mpmath.mpf(10) ** 100:
            raise none
        g = lambda t: sigma_w2 * act.second_moment(t, dps) + sigma_b2 - t  # noqa: E731
        try:
            root = mpmath.findroot(g, q)
        except (ValueError, NSTheoryError):
            # slow (marginal) collapse towards 0, e.g. tanh at sigma_w = 1, sigma_b = 0
            if sigma_b2 == 0 and g(q) < 0:
                return mpmath.mpf(0)
            raise none from None
        if not root > 0:
            raise none
        return root


def chi1(act, sigma_w2, q, dps: int = 30):
    """``chi_1 = sigma_w^2 E[phi'(sqrt(q) Z)^2]`` (at ``q = 0``: ``sigma_w^2 phi'(0)^2``).

    Examples
    --------
    ReLU at ``sigma_w^2 = 2`` is critical (``chi_1 = 2 P(Z > 0) = 1``); so is tanh at the origin:

    >>> from nstheory.gaussian.activations import get_activation
    >>> abs(chi1(get_activation("relu"), 2, 1, dps=15) - 1) < 1e-12
    True
    >>> abs(chi1(get_activation("tanh"), 1, 0, dps=15) - 1) < 1e-12
    True
    """
    dps = check_dps(dps)
    check_positive(sigma_w2, "sigma_w2")
    check_real(q, "q", lo=0)
    with mpmath.workdps(dps + 10):
        if q == 0:
            return sigma_w2 * act.derivative_mp(mpmath.mpf(0)) ** 2
        a = mpmath.sqrt(q)
        f = lambda z: act.derivative_mp(a * z) ** 2 * mpmath.npdf(z)  # noqa: E731
        return sigma_w2 * mpmath.quad(f, [-mpmath.inf, 0, mpmath.inf])


def cmap_slope_at_one(act, sigma_w2, q, dps: int = 30, h=None):
    """Numerical derivative at ``c = 1`` of the normalised correlation map
    ``c -> sigma_w^2 E[phi(U) phi(V)] / q`` (``q`` the fixed point, sigma_b = 0), from the left:
    an independent route to ``chi_1`` (for ReLU at sigma_w^2 = 2 it is 1).

    Examples
    --------
    The one-sided difference quotient approaches ReLU's ``chi_1 = 1`` (error of order ``sqrt(h)``):

    >>> from nstheory.gaussian.activations import get_activation
    >>> abs(cmap_slope_at_one(get_activation("relu"), 2, 1, dps=15) - 1) < 1e-2
    True
    """
    with mpmath.workdps(dps + 10):
        h = mpmath.mpf(10) ** (-(dps // 3)) if h is None else mpmath.mpf(h)
        f1 = act.raw(1, q, q, dps)
        f0 = act.raw(1 - h, q, q, dps)
        return sigma_w2 * (f1 - f0) / h / q


def np_iterates_until(fn, x0, L):
    """Vectorised helper: iterate ``fn`` on an array of starts ``x0`` for ``L`` steps, returning
    an array of shape ``(L + 1, len(x0))``.

    Examples
    --------
    >>> np_iterates_until(lambda x: x / 2, [1.0, 4.0], 2)[:, 1].tolist()
    [4.0, 2.0, 1.0]
    """
    x = np.asarray(x0, dtype=np.float64)
    out = [x]
    for _ in range(L):
        x = fn(x)
        out.append(x)
    return np.stack(out)


__all__ = [
    "chi1",
    "cmap_gap_step",
    "cmap_gap_table",
    "cmap_slope_at_one",
    "contraction_factor_arb",
    "fixed_point_sign_change_arb",
    "global_convergence_certificate",
    "iterate_kappa",
    "iterate_kappa_mp",
    "kappa_fixed_point_arb",
    "linearised_fixed_point",
    "np_iterates_until",
    "q_fixed_point",
    "taylor2_fixed_point",
    "to_arb",
]
