"""Claims about noise stability at finite width: the 1/width correction (mean kernel + four-point
vertex, Roberts, Yaida & Hanin, *The Principles of Deep Learning Theory*).

View throughout: "normalised" = the mean over random networks of the per-network cosine
``sum h(X).h(Y) / sqrt(sum |h(X)|^2 sum |h(Y)|^2)``, sums over 20 input pairs per network and
all channels (``monte_carlo(..., view="normalised")``), X with i.i.d. N(0, 1) entries,
Y = rho X + sqrt(1 - rho^2) Z, rho = 0.9, He initialisation (weights N(0, 2/width)) unless
stated. Monte Carlo data: ``proofs_check/data/propagation_finite_width.json``
(``python -m nstheory.propagation.finite_width_study``; seeds and network counts stored).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

from nstheory.claims import (
    REGISTRY,
    attach_power,
    claim,
    compare_digits,
    compare_enclosure,
    compare_holds,
    compare_z,
    no_stored_measurement,
    z_power,
)
from nstheory.store import report_study_on

DATA = Path(__file__).parent / "data" / "propagation_finite_width.json"
#: GELU and tanh MLPs at widths 32-1024 (``--set smooth``, projected sampler)
SMOOTH_DATA = DATA.with_name("propagation_finite_width_smooth.json")
BOOK = "textbook:roberts-yaida-hanin (mean metric + four-point vertex, 1/width expansion)"
# the stated values of the first claim (depth 20, rho 0.9, 20 input pairs per network): the
# independent mpmath evaluation of tests/propagation/test_finite_width_enclosure_blocks.py
# (_reference_pairs, 25 digits: polar-coordinate ReLU moments, mpmath.diff derivatives, the
# three-input moments by the sum/difference split, the recursion written out again)
MF_D20 = "0.97505649236"
COEF_D20 = "-1.7608496935"
CORR_D20_W256 = "0.96817817324"
ZMAX = 4.0


def _study_run(key: str, data: Path = DATA):
    from nstheory.store import load_json

    if not data.exists():
        return None
    return load_json(data)["runs"].get(key)


def _recursion(depth: int, act: str = "relu", sigma2: float = 2.0, numerical: bool = False):
    from nstheory.propagation.finite_width import finite_width_recursion
    from nstheory.propagation.model import mlp

    kw = {}
    if numerical:
        import functools

        from nstheory.propagation.kernel_derivatives import numerical_map_derivatives

        kw["derivatives"] = functools.partial(numerical_map_derivatives, dps=30)
    return finite_width_recursion(mlp(depth, sigma2=sigma2, act=act), 0.9, per_net=20, **kw)


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width.relu_depth20_width256",
    "Depth-20 He ReLU MLP, rho = 0.9, normalised view with 20 input pairs per network: the "
    f"finite-width value is mean field {MF_D20} plus c/width + O(1/width^2) with "
    f"c = {COEF_D20} (the finite-width gap is negative). At width 256 the corrected value "
    f"{CORR_D20_W256} agrees with Monte Carlo while the mean-field value is rejected.",
    latex=r"\bar\rho_{20}(N) = 0.975056 - 1.7608497/N + O(N^{-2})",
    provenance=BOOK,
    evidence="The recursion propagates the mean kernel's 1/N shift and the four-point vertex of "
    "two independent input pairs (the statistic's ratio needs the same-pair and the cross-pair "
    "vertex, weighted 1/20 and 19/20). Stated values: an independent mpmath evaluation at 25 "
    "digits (the reference of tests/propagation/test_finite_width_enclosure_blocks.py: ReLU "
    "moments by polar-coordinate quadrature, the three-input cross-pair moments by the "
    "sum/difference split of the pair, derivatives by mpmath.diff; only the recursion's "
    "equations are shared). Certified: arb balls through the recursion with the cross-pair "
    "vertex (three-input moments by acb.integral over the pair's shared factor, with a tail "
    "bound). Precise: the float recursion (64-node Gauss-Hermite four-point moments), accurate "
    "to ~1e-5 of the coefficient: it gave -1.760865, which is how the value was first stated "
    "(-1.76086, one unit off in the sixth digit). Monte Carlo: 300 networks x 20 pairs, width "
    "256.",
)


@c.check("certified", name="arb_enclosure_20_pairs",
         uses=("nstheory.propagation.finite_width_enclosure_blocks.finite_width_enclosure_blocks",
               "nstheory.propagation.finite_width_enclosure.relu_cross_moment_arb",
               "nstheory.propagation.finite_width_enclosure.relu_pair_moment_arb",
               "nstheory.propagation.finite_width_enclosure.relu_map_arb"))
def _():
    from nstheory.propagation.finite_width_enclosure_blocks import finite_width_enclosure_blocks
    from nstheory.propagation.model import mlp

    row = finite_width_enclosure_blocks(mlp(20), 0.9, per_net=20)[-1]
    a = compare_enclosure("arb enclosure (53 bits), layer-20 1/width coefficient, 20 pairs",
                          row.coef_normalised, "stated", COEF_D20)
    b = compare_enclosure("arb enclosure, corrected normalised value at width 256",
                          row.corrected_normalised(256), "stated", CORR_D20_W256)
    return compare_holds(str(a.status) == "verified" and str(b.status) == "verified",
                         a.quantities + b.quantities,
                         tolerance="containment of both stated values (truncated expansion)")


@c.check("monte-carlo", name="stored_mc_width_256",
         uses=("nstheory.propagation.torch_model.monte_carlo",))
def _():
    run = _study_run("relu_d20_w256")
    if run is None:
        return no_stored_measurement(f"{DATA.name} (relu_d20_w256) absent")
    corrected = float(MF_D20) + float(COEF_D20) / 256
    n = run["n_nets"]
    mf_z = (run["mean"][-1] - float(MF_D20)) / run["stderr"][-1]
    return compare_z(
        f"MC normalised stability, layer 20, width 256 ({n} nets x {run['per_net']} pairs, "
        f"seed {run['seed']})", run["mean"][-1], run["stderr"][-1], n,
        "mean field + c/width (stated)", corrected, zmax=ZMAX,
        alternative="the mean-field value (no 1/width correction)",
        effect=abs(float(COEF_D20)) / 256,
        note=f"mean field {MF_D20} sits at z = {mf_z:.1f} from the Monte Carlo mean",
    )


@c.check("precise", name="recursion_symbolic_derivatives",
         uses=("nstheory.propagation.finite_width.finite_width_recursion",
               "nstheory.propagation.four_point.four_point_moments",
               "nstheory.propagation.kernel_derivatives.map_derivatives"))
def _():
    r = _recursion(20)[-1]
    return compare_holds(
        abs(r.coef_normalised - float(COEF_D20)) <= 5e-5 * abs(float(COEF_D20))
        and abs(r.mean_field_normalised - float(MF_D20)) <= 1e-11,
        [("recursion (SymPy derivatives), layer 20: mean field", repr(r.mean_field_normalised)),
         ("recursion (SymPy derivatives), layer 20: 1/width coefficient",
          repr(r.coef_normalised)),
         ("stated", f"{MF_D20}, {COEF_D20}")],
        tolerance="coefficient within 5e-5 relative (the float quadrature's ~1e-5), mean "
        "field 1e-11",
    )


@c.check("precise", name="recursion_numerical_derivatives",
         uses=("nstheory.propagation.finite_width.finite_width_recursion",
               "nstheory.propagation.four_point.four_point_moments",
               "nstheory.propagation.kernel_derivatives.numerical_map_derivatives",
               "nstheory.gaussian.activations.ABReLU.raw"))
def _():
    r = _recursion(20, numerical=True)[-1]
    return compare_digits("recursion with finite-difference derivatives of the mpmath map "
                          "(Richardson, 30 digits), layer-20 coefficient", r.coef_normalised,
                          "stated coefficient", COEF_D20, min_digits=5)


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width.linear_vertex_exact",
    "For a deep linear network (Dense(1) layers, identity activation) on Gaussian inputs, the "
    "four-point vertex of the squared norm after L layers is N Var(|h_L|^2 / N) -> 2 (L + 1) "
    "and the mean kernel has no 1/N shift.",
    latex=r"N\,\mathrm{Var}\,K_L = 2(L+1) + O(1/N)",
    provenance=BOOK,
    evidence="|h_L|^2/N is |x|^2/N times L independent chi^2_N/N factors: the variance is "
    "(1 + 2/N)^(L+1) - 1 exactly, whose 1/N term SymPy expands.",
)


@c.check("symbolic", name="chi_square_product_series", uses=("sympy:series",))
def _():
    import sympy as sp

    n = sp.symbols("n", positive=True)
    vals = [sp.limit(n * ((1 + 2 / n) ** (L + 1) - 1), n, sp.oo) for L in range(1, 9)]
    return compare_holds(vals == [2 * (L + 1) for L in range(1, 9)],
                         [("SymPy limit of N ((1 + 2/N)^(L+1) - 1), L = 1..8", vals)],
                         tolerance="exact")


@c.check("precise", name="recursion_linear_vertex",
         uses=("nstheory.propagation.finite_width.kernel_states",
               "nstheory.propagation.four_point.four_point_moments"))
def _():
    from nstheory.propagation.finite_width import IDX, kernel_states
    from nstheory.propagation.model import mlp

    sts = kernel_states(mlp(8, act="identity", sigma2=1.0), 0.3)
    v = [float(s.V[IDX[(0, 0)], IDX[(0, 0)]]) for s in sts]
    mu = max(abs(float(x)) for s in sts for x in s.mu)
    ok = all(abs(x - 2 * (L + 1)) <= 1e-9 for L, x in enumerate(v, start=1)) and mu == 0
    return compare_holds(ok, [("recursion N Var K_L, L = 1..8", [f"{x:.12g}" for x in v]),
                              ("max |mu|", mu)], tolerance="1e-9 absolute; mu exactly 0")


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width.map_derivatives",
    "The kernel-map derivatives the recursion uses (value, gradient and Hessian of "
    "E[phi(u) phi(v)] in (q1, q2, c), of E[phi(u)^2] and E[phi(u)] in q) equal finite "
    "differences of the "
    "activations area's mpmath maps, for ReLU, erf, tanh and GELU.",
    latex=r"\partial_{G}F,\ \partial^2_{G}F:\ \text{SymPy/Price} = \text{finite differences}",
    provenance=BOOK,
    evidence="ReLU and erf: SymPy differentiates the closed form; tanh and GELU: Price's "
    "theorem on SymPy derivatives of phi with 160-node Gauss-Hermite quadrature.",
    fast=False,
    single_evidence="finite differences of the mpmath maps are the one reference independent "
    "of the symbolic derivatives under test (one check per activation, same route)",
)


def _deriv_check(name: str, h: float, dps: int, digits: float):
    import numpy as np

    from nstheory.propagation.kernel_derivatives import (
        map_derivatives,
        numerical_map_derivatives,
    )

    a = map_derivatives(name, 1.3, 0.7)
    b = numerical_map_derivatives(name, 1.3, 0.7, h=h, dps=dps)
    va = np.array([*a.grad, *np.ravel(a.hess), a.f2_d1, a.f2_d2, a.f1_d1, a.f1_d2])
    vb = np.array([*b.grad, *np.ravel(b.hess), b.f2_d1, b.f2_d2, b.f1_d1, b.f1_d2])
    err = float(np.max(np.abs(va - vb)) / np.max(np.abs(vb)))
    got = -math.log10(max(err, 1e-17))
    return compare_holds(got >= digits,
                         [(f"{name}: max relative difference of 16 derivatives, symbolic vs "
                           f"finite differences (h={h:g}, {dps} digits)", f"{err:.3g}")],
                         tolerance=f">= {digits:g} agreeing digits")


# tanh and GELU: 20 digits and h = 1e-5 leave the differences' own error at 3e-11 (against a
# 40-digit, h = 1e-6 evaluation), four orders below the tolerance, at a third of the cost
for _name, _h, _dps, _dig, _slow in (("relu", 1e-6, 30, 7, False), ("erf", 1e-6, 30, 7, False),
                                     ("tanh", 1e-5, 20, 4, True), ("gelu", 1e-5, 20, 7, True)):
    c.check("precise", name=f"{_name}_symbolic_vs_finite_differences", slow=_slow,
            uses=("nstheory.propagation.kernel_derivatives.map_derivatives",
                  "nstheory.propagation.kernel_derivatives.numerical_map_derivatives"))(
        lambda n=_name, h=_h, d=_dps, g=_dig: _deriv_check(n, h, d, g))


# --------------------------------------------------------------------------------------------
def _residuals(widths, layers, key="relu_d20_w{w}", depth=20, act="relu", sigma2=2.0,
               data=DATA):
    """Stored runs of one MLP at several widths and their residuals ``MC - corrected`` (and
    standard errors) per layer; None when a run is absent."""
    rows = _mlp_rows(depth, sigma2, act, False, False, 0.9, 20)
    runs = {w: _study_run(key.format(w=w), data) for w in widths}
    if any(r is None for r in runs.values()):
        return None
    res = [[runs[w]["mean"][L - 1] - rows[L - 1].corrected_normalised(w) for w in widths]
           for L in layers]
    se = [[runs[w]["stderr"][L - 1] for w in widths] for L in layers]
    return rows, runs, res, se


def _second_order(widths, layers, res, se):
    """Verified iff the residuals' shared width exponent has a 95% interval that contains 2
    and excludes 1."""
    from nstheory.propagation.residual_scaling import fit_exponent

    fit = fit_exponent(widths, res, se)
    return compare_holds(
        fit.lo <= 2 <= fit.hi and fit.lo > 1,
        [*fit.quantities(f"layers {', '.join(map(str, layers))}; widths {widths[0]}-"
                         f"{widths[-1]}"),
         (f"layer-{layers[-1]} residuals MC - corrected (widths {', '.join(map(str, widths))})",
          ", ".join(f"{r:.3g} ± {e:.2g}" for r, e in zip(res[-1], se[-1], strict=True)))],
        tolerance="95% interval contains 2 and excludes 1",
    )


c = claim(
    "propagation.finite_width.relu_residual_order",
    "He ReLU MLP, rho = 0.9 (normalised view, 20 pairs per network): after subtracting the "
    "1/width term the Monte Carlo residual scales as width^-2: the shared exponent fitted at "
    "layers 10, 15, 20 over widths 32-256 has a 95% interval that contains 2 and excludes 1.",
    latex=r"|\hat\rho_\ell(N) - \rho_\ell^{\mathrm{mf}} - c_\ell/N| \propto N^{-p},\ p\approx 2",
    provenance=BOOK,
    evidence="Profile-likelihood fit of r = a_l N^-p in linear space (unresolved residuals of "
    "either sign stay in the fit); 20000/10000/4000/1500/300 networks at widths 16-256.",
    single_evidence="the residual exists only as a Monte Carlo measurement",
)


@c.check("monte-carlo", name="fitted_exponent_widths_32_256",
         uses=("nstheory.propagation.torch_model.monte_carlo",
               "nstheory.propagation.residual_scaling.fit_exponent"))
def _():
    widths, layers = (32, 64, 128, 256), (10, 15, 20)
    got = _residuals(widths, layers)
    if got is None:
        return no_stored_measurement(f"{DATA.name} (relu_d20_w32..256) absent")
    return _second_order(widths, layers, *got[2:])


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width.relu_breakdown",
    "Where the 1/width expansion breaks down (He ReLU MLP, rho = 0.9, normalised view of 20 "
    "input pairs per network): the "
    "residual |MC - corrected| relative to the first-order term |c_l / N| stays below "
    "0.75 x depth/width wherever the Monte Carlo resolves it (|z| > 4; widths 16-64), and at "
    "widths 128 and 256 the corrected value agrees with Monte Carlo at every layer to depth 20 "
    "(depth/width <= 0.16) while mean field is rejected at the deep layers.",
    latex=r"\frac{|\hat\rho - \rho^{(1)}|}{|c_\ell|/N} \le 0.75\,\frac{\ell}{N}",
    provenance="new",
    evidence="The residual's relative size grows like depth/width, the book's expansion "
    "parameter: measured 0.3-0.75 x depth/width over depth/width 0.16-1.25. The constant "
    "belongs to the 20-pair statistic: with one pair per network it is exceeded "
    "(propagation.finite_width.relu_breakdown_one_pair).",
    single_evidence="the breakdown is a property of the measured residuals",
)


@c.check("monte-carlo", name="relative_residual_vs_depth_over_width",
         uses=("nstheory.propagation.torch_model.monte_carlo",))
def _():
    widths, layers = (16, 32, 64, 128, 256), tuple(range(1, 21))
    got = _residuals(widths, layers)
    if got is None:
        return no_stored_measurement(f"{DATA.name} (relu_d20_w16..256) absent")
    rows, runs, res, se = got
    worst, resolved, ok_wide, mf_out = 0.0, 0, True, {}
    for li, L in enumerate(layers):
        for wi, w in enumerate(widths):
            z = res[li][wi] / se[li][wi]
            if abs(z) > ZMAX and w <= 64:
                resolved += 1
                kappa = abs(res[li][wi]) / (abs(rows[L - 1].coef_normalised) / w) / (L / w)
                worst = max(worst, kappa)
            if w >= 128:
                ok_wide &= abs(z) <= ZMAX
                zmf = (runs[w]["mean"][L - 1] - rows[L - 1].mean_field_normalised) / se[li][wi]
                if abs(zmf) > ZMAX:
                    mf_out.setdefault(w, []).append(L)
    return compare_holds(
        worst <= 0.75 and resolved > 0 and ok_wide and all(mf_out.get(w) for w in (128, 256)),
        [("resolved residuals (|z| > 4, widths 16-64)", resolved),
         ("largest |MC - corrected| / (|c_l|/N) / (depth/width)", f"{worst:.3g}"),
         ("widths 128, 256: corrected within 4 SE at every layer 1-20", ok_wide),
         ("layers where mean field is outside 4 SE (width: layers)", mf_out)],
        tolerance="ratio <= 0.75; corrected within |z| <= 4 at widths 128, 256",
    )


# --------------------------------------------------------------------------------------------
PAIRS_DATA = DATA.with_name("propagation_finite_width_pairs.json")

c = claim(
    "propagation.finite_width.relu_breakdown_one_pair",
    "The breakdown bound of the 20-pair statistic holds for the one-pair statistic too: with "
    "one input pair per network (He ReLU MLP, rho = 0.9, normalised view, width 64, depth 10) "
    "|MC - corrected| stays below 0.75 x depth/width of the first-order term |c_l / N| at "
    "layers 8-10.",
    latex=r"\frac{|\hat\rho - \rho^{(1)}|}{|c_\ell|/N} \le 0.75\,\frac{\ell}{N}"
    r"\quad(\text{one pair per network})",
    provenance="new",
    expect="refuted",
    refutation_kind="our-reading",
    evidence="Stored study (nstheory finite-width-study ... --set pairs, projected sampler): "
    "with one pair per network the ratio is 0.94, 0.99, 1.02 (+- 0.03) at layers 8, 9, 10 "
    "(6.4 million networks; an earlier run of 1.6 million gave 0.80-0.98 +- 0.06), and at layer "
    "1 the residual has the other sign and twice the heuristic size (-2.1 +- 0.3); with 20 and "
    "100 pairs (40000 and 8000 networks) 0.49-0.53 and 0.33-0.39. The many-pair coefficient is "
    "larger (-0.96 against -0.26 at layer 10) and so is its remainder, but relative to the "
    "first-order term the one-pair remainder is the larger: the constant belongs to the "
    "statistic. The larger run was added after the first sat on the |z| > 4 threshold (said "
    "so in the study's configuration).",
    single_evidence="the breakdown is a property of the measured residuals",
    fast=False,
)


@c.check("monte-carlo", name="stored_one_pair_layers_8_10",
         uses=("nstheory.propagation.torch_model.monte_carlo",))
def _():
    run = _study_run("relu_d10_w64_p1_b", PAIRS_DATA)
    if run is None:
        return no_stored_measurement(f"{PAIRS_DATA.name} (relu_d10_w64_p1_b) absent")
    rows = _mlp_rows(10, 2.0, "relu", False, False, 0.9, 1)
    cells, zs, pw = [], [], []
    for L in (8, 9, 10):
        row, w = rows[L - 1], run["width"]
        scale = row.remainder_scale(w)  # 1.0 x depth/width x |c_l| / N
        res, se = run["mean"][L - 1] - row.corrected_normalised(w), run["stderr"][L - 1]
        zs.append((abs(res) - 0.75 * scale) / se)
        pw.append(z_power(0.25 * scale, se, ZMAX))
        cells.append(f"layer {L}: {abs(res) / scale:.3f} +- {se / scale:.3f}")
    res = compare_holds(max(zs) <= ZMAX, [
        (f"|MC - corrected| / (|c_l|/N) / (depth/width), one pair, {run['n_nets']} networks",
         "; ".join(cells)),
        ("z of the excess over 0.75 (layers 8, 9, 10)", ", ".join(f"{z:+.1f}" for z in zs))],
        tolerance="refuted when the ratio exceeds 0.75 by more than 4 standard errors at a "
        "layer")
    return attach_power(res, "a ratio of 1.0 (an exploratory run's value), 0.25 above the "
                        "bound", min(pw))


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width.smooth_activations_width128",
    "For tanh and erf MLPs (weights N(0, 1.5/width)) and a GELU MLP (N(0, 2/width)) of width "
    "128, rho = 0.9 (normalised view, 20 pairs per network), the 1/width-corrected value "
    "agrees with Monte Carlo (|z| <= 4) at every layer to depth 10.",
    latex=r"|\hat\rho_\ell - \rho^{(1)}_\ell| \le 4\,\mathrm{se},\ \ell\le 10",
    provenance=BOOK,
    expect="refuted",
    refutation_kind="our-reading",
    single_evidence="one stored Monte Carlo study per activation is the only evidence "
    "independent of the recursion under test",
    evidence="tanh and erf agree at every layer, but their finite-width gaps at width 128 are "
    "too small (0.0025 and 0.0017 at depth 10) for 1500 networks to resolve (power < 0.9). "
    "GELU (sigma_w^2 = 2, off criticality: its 1/width coefficient grows to -4.5 by depth 10) "
    "agrees at layers 1-9, where mean field is rejected from layer 3, and misses at layer 10 "
    "(z = +7): its expansion breaks down well before depth/width ~ 1.",
    fast=False,
)


@functools.lru_cache(maxsize=16)
def _mlp_rows(depth, sigma2, act, residual, layernorm, rho, per_net):
    """The float recursion of an MLP study run, shared by the checks of one worker (the same
    model is held against runs at several widths)."""
    from nstheory.propagation.finite_width import finite_width_recursion
    from nstheory.propagation.model import mlp

    model = mlp(depth, sigma2=sigma2, act=act, residual=residual, layernorm=layernorm)
    return finite_width_recursion(model, rho, per_net=per_net)


def _act_check(key: str, data: Path = DATA):
    run = _study_run(key, data)
    if run is None:
        return no_stored_measurement(f"{data.name} ({key}) absent")
    rows = _mlp_rows(run["depth"], run["sigma2"], run["act"], run.get("residual", False),
                     run.get("layernorm", False), run["rho"], run["per_net"])
    w = run["width"]
    zs = [(m - r.corrected_normalised(w)) / e
          for m, e, r in zip(run["mean"], run["stderr"], rows, strict=True)]
    # a miss anywhere is reported at its layer; otherwise the layer of the largest predicted
    # gap, where the check has the most power against the mean-field alternative
    worst = max(range(len(zs)), key=lambda i: abs(zs[i]))
    if abs(zs[worst]) <= ZMAX:
        worst = max(range(len(rows)), key=lambda i: abs(rows[i].coef_normalised))
    r = rows[worst]
    return compare_z(
        f"{run['act']}{' residual' if run.get('residual') else ''}"
        f"{' + LN' if run.get('layernorm') else ''} MC normalised stability, "
        f"layer {worst + 1} of {run['depth']} (rho {run['rho']}, {run['n_nets']} nets x "
        f"{run['per_net']} pairs, width {w}, seed {run['seed']})",
        run["mean"][worst], run["stderr"][worst], run["n_nets"],
        "mean field + c/width (recursion)", r.corrected_normalised(w), zmax=ZMAX,
        alternative="the mean-field value (no 1/width correction)",
        effect=abs(r.coef_normalised) / w,
        note="z at every layer: " + ", ".join(f"{z:.1f}" for z in zs)
        + "; mean field z: " + ", ".join(
            f"{(m - r.mean_field_normalised) / e:.1f}"
            for m, e, r in zip(run["mean"], run["stderr"], rows, strict=True)),
    )


for _key in ("tanh_d10_w128", "erf_d10_w128", "gelu_d10_w128"):
    c.check("monte-carlo", name=_key, uses=("nstheory.propagation.torch_model.monte_carlo",))(
        lambda k=_key: _act_check(k))


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width.smooth_activations_wide",
    "Depth-10 tanh and erf MLPs (weights N(0, 1.5/width)) at widths 256, 512 and 1024 and GELU "
    "MLPs (N(0, 2/width)) at widths 512 and 1024, rho = 0.9, normalised view with 20 pairs per "
    "network: the 1/width-corrected value agrees with Monte Carlo (|z| <= 4) at every layer, "
    "with power >= 0.9 against the mean-field value at the layer of the largest predicted gap.",
    latex=r"|\hat\rho_\ell - \rho^{(1)}_\ell(N)| \le 4\,\mathrm{se},\ \ell\le 10,\ "
          r"N \le 1024",
    provenance=BOOK,
    evidence="6000-20000 tanh, 22000-88000 erf and 4000 GELU networks per width (counts from a "
    "pilot for power 0.9 at layer 10), drawn with the projected sampler. Corrected |z| <= 2.4 "
    "at every layer and width for tanh and GELU, <= 3.0 for erf (at width 1024 layers 1-4 sit "
    "together at z = -2.8 to -3.0: the layers share their networks); mean field at layer 10: "
    "z = -5.7, -6.8, -5.7 (tanh), +6.4, +5.9, +5.6 (erf), -23 and -17 (GELU 512, 1024). GELU "
    "at width 256 misses at layer 10 (z = +6.3; +15.9 at width 128): there the O(1/width^2) "
    "remainder is resolved (propagation.finite_width.gelu_residual_order).",
    fast=False,
    single_evidence="one stored Monte Carlo study is the only evidence independent of the "
    "recursion under test",
)
for _key in ("tanh_d10_w256_proj", "tanh_d10_w512_proj", "tanh_d10_w1024_proj",
             "erf_d10_w256_proj", "erf_d10_w512_proj", "erf_d10_w1024_proj",
             "gelu_d10_w512_proj", "gelu_d10_w1024_proj"):
    c.check("monte-carlo", name=_key, uses=("nstheory.propagation.torch_model.monte_carlo",))(
        lambda k=_key: _act_check(k, SMOOTH_DATA))


c = claim(
    "propagation.finite_width.gelu_residual_order",
    "GELU MLP (N(0, 2/width)), depth 10, rho = 0.9, normalised view with 20 pairs per network: "
    "after subtracting the 1/width term the Monte Carlo residual scales as width^-2: the shared "
    "exponent fitted at layers 8-10 over widths 128-1024 has a 95% interval that contains 2 "
    "and excludes 1 (a wrong 1/width coefficient would leave a width^-1 residual).",
    latex=r"|\hat\rho_\ell(N) - \rho_\ell^{\mathrm{mf}} - c_\ell/N| \propto N^{-p},\ "
          r"p\approx 2\ (\mathrm{GELU})",
    provenance=BOOK,
    evidence="Profile-likelihood fit as for ReLU (propagation.finite_width.relu_residual_order); "
    "4000 networks per width. The layer-10 residual falls from 0.0832 (width 32) through "
    "0.0303, 0.0119, 0.0032 and 0.0008 to 0.0005 +- 0.0002 (width 1024). Adding width 64 "
    "moves the exponent to 1.54 [1.44, 1.66]: there (and at 32, z = +50) higher orders "
    "matter, GELU's first-order coefficient being -4.5 at layer 10 against ReLU's -1.8 at "
    "layer 20. The window 128-1024 was chosen after seeing these residuals.",
    fast=False,
    single_evidence="the residual exists only as a Monte Carlo measurement",
)


@c.check("monte-carlo", name="fitted_exponent_widths_128_1024",
         uses=("nstheory.propagation.torch_model.monte_carlo",
               "nstheory.propagation.residual_scaling.fit_exponent"))
def _():
    widths, layers = (128, 256, 512, 1024), (8, 9, 10)
    got = _residuals(widths, layers, "gelu_d10_w{w}_proj", 10, "gelu", 2.0, SMOOTH_DATA)
    if got is None:
        return no_stored_measurement(f"{SMOOTH_DATA.name} (gelu_d10_w128..1024_proj) absent")
    return _second_order(widths, layers, *got[2:])


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width.mlp_depth48_rho05_width256",
    "The setting of propagation.mlp.interval_contains_mc (He ReLU MLP, depth 48, rho = 0.5, "
    "width 256), compared at the simulated width in the normalised view with no slack: the "
    "1/width-corrected value agrees with Monte Carlo (|z| <= 4) at every layer, with power "
    ">= 0.9 against the mean-field value at the layer of the largest predicted gap.",
    latex=r"|\hat\rho_\ell - \rho^{(1)}_\ell(256)| \le 4\,\mathrm{se},\ \ell \le 48",
    provenance=BOOK,
    evidence="The first-order coefficient reaches -6.78 at depth 48 (a gap of -0.0265 at width "
    "256, depth/width = 0.19); 200 networks x 20 pairs. Mean field sits at z = -30 from the "
    "Monte Carlo mean at layer 48 (every layer's z in the check's note).",
    fast=False,
    single_evidence="one stored Monte Carlo study is the only evidence independent of the "
    "recursion under test",
)
c.check("monte-carlo", name="stored_mc_depth_48",
        uses=("nstheory.propagation.torch_model.monte_carlo",))(
    lambda: _act_check("relu_d48_w256_rho05"))


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width.layernorm_mlp",
    "With LayerNorm after every block (Dense(2) -> ReLU -> LayerNorm, no affine, rho = 0.9, width "
    "128, 20 pairs per network), the 1/width-corrected normalised stability, LayerNorm treated "
    "as a smooth map of the empirical kernel and channel means, agrees with Monte Carlo "
    "(|z| <= 4) at every layer to depth 10.",
    latex=r"K'_{ab} = \frac{K_{ab} - m_a m_b}{\sqrt{(K_{aa}-m_a^2)(K_{bb}-m_b^2)}}",
    provenance="new",
    evidence="The LayerNorm rule is ours: the empirical channel means are carried with the "
    "kernel (their vertex needs third moments of phi), and LayerNorm's 1/N terms follow by the "
    "delta method. 600 networks x 20 pairs.",
    single_evidence="Monte Carlo is the only independent route for the LayerNorm rule",
    fast=False,
)
c.check("monte-carlo", name="stored_mc_layernorm_depth_10",
        uses=("nstheory.propagation.torch_model.monte_carlo",))(
    lambda: _act_check("relu_ln_d10_w128"))


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width.residual_mlp",
    "Residual MLP blocks h + Dense(1) relu(Dense(2) [LN] h) (rho = 0.9, width 64, 20 pairs per "
    "network), without and with pre-LayerNorm: the 1/width-corrected normalised stability, with "
    "the skip-branch covariance and the output projection's conditional vertex, agrees with "
    "Monte Carlo (|z| <= 4) at every layer to depth 10, with power >= 0.9 against the "
    "mean-field value at the layer of the largest predicted gap.",
    latex=r"K' = K + B + X + X^{T},\ "
          r"N\,\mathrm{Cov}(X_{ab},X_{cd}) = \sigma_o^2 K_{ac} K^{\phi}_{bd}",
    provenance="new",
    evidence="The residual rule is ours. 2000 networks x 20 pairs each; mean field is off by "
    "z = -14.7 (plain) and -13.2 (pre-LN) at layer 10, the corrected value by at most 2.2.",
    single_evidence="Monte Carlo is the only independent route for the residual rule",
    fast=False,
)
for _key in ("relu_res_d10_w64", "relu_res_preln_d10_w64"):
    c.check("monte-carlo", name=_key, uses=("nstheory.propagation.torch_model.monte_carlo",))(
        lambda k=_key: _act_check(k))

_SMOOTH_CLAIMS = ("propagation.finite_width.smooth_activations_wide",
                  "propagation.finite_width.gelu_residual_order")
_PAIRS_CLAIMS = ("propagation.finite_width.relu_breakdown_one_pair",)
report_study_on([c for cid, c in REGISTRY.claims.items()
                 if cid.startswith("propagation.finite_width.")
                 and cid not in _SMOOTH_CLAIMS + _PAIRS_CLAIMS], DATA)
report_study_on([REGISTRY.claims[cid] for cid in _SMOOTH_CLAIMS], SMOOTH_DATA)
report_study_on([REGISTRY.claims[cid] for cid in _PAIRS_CLAIMS], PAIRS_DATA)
