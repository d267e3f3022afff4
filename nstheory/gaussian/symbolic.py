r"""The symbolic route: SymPy *derives* the closed-form Gaussian maps (nothing is typed in) and
returns each result with its derivation steps in LaTeX, for teaching.

* ReLU (Theorem 5.1) by integration in polar coordinates;
* sign by Sheppard's angular argument;
* erf by Williams' route (Price's theorem + a Gaussian integral + integration in c);
* polynomials by Hermite expansion;
* the ReLU Hermite coefficients by direct Gaussian integrals; the Mehler eigen-relation.

Derivations taking more than a second are cached (``functools.cache``).

Examples
--------
>>> d = derive_relu()
>>> sp.simplify(d.result.subs(rho, sp.Rational(1, 2)) - (sp.sqrt(3) / 4 + sp.pi / 6) / sp.pi)
0
>>> print(d.steps[0][0])  # doctest: +NORMALIZE_WHITESPACE
Write $X = Z_1$, $Y = \rho Z_1 + \sqrt{1-\rho^2}\, Z_2$ with $\rho = \cos\theta$,
$\theta \in [0, \pi]$, in polar coordinates:
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import sympy as sp

from nstheory.errors import check_int

rho = sp.Symbol("rho", real=True)
theta = sp.Symbol("theta", real=True, positive=True)
r_, t_ = sp.symbols("r t", real=True, positive=True)
x, z = sp.symbols("x z", real=True)
q1, q2 = sp.symbols("q_1 q_2", positive=True)
c = sp.Symbol("c", real=True)


@dataclass
class Derivation:
    """A derived result with its steps ``[(words, latex), ...]``.

    Parameters
    ----------
    name : str
        Short label of the derived quantity.
    result : sympy.Expr
        The derived closed form.
    steps : list of (str, str)
        The derivation steps, each as words and a LaTeX formula.

    Examples
    --------
    >>> d = Derivation("square", sp.S(0))
    >>> d.step("Square the symbol:", x**2)
    >>> d.steps
    [('Square the symbol:', 'x^{2}')]
    """

    name: str
    result: sp.Expr
    steps: list = field(default_factory=list)

    def step(self, words: str, expr) -> None:
        self.steps.append((words, sp.latex(expr) if not isinstance(expr, str) else expr))

    def latex(self) -> str:
        """All steps as a LaTeX ``align*`` block (needs the ``amsmath`` and ``amssymb``
        packages); each step's words are set in ``\\text{}`` with their mathematics between
        ``$...$``, so the block compiles as it stands.

        >>> block = derive_orthant().latex()
        >>> "begin{align*}" in block.splitlines()[0], "end{align*}" in block.splitlines()[-1]
        (True, True)
        """
        lines = [rf"&\text{{{_text_safe(w)}}}\\ &\quad {e}" for w, e in self.steps]
        return "\\begin{align*}\n" + "\\\\\n".join(lines) + "\n\\end{align*}"


def _text_safe(words: str) -> str:
    """Check that a step's words are valid inside ``\\text{}``: every ``^``, ``_`` and
    backslash command stands between ``$...$``.

    >>> _text_safe("the radial integral of $r^3 e^{-r^2/2}$")
    'the radial integral of $r^3 e^{-r^2/2}$'
    >>> _text_safe("r^2")
    Traceback (most recent call last):
    ...
    ValueError: math outside $...$ in derivation text: 'r^2'
    """
    outside = words.split("$")[::2]
    if words.count("$") % 2 or any(ch in part for part in outside for ch in "^_\\{}"):
        raise ValueError(f"math outside $...$ in derivation text: {words!r}")
    return words


@cache
def _gauss_base():
    alpha = sp.Symbol("alpha", positive=True)
    return alpha, sp.integrate(sp.exp(-alpha * x**2), (x, -sp.oo, sp.oo))


def gaussian_integral(expr, var):
    """``int_R expr d var`` for ``expr = exp(-alpha var^2 + beta var + gamma)`` (alpha > 0), by
    completing the square and the base integral ``int exp(-alpha x^2) = sqrt(pi/alpha)``
    (itself integrated by SymPy).

    >>> gaussian_integral(sp.exp(-x**2 + 2*x), x)
    E*sqrt(pi)
    """
    expr = sp.powsimp(sp.expand(expr), combine="exp")
    const, dep = expr.as_independent(var, as_Add=False)
    dep = sp.powsimp(dep, combine="exp")
    if not isinstance(dep, sp.exp):
        raise ValueError(f"not of the form C exp(quadratic): {expr}")
    P = sp.Poly(sp.expand(dep.args[0]), var)
    if P.degree() != 2:
        raise ValueError("exponent must be quadratic in the variable")
    alpha = -P.coeff_monomial(var**2)
    beta = P.coeff_monomial(var)
    gamma = P.coeff_monomial(1)
    a, base = _gauss_base()
    return sp.simplify(const * base.subs(a, alpha) * sp.exp(gamma + beta**2 / (4 * alpha)))


def _gauss_moment(n: int):
    """E Z^n for Z ~ N(0,1), by integration."""
    return sp.integrate(z**n * sp.exp(-(z**2) / 2), (z, -sp.oo, sp.oo)) / sp.sqrt(2 * sp.pi)


@cache
def derive_relu() -> Derivation:
    """kappa(rho) = E[ReLU(X) ReLU(Y)] by polar coordinates."""
    d = Derivation("relu", sp.S(0))
    d.step(
        "Write $X = Z_1$, $Y = \\rho Z_1 + \\sqrt{1-\\rho^2}\\, Z_2$ with $\\rho = \\cos\\theta$, "
        "$\\theta \\in [0, \\pi]$, in polar coordinates:",
        r"X = r\cos t,\ Y = r\cos(t-\theta)",
    )
    radial = sp.integrate(r_**3 * sp.exp(-(r_**2) / 2), (r_, 0, sp.oo))
    d.step("Radial integral of $r^2$ (from the product) times $r\\,dr$ against $e^{-r^2/2}$:",
           radial)
    # X > 0 and Y > 0  <=>  t in (theta - pi/2, pi/2)
    angular = sp.integrate(sp.cos(t_) * sp.cos(t_ - theta), (t_, theta - sp.pi / 2, sp.pi / 2))
    angular = sp.simplify(angular)
    d.step("Angular integral over $X>0$, $Y>0$, i.e. $t \\in (\\theta - \\pi/2, \\pi/2)$:", angular)
    val = sp.simplify(radial * angular / (2 * sp.pi))
    d.step("Divide by $2\\pi$ (the Gaussian density's normaliser):", val)
    res = sp.simplify(val.subs(theta, sp.acos(rho)))
    res = sp.simplify(sp.expand_trig(res))
    d.step("Substitute $\\theta = \\arccos\\rho$ (so $\\sin\\theta = \\sqrt{1-\\rho^2}$):", res)
    d.result = res
    return d


@cache
def derive_ab_relu(a=None, b=1) -> Derivation:
    """``E[phi(X) phi(Y)]`` for ``phi(x) = a min(x, 0) + b max(x, 0)`` from the ReLU result.

    ``phi(x) = b ReLU(x) - a ReLU(-x)`` and ``(X, -Y)`` has correlation ``-rho``, so
    ``E[phi(X) phi(Y)] = (a^2 + b^2) kappa(rho) - 2ab kappa(-rho)``. ``a = None`` keeps the
    negative-side slope as the symbol ``alpha`` (leaky ReLU); ``a = -1, b = 1`` is ``|x|``.

    >>> sp.simplify(derive_ab_relu(-1, 1).result.subs(rho, 0))   # (E|X|)^2
    2/pi
    """
    alpha = sp.Symbol("alpha", real=True)
    a = alpha if a is None else sp.sympify(a)
    b = sp.sympify(b)
    kappa = derive_relu().result
    d = Derivation("ab_relu", sp.S(0))
    d.step("The ReLU map, derived above:", sp.Eq(sp.Function("kappa")(rho), kappa))
    d.step("Write $\\varphi(x) = a\\min(x,0) + b\\max(x,0) = b\\,\\mathrm{ReLU}(x) - "
           "a\\,\\mathrm{ReLU}(-x)$ with", sp.Tuple(a, b))
    d.step("Expand the product; $(X, -Y)$ and $(-X, Y)$ have correlation $-\\rho$, "
           "$(-X, -Y)$ has $\\rho$:",
           r"\mathbb{E}[\varphi(X)\varphi(Y)] = (a^2 + b^2)\,\kappa(\rho) - 2ab\,\kappa(-\rho)")
    res = sp.simplify((a**2 + b**2) * kappa - 2 * a * b * kappa.subs(rho, -rho))
    d.step("Substitute the ReLU map:", res)
    d.result = res
    return d


@cache
def derive_orthant() -> Derivation:
    """Pr[X > 0, Y > 0] = (pi - arccos rho)/(2 pi) by the angular measure of the orthant."""
    d = Derivation("orthant", sp.S(0))
    radial = sp.integrate(r_ * sp.exp(-(r_**2) / 2), (r_, 0, sp.oo))
    ang = sp.integrate(sp.S(1), (t_, theta - sp.pi / 2, sp.pi / 2))
    d.step("Radial mass and angular width of $\\{X>0, Y>0\\}$:", sp.Tuple(radial, ang))
    p = sp.simplify(radial * ang / (2 * sp.pi)).subs(theta, sp.acos(rho))
    d.step("Orthant probability:", p)
    d.result = p
    return d


@cache
def derive_sign() -> Derivation:
    """Sheppard: E[sgn X sgn Y] = 4 Pr[X>0, Y>0] - 1 = (2/pi) arcsin rho."""
    d = Derivation("sign", sp.S(0))
    p = derive_orthant().result
    d.step("Orthant probability (derived):", p)
    d.step(
        "By symmetry $\\Pr[{+}{+}] = \\Pr[{-}{-}] = p$ and "
        "$\\Pr[{+}{-}] = \\Pr[{-}{+}] = 1/2 - p$, "
        "so $\\mathbb{E}[\\operatorname{sgn} X \\operatorname{sgn} Y] = 4p - 1$:",
        4 * p - 1,
    )
    res = sp.simplify(4 * p - 1)
    alt = sp.simplify(res.rewrite(sp.asin))
    d.step("Simplify ($\\arccos = \\pi/2 - \\arcsin$):", alt)
    d.result = alt
    return d


@cache
def derive_erf() -> Derivation:
    """Williams: E[erf U erf V] = (2/pi) arcsin(2c / sqrt((1+2q1)(1+2q2)))."""
    d = Derivation("erf", sp.S(0))
    d.step(
        "Price's theorem: $\\partial_c \\mathbb{E}[\\operatorname{erf} U \\operatorname{erf} V] = "
        "\\mathbb{E}[\\operatorname{erf}'(U) \\operatorname{erf}'(V)]$:",
        r"\partial_c\,\mathbb E[\operatorname{erf}U\operatorname{erf}V]"
        r"=\tfrac4\pi\,\mathbb E[e^{-U^2-V^2}]",
    )
    # E exp(-U^2 - V^2) with U = a X, V = b X + g Z (X, Z independent standard normals)
    a_, e_ = sp.symbols("a g", positive=True)
    b_ = sp.Symbol("b", real=True)
    dens = -(x**2) / 2 - z**2 / 2
    inner = gaussian_integral(sp.exp(-((b_ * x + e_ * z) ** 2) + dens), z)
    d.step("Inner Gaussian integral over $Z$ ($V = b X + g Z$), by completing the square:", inner)
    outer = sp.simplify(gaussian_integral(sp.exp(-(a_**2) * x**2) * inner, x) / (2 * sp.pi))
    d.step("Outer integral over $X$ ($U = a X$), divided by $2\\pi$:", outer)
    sub = {a_: sp.sqrt(q1), b_: c / sp.sqrt(q1), e_: sp.sqrt(q2 - c**2 / q1)}
    E = outer.subs(sub)
    E2 = sp.factor(sp.cancel(sp.expand(E**2)))
    d.step("With $a = \\sqrt{q_1}$, $b = c/\\sqrt{q_1}$, $g = \\sqrt{q_2 - c^2/q_1}$, "
           "its square is:", E2)
    D = sp.expand((1 + 2 * q1) * (1 + 2 * q2))
    d.check = sp.cancel(E2 * (D - 4 * c**2)) - 1
    d.step("i.e. $\\mathbb{E}[e^{-U^2-V^2}] = 1/\\sqrt{D - 4c^2}$ with $D = (1+2q_1)(1+2q_2)$ "
           "(the expectation is positive); the residual of that identity is",
           d.check)
    tt = sp.Symbol("s", real=True)
    Dn = sp.Symbol("D", positive=True)
    deriv = (4 / sp.pi) / sp.sqrt(Dn - 4 * tt**2)
    integ = sp.simplify(sp.integrate(deriv, (tt, 0, c), conds="none")).subs(Dn, D)
    d.step("Integrate from $c = 0$, where $\\mathbb{E}[\\operatorname{erf} U]\\,"
           "\\mathbb{E}[\\operatorname{erf} V] = 0$ (erf is odd):", integ)
    d.result = integ
    return d


def hermite_poly(k: int, var=x):
    """Orthonormal probabilists' Hermite polynomial ``h_k = He_k / sqrt(k!)`` (SymPy).

    >>> sp.expand(hermite_poly(3) * sp.sqrt(6))
    x**3 - 3*x
    """
    return sp.hermite_prob(k, var) / sp.sqrt(sp.factorial(k))


def gaussian_expectation_poly(p, var=x):
    """``E p(X)`` for a polynomial ``p`` by Gaussian moments (E X^{2m} = (2m-1)!!).

    Examples
    --------
    ``E[X^4 + X^3 + 2] = 3 + 0 + 2``:

    >>> gaussian_expectation_poly(x**4 + x**3 + 2)
    5
    """
    poly = sp.Poly(sp.expand(p), var)
    return sp.simplify(sum(coef * _gauss_moment(m[0]) for m, coef in poly.terms()))


def polynomial_hermite_coefficients(p, q=1):
    """Hermite coefficients ``c_k(q) = E[p(sqrt(q) X) h_k(X)]``, ``k = 0..deg p``.

    >>> polynomial_hermite_coefficients(x**2)
    [1, 0, sqrt(2)]
    """
    pq = sp.expand(sp.sympify(p).subs(x, sp.sqrt(sp.sympify(q)) * x))
    n = sp.Poly(pq, x).degree()
    return [sp.simplify(gaussian_expectation_poly(pq * hermite_poly(k))) for k in range(n + 1)]


def derive_polynomial(p) -> Derivation:
    """E[p(U) p(V)] for a polynomial p via its Hermite expansion (Mehler).

    Examples
    --------
    ``E[U^2 V^2] = q_1 q_2 (1 + 2 rho^2)`` (Isserlis):

    >>> d = derive_polynomial(x**2)
    >>> sp.expand(d.result - q1 * q2 * (1 + 2 * rho**2))
    0
    """
    d = Derivation(f"poly {p}", sp.S(0))
    c1 = polynomial_hermite_coefficients(p, q1)
    c2 = polynomial_hermite_coefficients(p, q2)
    d.step("Hermite coefficients at variance q1:", sp.Tuple(*c1))
    d.step("Hermite coefficients at variance q2:", sp.Tuple(*c2))
    res = sp.expand(sum(a * b * rho**k for k, (a, b) in enumerate(zip(c1, c2, strict=True))))
    d.step("Mehler: E[p(U)p(V)] = sum_k c_k(q1) c_k(q2) rho^k:", res)
    d.result = res
    return d


def polynomial_moment_direct(p):
    """E[p(U) p(V)] by expanding U = sqrt(q1) X, V = sqrt(q2)(rho X + sqrt(1-rho^2) Z) and
    taking moments of the independent X, Z (an independent check of :func:`derive_polynomial`).

    Examples
    --------
    It agrees with the Hermite (Mehler) route of :func:`derive_polynomial`:

    >>> sp.expand(polynomial_moment_direct(x**2) - derive_polynomial(x**2).result)
    0
    """
    s = sp.sqrt(1 - rho**2)
    expr = sp.expand(sp.sympify(p).subs(x, sp.sqrt(q1) * x) * sp.sympify(p).subs(
        x, sp.sqrt(q2) * (rho * x + s * z)))
    poly = sp.Poly(expr, x, z)
    terms = poly.terms()
    return sp.expand(sum(coef * _gauss_moment(i) * _gauss_moment(j) for (i, j), coef in terms))


@cache
def relu_hermite_coefficient(k: int):
    """``c_k = E[ReLU(X) h_k(X)] = int_0^oo x h_k(x) gamma(x) dx`` (SymPy integral).

    >>> relu_hermite_coefficient(2)
    1/(2*sqrt(pi))
    """
    integrand = x * hermite_poly(k) * sp.exp(-(x**2) / 2)
    val = sp.integrate(integrand, (x, 0, sp.oo)) / sp.sqrt(2 * sp.pi)
    return sp.nsimplify(sp.simplify(val)) if val.is_rational else sp.simplify(val)


def relu_coefficient_formula(k: int):
    """The closed formula ``((k-3)!!)^2 / (2 pi k!)`` for even ``k >= 2`` (0 for odd ``k >= 3``).

    Examples
    --------
    The formula gives the squared coefficient ``c_k^2``; compare the integral of
    :func:`relu_hermite_coefficient`:

    >>> relu_coefficient_formula(4), relu_hermite_coefficient(4) ** 2
    (1/(48*pi), 1/(48*pi))
    >>> relu_coefficient_formula(5)
    0
    """
    k = check_int(k, "k", lo=2, hi=10_000)  # the formula's range; sympy recursed beyond
    if k % 2 == 1:
        return sp.S(0)
    return sp.factorial2(k - 3) ** 2 / (2 * sp.pi * sp.factorial(k))


def kappa_series(order: int = 10):
    """Series of the *derived* kappa(rho) about 0 to ``O(rho^order)`` (a SymPy expression).

    Examples
    --------
    The series starts ``1/(2 pi) + rho/4 + rho^2/(4 pi)``:

    >>> sp.expand(kappa_series(3) - (1 / (2 * sp.pi) + rho / 4 + rho**2 / (4 * sp.pi)))
    0
    """
    order = check_int(order, "order", lo=1, hi=200)  # SymPy series: minutes beyond
    return sp.series(derive_relu().result, rho, 0, order).removeO()


def mehler_eigen(k: int):
    """``U_rho h_k(x) - rho^k h_k(x)`` computed symbolically with Gaussian moments of Z (is 0).

    >>> mehler_eigen(4)
    0
    """
    k = check_int(k, "k", lo=0, hi=60)  # symbolic expansion of a degree-k polynomial
    s = sp.sqrt(1 - rho**2)
    expr = sp.expand(hermite_poly(k).subs(x, rho * x + s * z))
    poly = sp.Poly(expr, z)
    u = sum(coef * _gauss_moment(m[0]) for m, coef in poly.terms())
    return sp.simplify(sp.expand(u - rho**k * hermite_poly(k)))
