"""Boolean Fourier analysis: transform, Parseval, stability, influence, sensitivity identities.

Routes: the exact integer FWHT of :mod:`nstheory.boolean` (``exact-enumeration``), the
brute-force routes of :mod:`nstheory.boolean.enumeration` that use the definitions (all pairs
``(x, y)`` with their probability, the character matrix, the discrete derivatives) and SymPy
(``symbolic``: ``sympy.discrete.transforms.fwht`` and polynomial algebra).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from nstheory.claims import claim, compare_exact, compare_holds

ODONNELL = "textbook:odonnell2014"


def _zoo():
    from nstheory.boolean import zoo

    return [
        zoo.dictator(5, 2),
        zoo.parity(6, {1, 3, 4}),
        zoo.majority(7),
        zoo.tribes(2, 3),
        zoo.and_(5),
        zoo.or_(4),
        zoo.threshold([4, 2, 1, 1, 1]),
        zoo.noisy_sparse_parity(6, {2, 5}, Fraction(1, 10)),
        zoo.random_function(8, seed=11),
        zoo.random_function(7, seed=5, boolean=False),
    ]


def _sympy_coeffs(f):
    """Fourier coefficients via SymPy's own FWHT on exact Rationals."""
    import sympy
    from sympy.discrete.transforms import fwht

    vals = [sympy.Rational(v.numerator, v.denominator) for v in f.values_exact()]
    return [Fraction(int(c.p), int(c.q)) / f.size for c in fwht(vals)]


# ---------------------------------------------------------------------------------- FWHT
c = claim(
    "boolean.fourier.fwht_exact",
    "The exact integer fast Walsh-Hadamard transform (documented bit order: bit j of the index "
    "is x_{j+1}, 0 -> +1) gives f^(S) = E[f chi_S] for every S.",
    latex=r"\hat f(S) = 2^{-n} \sum_x f(x) \chi_S(x)",
    provenance=f"{ODONNELL} ch.1",
)


@c.check("exact-enumeration", name="definition_matrix",
         uses=("nstheory.boolean.enumeration.fourier_by_definition",))
def _():
    from nstheory.boolean.enumeration import fourier_by_definition

    ok = all(f.fourier(exact=True) == fourier_by_definition(f) for f in _zoo())
    return compare_holds(ok, [("functions (zoo + random, n <= 8)", len(_zoo())),
                              ("FWHT == 2^-n sum_x f(x) chi_S(x) for all S", ok)],
                         tolerance="exact")


@c.check("symbolic", name="sympy_fwht", uses=("sympy.discrete.transforms.fwht",))
def _():
    fs = _zoo()
    ok = all(f.fourier(exact=True) == _sympy_coeffs(f) for f in fs)
    return compare_holds(ok, [("functions", len(fs)),
                              ("nstheory FWHT == sympy.discrete.transforms.fwht / 2^n", ok)],
                         tolerance="exact")


# ---------------------------------------------------------------------------------- Parseval
c = claim(
    "boolean.fourier.parseval",
    "Parseval: sum_S f^(S)^2 = E[f^2]; for +-1-valued f the Fourier weights sum to 1.",
    latex=r"\sum_S \hat f(S)^2 = \mathbb{E}[f^2]",
    provenance=f"{ODONNELL} ch.1 Thm 1.16",
)


@c.check("exact-enumeration", name="fwht_weights_vs_table",
         uses=("fwht:nstheory", "nstheory.boolean.function.squared_norm"))
def _():
    from nstheory.boolean.analysis import weights

    fs = _zoo()
    lhs = [sum(weights(f), Fraction(0)) for f in fs]
    rhs = [f.squared_norm() for f in fs]
    return compare_exact("sum_k W^k (FWHT), zoo + random", tuple(lhs),
                         "E[f^2] from the truth table", tuple(rhs))


@c.check("symbolic", name="sympy_coefficients",
         uses=("sympy.discrete.transforms.fwht", "inline:mean-square"))
def _():
    fs = _zoo()
    lhs = tuple(sum((x * x for x in _sympy_coeffs(f)), Fraction(0)) for f in fs)
    rhs = tuple(sum((v * v for v in f.values_exact()), Fraction(0)) / f.size for f in fs)
    return compare_exact("sum_S (sympy fwht coefficient)^2", lhs,
                         "2^-n sum_x f(x)^2 (truth table, summed here)", rhs)


# ---------------------------------------------------------------------------------- chi_S
c = claim(
    "boolean.parity.stability",
    "Stab_rho[chi_S] = rho^|S| and I[chi_S] = |S| (raw stability E[f(x) f(y)]).",
    latex=r"\mathrm{Stab}_\rho[\chi_S] = \rho^{|S|},\quad \mathbf{I}[\chi_S] = |S|",
    provenance=f"{ODONNELL} ch.2",
)

_PAR_CASES = [(5, {2}), (5, {1, 4}), (6, {1, 2, 3, 6}), (7, None)]
_RHOS = [Fraction(1, 2), Fraction(-2, 3), Fraction(9, 10), Fraction(0), Fraction(1)]


@c.check("exact-enumeration", name="all_pairs",
         uses=("nstheory.boolean.enumeration.stability_by_pairs",
               "nstheory.boolean.enumeration.influences_by_derivatives"))
def _():
    from nstheory.boolean.enumeration import influences_by_derivatives, stability_by_pairs
    from nstheory.boolean.zoo import parity

    got, want = [], []
    for n, S in _PAR_CASES:
        f = parity(n, S)
        k = len(S) if S else n
        for r in _RHOS:
            got.append(stability_by_pairs(f, r))
            want.append(r**k)
        got.append(sum(influences_by_derivatives(f), Fraction(0)))
        want.append(Fraction(k))
    return compare_exact("Stab by all pairs (x,y) and I by derivatives, chi_S, 5 rhos",
                         tuple(got), "rho^|S| and |S|", tuple(want))


@c.check("symbolic", name="fwht_polynomial",
         uses=("fwht:nstheory", "nstheory.boolean.analysis.stability_polynomial"))
def _():
    import sympy

    from nstheory.boolean.analysis import stability_polynomial, total_influence
    from nstheory.boolean.zoo import parity

    rho = sympy.Symbol("rho")
    got, want = [], []
    for n, S in _PAR_CASES:
        f = parity(n, S)
        k = len(S) if S else n
        got.append(sympy.expand(stability_polynomial(f, rho)))
        want.append(rho**k)
        ti = total_influence(f)           # exact Fraction: int() would hide a fractional error
        got.append(sympy.Rational(ti.numerator, ti.denominator))
        want.append(sympy.Integer(k))
    return compare_exact("Stab_rho[chi_S] polynomial (FWHT weights), I[chi_S]", tuple(got),
                         "rho^|S|, |S|", tuple(want))


# ---------------------------------------------------------------------------------- dictator
c = claim(
    "boolean.dictator.stability",
    "The dictator x_i has Stab_rho = rho, Inf_i = 1 = I, NS_delta = delta (raw Stab).",
    latex=r"\mathrm{Stab}_\rho[x_i] = \rho,\ \mathbf{I}[x_i] = 1,\ \mathrm{NS}_\delta[x_i]=\delta",
    provenance=f"{ODONNELL} ch.2",
)


@c.check("exact-enumeration", name="all_pairs",
         uses=("nstheory.boolean.enumeration.stability_by_pairs",
               "nstheory.boolean.enumeration.disagreement_by_pairs"))
def _():
    from nstheory.boolean.enumeration import disagreement_by_pairs, stability_by_pairs
    from nstheory.boolean.zoo import dictator

    f = dictator(6, 4)
    got = (*[stability_by_pairs(f, r) for r in _RHOS],
           disagreement_by_pairs(f, Fraction(1, 10)), disagreement_by_pairs(f, Fraction(1, 3)))
    want = (*tuple(_RHOS), Fraction(1, 10), Fraction(1, 3))
    return compare_exact("Stab by all pairs at 5 rhos; Pr[f(x)!=f(y)] at delta=1/10, 1/3 "
                         "(x_4 on 6 bits)", got, "rho; delta", want)


@c.check("symbolic", name="fwht_polynomial",
         uses=("fwht:nstheory", "nstheory.boolean.analysis.stability_polynomial"))
def _():
    import sympy

    from nstheory.boolean.analysis import influences, stability_polynomial
    from nstheory.boolean.zoo import dictator

    rho = sympy.Symbol("rho")
    f = dictator(6, 4)
    inf = influences(f)
    return compare_exact("(Stab polynomial, Inf_1..Inf_6) by FWHT, x_4 on 6 bits",
                         (sympy.expand(stability_polynomial(f, rho)), tuple(inf)),
                         "(rho, e_4)", (rho, tuple(Fraction(int(i == 3)) for i in range(6))))


# ---------------------------------------------------------------------------------- I = d Stab
c = claim(
    "boolean.fourier.influence_is_stability_derivative",
    "Total influence equals the derivative of the stability polynomial at rho = 1: "
    "I[f] = sum_S |S| f^(S)^2 = d/drho Stab_rho[f] |_{rho=1}.",
    latex=r"\mathbf{I}[f] = \tfrac{d}{d\rho}\mathrm{Stab}_\rho[f]\big|_{\rho=1}",
    provenance=f"{ODONNELL} ch.2 Prop 2.53",
)


@c.check("symbolic", name="sympy_derivative_vs_derivatives",
         uses=("fwht:nstheory",
               "nstheory.boolean.analysis.stability_polynomial",
               "nstheory.boolean.enumeration.influences_by_derivatives"))
def _():
    import sympy

    from nstheory.boolean.analysis import stability_polynomial
    from nstheory.boolean.enumeration import influences_by_derivatives

    rho = sympy.Symbol("rho")
    fs = _zoo()
    lhs = tuple(sympy.diff(stability_polynomial(f, rho), rho).subs(rho, 1) for f in fs)
    rhs = tuple(sympy.Rational(str(sum(influences_by_derivatives(f), Fraction(0))))
                for f in fs)
    return compare_exact("d/drho Stab_rho[f] at 1 (sympy, FWHT weights)", lhs,
                         "sum_i E[(D_i f)^2] (discrete derivatives of the table)", rhs)


@c.check("exact-enumeration", name="difference_quotient_of_pairs",
         uses=("nstheory.boolean.enumeration.stability_by_pairs",
               "nstheory.boolean.analysis.average_sensitivity"))
def _():
    # (Stab_1 - Stab_{1-h}) / h from all-pairs enumeration is a polynomial in h whose value at
    # h -> 0 is I[f]: with the exact values at n+1 points we recover it by Lagrange
    # interpolation of the degree-n polynomial g(h) = (Stab_1 - Stab_{1-h}) / h.
    from nstheory.boolean.analysis import average_sensitivity
    from nstheory.boolean.enumeration import stability_by_pairs

    fs = _zoo()[:6]
    assert all(f.is_boolean for f in fs)
    got = []
    for f in fs:
        s1 = stability_by_pairs(f, 1)
        hs = [Fraction(j, f.n + 1) for j in range(1, f.n + 1)]
        gs = [(s1 - stability_by_pairs(f, 1 - h)) / h for h in hs]
        # g has degree n-1: Lagrange at h = 0 through n points
        val = Fraction(0)
        for i, (hi, gi) in enumerate(zip(hs, gs, strict=True)):
            term = gi
            for j, hj in enumerate(hs):
                if j != i:
                    term *= (0 - hj) / (hi - hj)
            val += term
        got.append(val)
    return compare_exact("lim_{h->0} (Stab_1 - Stab_{1-h})/h from all-pairs Stab (interp.)",
                         tuple(got), "I[f] = sum_i Pr[f(x) != f(x^i)] (bit flips, +-1 f)",
                         tuple(average_sensitivity(f) for f in fs))


# ---------------------------------------------------------------------------------- NS
c = claim(
    "boolean.fourier.noise_sensitivity_identity",
    "For +-1-valued f, NS_delta[f] = Pr[f(x) != f(y)] (y: each bit flipped w.p. delta) "
    "= 1/2 - 1/2 Stab_{1-2delta}[f]; fixtures (vasudeva2025 §1.1, n=7, delta=0.1): "
    "NS(Maj_7) = 0.16788, NS(Par_7) = 0.39514, NS(dictator) = 0.1.",
    latex=r"\mathrm{NS}_\delta[f] = \tfrac12 - \tfrac12\mathrm{Stab}_{1-2\delta}[f]",
    provenance=f"{ODONNELL} ch.2 Def 2.42",
)


@c.check("exact-enumeration", name="pairs_vs_formula",
         uses=("nstheory.boolean.enumeration.disagreement_by_pairs", "fwht:nstheory"))
def _():
    from nstheory.boolean.analysis import stability
    from nstheory.boolean.enumeration import disagreement_by_pairs

    fs = [f for f in _zoo() if f.is_boolean]
    deltas = [Fraction(1, 10), Fraction(1, 4), Fraction(2, 3)]
    lhs = tuple(disagreement_by_pairs(f, d) for f in fs for d in deltas)
    rhs = tuple(Fraction(1, 2) - stability(f, 1 - 2 * d) / 2 for f in fs for d in deltas)
    return compare_exact("Pr[f(x) != f(y)] by all pairs (+-1 zoo, delta = 1/10, 1/4, 2/3)", lhs,
                         "1/2 - Stab_{1-2delta}/2 (FWHT)", rhs)


@c.check("precise", name="vasudeva_fixtures", uses=("sympy.discrete.transforms.fwht",))
def _():
    from nstheory.boolean.function import popcounts
    from nstheory.boolean.zoo import dictator, majority, parity

    d = Fraction(1, 10)
    got = []
    for f in (majority(7), parity(7), dictator(7)):
        co, pc = _sympy_coeffs(f), popcounts(f.n).tolist()
        stab = sum((x * x * (1 - 2 * d) ** k for x, k in zip(co, pc, strict=True)), Fraction(0))
        got.append(round(float(Fraction(1, 2) - stab / 2), 5))
    return compare_exact("NS_0.1 = 1/2 - Stab_0.8/2 of Maj_7, Par_7, x_1 (sympy fwht, rounded "
                         "to 5 decimals)", tuple(got), "vasudeva2025 §1.1 table",
                         (0.16788, 0.39514, 0.1))


# ---------------------------------------------------------------------------------- NS <= dI
c = claim(
    "boolean.fourier.ns_influence_bound",
    "NS_delta[f] <= delta I[f] for +-1-valued f (tight for dictators).",
    latex=r"\mathrm{NS}_\delta[f] \le \delta\,\mathbf{I}[f]",
    provenance=f"{ODONNELL} ch.2 Ex. 2.43",
)


def _ns_cases():
    from nstheory.boolean import zoo

    fs = [f for f in _zoo() if f.is_boolean] + [zoo.random_function(6, seed=s)
                                                 for s in range(20)]
    return fs, [Fraction(1, 100), Fraction(1, 10), Fraction(1, 4), Fraction(1, 2)]


@c.check("exact-enumeration", name="fwht_values", uses=("fwht:nstheory",))
def _():
    from nstheory.boolean.analysis import noise_sensitivity, total_influence

    fs, ds = _ns_cases()
    worst = max(noise_sensitivity(f, d) - d * total_influence(f) for f in fs for d in ds)
    tight = noise_sensitivity(fs[0], Fraction(1, 10)) == Fraction(1, 10)
    return compare_holds(worst <= 0 and tight,
                         [("max over 27 functions x 4 deltas of NS_delta - delta I (FWHT)", worst),
                          ("dictator: NS_0.1 == 0.1 * I", tight)], tolerance="exact <= 0")


@c.check("exact-enumeration", name="pairs_and_flips",
         uses=("nstheory.boolean.enumeration.disagreement_by_pairs",
               "nstheory.boolean.analysis.average_sensitivity"))
def _():
    from nstheory.boolean.analysis import average_sensitivity
    from nstheory.boolean.enumeration import disagreement_by_pairs

    fs, ds = _ns_cases()
    worst = max(disagreement_by_pairs(f, d) - d * average_sensitivity(f) for f in fs for d in ds)
    # the dictator (fs[0]) meets the bound with equality: an overstated as(f) or a negated
    # disagreement would still pass "<= 0" alone
    tight = all(disagreement_by_pairs(fs[0], d) == d * average_sensitivity(fs[0]) == d
                for d in ds)
    return compare_holds(worst <= 0 and tight,
                         [("max of Pr[f(x)!=f(y)] (all pairs) - delta as(f) (bit flips)", worst),
                          ("equality for the dictator (Pr = delta as = delta)", tight)],
                         tolerance="exact <= 0, equality for the dictator")


# ---------------------------------------------------------------------------------- Markov
c = claim(
    "boolean.fourier.markov_tail",
    "W^{>=k}[f] <= I[f]/k for every k >= 1 (Markov on the spectral sample).",
    latex=r"\mathbf{W}^{\ge k}[f] \le \mathbf{I}[f]/k",
    provenance="paper:haris2026 §1.1 (textbook: O'Donnell Prop 3.2)",
)


@c.check("exact-enumeration", name="fwht_weights", uses=("fwht:nstheory",))
def _():
    from nstheory.boolean.analysis import tail_weight, total_influence

    fs = _zoo()
    worst = max(tail_weight(f, k) - total_influence(f) / k
                for f in fs for k in range(1, f.n + 1))
    # equality where all the weight sits at one degree k (dictator, k = 1; chi_{1,3,4}, k = 3):
    # a negated or understated tail would pass "<= 0" alone
    tight = (tail_weight(fs[0], 1) == total_influence(fs[0]) == 1
             and tail_weight(fs[1], 3) == total_influence(fs[1]) / 3 == 1)
    return compare_holds(worst <= 0 and tight,
                         [("max_{f,k} W^{>=k} - I/k (FWHT, zoo + random)", worst),
                          ("equality for the dictator (k = 1) and chi_{1,3,4} (k = 3)", tight)],
                         tolerance="exact <= 0, equality where the spectrum is one degree")


@c.check("symbolic", name="sympy_coefficients_and_derivatives",
         uses=("sympy.discrete.transforms.fwht",
               "nstheory.boolean.enumeration.influences_by_derivatives"))
def _():
    from nstheory.boolean.enumeration import influences_by_derivatives
    from nstheory.boolean.function import popcounts

    fs = _zoo()
    worst = None
    for f in fs:
        co = _sympy_coeffs(f)
        pc = popcounts(f.n).tolist()
        inf = sum(influences_by_derivatives(f), Fraction(0))
        for k in range(1, f.n + 1):
            tail = sum((x * x for x, d in zip(co, pc, strict=True) if d >= k), Fraction(0))
            v = tail - inf / k
            worst = v if worst is None else max(worst, v)
    return compare_holds(worst <= 0, [("max W^{>=k} (sympy fwht) - I/k (derivatives)", worst)],
                         tolerance="exact <= 0")


def _all_functions_n4():
    """Truth tables (int64, shape (65536, 16)) and 16 f^(S) of every f: {-1,1}^4 -> {-1,1}."""
    from nstheory.boolean.function import popcounts

    n, N = 4, 16
    ids = np.arange(1 << N, dtype=np.int64)
    T = (1 - 2 * ((ids[:, None] >> np.arange(N)[None, :]) & 1)).astype(np.int64)
    idx = np.arange(N)
    H = 1 - 2 * (popcounts(n)[np.bitwise_and.outer(idx, idx)].astype(np.int64) & 1)
    return T, T @ H, idx


# ---------------------------------------------------------------------------------- as = I
c = claim(
    "boolean.sensitivity.average_equals_total_influence",
    "For +-1-valued f, the average sensitivity as(f) = E_x #{i: f(x) != f(x^i)} equals "
    "I[f] = sum_S |S| f^(S)^2; e.g. as(Maj_7) = 2.1875 (vasudeva2025 §1.1).",
    latex=r"\mathrm{as}(f) = \mathbf{I}[f]",
    provenance=f"{ODONNELL} ch.2 Prop 2.26",
)


@c.check("exact-enumeration", name="all_functions_n4",
         uses=("character-matrix:all-n4", "bit-flips:all-n4"))
def _():
    # every one of the 2^16 functions {-1,1}^4 -> {-1,1}: Fourier via the 16x16 character
    # matrix (integer), sensitivity via bit flips on the truth tables
    from nstheory.boolean.function import popcounts

    T, C, idx = _all_functions_n4()  # C = 16 f^(S)
    I256 = (C * C) @ popcounts(4).astype(np.int64)  # 256 * I[f]
    sens = np.zeros(T.shape[0], dtype=np.int64)
    for i in range(4):
        sens += (T != T[:, idx ^ (1 << i)]).sum(axis=1)  # 16 * as(f)
    ok = bool(np.all(I256 == 16 * sens))
    return compare_holds(ok, [("functions checked (all of n = 4)", T.shape[0]),
                              ("256 I[f] (character matrix) == 16 * 16 as(f) (flips)", ok)],
                         tolerance="exact")


@c.check("exact-enumeration", name="zoo_fwht_vs_flips",
         uses=("nstheory.boolean.analysis.average_sensitivity", "fwht:nstheory"))
def _():
    from nstheory.boolean.analysis import average_sensitivity, total_influence
    from nstheory.boolean.zoo import majority

    fs = [f for f in _zoo() if f.is_boolean]
    lhs = (*tuple(average_sensitivity(f) for f in fs), average_sensitivity(majority(7)))
    rhs = (*tuple(total_influence(f) for f in fs), Fraction(21875, 10000))
    return compare_exact("as(f) from bit flips (+-1 zoo; Maj_7)", lhs,
                         "I[f] by FWHT; 2.1875 (vasudeva2025 §1.1)", rhs)


# ---------------------------------------------------------------------------------- juntas
c = claim(
    "boolean.juntas.friedgut_explicit",
    "Friedgut's junta theorem in an explicit form derived with Bonami's (2,4/3) "
    "hypercontractivity: with k = ceil(I/eps), tau = (eps/(3^(k-1) I))^2 and "
    "J = {i : Inf_i >= tau} (|J| <= I^3 9^(k-1)/eps^2), the Fourier weight outside "
    "{S subset of J, |S| <= k} is at most 2 eps, so Pr[f != sgn(f^{subset J})] <= 2 eps.",
    latex=r"\sum_{S\not\subseteq J \text{ or } |S|>k}\hat f(S)^2 \le 2\varepsilon,\ "
    r"|J| \le \mathbf{I}[f]^3 9^{k-1}/\varepsilon^2",
    provenance=f"{ODONNELL} ch.9 Thm 9.28 (explicit constants: new)",
)


def _junta_cases():
    import numpy as np

    from nstheory.boolean import BooleanFunction, zoo

    # x_1, flipped when x_2..x_12 are all -1: eleven relevant coordinates of influence 2^-10,
    # below tau at eps = 1/2 (k = 3, tau = 0.003), so J = {1} leaves relevant coordinates out
    # (in the other instances tau is so small that J holds every relevant coordinate)
    guarded = BooleanFunction.from_callable(
        lambda X: X[:, 0] * np.where((X[:, 1:] == -1).all(axis=1), -1, 1), 12,
        name="x1 flipped when x2..x12 are all -1", boolean=True)
    fs = [zoo.tribes(2, 3), zoo.majority(7), zoo.and_(6), zoo.threshold([6, 3, 1, 1, 1, 1]),
          zoo.dictator(6, 2), zoo.random_function(7, seed=2), guarded]
    return fs, [Fraction(1, 2), Fraction(1, 4), Fraction(1, 10)]


@c.check("exact-enumeration", name="fwht_weight_outside", uses=("fwht:nstheory",))
def _():
    from nstheory.boolean.analysis import influences
    from nstheory.boolean.juntas import friedgut_bound

    fs, es = _junta_cases()
    rows, ok, excluded = [], True, 0
    for f in fs:
        relevant = sum(v > 0 for v in influences(f))
        for e in es:
            b = friedgut_bound(f, e)
            good = b.weight_outside_low_junta <= 2 * e and len(b.coords) <= b.size_bound
            ok &= good
            excluded += len(b.coords) < relevant
        rows.append((f"{f.name}: weight outside low-degree J-part at eps = 1/10 (<= 1/5)",
                     b.weight_outside_low_junta))
    rows.append(("(f, eps) pairs where tau leaves relevant coordinates out of J", excluded))
    return compare_holds(ok and excluded > 0, rows,
                         tolerance="exact <= 2 eps, with the threshold exercised")


@c.check("exact-enumeration", name="boolean_distance_by_majority_vote",
         uses=("majority-vote:restrictions",))
def _():
    # independent route: the Boolean distance to the best function of x_J, computed by a
    # majority vote of f's values on every restriction (no Fourier), is <= 2 eps
    from nstheory.boolean.juntas import friedgut_bound

    fs, es = _junta_cases()
    worst = Fraction(-1)
    for f in fs:
        vals = f.values_exact()
        for e in es:
            jm = sum(1 << (i - 1) for i in friedgut_bound(f, e).coords)
            groups: dict[int, list[int]] = {}
            for idx, v in enumerate(vals):
                groups.setdefault(idx & jm, []).append(int(v))
            wrong = sum(min(g.count(1), g.count(-1)) for g in groups.values())
            worst = max(worst, Fraction(wrong, f.size) - 2 * e)
    return compare_holds(worst <= 0, [("max over functions, eps of Pr[f != best J-junta] - 2 eps",
                                       worst)], tolerance="exact <= 0")


# ---------------------------------------------------------------------------------- degree
c = claim(
    "boolean.sensitivity.degree_bounds",
    "For +-1-valued f: as(f) <= deg(f) (since I = sum_k k W^k) and Huang's sensitivity theorem "
    "deg(f) <= s(f)^2 (s = max sensitivity), as cited by vasudeva2025 §1.1.",
    latex=r"\mathrm{as}(f) \le \deg f \le s(f)^2",
    provenance="textbook:huang2019 Ann. Math. 190(3) (deg <= s^2); odonnell2014 ch.2",
)


@c.check("exact-enumeration", name="all_functions_n4",
         uses=("character-matrix:all-n4", "bit-flips:all-n4"))
def _():
    from nstheory.boolean.function import popcounts

    T, C, idx = _all_functions_n4()
    pc = popcounts(4).astype(np.int64)
    deg = np.where(C != 0, pc[None, :], -1).max(axis=1)
    sens = np.zeros(T.shape, dtype=np.int64)
    for i in range(4):
        sens += T != T[:, idx ^ (1 << i)]
    s_max = sens.max(axis=1)
    as16 = sens.sum(axis=1)  # 16 as(f)
    ok_as = bool(np.all(as16 <= 16 * np.maximum(deg, 0)))
    ok_huang = bool(np.all(deg <= s_max**2))
    return compare_holds(ok_as and ok_huang, [
        ("functions (all of n = 4)", T.shape[0]),
        ("as(f) <= deg(f) (flips vs character-matrix degree)", ok_as),
        ("deg(f) <= s(f)^2", ok_huang),
        ("max deg(f) - s(f)^2", int((deg - s_max**2).max()))], tolerance="exact")


@c.check("exact-enumeration", name="zoo_fwht",
         uses=("fwht:nstheory",
               "nstheory.boolean.analysis.average_sensitivity",
               "nstheory.boolean.analysis.max_sensitivity"))
def _():
    from nstheory.boolean.analysis import average_sensitivity, degree, max_sensitivity

    fs = [f for f in _zoo() if f.is_boolean]
    rows = [(f"{f.name}: as, deg, s^2", f"{average_sensitivity(f)}, {degree(f)}, "
                                         f"{max_sensitivity(f) ** 2}") for f in fs]
    ok = all(average_sensitivity(f) <= max(degree(f), 0) <= max_sensitivity(f) ** 2 for f in fs)
    # the dictator has as = deg = s^2 = 1 and chi_{1,3,4} as = deg = s = 3: equalities an
    # overstated or negated sensitivity would break
    d, p = fs[0], fs[1]
    tight = (average_sensitivity(d) == degree(d) == max_sensitivity(d) ** 2 == 1
             and average_sensitivity(p) == degree(p) == max_sensitivity(p) == 3)
    return compare_holds(ok and tight, [*rows, ("equalities (dictator; chi_{1,3,4})", tight)],
                         tolerance="exact, with the equality cases")
