r"""Certified enclosures of the finite-``d`` softmax pattern moments ``S_n(sigma, r)`` and ``w``.

:mod:`nstheory.attention.pattern_moments` computes
``S_n(sigma, r) = E sum_k softmax(sigma G)_k softmax(sigma G')_k`` (``G, G'`` standard normal in
``R^n``, coordinate-wise correlation ``r``) and the self-weight ``w = S_n(sigma, 1)`` in floating
point with error *estimates*. This module returns arb balls that provably contain them: the
same integral representations, every quadrature and truncation error bounded rigorously and
added to the radius, all arithmetic in arb.

Representations
---------------
By the Gumbel-max identity ``softmax(sigma G)_k`` is the probability that token ``k``
maximises ``X_l = G_l + E_l / sigma`` (``E_l`` i.i.d. standard Gumbel). With ``c = |r|``,
``tau^2 = 1 - c``, ``G = sqrt(c) W + tau U`` (and ``G'`` with the sign of ``r`` on ``W``):

``S_n = n int int f(a, b) F(a, b)^(n-1) da db``,
``F(a, b) = E_W[Psi(a - sqrt(c) W) Psi(b -+ sqrt(c) W)]``

and ``f`` the same with the density ``psi`` in place of the distribution function ``Psi`` of
``V = tau U + E / sigma``. The self-weight has a one-dimensional form (from ``1/A^2 =
int_0^inf v e^(-v A) dv``): ``w = n int q(a) Psi_1(a)^(n-1) da`` with ``Psi_1`` the
distribution function of ``Z + E / sigma`` and ``q`` the density of ``Z + K / sigma``,
``K = -log Gamma(2)`` (density ``exp(-2x - e^(-x))``). Both ``E`` and ``K`` are members of the
family ``X_k = -log Gamma(k)`` (``k = 1`` Gumbel), whose density ``p_k`` is log-concave.

Bounds
------
The trapezoid rule with step ``h`` errs by at most ``2 M / (exp(2 pi alpha / h) - 1)`` for an
integrand analytic in ``|Im z| < alpha`` with ``int |f(x + i y)| dx <= M`` there (Trefethen &
Weideman, SIAM Review 56 (2014), Thm 5.1). The facts used for complex arguments:

* ``|Phi(x + i y)| <= exp(y^2/2) Phi(x)`` and ``|phi(x + i y)| = exp(y^2/2) phi(x)``; hence
  ``|Psi(x + i y)| <= exp(y^2/(2 tau^2)) Psi(x)``, the same for ``psi``, ``Psi_1`` and ``q`` (with
  ``tau = 1``), and ``|f(x + i y, b)| <= exp(y^2/(2(1 - r^2))) f(x, b)`` (the bivariate normal
  density inside the Gumbel average);
* ``int |p_k(x + i t)| dx = cos(t)^(-k)``,
  ``sup_x |p_k(x + i t)| = (k / cos t)^k e^(-k) / Gamma(k)`` and
  ``|exp(-e^(-(x + i t)))| <= 1`` for ``|t| < pi/2``.

The inner laws (``Psi``, ``psi``, ``q``) are trapezoid rules over ``X_k`` (when
``sigma tau >= 1``) or over the Gaussian part (otherwise), on lattices aligned with the outer
nodes so that every table is one convolution (``arb_poly`` product). Their tails are bounded by
the tails of ``X_k`` (``P(X_k < x) = Gamma(k, e^(-x)) / Gamma(k)``, ``P(X_k > x) <= e^(-k x) /
k!``) and of the normal, using that each weight function is unimodal. The outer rules' error
terms are those of :mod:`nstheory.attention.certified` (the hard-argmax ``s_n``), whose proofs
go through unchanged: the marginal ``f_X F_X^(n-1)`` and every conditional density of ``(X, Y)``
are log-concave (Gaussian and Gumbel are), so unimodal, with maxima ``<= 1/sqrt(2 pi)`` and
``<= 1/sqrt(2 pi (1 - r^2))``. Outer-grid truncation uses ``P(X <= L) <= Phi(L - t) +
exp(-e^(-sigma t))`` and ``P(X > U) <= Phi(-(U - t)) + e^(-sigma t)``.

For ``sigma <`` :data:`SMALL_SIGMA` the self-weight is integrated in the scaled variable
``sigma a``, whose strip comes from the ``X_k`` parts (``int |p_k(x + iy)| dx = cos(y)^-k``,
``|exp(-e^(-(x + iy)))| <= 1``) and does not shrink with ``sigma``. Where the two-dimensional
lattice would be too large (``sigma`` below about 0.25, ``|r|`` near 1, or ``|r|`` tiny) the
consistency is the Mehler bracket, rigorous given the certified ``w``:
``S_n(r) = 1/n + c_1 r + sum_{k >= 2} c_k r^k`` with ``c_1 = sigma^2 (1 - w)^2 / (n - 1)``,
``c_k >= 0`` and ``sum_{k >= 1} c_k = w - 1/n``; every lattice value is also intersected with it.

Examples
--------
Two tokens, checked against the independent one-dimensional route
(:func:`nstheory.attention.pattern_moments.softmax_consistency_two_tokens`):

>>> from flint import arb
>>> from nstheory.attention.pattern_moments import softmax_consistency_two_tokens
>>> ball = consistency_certified(2, 4.0, 0.5)
>>> bool(ball.rad() < 1e-9), ball.overlaps(arb(softmax_consistency_two_tokens(4.0, 0.5)))
(True, True)
>>> print(self_weight_certified(4, 16.0).str(8, radius=False))
0.93587606
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

from nstheory.attention.certified import _trapezoid_bound
from nstheory.errors import NSTheoryError, check_int
from nstheory.numerics import arb_precision, bits_for_digits

__all__ = ["LATTICE_CAP", "LATTICE_MIN_SIGMA", "MAX_TOKENS", "R_LATTICE_MAX", "SMALL_SIGMA",
           "consistency_certified", "consistency_certified_range", "consistency_slope_bound",
           "self_weight_certified"]

_NORMAL = NormalDist()
#: Most tokens accepted.
MAX_TOKENS = 1 << 20
#: Largest outer lattice (nodes per coordinate) of the two-dimensional rule; beyond it the
#: Mehler bracket is returned.
LATTICE_CAP = 500
#: The two-dimensional rule is used for ``R_LATTICE_MIN <= |r| <= R_LATTICE_MAX``.
R_LATTICE_MAX = 0.995
R_LATTICE_MIN = 1e-5
#: Below this ``sigma`` the self-weight is integrated in the scaled variable ``sigma a``.
SMALL_SIGMA = 0.25
#: Below this ``sigma`` (where its range ``~ 1/sigma`` exceeds :data:`LATTICE_CAP` anyway) the
#: consistency is the Mehler bracket alone, whose width is ``O(sigma^4)``.
LATTICE_MIN_SIGMA = 0.01
#: Largest convolution table (inner lattice points).
_TABLE_CAP = 200_000
#: Strip half-widths of the inner rules (``cos(1.2) = 0.36``).
_STRIP = 1.2


def _phi_cdf(z):
    return (-z / _sqrt2()).erfc() / 2


def _sqrt2():
    from flint import arb

    return arb(2).sqrt()


def _phi_pdf(z):
    from flint import arb

    return (-(z * z) / 2).exp() / (2 * arb.pi()).sqrt()


def _p_k(k: int, x):
    """Density of ``X_k = -log Gamma(k)`` (``k = 1, 2``)."""
    return (-k * x - (-x).exp()).exp() / (1 if k == 1 else math.factorial(k - 1))


def _lower_tail(k: int, x):
    """``P(X_k < x) = Gamma(k, e^(-x)) / Gamma(k)`` (``k = 1, 2``)."""
    y = (-x).exp()
    return (-y).exp() * (1 if k == 1 else 1 + y)


def _upper_tail(k: int, x):
    """Upper bound of ``P(X_k > x)``: ``e^(-k x) / k!``."""
    return (-k * x).exp() / math.factorial(k)


def _convolve(kernel, table):
    """``out_l = sum_j kernel[j] table[l + j]`` for ``l = 0 .. len(table) - len(kernel)``."""
    from flint import arb_poly

    J = len(kernel)
    prod = arb_poly(list(reversed(kernel))) * arb_poly(table)
    coeffs = prod.coeffs()
    return [coeffs[J - 1 + l] for l in range(len(table) - J + 1)]


def _law_step(tau: float, sigma: float, lam: float) -> float:
    """Largest inner lattice spacing ``delta`` for the law of ``tau U + X_k / sigma``."""
    if sigma * tau >= 1.0:
        return 2 * math.pi * _STRIP / lam / sigma  # step sigma * delta over X_k
    beta = min(3.0, _STRIP / (sigma * tau))
    return 2 * math.pi * beta / lam * tau  # step delta / tau over U


def _law_table(k: int, pdf: bool, tau: float, sigma: float, y0, delta, count: int,
               eps: float):
    """Balls containing the distribution function (``pdf=False``, ``k = 1`` only) or density of
    ``tau U + X_k / sigma`` at ``y0 + l delta``, ``l = 0 .. count - 1`` (``delta`` at most
    :func:`_law_step`)."""
    from flint import arb

    pi = arb.pi()
    tau_b = arb(tau)
    sig_b = arb(sigma)
    unit = arb(0).union(arb(1))
    lam_t = math.log(8.0 / eps)
    if sigma * tau >= 1.0:  # integrate over X_k: nodes x_j = -j sigma delta
        step = sig_b * delta
        x_lo = -math.log(lam_t + 2.0)  # P(X_k < x_lo) <= (1 + e^-x) exp(-e^-x) small
        x_hi = lam_t / k
        j_lo = -math.ceil(x_hi / float(step))
        j_hi = math.ceil(-x_lo / float(step))
        kernel = [step * _p_k(k, -j * step) for j in range(j_lo, j_hi + 1)]
        ys = [y0 + (m + j_lo) * delta for m in range(count + j_hi - j_lo)]
        if pdf:
            table = [_phi_pdf(y / tau_b) / tau_b for y in ys]
        else:
            table = [_phi_cdf(y / tau_b) for y in ys]
        beta = arb(_STRIP)
        M = (beta * beta / (2 * sig_b * sig_b * tau_b * tau_b)).exp() / beta.cos() ** k
        tails = _lower_tail(k, -j_hi * step) + _upper_tail(k, -j_lo * step)
        scale = 1 / (tau_b * (2 * pi).sqrt()) if pdf else arb(1)
        M = M * scale
    else:  # integrate over U: nodes u_j = -j delta / tau
        step = arb(delta) / tau_b
        beta_f = min(3.0, _STRIP / (sigma * tau))
        u_max = math.sqrt(2 * lam_t) + 1.0
        jw = math.ceil(u_max / float(step))
        j_lo, j_hi = -jw, jw
        kernel = [step * _phi_pdf(j * step) for j in range(j_lo, j_hi + 1)]
        ys = [y0 + (m + j_lo) * delta for m in range(count + j_hi - j_lo)]
        if pdf:
            table = [sig_b * _p_k(k, sig_b * y) for y in ys]
        else:
            if k != 1:
                raise NSTheoryError("the distribution function is implemented for k = 1")
            table = [(-(-sig_b * y).exp()).exp() for y in ys]
        beta = arb(beta_f)
        theta = sig_b * tau_b * beta
        M = (beta * beta / 2).exp()
        tails = 2 * _phi_cdf(-jw * step)
        if pdf:
            sup = sig_b * (arb(k) / theta.cos()) ** k * arb(-k).exp() / math.factorial(k - 1)
            M = M * sup
            scale = sig_b * arb(k) ** k * arb(-k).exp() / math.factorial(k - 1)
        else:
            scale = arb(1)
    err = 2 * M / ((2 * pi * beta / step).exp() - 1) + tails * scale
    rad = arb(0, err.abs_upper())
    out = []
    for v in _convolve(kernel, table):
        v = v + rad
        out.append(v.intersection(unit) if not pdf else v.intersection(arb(0).union(v.upper())))
    return out


def _check(n, sigma, digits):
    n = check_int(n, "n", lo=1, hi=MAX_TOKENS)
    digits = check_int(digits, "digits", lo=1, hi=15)
    sigma = float(sigma)
    if not (math.isfinite(sigma) and sigma >= 0):
        raise NSTheoryError(f"sigma must be finite and >= 0, got {sigma!r}")
    return n, sigma, digits


def self_weight_certified(n: int, sigma: float, digits: int = 10):
    """Certified arb ball containing ``w = E sum_k softmax(sigma G)_k^2``.

    Parameters
    ----------
    n : int
        Tokens, ``1 <= n <=`` :data:`MAX_TOKENS`.
    sigma : float
        Logit standard deviation (``>= 0``), taken at its exact binary value.
    digits : int
        Target absolute accuracy ``10^-digits`` (1..15); the radius is what the bounds give.

    Returns
    -------
    flint.arb
        Contained in ``[1/n, 1]``. Where the lattice exceeds its cap (``sigma`` of a few
        thousand and above) the rigorous bracket ``[1 - n (n - 1) / (sigma sqrt(pi)), 1]`` (a
        nearly hard argmax).

    Examples
    --------
    Two tokens: ``w = E[p^2 + (1 - p)^2]``, ``p = sigmoid(sigma sqrt(2) U)``; the independent
    one-dimensional route gives ``S_2(sigma, 1)``:

    >>> from flint import arb
    >>> from nstheory.attention.pattern_moments import softmax_consistency_two_tokens
    >>> self_weight_certified(2, 3.0).overlaps(arb(softmax_consistency_two_tokens(3.0, 1.0)))
    True
    >>> self_weight_certified(5, 0.0).contains(arb(1) / 5)
    True
    """
    from flint import arb

    n, sigma, digits = _check(n, sigma, digits)
    if n == 1:
        return arb(1)
    if sigma == 0.0:
        return arb(1) / n
    return _self_weight_ball(n, sigma, digits)


@lru_cache(maxsize=1024)
def _self_weight_ball(n: int, sigma: float, digits: int):
    """The ball of :func:`self_weight_certified` (cached: every consistency call needs ``w``
    for its Mehler bracket; arb balls are immutable)."""
    from flint import arb

    with arb_precision(bits=bits_for_digits(digits + 8) + 2 * n.bit_length()):
        if sigma < SMALL_SIGMA:
            return _self_weight_scaled(n, sigma, 10.0 ** -digits)
        ball = None if sigma > 1e4 else _self_weight(n, sigma, 10.0 ** -digits)
        if ball is None:  # nearly a hard argmax: the bracket of the float route's docstring
            h = arb(n * (n - 1)) / (arb(sigma) * arb.pi().sqrt())
            return (1 - h).union(arb(1)).intersection((arb(1) / n).union(arb(1)))
        return ball


def _self_weight_scaled(n: int, sigma: float, eps: float):
    """``w`` for small ``sigma`` in the scaled variable ``a' = sigma a``:
    ``w = n int q~(a') Psi~(a')^(n-1) da'`` with ``q~`` the density of ``sigma Z + X_2`` and
    ``Psi~`` the distribution function of ``sigma Z + X_1``. Its strip comes from the
    ``X_k`` parts (``int |q~(x + iy)| dx <= cos(y)^-2``, ``|Psi~| <= 1`` for ``|y| < pi/2``),
    so the step does not shrink with ``sigma``; the inner averages over ``Z`` are trapezoid
    rules evaluated at every outer node (no lattice alignment)."""
    from flint import arb

    pi = arb.pi()
    sig = arb(sigma)
    lam = math.log(16.0 * n / eps)
    alpha = arb(_STRIP)
    h_f = 2 * math.pi * _STRIP / lam
    # inner rule over Z (strip beta, theta = sigma beta <= _STRIP)
    eps_in = eps / (64.0 * n * n)
    lam_in = math.log(2e3 / eps_in)
    beta = arb(min(3.0, _STRIP / sigma))
    step = 2 * math.pi * float(beta) / lam_in
    z_max = math.sqrt(2 * lam_in) + 1.0
    J = math.ceil(z_max / step)
    step_b = arb(step)
    zs = [sig * j * step_b for j in range(-J, J + 1)]
    omega = [step_b * _phi_pdf(j * step_b) for j in range(-J, J + 1)]
    sup2 = 4 * arb(-2).exp()  # sup of p_2
    cos_t = (sig * beta).cos()
    disc = 2 * (beta * beta / 2).exp() / ((2 * pi * beta / step_b).exp() - 1)
    z_tail = 2 * _phi_cdf(-J * step_b)
    rad_q = arb(0, (disc * 4 * arb(-2).exp() / (cos_t * cos_t) + z_tail * sup2).abs_upper())
    rad_c = arb(0, (disc + z_tail).abs_upper())
    # outer range
    e1 = (eps / (8.0 * n)) ** (1.0 / (n - 1))
    zq = -_NORMAL.inv_cdf(eps / (16.0 * n))
    t = sigma * zq
    L = -math.log(math.log(2.0 / e1)) - t
    U = t + math.log(16.0 * n / eps) / 2 + 1.0
    nx = math.ceil((U - L) / h_f)
    h = arb(h_f)
    Lb = arb(L)
    unit = arb(0).union(arb(1))
    total = arb(0)
    first_cdf = None
    for i in range(nx + 1):
        a = Lb + i * h
        q = sum((om * _p_k(2, a - z) for om, z in zip(omega, zs, strict=True)), arb(0))
        c = sum((om * (-(-(a - z)).exp()).exp() for om, z in zip(omega, zs, strict=True)),
                arb(0))
        q = (q + rad_q).intersection(arb(0).union(sup2))
        c = (c + rad_c).intersection(unit)
        if first_cdf is None:
            first_cdf = c
        total += q * c ** (n - 1)
    value = n * h * total
    e_disc = n * _trapezoid_bound(arb(0), alpha, h) / (alpha.cos() ** 2)
    Ub = Lb + nx * h
    tb = arb(t)
    e_trunc = n * (first_cdf.upper() ** (n - 1) * (1 + h * sup2)
                   + _phi_cdf(-tb / sig) + _upper_tail(2, Ub - tb)
                   + h * sup2 * _phi_cdf(-(Ub + arb(2).log()) / sig))
    err = (e_disc + e_trunc).abs_upper()
    return (value + arb(0, err)).intersection((arb(1) / n).union(arb(1)))


def _self_weight(n: int, sigma: float, eps: float):
    """The certified one-dimensional rule for ``w``, or ``None`` when its table exceeds the
    cap (``sigma`` of several thousand)."""
    from flint import arb

    pi = arb.pi()
    sig = arb(sigma)
    lam = math.log(8.0 / eps)
    h_need = 2 * math.pi / math.sqrt(2 * n * lam)
    eps_in = eps / (16.0 * n * (10.0 + 80.0 / sigma))
    lam_in = math.log(8.0 / eps_in)
    delta_need = min(_law_step(1.0, sigma, lam_in), h_need)
    m = max(1, math.ceil(h_need / delta_need))
    delta = h_need / m
    # outer range: Psi_1(L)^(n-1) and the upper tail below eps / 8
    e1 = (eps / (8.0 * n)) ** (1.0 / (n - 1))
    t_lo = -math.log(math.log(2.0 / e1)) / sigma
    L = t_lo + _NORMAL.inv_cdf(e1 / 2)
    t_hi = math.log(8.0 * n / eps) / (2 * sigma)
    U = t_hi - _NORMAL.inv_cdf(eps / (16.0 * n))
    nx = math.ceil((U - L) / h_need)
    if nx * m > _TABLE_CAP:
        return None
    h = arb(m) * arb(delta)
    Lb = arb(L)
    delta_b = h / m
    count = nx * m + 1
    q = _law_table(2, True, 1.0, sigma, Lb, delta_b, count, eps_in)
    cdf = _law_table(1, False, 1.0, sigma, Lb, delta_b, count, eps_in)
    total = arb(0)
    for i in range(0, count, m):
        total += q[i] * cdf[i] ** (n - 1)
    value = n * h * total
    alpha = 2 * pi / (h * n)
    e_disc = _trapezoid_bound(n * alpha * alpha / 2, alpha, h)
    Ub = Lb + nx * h
    sqrt2pi = (2 * pi).sqrt()
    t = arb(t_hi)
    e_trunc = n * (cdf[0].upper() ** (n - 1) * (1 + h / sqrt2pi)
                   + _phi_cdf(-(Ub - t)) + _upper_tail(2, sig * t)
                   + h / sqrt2pi * _upper_tail(2, sig * Ub))
    err = (e_disc + e_trunc).abs_upper()
    return (value + arb(0, err)).intersection((arb(1) / n).union(arb(1)))


def _mehler(n: int, sigma: float, r, w):
    """The Mehler bracket of ``S_n(sigma, r)`` given a ball ``w`` (rigorous)."""
    from flint import arb

    zero = arb(0)
    c1 = arb(sigma) ** 2 * (1 - w) ** 2 / (n - 1)
    rest = (w - arb(1) / n - c1).upper()
    rest = zero if rest < 0 else rest
    base = arb(1) / n + c1 * r
    tail = r * r * rest
    if r >= 0:
        ball = (base).union(base + tail)
        prior = (arb(1) / n).union(w.upper())
    else:
        ball = (base - tail).union(base + tail)
        lo = 2 * arb(1) / n - w.upper()
        prior = (zero if lo < 0 else lo).union(w.upper())
    return ball.intersection(prior)


def consistency_certified(n: int, sigma: float, r: float, digits: int = 10):
    """Certified arb ball containing ``S_n(sigma, r)``.

    Parameters
    ----------
    n : int
        Tokens, ``1 <= n <=`` :data:`MAX_TOKENS`.
    sigma : float
        Logit standard deviation (``>= 0``), at its exact binary value.
    r : float
        Logit correlation in ``[-1, 1]``, at its exact binary value.
    digits : int
        Target absolute accuracy ``10^-digits`` (1..15) of the two-dimensional rule.

    Returns
    -------
    flint.arb
        For ``R_LATTICE_MIN <= |r| <= R_LATTICE_MAX`` and an outer lattice of at most
        :data:`LATTICE_CAP` nodes per coordinate, the certified two-dimensional rule
        (intersected with the Mehler bracket); for ``|r| > R_LATTICE_MAX`` that rule's value at
        ``+-R_LATTICE_MAX`` moved by at most :func:`consistency_slope_bound` times the distance
        (for ``r > 0`` the hull up to ``S(1) = w``, ``S`` increasing on ``[0, 1]``);
        otherwise the Mehler bracket alone (rigorous, wider). ``r = 1`` gives
        :func:`self_weight_certified`.

    Examples
    --------
    >>> b = consistency_certified(4, 16.0, 0.81)
    >>> print(b.str(8, radius=False))
    0.65538058
    >>> bool(b.rad() < 1e-9)
    True
    >>> from flint import arb
    >>> consistency_certified(3, 2.0, 0.0).contains(arb(1) / 3)
    True
    """
    from flint import arb

    n, sigma, digits = _check(n, sigma, digits)
    r = float(r)
    if not (math.isfinite(r) and -1 <= r <= 1):
        raise NSTheoryError(f"r must lie in [-1, 1], got {r!r}")
    if n == 1:
        return arb(1)
    if sigma == 0.0 or r == 0.0:
        return arb(1) / n
    if r == 1.0:
        return self_weight_certified(n, sigma, digits)
    with arb_precision(bits=bits_for_digits(digits + 8) + 2 * n.bit_length()):
        w = self_weight_certified(n, sigma, digits)
        bracket = _mehler(n, sigma, arb(r), w)
        slope = consistency_slope_bound(sigma, w)
        if r > R_LATTICE_MAX:  # S increases on [0, 1] with slope <= S'(1): below S(1) = w
            below = consistency_certified(n, sigma, R_LATTICE_MAX, digits).lower()
            near = (w - (1 - arb(r)) * slope).lower()
            return (near if near > below else below).union(w.upper()).intersection(bracket)
        if r < -R_LATTICE_MAX:  # |S'| <= slope on [-1, 1]
            edge = consistency_certified(n, sigma, -R_LATTICE_MAX, digits)
            move = ((-R_LATTICE_MAX - arb(r)) * slope).upper()
            return (edge - move).union(edge + move).intersection(bracket)
        if (not R_LATTICE_MIN <= abs(r) <= R_LATTICE_MAX or sigma > 1e4
                or sigma < LATTICE_MIN_SIGMA):
            return bracket
        ball = _consistency(n, sigma, r, 10.0 ** -digits)
        if ball is None:
            return bracket
        return ball.intersection(bracket)


def _consistency(n: int, sigma: float, r: float, eps: float):
    """The two-dimensional certified rule, or ``None`` when its lattice exceeds the cap."""
    from flint import arb, arb_mat

    c = abs(r)
    sgn = 1 if r > 0 else -1
    tau = math.sqrt(1 - c)
    lam = math.log(8.0 * (2 + n) / eps)
    kappa = 1 / (1 - r * r) + (n - 1) / (1 - c)
    h_need = math.pi * math.sqrt(2 / (kappa * lam))
    e1 = (eps / (8.0 * n)) ** (1.0 / n)
    t_lo = -math.log(math.log(2.0 / e1)) / sigma
    L = t_lo + _NORMAL.inv_cdf(e1 / 2)
    t_hi = math.log(16.0 * n / eps) / sigma
    U = t_hi - _NORMAL.inv_cdf(eps / (16.0 * n))
    if math.ceil((U - L) / h_need) > LATTICE_CAP:
        return None
    eps_in = eps / (16.0 * n * n * (U - L) ** 2)
    lam_in = math.log(8.0 / eps_in)
    kappa_w = 0.5 + c / (1 - c)
    hw_need = math.pi / math.sqrt(kappa_w * lam_in)
    sqc = math.sqrt(c)
    delta = min(_law_step(tau, sigma, lam_in), h_need, sqc * hw_need)
    m = max(1, math.floor(h_need / delta))
    qs = max(1, math.floor(sqc * hw_need / delta))
    nx = math.ceil((U - L) / (m * delta))
    if nx > LATTICE_CAP:
        return None
    wmax = -_NORMAL.inv_cdf(eps_in / 4)
    hw_f = qs * delta / sqc
    jw = max(2, math.ceil(wmax / hw_f))
    count = nx * m + 2 * jw * qs + 1
    if count > _TABLE_CAP:
        return None
    pi = arb.pi()
    sqrt2pi = (2 * pi).sqrt()
    delta_b = arb(delta)
    h = m * delta_b
    Lb = arb(L)
    c_b = arb(c)
    tau2 = 1 - c_b
    hw = qs * delta_b / c_b.sqrt()  # so that sqrt(c) w_j = j qs delta exactly
    y0 = Lb - jw * qs * delta_b
    Psi = _law_table(1, False, tau, sigma, y0, delta_b, count, eps_in)
    psi = _law_table(1, True, tau, sigma, y0, delta_b, count, eps_in)
    js = range(-jw, jw + 1)
    omega = [hw * _phi_pdf(j * hw) for j in js]
    off = jw * qs
    rows = range(nx + 1)

    def tables(vals):
        a = arb_mat([[vals[i * m - j * qs + off] for j in js] for i in rows])
        b = arb_mat([[vals[k * m - sgn * j * qs + off] * om for k in rows]
                     for j, om in zip(js, omega, strict=True)])
        return a * b

    F = tables(Psi)
    f = tables(psi)
    # inner (W) rule errors
    kw = arb(1) / 2 + c_b / tau2
    alpha_w = pi / (hw * kw)
    w_tail = 2 * _phi_cdf(-(jw * hw))
    disc_w = _trapezoid_bound(alpha_w * alpha_w * kw, alpha_w, hw)
    delta_F = (disc_w + w_tail).abs_upper()
    delta_f = ((disc_w + w_tail) / (2 * pi * tau2)).abs_upper()
    unit = arb(0).union(arb(1))
    nonneg = arb(0).union(arb(1) / (2 * pi * tau2))
    total = arb(0)
    for i in rows:
        for k in rows:
            Fv = (F[i, k] + arb(0, delta_F)).intersection(unit)
            fv = (f[i, k] + arb(0, delta_f)).intersection(nonneg)
            total += fv * Fv ** (n - 1)
    value = n * h * h * total
    # outer rule: discretisation and truncation (see the module docstring)
    one_m_r2 = 1 - arb(r) * arb(r)
    kap = 1 / one_m_r2 + (n - 1) / tau2
    alpha = 2 * pi / (h * kap)
    e_disc = _trapezoid_bound(alpha * alpha * kap / 2, alpha, h) * (2 + n * h / sqrt2pi)
    Ub = Lb + nx * h
    sig = arb(sigma)
    beta_c = 1 + h / (sqrt2pi * one_m_r2.sqrt())
    t_l = arb(t_lo)
    FL = _phi_cdf(Lb - t_l) + _lower_tail(1, sig * t_l)
    low = FL ** (n - 1) * (FL + h * _lower_tail(1, sig * Lb) / sqrt2pi)
    t_u = arb(t_hi)
    high = (_phi_cdf(-(Ub - t_u)) + _upper_tail(1, sig * t_u)
            + h * _upper_tail(1, sig * Ub) / sqrt2pi)
    e_trunc = 2 * n * beta_c * (low + high)
    err = (e_disc + e_trunc).abs_upper()
    return (value + arb(0, err)).intersection(unit)


def consistency_slope_bound(sigma: float, w):
    """Upper bound of ``|dS_n(sigma, r)/dr|`` on ``[-1, 1]``: ``sigma^2 (1 - w) / 2`` (an arb
    ball ``w`` is read at its lower end).

    ``S = sum_k c_k r^k`` with ``c_k >= 0`` (Mehler), so ``|S'(r)| <= S'(1) = E sum_k
    |grad A_k|^2`` with ``A = softmax(sigma G)`` and ``grad A_k = sigma A_k (e_k - A)``;
    ``|e_k - A|^2 <= 2 (1 - A_k)^2`` and ``A_k (1 - A_k) <= 1/4`` give ``S'(1) <= sigma^2 E
    sum_k A_k (1 - A_k) / 2 = sigma^2 (1 - w) / 2`` (the cruder ``2 sigma^2`` of
    :func:`~nstheory.attention.pattern_moments.moment_lipschitz` drops the factor
    ``(1 - w)/4``).

    Examples
    --------
    >>> b = consistency_slope_bound(16.0, self_weight_certified(4, 16.0))
    >>> 8.2 < float(b) < 8.3
    True
    """
    from flint import arb

    w_lo = w.lower() if hasattr(w, "lower") else arb(w)
    return (arb(sigma) ** 2 * (1 - w_lo) / 2).upper()


def consistency_certified_range(n: int, sigma: float, r_lo: float, r_hi: float,
                                digits: int = 10):
    """A ball containing ``S_n(sigma, r)`` for every ``r`` in ``[r_lo, r_hi]`` with
    ``0 <= r_lo <= r_hi <= 1``: ``S_n`` increases with ``r`` there (its Mehler coefficients are
    non-negative), so the hull of the ends.

    Examples
    --------
    >>> b = consistency_certified_range(4, 16.0, 0.8, 0.82)
    >>> b.contains(consistency_certified(4, 16.0, 0.81))
    True
    """
    r_lo, r_hi = float(r_lo), float(r_hi)
    if not 0 <= r_lo <= r_hi <= 1:
        raise NSTheoryError(f"need 0 <= r_lo <= r_hi <= 1; got [{r_lo}, {r_hi}]")
    lo = consistency_certified(n, sigma, r_lo, digits)
    if r_hi == r_lo:
        return lo
    return lo.union(consistency_certified(n, sigma, r_hi, digits))
