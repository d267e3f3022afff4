"""Symbolic statements of Theorems 5.2 and 5.3 (reconstructed) and their derivations in SymPy.

* :func:`orthant2` -- ``P(X > 0, Y > 0)`` for a standard bivariate normal pair with correlation
  ``r``, *derived* by Plackett's identity ``dP/dr = phi_2(0, 0; r)`` and integration from the
  independent value ``1/4``; :func:`s2_symbolic` = ``2 * orthant2`` (pair 1 wins in both
  coordinates, times two choices of winner) gives Sheppard's ``1/2 + asin(r)/pi``.
* :func:`s3_symbolic` -- ``s_3(r)``: the event "pair 1 wins in A and in B" is the orthant
  ``{D_1, D_2, E_1, E_2 > 0}`` of ``D_l = A_1 - A_{l+1}``, ``E_l = B_1 - B_{l+1}``. Plackett's
  identity differentiates the 4-variate orthant probability in each correlation that moves
  with ``r``; each derivative is a bivariate density at 0 times the *bivariate* orthant
  probability of the two remaining variables given the pair (Schur complement), so SymPy
  integrates it in closed form.
* :func:`thm52_limit` -- the ``d -> infinity`` limit of ``Stab_rho(f_ij)`` for identity ``W``:
  softmax -> ``e_i`` (scale ``1/sqrt d`` or none), so ``f_ij -> x_i . v`` and
  ``E[(x_i . v)(y_i . v)] = rho ||v||^2`` (computed from ``E[x_a y_b] = rho delta_ab``). With
  scale ``1/d`` the logits converge to ``(1 on the diagonal, 0 elsewhere)`` and the limit is
  different (:func:`thm52_limit_linear_scale`).
* :func:`thm52_deviation_bound` -- a proved finite-``d`` bound for the identity case (see its
  docstring for the proof).

Examples
--------
>>> import sympy as sp
>>> r = sp.Symbol("r")
>>> s2_symbolic(r)
asin(r)/pi + 1/2
>>> sp.simplify(s3_symbolic(r).subs(r, 1))
1
"""

from __future__ import annotations

import functools

import mpmath

from nstheory.errors import NSTheoryError, check_int, check_positive
from nstheory.validate import check_real

__all__ = [
    "orthant2",
    "s2_symbolic",
    "s3_plackett_integrand",
    "s3_symbolic",
    "thm52_deviation_bound",
    "thm52_limit",
    "thm52_limit_linear_scale",
    "thm53_statement",
]


def _sp():
    import sympy

    return sympy


def orthant2(r):
    """``P(X > 0, Y > 0)`` for correlation ``r``, derived by Plackett's identity.

    >>> import sympy as sp
    >>> orthant2(sp.Rational(1, 2))
    1/3
    """
    sp = _sp()
    r = sp.sympify(r)
    if r.is_number and not (r.is_real and abs(r) <= 1):  # a correlation (also refuses NaN)
        raise NSTheoryError(f"orthant2: r must be a correlation in [-1, 1], got {r}")
    t = sp.Symbol("t", real=True)
    density_at_0 = 1 / (2 * sp.pi * sp.sqrt(1 - t**2))  # phi_2(0, 0; t)
    P = sp.Rational(1, 4) + sp.integrate(density_at_0, (t, 0, r))
    return sp.simplify(P)


def s2_symbolic(r):
    """``s_2(r) = 2 P(A_1 > A_2, B_1 > B_2)``; ``(A_1 - A_2, B_1 - B_2)`` has correlation ``r``.

    Examples
    --------
    Independent pairs agree half the time, and Sheppard's formula gives ``2/3`` at ``r = 1/2``:

    >>> import sympy as sp
    >>> s2_symbolic(0), s2_symbolic(sp.Rational(1, 2))
    (1/2, 2/3)
    """
    sp = _sp()
    return sp.expand(2 * orthant2(r))


@functools.lru_cache(maxsize=1)
def s3_plackett_integrand():
    """``(t, dP/dt)`` for the 4-variate orthant ``P(t)`` of ``s_3 = 3 P(r)`` (SymPy).

    Returns the symbol and the derivative built from the correlation matrix of
    ``(D_1, D_2, E_1, E_2)``: unit variances after scaling, ``corr(D_1, D_2) = 1/2``,
    ``corr(D_l, E_l) = t``, ``corr(D_1, E_2) = t/2``.
    """
    sp = _sp()
    t = sp.Symbol("t", positive=True)
    h = sp.Rational(1, 2)
    R = sp.Matrix([[1, h, t, t * h], [h, 1, t * h, t], [t, t * h, 1, h], [t * h, t, h, 1]])
    dR = R.diff(t)
    total = 0
    for i in range(4):
        for j in range(i + 1, 4):
            if dR[i, j] == 0:
                continue
            rest = [k for k in range(4) if k not in (i, j)]
            S11 = R.extract([i, j], [i, j])
            S21 = R.extract(rest, [i, j])
            C = sp.simplify(R.extract(rest, rest) - S21 * S11.inv() * S21.T)
            if sp.simplify(C[0, 0] - C[1, 1]) != 0:
                raise NSTheoryError("unexpected asymmetric conditional covariance")
            rc = sp.simplify(C[0, 1] / C[0, 0])  # conditional correlation
            density = 1 / (2 * sp.pi * sp.sqrt(1 - R[i, j] ** 2))
            total += dR[i, j] * density * orthant2(rc)
    return t, sp.simplify(total)


def s3_symbolic(r):
    """``s_3(r) = 3 (1/9 + int_0^r dP/dt dt)`` integrated by SymPy (``P(0) = (1/3)^2``).

    Examples
    --------
    Three independent pairs agree a third of the time; at ``r = 1/2`` the derived closed form
    matches the numerical ``s_n``:

    >>> import sympy as sp
    >>> from nstheory.attention.consistency import s_n
    >>> s3_symbolic(0)
    1/3
    >>> abs(float(s3_symbolic(sp.Rational(1, 2))) - float(s_n(3, 0.5))) < 1e-12
    True
    """
    sp = _sp()
    t, dP = s3_plackett_integrand()
    P = sp.Rational(1, 9) + sp.integrate(sp.expand(dP), (t, 0, r))
    return sp.simplify(3 * P)


def thm52_limit(d: int = 3):
    """Symbolic ``E[(x_i . v)(y_i . v)] = sum_{a,b} v_a v_b E[x_a y_b]`` with
    ``E[x_a y_b] = rho delta_ab``, for a symbolic value column ``v`` of length ``d``.

    >>> thm52_limit(3)
    rho*(v_1**2 + v_2**2 + v_3**2)
    """
    sp = _sp()
    rho = sp.Symbol("rho")
    d = check_int(d, "d", lo=1, hi=200)  # a symbolic double sum of d^2 terms
    v = sp.symbols(f"v_1:{d + 1}", real=True)
    total = sum(v[a] * v[b] * rho * sp.KroneckerDelta(a, b) for a in range(d) for b in range(d))
    return sp.factor(total)


def thm52_limit_linear_scale(n=None):
    """Limit of ``Stab_rho(f_ij) / ||v||^2`` with scale ``1/d``: logits -> (1, 0, ..., 0)
    so the attention row -> ``(e, 1, ..., 1) / (e + n - 1)`` (deterministic), and
    ``Stab -> rho sum_l a_l^2``.

    >>> import sympy as sp
    >>> sp.simplify(thm52_limit_linear_scale(2))
    rho*(1 + exp(2))/(1 + E)**2
    """
    sp = _sp()
    rho = sp.Symbol("rho")
    n = sp.Symbol("n", integer=True, positive=True) if n is None else n
    a_diag = sp.E / (sp.E + n - 1)
    a_off = 1 / (sp.E + n - 1)
    return rho * (a_diag**2 + (n - 1) * a_off**2)


def thm53_statement():
    """The reconstructed Theorem 5.3 as a SymPy equation ``Stab = rho s_n(rho^2) ||v||^2``.

    Examples
    --------
    At ``rho = 0`` the predicted stability vanishes:

    >>> eq = thm53_statement()
    >>> rho = next(s for s in eq.rhs.free_symbols if s.name == "rho")
    >>> eq.lhs, eq.rhs.subs(rho, 0)
    (Stab, 0)
    """
    sp = _sp()
    rho, v2 = sp.symbols("rho v2", nonnegative=True)
    n = sp.Symbol("n", integer=True, positive=True)
    s_n = sp.Function("s")
    return sp.Eq(sp.Symbol("Stab"), rho * s_n(n, rho**2) * v2)


def thm52_deviation_bound(n: int, d: int, scale_value, v_norm2=1, dps: int = 20):
    """Proved bound on ``|Stab_rho(f_ij) - rho ||v||^2|`` for identity ``W`` (any ``rho``).

    Proof. ``f(X) = x_i.v + g(X)`` with ``g = sum_{l != i} a_l (x_l - x_i).v``. By
    Cauchy-Schwarz (``Y`` has the law of ``X``)
    ``|Stab - rho||v||^2| <= 2 ||v|| ||g||_2 + ||g||_2^2``. Again by Cauchy-Schwarz and
    ``sum_{l != i} a_l <= 1``: ``g^2 <= sum_{l != i} a_l z_l^2`` with
    ``z_l = (x_l - x_i).v ~ N(0, 2||v||^2)``, and ``E[a_l z_l^2] <= sqrt(E[a_l]) sqrt(E z_l^4)
    = sqrt(12 E[a_l]) ||v||^2`` (``a_l^2 <= a_l``). Finally ``a_l <= exp(t(x_i.x_l - |x_i|^2))``
    (``t`` the logit scale), whose mean is ``m = (1 + 2t - t^2)^(-d/2)`` (Gaussian integral over
    ``x_l``, then the chi-square MGF; needs ``t < 1 + sqrt 2``). So with
    ``G = (n-1) sqrt(12 m) ||v||^2`` the bound is ``2 ||v|| sqrt(G) + G``. For ``t = 1/sqrt d``,
    ``m ~ e^{3/2 - sqrt d}`` and the bound decays like ``exp(-sqrt(d)/4)``: valid but loose
    (vacuous below d ~ 200). Returns an mpmath number.

    >>> print(mpmath.nstr(thm52_deviation_bound(4, 1024, 1 / 32), 3))
    0.0031
    """
    n = check_int(n, "n", lo=1)
    d = check_int(d, "d", lo=1)
    check_positive(scale_value, "scale_value")
    check_real(v_norm2, "v_norm2", lo=0)
    dps = check_int(dps, "dps", lo=1)
    with mpmath.workdps(dps):
        t = mpmath.mpf(scale_value)
        base = 1 + 2 * t - t * t
        if base <= 0:
            raise NSTheoryError(f"the bound needs logit scale t < 1 + sqrt(2); got {t}")
        m = base ** (-mpmath.mpf(d) / 2)
        v2 = mpmath.mpf(v_norm2)
        G = (n - 1) * mpmath.sqrt(12 * m) * v2
        return 2 * mpmath.sqrt(v2) * mpmath.sqrt(G) + G
