"""Claims about the depth recurrence rho_L = kappa(rho_{L-1}) (haris2026 §2.5, §6 item 6), the
normalised C-map near its marginal fixed point, and criticality (anchors §7)."""

from __future__ import annotations

import functools

from nstheory.claims import (
    claim,
    compare_digits,
    compare_enclosure,
    compare_exact,
    compare_holds,
)

EXACT_FP = "0.217233628211221657408"  # haris2026 §2.5 [NUM]
CONTRACTION = "0.2848516734"  # haris2026 §2.5 [NUM] (10 digits)

@functools.cache
def _reduction_fixed_point(dps: int = 30):
    """Root of E[relu X relu Y](rho) - rho with the map computed by the 1-D reduction
    (conditioning on X, mpmath quadrature), not by the closed form of kappa (computed once
    per process: three claims compare it)."""
    import mpmath

    from nstheory.gaussian.activations import get_activation
    from nstheory.gaussian.precise import reduction_mp

    relu = get_activation("relu")
    with mpmath.workdps(dps):
        return mpmath.findroot(lambda r: reduction_mp(relu, r, 1, 1, dps=dps) - r,
                               (mpmath.mpf("0.2"), mpmath.mpf("0.25")), solver="secant")


def _orthant_quadrature(r, dps: int = 30):
    """Pr[X > 0, Y > 0] for rho-correlated standard Gaussians, by mpmath quadrature of
    phi(x) Phi(rho x / sqrt(1 - rho^2)) over x > 0."""
    import mpmath

    with mpmath.workdps(dps):
        s = mpmath.sqrt(1 - r * r)
        return mpmath.quad(lambda x: mpmath.npdf(x) * mpmath.ncdf(r * x / s), [0, mpmath.inf])


c = claim(
    "gaussian.recurrence.paper_fixed_point",
    "The ReLU depth recurrence rho_L = kappa(rho_{L-1}) has fixed point 2/(3 pi) ~ 0.212.",
    latex=r"\rho^* = \tfrac{2}{3\pi}",
    provenance="paper:haris2026 §2.5",
    expect="refuted",
    refutation_kind="paper-as-printed",
    evidence="2/(3pi) = 0.2122065907891937810 is the fixed point of the linearisation "
    "1/(2pi) + rho/4 (see gaussian.recurrence.linearisation); the exact fixed point is "
    "0.21723362821122165740... (certified, gaussian.recurrence.exact_fixed_point), 2.4% larger.",
)


@c.check("certified", name="interval_newton_excludes",
         uses=("closed-form:kappa", "nstheory.gaussian.recurrence.kappa_fixed_point_arb"))
def _():
    from nstheory.gaussian.recurrence import kappa_fixed_point_arb

    return compare_enclosure("certified fixed point of kappa (interval Newton, 128 bits)",
                             kappa_fixed_point_arb(128), "paper's 2/(3 pi)",
                             "0.21220659078919378102517835116335")


@c.check("precise", name="reduction_root_elsewhere",
         uses=("nstheory.gaussian.precise.reduction_mp", "mpmath.findroot"))
def _():
    from nstheory.gaussian.recurrence import linearised_fixed_point

    return compare_digits("root of E[relu X relu Y](rho) = rho, map by 1-D reduction "
                          "(mpmath dps 30, secant)", _reduction_fixed_point(30),
                          "paper's 2/(3 pi)", linearised_fixed_point(), 10)


c = claim(
    "gaussian.recurrence.linearisation",
    "2/(3 pi) is the fixed point of the first-order Taylor map 1/(2pi) + rho/4; the second-order "
    "Taylor map 1/(2pi) + rho/4 + rho^2/(4pi) has fixed point 0.2172126876848...",
    latex=r"\tfrac1{2\pi}+\tfrac\rho4=\rho\iff\rho=\tfrac2{3\pi}",
    provenance="paper:haris2026 §2.5 (linear approximation); §6 item 6",
)


@c.check("symbolic", name="solve_linear_map", uses=("nstheory.gaussian.symbolic.kappa_series",))
def _():
    import sympy as sp

    from nstheory.gaussian.symbolic import kappa_series, rho

    lin = sp.series(kappa_series(3), rho, 0, 2).removeO()  # derived kappa to first order
    sol = sp.solve(sp.Eq(lin, rho), rho)
    return compare_exact("root of the derived first-order map", sol[0], "2/(3 pi)",
                         2 / (3 * sp.pi))


@c.check("precise", name="second_order_root",
         uses=("nstheory.gaussian.recurrence.taylor2_fixed_point", "mpmath.findroot:typed-map"))
def _():
    import mpmath

    from nstheory.gaussian.recurrence import taylor2_fixed_point

    with mpmath.workdps(30):
        f = lambda r: 1 / (2 * mpmath.pi) + r / 4 + r**2 / (4 * mpmath.pi) - r  # noqa: E731
        root = mpmath.findroot(f, 0.2)
    return compare_digits("quadratic formula root (mpmath)", taylor2_fixed_point(),
                          "findroot of the second-order map", root, 25, note=
                          "§6 lists 0.2172126876848...")


c = claim(
    "gaussian.recurrence.exact_fixed_point",
    "The exact fixed point of rho = kappa(rho) is 0.2172336282112216574..., unique in [-1, 1].",
    latex=r"\kappa(\rho^*)=\rho^*,\ \rho^*=0.21723362821122165740\ldots",
    provenance="reconstructed:our research note on haris2026 §2.5 [NUM]",
)


@c.check("certified", name="interval_newton",
         uses=("closed-form:kappa", "nstheory.gaussian.recurrence.kappa_fixed_point_arb"))
def _():
    from nstheory.gaussian.recurrence import kappa_fixed_point_arb

    return compare_enclosure("interval-Newton enclosure (proves existence and uniqueness in "
                             "[0.2, 0.25]), 128 bits", kappa_fixed_point_arb(128),
                             "haris2026 §2.5 value ± 5e-22", f"[{EXACT_FP} +/- 5e-22]")


@c.check("certified", name="sign_change",
         uses=("closed-form:kappa", "nstheory.gaussian.recurrence.fixed_point_sign_change_arb"))
def _():
    from flint import arb

    from nstheory.gaussian.recurrence import fixed_point_sign_change_arb
    from nstheory.numerics import arb_precision

    with arb_precision(bits=128):
        lo, hi = arb("0.21723362821122165740"), arb("0.21723362821122165741")
        flo = fixed_point_sign_change_arb(lo, 128)[0]
        fhi = fixed_point_sign_change_arb(hi, 128)[0]
    return compare_holds(bool(flo > 0 and fhi < 0),
                         [("kappa(a) - a at a = 0.21723362821122165740 (arb)", flo),
                          ("kappa(b) - b at b = 0.21723362821122165741 (arb)", fhi)],
                         tolerance="certified sign change")


@c.check("precise", name="iteration",
         uses=("closed-form:kappa", "nstheory.gaussian.recurrence.iterate_kappa_mp"))
def _():
    from nstheory.gaussian.recurrence import iterate_kappa_mp

    return compare_digits("rho_80 from rho_0 = 1 (mpmath dps 30)",
                          iterate_kappa_mp(1, 80, dps=30)[-1], "haris2026 §2.5", EXACT_FP, 20)


@c.check("precise", name="reduction_root",
         uses=("nstheory.gaussian.precise.reduction_mp", "mpmath.findroot"))
def _():
    return compare_digits("root of E[relu X relu Y](rho) = rho, map by 1-D reduction "
                          "(mpmath dps 30, secant)", _reduction_fixed_point(30),
                          "haris2026 §2.5", EXACT_FP, 20)


c = claim(
    "gaussian.recurrence.contraction",
    "The fixed point attracts every start in [-1, 1]: kappa maps [-1,1] into [0, 1/2], where "
    "kappa' <= 1/3; the contraction factor at the fixed point is kappa'(rho*) = 0.2848516734...",
    latex=r"\kappa'(\rho^*)=\tfrac{\pi-\arccos\rho^*}{2\pi}=0.2848516734\ldots",
    provenance="reconstructed:our research note on haris2026 §2.5 [NUM]",
)


@c.check("certified", name="contraction_factor",
         uses=("closed-form:kappa-prime",
               "closed-form:kappa",
               "nstheory.gaussian.recurrence.kappa_fixed_point_arb"))
def _():
    from nstheory.gaussian.recurrence import contraction_factor_arb, kappa_fixed_point_arb

    return compare_enclosure("arb kappa'(rho*) on the certified fixed-point ball",
                             contraction_factor_arb(kappa_fixed_point_arb(128)),
                             "haris2026 §2.5 value ± 5e-11", f"[{CONTRACTION} +/- 5e-11]")


@c.check("certified", name="banach_certificate",
         uses=("nstheory.gaussian.precise.reduction_mp",
               "mpmath.findroot",
               "mpmath.quad:orthant-integral"))
def _():
    from flint import arb

    from nstheory.gaussian.activations import _kappa_point
    from nstheory.gaussian.recurrence import kappa_prime_arb

    lo, hi = _kappa_point(arb(-1)), _kappa_point(arb(1))
    lip = kappa_prime_arb(arb(0.5))
    eps = arb("1e-15")
    ok = lo.lower() >= -eps and hi.upper() <= arb(0.5) + eps and lip.upper() < 1
    return compare_holds(bool(ok), [("kappa(-1) (arb; kappa increasing)", lo),
                                    ("kappa(1) (arb)", hi),
                                    ("sup kappa' on [0,1/2] = kappa'(1/2) (arb)", lip)],
                         tolerance="kappa([-1,1]) in [0,1/2] (±1e-15 rounding) and Lipschitz < 1")


@c.check("precise", name="orthant_at_reduction_root",
         uses=("closed-form:kappa", "closed-form:kappa-prime"))
def _():
    rstar = _reduction_fixed_point(30)
    return compare_digits("Pr[X>0,Y>0] at the reduction-computed fixed point (mpmath quad)",
                          _orthant_quadrature(rstar, 30), "haris2026 §2.5 kappa'(rho*)",
                          CONTRACTION, 9.5)


@c.check("precise", name="all_starts",
         uses=("closed-form:kappa", "nstheory.gaussian.recurrence.np_iterates_until"))
def _():
    import numpy as np

    from nstheory.gaussian.activations import kappa_np
    from nstheory.gaussian.recurrence import np_iterates_until

    traj = np_iterates_until(kappa_np, np.linspace(-1, 1, 2001), 40)
    err = float(np.max(np.abs(traj[-1] - float(EXACT_FP))))
    return compare_holds(err < 1e-14, [("max |rho_40 - rho*| over 2001 starts in [-1,1] "
                                        "(float64)", err)], tolerance="< 1e-14")


c = claim(
    "gaussian.recurrence.iterates",
    "Iterates from rho_0 = 1: 0.5, 0.304499, 0.242717, 0.224546, 0.219321, 0.217829, 0.217403, "
    "0.217282, 0.217247, 0.217238.",
    latex=r"\rho_L=\kappa^{\circ L}(1)",
    provenance="reconstructed:our research note on haris2026 §2.5 [NUM]",
)

_ITER = ["0.5", "0.304499", "0.242717", "0.224546", "0.219321", "0.217829", "0.217403",
         "0.217282", "0.217247", "0.217238"]


@c.check("precise", name="mpmath",
         uses=("closed-form:kappa", "nstheory.gaussian.recurrence.iterate_kappa_mp"))
def _():
    from nstheory.gaussian.recurrence import iterate_kappa_mp

    it = iterate_kappa_mp(1, 10, dps=30)[1:]
    worst = max(abs(float(a) - float(b)) for a, b in zip(it, _ITER, strict=True))
    return compare_holds(worst <= 5e-7, [("mpmath iterates", tuple(round(float(v), 6) for v in it)),
                                         ("§2.5 list", tuple(_ITER)), ("max |diff|", worst)],
                         tolerance="<= 5e-7 (6 printed decimals)")


@c.check("precise", name="reduction_iterates", uses=("nstheory.gaussian.precise.reduction_mp",))
def _():
    from nstheory.gaussian.activations import get_activation
    from nstheory.gaussian.precise import reduction_mp

    relu = get_activation("relu")
    x, it = 1, []
    for _ in _ITER:
        x = reduction_mp(relu, x, 1, 1, dps=15)
        it.append(x)
    worst = max(abs(float(a) - float(b)) for a, b in zip(it, _ITER, strict=True))
    return compare_holds(worst <= 5e-7, [("iterates of the 1-D reduction map (mpmath dps 15)",
                                          tuple(round(float(v), 6) for v in it)),
                                         ("§2.5 list", tuple(_ITER)), ("max |diff|", worst)],
                         tolerance="<= 5e-7 (6 printed decimals)")


@c.check("certified", name="arb_iterates", uses=("closed-form:kappa",))
def _():
    from flint import arb

    from nstheory.gaussian.activations import kappa_arb

    x = arb(1)
    bad = []
    for k, v in enumerate(_ITER):
        x = kappa_arb(x)
        if not x.overlaps(arb(v, "5e-7")):
            bad.append((k + 1, x))
    return compare_holds(not bad, [("arb iterates disagreeing with the list", bad)],
                         tolerance="each arb iterate overlaps the printed value ± 5e-7")


c = claim(
    "gaussian.cmap.depth_asymptotics",
    "Iterating the normalised ReLU C-map c = 2 kappa from rho_0 = 0, (1 - rho_L) L^2 -> 9 pi^2/2 "
    "= 44.4132 (12.85, 35.77, 43.13, 44.25, 44.39 at L = 10, 100, 10^3, 10^4, 10^5).",
    latex=r"(1-\rho_L)L^2\to\tfrac{9\pi^2}{2}",
    provenance="reconstructed:anchors §7 (Schoenholz et al. 2017; measured table)",
    fast=False,
)


@c.check("symbolic", name="expansion_at_one", uses=("nstheory.gaussian.symbolic.derive_relu",))
def _():
    import sympy as sp

    from nstheory.gaussian.symbolic import derive_relu, rho

    eps = sp.Symbol("epsilon", positive=True)
    cm = 2 * derive_relu().result
    gap = sp.series(sp.simplify(1 - cm.subs(rho, 1 - eps)), eps, 0, 2).removeO()
    # gap = eps - a eps^(3/2) + ...; eps_{L+1} = eps_L - a eps_L^{3/2} gives eps_L ~ 4/(a^2 L^2)
    a = -sp.limit((gap - eps) / eps ** sp.Rational(3, 2), eps, 0)
    limit = sp.simplify(4 / a**2)
    return compare_exact("4/a^2 with 1 - c(1-eps) = eps - a eps^{3/2} + ... (derived c)", limit,
                         "9 pi^2 / 2", 9 * sp.pi**2 / 2)


@c.check("precise", name="iteration_table", uses=("nstheory.gaussian.recurrence.cmap_gap_table",))
def _():
    from nstheory.gaussian.recurrence import cmap_gap_table

    tab = cmap_gap_table()
    ref = {10: 12.85, 100: 35.77, 1000: 43.13, 10_000: 44.25, 100_000: 44.39}
    worst = max(abs(tab[k] - v) for k, v in ref.items())
    mono = all(a < b for a, b in zip(list(tab.values()), list(tab.values())[1:], strict=False))
    return compare_holds(worst <= 0.006 and mono and tab[100_000] < 44.4132,
                         [("(1-rho_L) L^2, float64 stable gap iteration", tab),
                          ("anchors §7 table", ref), ("max |diff|", worst)],
                         tolerance="<= 0.006 (2 printed decimals); increasing; below 9pi^2/2")


c = claim(
    "gaussian.criticality.relu",
    "For ReLU, chi_1 = sigma_w^2 E[phi'(sqrt(q*) Z)^2] = sigma_w^2/2 for every q*, so the "
    "critical point is sigma_w^2 = 2 (He init), where the C-map slope at 1 is 1.",
    latex=r"\chi_1=\sigma_w^2/2",
    provenance="textbook:Schoenholz et al. 2017; anchors §7",
)


@c.check("precise", name="chi1_quadrature", uses=("nstheory.gaussian.recurrence.chi1",))
def _():
    from nstheory.gaussian.activations import get_activation
    from nstheory.gaussian.recurrence import chi1

    relu = get_activation("relu")
    v = chi1(relu, 2, 3.7, dps=30)
    return compare_digits("chi_1 at sigma_w^2 = 2, q = 3.7 (mpmath quad of phi'^2)", v,
                          "1", 1, 25)


@c.check("symbolic", name="sympy_chi1_and_slope",
         uses=("sympy.integrate:chi1", "typed:kappa-formula"))
def _():
    import sympy as sp

    z, s2, r = sp.symbols("z sigma_w2 rho", positive=True)
    # chi_1 = sigma_w^2 E[ReLU'(sqrt(q) Z)^2] = sigma_w^2 P(Z > 0), exactly, for every q > 0
    chi = s2 * sp.integrate(sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi), (z, 0, sp.oo))
    # normalised C-map of ReLU at sigma_w^2: sigma_w^2 kappa(rho) (q cancels by homogeneity);
    # its slope at rho = 1 from the derivative of the closed form
    kappa = (sp.sqrt(1 - r**2) + r * (sp.pi - sp.acos(r))) / (2 * sp.pi)
    slope = sp.limit(sp.diff(s2 * kappa, r), r, 1, "-")
    return compare_exact("chi_1 = sigma_w^2 P(Z > 0) (SymPy integral), at sigma_w^2 = 2",
                         chi.subs(s2, 2), "C-map slope at rho = 1 (SymPy limit), sigma_w^2 = 2",
                         slope.subs(s2, 2))


@c.check("precise", name="cmap_slope",
         uses=("nstheory.gaussian.recurrence.cmap_slope_at_one", "closed-form:kappa"))
def _():
    from nstheory.gaussian.activations import get_activation
    from nstheory.gaussian.recurrence import cmap_slope_at_one

    relu = get_activation("relu")
    return compare_digits("one-sided difference slope of sigma_w^2 E[phi phi]/q at c=1 "
                          "(sigma_w^2=2, q=1.5, h=1e-20)", cmap_slope_at_one(relu, 2, 1.5, 30,
                                                                           h="1e-20"),
                          "chi_1 = 1", 1, 8, note="first-order difference: error O(sqrt h)")


c = claim(
    "gaussian.criticality.tanh",
    "tanh at sigma_b = 0: q* = 0 and chi_1 = sigma_w^2 tanh'(0)^2, so tanh is critical at "
    "sigma_w = 1.",
    latex=r"\chi_1=\sigma_w^2\phi'(0)^2=1",
    provenance="textbook:Schoenholz et al. 2017; anchors §7",
)


@c.check("symbolic", name="derivative_at_zero", uses=("sympy.diff:tanh",))
def _():
    import sympy as sp

    xx = sp.Symbol("x")
    return compare_exact("tanh'(0)^2 (SymPy)", sp.diff(sp.tanh(xx), xx).subs(xx, 0) ** 2, "1", 1)


@c.check("precise", name="length_map_contracts",
         uses=("nstheory.gaussian.activations.Activation.second_moment", "mpmath.quad:inline"))
def _():
    import mpmath

    from nstheory.gaussian.activations import get_activation

    t = get_activation("tanh")
    qs = [0.01, 0.1, 1.0, 4.0]
    ratios = [float(t.second_moment(q, 20)) / q for q in qs]
    # the q = 1 value by a quadrature written here (a wrong second moment must not pass as
    # "< 1", e.g. a negated one)
    with mpmath.workdps(25):
        ref = mpmath.quad(lambda x: mpmath.tanh(x) ** 2 * mpmath.npdf(x), [-mpmath.inf, 0,
                                                                           mpmath.inf])
    ok = all(0 < r < 1 for r in ratios) and abs(ratios[2] - float(ref)) <= 1e-12
    return compare_holds(ok,
                         [("E tanh(sqrt(q) Z)^2 / q at q = 0.01, 0.1, 1, 4 (sigma_w = 1)", ratios),
                          ("E tanh(Z)^2 by mpmath.quad (this check)", mpmath.nstr(ref, 15))],
                         tolerance="in (0, 1), so q -> 0 = q*, where chi_1 = tanh'(0)^2 = 1; "
                                   "q = 1 agrees with the quadrature to 1e-12")


c = claim(
    "gaussian.criticality.erf_sigma_w_one",
    "erf at sigma_b = 0 is critical at sigma_w = 1 (as tanh is).",
    latex=r"\chi_1(\operatorname{erf};\sigma_w=1,\sigma_b=0)=1",
    provenance="reconstructed:anchors §7 (tanh statement extended to erf in the brief)",
    expect="refuted",
    refutation_kind="our-reading",
    evidence="erf'(0)^2 = 4/pi > 1: at sigma_w = 1 the length map is expanding at 0, so "
    "q* = 0.14192376531... > 0 and chi_1 = (4/pi)/sqrt(1 + 4 q*) = 1.01690251995... (chaotic "
    "side). The erf critical point at sigma_b = 0 is sigma_w^2 = pi/4 "
    "(gaussian.criticality.erf).",
)


@c.check("symbolic", name="slope_at_zero", uses=("sympy.diff:erf",))
def _():
    import sympy as sp

    xx = sp.Symbol("x")
    return compare_exact("erf'(0)^2 (SymPy), = chi_1 at q* = 0, sigma_w = 1",
                         sp.diff(sp.erf(xx), xx).subs(xx, 0) ** 2, "1", 1)


@c.check("precise", name="q_fixed_point_and_chi1",
         uses=("nstheory.gaussian.recurrence.chi1", "nstheory.gaussian.recurrence.q_fixed_point"))
def _():
    from nstheory.gaussian.activations import get_activation
    from nstheory.gaussian.recurrence import chi1, q_fixed_point

    e = get_activation("erf")
    q = q_fixed_point(e, 1, 0, dps=25)
    return compare_digits(f"chi_1 at the length fixed point q* = {float(q):.12g} (mpmath)",
                          chi1(e, 1, q, dps=25), "1", 1, 6)


c = claim(
    "gaussian.criticality.erf",
    "erf at sigma_b = 0 is critical at sigma_w^2 = pi/4: there q* = 0 and chi_1 = 1.",
    latex=r"\sigma_w^2\,\operatorname{erf}'(0)^2 = \tfrac\pi4\cdot\tfrac4\pi = 1",
    provenance="new",
)


@c.check("symbolic", name="slope", uses=("sympy.diff:erf",))
def _():
    import sympy as sp

    xx = sp.Symbol("x")
    return compare_exact("(pi/4) erf'(0)^2 (SymPy)",
                         sp.simplify(sp.pi / 4 * sp.diff(sp.erf(xx), xx).subs(xx, 0) ** 2), "1", 1)


@c.check("precise", name="length_map",
         uses=("nstheory.gaussian.recurrence.chi1", "closed-form:erf-second-moment"))
def _():
    import mpmath

    from nstheory.gaussian.activations import get_activation
    from nstheory.gaussian.recurrence import chi1

    e = get_activation("erf")
    with mpmath.workdps(30):
        sw2 = mpmath.pi / 4
        qs = (mpmath.mpf("1e-6"), mpmath.mpf("0.01"), mpmath.mpf(1))
        ratios = [float(sw2 * e.second_moment(q, 25) / q) for q in qs]
        # E erf(sqrt(q) Z)^2 = (2/pi) asin(2q/(1 + 2q)), typed here
        typed = [float(sw2 * 2 / mpmath.pi * mpmath.asin(2 * q / (1 + 2 * q)) / q) for q in qs]
        c0 = chi1(e, sw2, 0, dps=25)
    ok = all(0 < r < 1 for r in ratios) and abs(float(c0) - 1) < 1e-20 and all(
        abs(a - b) <= 1e-14 * b for a, b in zip(ratios, typed, strict=True))
    return compare_holds(ok, [("(pi/4) E erf(sqrt q Z)^2 / q at q = 1e-6, 0.01, 1", ratios),
                              ("same from (2/pi) asin(2q/(1+2q)) (typed)", typed),
                              ("chi_1 at q* = 0", c0)],
                         tolerance="length map contracting (0 < ratio < 1, q* = 0), the second "
                                   "moment equal to the typed closed form, and chi_1 = 1")
