r"""The precise route's second way: the one-dimensional reduction (condition on X).

    E[phi(U) phi(V)] = E_X[ phi(a X) g(X) ],   g(x) = E_Z phi(b (rho x + s Z)),
    a = sqrt(q1), b = sqrt(q2), s = sqrt(1 - rho^2).

For the piecewise-linear family, sign, erf and identity the inner expectation has a closed form
(``E max(mu + sigma Z, 0) = mu Phi(mu/sigma) + sigma phi(mu/sigma)``,
``E sgn(mu + sigma Z) = erf(mu / (sigma sqrt 2))``, ``E erf(mu + sigma Z) =
erf(mu / sqrt(1 + 2 sigma^2))``) and the outer integral is ``mp.quad`` split at the kink x = 0;
for polynomials both integrals are sums of Gaussian moments.
For smooth activations both integrals use composite Gauss-Legendre panels. This route shares no
code with the closed forms nor with the Hermite series, so agreement is evidence.

The naive two-dimensional quadrature across the ReLU kink is slow and wrong in the 6th digit;
it is never used.

Examples
--------
>>> from nstheory.gaussian.activations import get_activation
>>> v = reduction_mp(get_activation("relu"), 0.5, 1, 1, dps=30)
>>> print(mpmath.nstr(v, 25))
0.3044988905221146790444983
>>> print(mpmath.nstr(reduction_mp(get_activation("sign"), 0.5, 2, 3, dps=20), 15))
0.333333333333333
"""

from __future__ import annotations

import math

import mpmath

from nstheory.gaussian.activations import check_dps, map_arguments
from nstheory.gaussian.hermite import panel_nodes

#: largest aligned grid (points) of :func:`reduction_trapezoid`; finer grids (small |rho|)
#: fall back to the plain nested sum
GRID_MAX = 20_000


def inner_expectation_mp(act, mu, sigma):
    """``E phi(mu + sigma Z)`` in closed form where known, else ``None``.

    Examples
    --------
    ``E ReLU(Z) = 1/sqrt(2 pi)``; tanh has no closed form here:

    >>> from nstheory.gaussian.activations import get_activation
    >>> relu = get_activation("relu")
    >>> abs(inner_expectation_mp(relu, 0, 1) - 1 / mpmath.sqrt(2 * mpmath.pi)) < 1e-15
    True
    >>> inner_expectation_mp(get_activation("tanh"), 0, 1) is None
    True
    """
    name = act.name
    if sigma == 0:
        return act.phi_mp(mu)
    if name in ("relu", "leaky_relu", "abs"):
        t = mu / sigma
        plus = mu * mpmath.ncdf(t) + sigma * mpmath.npdf(t)
        a, b = act.slopes_mp()
        return a * (mu - plus) + b * plus
    if name == "sign":
        return mpmath.erf(mu / (sigma * mpmath.sqrt(2)))
    if name == "erf":
        return mpmath.erf(mu / mpmath.sqrt(1 + 2 * sigma**2))
    if name == "identity":
        return mu
    if name == "polynomial":
        # E (mu + sigma Z)^j = sum_{m even} C(j, m) mu^(j-m) sigma^m (m-1)!!
        return mpmath.fsum(
            a * mpmath.binomial(j, m) * mu ** (j - m) * sigma**m * mpmath.fac2(m - 1)
            for j, a in enumerate(act.coeffs)
            for m in range(0, j + 1, 2)
        )
    return None


def _polynomial_reduction(coeffs, rho, a, b, s):
    """The reduction for ``phi = sum_j p_j x^j``: ``g(x) = E p(b rho x + b s Z)`` is a
    polynomial in ``x`` (Gaussian moments ``E Z^m = (m-1)!!``), and so is ``p(a x) g(x)``,
    whose expectation is again a sum of Gaussian moments (exact up to rounding)."""
    n = len(coeffs)
    g = [mpmath.mpf(0)] * n  # coefficients of g in powers of x
    for j, pj in enumerate(coeffs):
        for m in range(0, j + 1, 2):  # E (mu + sigma Z)^j, mu = b rho x, sigma = b s
            g[j - m] += (pj * mpmath.binomial(j, m) * (b * rho) ** (j - m) * (b * s) ** m
                         * mpmath.fac2(m - 1))
    total = mpmath.mpf(0)
    for i, pi in enumerate(coeffs):
        for k, gk in enumerate(g):
            if (i + k) % 2 == 0:
                total += pi * a**i * gk * mpmath.fac2(i + k - 1)
    return total


def reduction_mp(act, rho, q1=1, q2=1, dps: int = 30):
    """``E[phi(U) phi(V)]`` by the 1-D reduction (see the module docstring), mpmath.

    Examples
    --------
    It reproduces the arc-cosine kernel ``kappa(1/2) = (sqrt(3)/2 + pi/3) / (2 pi)`` for ReLU and
    Williams' ``(2/pi) arcsin(2 rho / 3)`` for erf:

    >>> from nstheory.gaussian.activations import get_activation
    >>> kappa_half = (mpmath.sqrt(3) / 2 + mpmath.pi / 3) / (2 * mpmath.pi)
    >>> abs(reduction_mp(get_activation("relu"), 0.5, dps=20) - kappa_half) < 1e-14
    True
    >>> williams = 2 / mpmath.pi * mpmath.asin(mpmath.mpf(1) / 3)
    >>> abs(reduction_mp(get_activation("erf"), 0.5, dps=15) - williams) < 1e-13
    True
    """
    with mpmath.workdps(check_dps(dps) + 10):
        rho, q1, q2, dps = map_arguments(rho, q1, q2, dps)
        a, b = mpmath.sqrt(q1), mpmath.sqrt(q2)
        s = mpmath.sqrt(max(mpmath.mpf(0), (1 - rho) * (1 + rho)))
        L = math.sqrt(2 * (dps + 12) * math.log(10)) + 1
        if act.name == "polynomial":
            return _polynomial_reduction(act.coeffs, rho, a, b, s)
        closed = inner_expectation_mp(act, mpmath.mpf(0), mpmath.mpf(1)) is not None
        if closed:

            def outer(x):
                g = inner_expectation_mp(act, b * rho * x, b * s)
                return act.phi_mp(a * x) * g * mpmath.npdf(x)

            if getattr(act, "a", None) == 0 and act.name == "relu":
                return mpmath.quad(outer, [0, L])  # phi = 0 on x < 0: that half adds 0
            return mpmath.quad(outer, [-L, 0, L])
        # smooth: composite Gauss-Legendre in both variables
        # panel widths from the half-width d of the activation's strip of analyticity: with
        # 24-node Gauss-Legendre panels of width w the error per panel is ~ rho_E^{-48},
        # rho_E = 2d/w + sqrt((2d/w)^2 + 1)
        d = getattr(act, "strip", 1.5)
        f = 1.9 if dps <= 20 else 0.95
        width_x = min(4.0, f * d / max(float(a), float(b * abs(rho)), 1e-9))
        xs, wx = panel_nodes([-L, 0, L], dps, width_x)
        if s == 0:
            terms = (act.phi_mp(a * x) * act.phi_mp(b * rho * x) * mpmath.npdf(x) * w
                     for x, w in zip(xs, wx, strict=True))
            return mpmath.fsum(terms)
        width_z = min(4.0, f * d / max(float(b * s), 1e-9))
        zs, wz = panel_nodes([-L, 0, L], dps, width_z)
        gz = [w * mpmath.npdf(z) * b * s for z, w in zip(zs, wz, strict=True)]
        bz = [b * s * z for z in zs]
        total = []
        for x, w in zip(xs, wx, strict=True):
            px = act.phi_mp(a * x)
            if px == 0:
                continue
            mu = b * rho * x
            g = mpmath.fsum(act.phi_mp(mu + t) * c for t, c in zip(bz, gz, strict=True))
            total.append(px * g * mpmath.npdf(x) * w)
        return mpmath.fsum(total) / (b * s)


def reduction_trapezoid(act, rho, q1=1, q2=1, dps: int = 30):
    r"""``E[phi(U) phi(V)]`` by the 1-D reduction with both Gaussian integrals by trapezoidal
    sums on aligned grids, for analytic activations (those with a ``strip_bound``).

    The inner argument ``b rho x_i + b s z_j`` is put on one grid ``delta * n`` (the outer step
    is a whole multiple of ``delta / (b |rho|)``, the inner one ``delta / (b s)``), so ``phi``
    is evaluated once per grid point and all inner sums ``g(x_i)`` come from one polynomial
    product (python-flint ``arb_poly``, in C). Steps from the strip of analyticity:
    ``h = 2 pi d / (ln 10^(dps+3) + 12)``. A precise route (arb arithmetic, quadrature error
    estimated, not bounded); it computes no Hermite coefficient, so agreement with the series
    is evidence.

    >>> from nstheory.gaussian.smooth import get_smooth
    >>> v = reduction_trapezoid(get_smooth("tanh"), "0.5", dps=20)
    >>> print(mpmath.nstr(v, 15))
    0.186324413203448
    """
    from flint import arb, arb_poly

    from nstheory.numerics import arb_precision, bits_for_digits

    with mpmath.workdps(check_dps(dps) + 10):
        rho, q1, q2, dps = map_arguments(rho, q1, q2, dps)
    if rho != 0 and abs(rho) < mpmath.mpf("1e-3"):
        # the rho-dependent part is O(|rho|) against O(1) summands: carry the digits it cancels
        # (capped at 60 extra digits: below |rho| ~ 1e-60 the relative accuracy degrades)
        dps += min(60, int(-mpmath.log10(abs(rho))) + 3)
    plan = _reduction_plan(act, float(rho), float(q1), float(q2), dps)
    D, a, b, r, s, lnd, L = plan["D"], plan["a"], plan["b"], plan["r"], plan["s"], plan["lnd"], \
        plan["L"]
    with arb_precision(bits=bits_for_digits(dps) + 20):
        from nstheory.gaussian._backend import to_arb

        ra, qa, qb = to_arb(rho), to_arb(q1), to_arb(q2)
        A, B = qa.sqrt(), qb.sqrt()
        S = ((1 - ra) * (1 + ra)).nonnegative_part().sqrt()
        norm = 1 / (2 * arb.pi()).sqrt()
        if s == 0 or r == 0:
            # at rho = +-1 (s = 0) or rho = 0 the double integral factorises or collapses
            dx = min(D / max(a, b), 3.0)
            h = 2 * math.pi * dx / lnd
            n = int(L / h) + 1
            hb = arb(h)
            total = arb(0)
            for i in range(-n, n + 1):
                x = hb * i
                w = hb * (-x * x / 2).exp() * norm
                if s == 0:
                    total += w * act.phi_arb(A * x) * act.phi_arb(B * ra * x)
                else:
                    total += w * act.phi_arb(A * x) * act.phi_arb(B * x)  # E phi(aX)phi(bX')
            if s == 0:
                return _to_mpf(total, dps)
            # rho = 0: E phi(aX) E phi(bZ)
            m1 = sum((hb * (-(hb * i) ** 2 / 2).exp() * norm * act.phi_arb(A * hb * i)
                      for i in range(-n, n + 1)), arb(0))
            m2 = sum((hb * (-(hb * i) ** 2 / 2).exp() * norm * act.phi_arb(B * hb * i)
                      for i in range(-n, n + 1)), arb(0))
            return _to_mpf(m1 * m2, dps)
        hx0, hz0, delta = plan["hx0"], plan["hz0"], plan["delta"]
        if plan["direct"]:
            # small |rho|: an aligned grid would be too fine; sum the inner rule directly
            return _to_mpf(_direct_double_sum(act, A, B * ra, B * S, hx0, hz0, L, norm), dps)
        P = max(1, math.floor(b * abs(r) * hx0 / delta))
        sgn = 1 if r > 0 else -1
        db = arb(delta)
        hx = db * P / (B * abs(ra))  # exact relation b |rho| h_x = P delta
        hz = db / (B * S)  # b s h_z = delta
        I, J = int(L / float(hx.mid())) + 1, int(L / float(hz.mid())) + 1
        N0 = P * I + J
        grid = [act.phi_arb(db * k) for k in range(-N0, N0 + 1)]
        wz = [hz * (-(hz * j) ** 2 / 2).exp() * norm for j in range(J, -J - 1, -1)]
        G = (arb_poly(wz) * arb_poly(grid)).coeffs()
        total = arb(0)
        for i in range(-I, I + 1):
            x = hx * i
            total += hx * (-x * x / 2).exp() * norm * act.phi_arb(A * x) * G[J + N0 + sgn * P * i]
        return _to_mpf(total, dps)


def _reduction_plan(act, r: float, q1: float, q2: float, dps: int) -> dict:
    D = float(act.strip_bound.D)
    a, b = math.sqrt(q1), math.sqrt(q2)
    s = math.sqrt(max(0.0, (1 - r) * (1 + r)))
    lnd = (dps + 3) * math.log(10) + 12
    L = math.sqrt(2 * lnd) + 1
    plan = {"D": D, "a": a, "b": b, "r": r, "s": s, "lnd": lnd, "L": L, "direct": False}
    if s == 0 or r == 0:
        h = 2 * math.pi * min(D / max(a, b), 3.0) / lnd
        plan["cost"] = 2 * 2 * L / h
        return plan
    dxs = min(D / a, D / (b * abs(r)), 3.0)
    dzs = min(D / (b * s), 3.0)
    hx0, hz0 = 2 * math.pi * dxs / lnd, 2 * math.pi * dzs / lnd
    delta = min(b * s * hz0, b * abs(r) * hx0)
    grid_points = 2 * (b * abs(r) * L + b * s * L) / delta + 2 * L / hx0
    direct_points = (2 * L / hx0) * (2 * L / hz0)
    plan.update(hx0=hx0, hz0=hz0, delta=delta)
    plan["direct"] = grid_points > min(GRID_MAX, direct_points / 8)
    plan["cost"] = direct_points if plan["direct"] else grid_points
    return plan


def reduction_cost(act, rho, q1=1, q2=1, dps: int = 30) -> float:
    """Number of activation evaluations :func:`reduction_trapezoid` will make (its cost).

    >>> from nstheory.gaussian.smooth import get_smooth
    >>> reduction_cost(get_smooth("tanh"), 0.5, 1, 1, 20) < 5000
    True
    """
    return _reduction_plan(act, float(rho), float(q1), float(q2), dps)["cost"]


def _direct_double_sum(act, A, Br, Bs, hx0, hz0, L, norm):
    """``sum_i sum_j w_i w_j phi(A x_i) phi(Br x_i + Bs z_j)`` (plain nested trapezoid)."""
    from flint import arb

    hx, hz = arb(hx0), arb(hz0)
    zs = [hz * j for j in range(-int(L / hz0) - 1, int(L / hz0) + 2)]
    wz = [hz * (-z * z / 2).exp() * norm for z in zs]
    bz = [Bs * z for z in zs]
    total = arb(0)
    for i in range(-int(L / hx0) - 1, int(L / hx0) + 2):
        x = hx * i
        mu = Br * x
        g = sum((w * act.phi_arb(mu + t) for w, t in zip(wz, bz, strict=True)), arb(0))
        total += hx * (-x * x / 2).exp() * norm * act.phi_arb(A * x) * g
    return total


def _to_mpf(ball, dps):
    from nstheory.numerics import exact_decimal_str

    with mpmath.workdps(dps + 10):
        return mpmath.mpf(exact_decimal_str(ball.mid(), dps + 8))
