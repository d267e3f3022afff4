r"""The precise route's second way: the one-dimensional reduction (condition on X).

    E[phi(U) phi(V)] = E_X[ phi(a X) g(X) ],   g(x) = E_Z phi(b (rho x + s Z)),
    a = sqrt(q1), b = sqrt(q2), s = sqrt(1 - rho^2).

For the piecewise-linear family, sign, erf and identity the inner expectation has a closed form
(``E max(mu + sigma Z, 0) = mu Phi(mu/sigma) + sigma phi(mu/sigma)``,
``E sgn(mu + sigma Z) = erf(mu / (sigma sqrt 2))``, ``E erf(mu + sigma Z) =
erf(mu / sqrt(1 + 2 sigma^2))``) and the outer integral is ``mp.quad`` split at the kink x = 0.
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

from nstheory.gaussian.hermite import panel_nodes


def inner_expectation_mp(act, mu, sigma):
    """``E phi(mu + sigma Z)`` in closed form where known, else ``None``."""
    name = act.name
    if sigma == 0:
        return act.phi_mp(mu)
    if name in ("relu", "leaky_relu", "abs"):
        t = mu / sigma
        plus = mu * mpmath.ncdf(t) + sigma * mpmath.npdf(t)
        return act.a * (mu - plus) + act.b * plus
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


def reduction_mp(act, rho, q1=1, q2=1, dps: int = 30):
    """``E[phi(U) phi(V)]`` by the 1-D reduction (see the module docstring), mpmath."""
    with mpmath.workdps(dps + 10):
        rho, q1, q2 = mpmath.mpf(rho), mpmath.mpf(q1), mpmath.mpf(q2)
        a, b = mpmath.sqrt(q1), mpmath.sqrt(q2)
        s = mpmath.sqrt(max(mpmath.mpf(0), (1 - rho) * (1 + rho)))
        L = math.sqrt(2 * (dps + 12) * math.log(10)) + 1
        closed = inner_expectation_mp(act, mpmath.mpf(0), mpmath.mpf(1)) is not None
        if closed:

            def outer(x):
                g = inner_expectation_mp(act, b * rho * x, b * s)
                return act.phi_mp(a * x) * g * mpmath.npdf(x)

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
