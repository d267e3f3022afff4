"""Claims about noise stability through depth (haris2026 §5 multi-layer, §2.5-2.7 of our notes).

Views: "raw" = E[h(X)_ij h(Y)_ij] per coordinate (the paper's uncentred stability),
"normalised" = raw / E[h(X)_ij^2]. Weight variances are stated per claim (He: sigma_w^2 = 2,
which keeps E h^2 = 1 through ReLU layers, so raw = normalised there).
"""

from __future__ import annotations

import functools

from nstheory.claims import (
    attach_power,
    claim,
    compare_digits,
    compare_enclosure,
    compare_holds,
    compare_z,
    z_power,
)

PAPER_FLOOR = "0.2172336282112216574"  # root of kappa(r) = r (note on haris2026 §2.5, [NUM])


def _kappa_fixed_point_mp(dps: int = 40):
    """Root of kappa(r) = r by mpmath's secant solver on the arc-cosine closed form written here,
    ``kappa(r) = (sqrt(1 - r^2) + (pi - acos r) r) / (2 pi)`` (the raw cross-moment of ReLU at
    unit variances): independent of the activations area's kappa, which the iterated
    recurrence evaluates, so an error there cannot move both sides."""
    import mpmath

    with mpmath.workdps(dps + 10):
        def kappa(r):
            return (mpmath.sqrt(1 - r * r) + (mpmath.pi - mpmath.acos(r)) * r) / (2 * mpmath.pi)

        root = mpmath.findroot(lambda r: kappa(r) - r, mpmath.mpf("0.2"))
    with mpmath.workdps(dps):
        return +root


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.mlp.paper_recurrence_floor",
    "The paper's ReLU recurrence rho_L = kappa(rho_{L-1}) (raw cross-moment fed back as the "
    "next correlation) converges from every rho_0 in [-1, 1] to the 'weak dampening' floor "
    "rho* = 0.2172336282... (the root of kappa(r) = r, not the linearised 2/(3 pi)).",
    latex=r"\rho_L=\kappa(\rho_{L-1})\to\rho^*=\kappa(\rho^*)\approx 0.21723",
    provenance="paper-corrected:haris2026 §5 multi-layer propagation (weak dampening)",
    evidence="The certified image of the whole range [-1, 1] after 60 iterations is a ball of "
    "width < 1e-14 around rho*; mpmath iteration and root finding agree to 30+ digits.",
)


@c.check("certified", name="interval_image_of_[-1,1]",
         uses=("nstheory.propagation.intervals.paper_relu_intervals",
               "closed-form:kappa",
               "mpmath.findroot"))
def _():
    import mpmath

    from nstheory.propagation.intervals import paper_relu_intervals

    ball = paper_relu_intervals((-1.0, 1.0), 60, bits=128)[-1]
    return compare_enclosure(
        "certified image of rho_0 in [-1, 1] after 60 paper-recurrence steps (arb, 128 bits)",
        ball, "fixed point of kappa (mpmath findroot, 40 digits)",
        mpmath.nstr(_kappa_fixed_point_mp(40), 40),
    )


@c.check("precise", name="iteration_vs_root",
         uses=("nstheory.propagation.recurrence.paper_relu_recurrence",
               "nstheory.gaussian.activations.Activation.raw",
               "inline:arc-cosine-kappa", "mpmath.findroot"))
def _():
    from nstheory.propagation.recurrence import paper_relu_recurrence

    it = paper_relu_recurrence(1.0, 80, backend="mpmath", dps=40)[-1]
    return compare_digits(
        "paper recurrence iterated 80 times from rho_0 = 1 (mpmath, 40 digits)", it,
        "root of kappa(r) = r (mpmath findroot)", _kappa_fixed_point_mp(40), min_digits=30,
    )


@c.check("precise", name="reduction_map_iterates", slow=True,
         uses=("nstheory.gaussian.precise.reduction_mp",))
def _():
    from nstheory.gaussian.activations import get_activation
    from nstheory.gaussian.precise import reduction_mp

    relu = get_activation("relu")
    ends = []
    for r0 in (-1, 1):
        x = r0
        for _ in range(40):
            x = reduction_mp(relu, x, 1, 1, dps=20)
        ends.append(x)
    worst = max(ends, key=lambda v: abs(v - ends[0]))
    return compare_digits("40 steps of the map E[relu X relu Y](rho) computed by the 1-D "
                          "reduction (mpmath dps 20), from rho_0 = -1 and 1 (worst end)", worst,
                          "floor rho* (note on haris2026 §2.5)", PAPER_FLOOR, min_digits=17)


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.mlp.network_floor",
    "A deep random-weight ReLU MLP (He init, weights N(0, 2/width), Gaussian input, no bias) "
    "has its per-coordinate stability settle at the paper's floor 0.21723 ('weak dampening'). "
    "As printed this is about the network; the network's mean-field recurrence is instead "
    "C_L = Q kappa-map of the *normalised* correlation, whose fixed point is 1.",
    latex=r"E[h_L(X)_j h_L(Y)_j] \to 0.21723\ (L\to\infty)",
    provenance="paper:haris2026 §5 multi-layer propagation (weak dampening)",
    expect="refuted",
    refutation_kind="paper-as-printed",
    evidence="At depth 20 from rho = 0.9 the certified mean-field stability is 0.97505649236 "
    "(raw = normalised under He init) and a width-256 torch MC gives 0.79 ± 0.05 (40 nets; "
    "the raw view is heavy-tailed across networks), z = +10.8 from the floor: both exclude "
    "0.21723. Raw stability tends to 1 (He) or 0 (sigma_w^2 = 1, as 2^-L); the "
    "normalised C-map 2 kappa has fixed point 1 for every weight variance. The paper's floor "
    "is the fixed point of a recurrence that no layer of a network implements.",
    fast=False,
)


@c.check("certified", name="mean_field_depth_20",
         uses=("nstheory.propagation.intervals.interval_propagation",))
def _():
    from nstheory.propagation.intervals import interval_propagation
    from nstheory.propagation.model import mlp

    st = interval_propagation(mlp(20, sigma2=2.0), 0.9)[-1]
    return compare_enclosure(
        "certified mean-field raw stability at depth 20 (He ReLU MLP, rho = 0.9)", st.C,
        "paper floor rho*", PAPER_FLOOR,
    )


@c.check("monte-carlo", name="torch_width256_depth20",
         uses=("nstheory.propagation.torch_model.monte_carlo",))
def _():
    from nstheory.propagation.model import mlp
    from nstheory.propagation.torch_model import monte_carlo

    m = monte_carlo(mlp(20, sigma2=2.0), 0.9, width=256, n_nets=40, per_net=50, seed=11)[-1]
    return compare_z(
        "MC raw stability at depth 20 (torch, width 256, He, rho = 0.9; 40 nets x 50 inputs, "
        "seed 11)", m.mean, m.stderr, m.n, "paper floor rho*", float(PAPER_FLOOR),
        alternative="stability at the certified mean-field value 0.975 instead of the floor",
        effect=0.975 - float(PAPER_FLOOR),
    )


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.mlp.interval_contains_mc",
    "For random-weight He ReLU MLPs of width 256 the Monte Carlo raw stability at every layer "
    "(depth 1-48, rho = 0.5) is consistent with the certified mean-field interval (the 99.9% "
    "CI meets it); the mpmath point recurrence lies inside the interval at every layer.",
    latex=r"\hat C_\ell \pm 3.29\,\mathrm{se} \cap [c_\ell^-, c_\ell^+] \neq \emptyset",
    provenance="reconstructed:haris2026 §2.7 (interval propagation, containment)",
    evidence="Mean-field semantics: the interval holds the infinite-width value; finite-width "
    "bias O(depth/width) is not added as slack, and stays below the statistical error here.",
    fast=False,
)


@c.check("monte-carlo", name="torch_depth_48", slow=False,
         uses=("nstheory.propagation.torch_model.monte_carlo",))
def _():
    from nstheory.propagation.compare import layer_table
    from nstheory.propagation.model import mlp

    rows = layer_table(mlp(48, sigma2=2.0), 0.5, mc_samples=2000, width=256, per_net=20, seed=5,
                       sampler="projected")
    worst = max(rows, key=lambda r: abs(r.z))
    # power against the alternative that the network follows the paper's floor recurrence
    # instead of the mean field: at each layer the two theories differ by a fixed amount, and
    # the check flags the network when any layer's |z| > 3.29 -- at least as likely as at the
    # most sensitive single layer (the raw view is heavy-tailed across networks, so the deep
    # layers' standard errors are large)
    from nstheory.propagation.recurrence import paper_relu_recurrence

    floor = paper_relu_recurrence(0.5, 48)
    power = max(z_power(abs(r.point - float(floor[r.layer])), r.mc_stderr, 3.29) for r in rows)
    return attach_power(compare_holds(
        all(r.contained for r in rows),
        [("layers checked", len(rows)),
         (f"worst layer {worst.layer}: certified interval", f"[{worst.lo}, {worst.hi}]"),
         (f"worst layer {worst.layer}: MC mean ± se (width 256, 100 nets x 20, seed 5, "
          "projected sampler)",
          f"{worst.mc_mean:.5f} ± {worst.mc_stderr:.2g}"),
         ("worst |z| outside the interval", f"{abs(worst.z):.2f}")],
        tolerance="|z| <= 3.29 at every layer",
    ), "the network following the paper's floor recurrence rho_L = kappa(rho_(L-1)) instead "
       "of the mean field (0.74 below it by depth 20)", power)


@c.check("precise", name="mpmath_point_inside",
         uses=("nstheory.propagation.recurrence.point_recurrence",))
def _():
    import mpmath
    from flint import arb

    from nstheory.numerics import arb_precision
    from nstheory.propagation.intervals import interval_propagation
    from nstheory.propagation.model import mlp
    from nstheory.propagation.recurrence import point_recurrence

    model = mlp(48, sigma2=2.0)
    iv = interval_propagation(model, 0.5, bits=128)
    pts = point_recurrence(model, 0.5, backend="mpmath", dps=40)
    with arb_precision(bits=128):
        bad = [i for i in range(1, 49)
               if not iv[i].C.overlaps(arb(mpmath.nstr(pts[i].C, 36), "1e-36"))]
    return compare_holds(
        not bad,
        [("layers whose mpmath point (40 digits) is outside the 128-bit interval", bad),
         ("depth-48 interval", iv[48].C), ("depth-48 mpmath point", pts[48].C)],
        tolerance="containment at every layer",
    )


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.attention.full_dampening",
    "An attention-only stack (no residual, no LayerNorm) whose value columns have squared norm "
    "gamma^2 < 1 loses stability geometrically: for every attention pattern the mean-field raw "
    "stability obeys |C_L| <= gamma^(2L) rho, with equality for the identity pattern "
    "('full dampening'; random W adds the factor s <= 1).",
    latex=r"|C_L|\le\gamma^{2L}\rho,\quad C_L^{\mathrm{id}}=\gamma^{2L}\rho",
    provenance="reconstructed:haris2026 §5 multi-layer Transformers (full dampening)",
    evidence="Rows of softmax attention sum to 1, so each layer maps the pair moments into the "
    "convex hull of (C, D) times gamma^2 (rules.py). Certified with pattern slack 1 (any "
    "pattern); torch MC (identity W, width 256) stays below the bound. Finding: at finite width "
    "the identity-W stack decays *faster* than gamma^(2L) (MC 0.094 vs 0.151 at depth 8, "
    "gamma^2 = 0.8): shrinking token norms soften the softmax away from the identity pattern.",
    fast=False,
)


@c.check("certified", name="any_pattern_bound_depth_30",
         uses=("nstheory.propagation.intervals.interval_propagation",))
def _():
    from flint import arb

    from nstheory.numerics import arb_precision
    from nstheory.propagation.intervals import interval_propagation
    from nstheory.propagation.model import attention_stack

    # gamma^2 = 3/4 and rho = 7/8 are exact binary numbers, so gamma^60 rho is exact in arb.
    st = interval_propagation(attention_stack(30, gamma2=0.75, pattern_slack=1.0), 0.875,
                              bits=128)[-1]
    with arb_precision(bits=128):
        bound = arb(3) ** 30 / arb(4) ** 30 * arb(7) / 8
        # a hull [lo, hi] is stored as mid +- rad with a 30-bit radius, so each rule rounds the
        # endpoints of a wide interval outward by ~2^-30 of its width; over 30 layers this
        # accumulates to ~2^-24 (measured 5e-8): the certificate resolves the bound to 2^-20.
        tiny = bound * arb(2) ** -20
        ok = bool(st.C.upper() <= bound + tiny and st.C.lower() >= -tiny)
    return compare_holds(
        ok, [("certified C_30 over every attention pattern (gamma^2 = 3/4, rho = 7/8, 128 bits)",
              st.C), ("gamma^60 rho (exact)", bound)],
        tolerance="C_30 in [-e, gamma^60 rho + e], e = 2^-20 gamma^60 rho (30-bit arb radii)")


@c.check("precise", name="identity_ratio_gamma2",
         uses=("nstheory.propagation.recurrence.point_recurrence",))
def _():
    from fractions import Fraction

    import mpmath

    from nstheory.propagation.model import attention_stack
    from nstheory.propagation.recurrence import point_recurrence

    pts = point_recurrence(attention_stack(30, gamma2=0.75), 0.875, backend="mpmath", dps=40)
    want = Fraction(3, 4) ** 30 * Fraction(7, 8)
    with mpmath.workdps(50):
        want_s = mpmath.nstr(mpmath.mpf(want.numerator) / want.denominator, 45)
    return compare_digits("mpmath recurrence C_30 (identity pattern, gamma^2 = 3/4, rho = 7/8)",
                          mpmath.nstr(pts[-1].C, 40), "(3/4)^30 (7/8) exact rational", want_s,
                          min_digits=35)


@c.check("monte-carlo", name="torch_identity_depth_8",
         uses=("nstheory.propagation.torch_model.monte_carlo",))
def _():
    from nstheory.propagation.model import attention_stack
    from nstheory.propagation.torch_model import monte_carlo

    m = monte_carlo(attention_stack(8, gamma2=0.8, n_tokens=4), 0.9, width=256, n_nets=20,
                    per_net=50, seed=3)[-1]
    bound = 0.8**8 * 0.9
    z = (m.mean - bound) / m.stderr
    return attach_power(compare_holds(
        z <= 3.29,
        [("MC raw stability at depth 8 (identity W, gamma^2 = 0.8, width 256, n = 4, 20 nets x 50, "
          "seed 3)", f"{m.mean:.5f} ± {m.stderr:.2g}"), ("gamma^16 * 0.9", bound),
         ("z above the bound", f"{z:.2f}")],
        tolerance="one-sided z <= 3.29",
    ), "stability 0.05 above the bound gamma^(2L) rho", z_power(0.05, m.stderr, 3.29))


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.residual.no_collapse",
    "Residual streams prevent the collapse: in a pre-LN residual attention stack (identity W, "
    "value gamma^2 = 0.5) the raw stability never falls below the input's, C_L >= rho, and the "
    "normalised stability is preserved exactly (C_L / Q_L = rho), while without the residual "
    "C_L = 0.5^L rho -> 0.",
    latex=r"C_L\ge\rho,\ C_L/Q_L=\rho\ \text{(pre-LN residual)};\ C_L=\gamma^{2L}\rho\ "
    r"\text{(none)}",
    provenance="new",
    evidence="Mean-field: C_L = C_{L-1} + gamma^2 C_{L-1}/Q_{L-1}, Q_L = Q_{L-1} + gamma^2, so "
    "the ratio is invariant. Certified at depth 48 and checked by torch MC at depth 12.",
    fast=False,
)


@c.check("certified", name="depth_48_lower_bound",
         uses=("nstheory.propagation.intervals.interval_propagation",))
def _():
    from flint import arb

    from nstheory.propagation.intervals import interval_propagation
    from nstheory.propagation.model import attention_stack

    st = interval_propagation(attention_stack(48, gamma2=0.5, residual=True, layernorm=True),
                              0.5, bits=128)[-1]
    return compare_holds(
        bool(st.C.lower() >= arb("0.5")) and st.normalised().contains(arb("0.5")),
        [("certified C_48 (pre-LN residual, gamma^2 = 0.5, rho = 0.5)", st.C),
         ("certified C_48 / Q_48", st.normalised())],
        tolerance="C_48 >= rho and rho in C_48/Q_48 (certified)")


@c.check("monte-carlo", name="torch_depth_12",
         uses=("nstheory.propagation.torch_model.monte_carlo",))
def _():
    from nstheory.propagation.model import attention_stack
    from nstheory.propagation.torch_model import monte_carlo

    m = monte_carlo(attention_stack(12, gamma2=0.5, residual=True, layernorm=True), 0.5,
                    width=256, n_nets=20, per_net=50, seed=4)[-1]
    return compare_z(
        "MC raw stability at depth 12 (pre-LN residual attention, gamma^2 = 0.5, width 256, "
        "n = 4, 20 nets x 50, seed 4)", m.mean, m.stderr, m.n,
        "mean-field 0.5 (1 + 12 * 0.5)", 0.5 * (1 + 12 * 0.5),
        alternative="a 10% departure from the mean-field value (0.35)", effect=0.35,
    )


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.mlp.finite_width_gap",
    "Finite width lowers the stability of a deep ReLU MLP below its mean-field value: at depth "
    "20 (He, rho = 0.9) the per-network normalised stability of width-256 torch models lies "
    "more than 4 standard errors below the certified mean-field C/Q, and the gap at width "
    "1024 is consistent with 1/width scaling (a quarter of the width-256 gap).",
    latex=r"c^{\mathrm{MF}}_{20}-E\,\hat c^{(w)}_{20}\approx a/w,\ a>0",
    provenance="new",
    evidence="See the check quantities: at width 256 the gap is 0.005-0.008 (4-8 standard "
    "errors). The cross-check of the intervals therefore uses the raw view, whose CIs "
    "(dominated by the network-to-network spread of the second moment) are wider than the gap.",
    fast=False,
)


@functools.lru_cache(maxsize=4)
def _normalised_gap(width, n_nets, seed):
    from nstheory.propagation.intervals import interval_propagation
    from nstheory.propagation.model import mlp
    from nstheory.propagation.torch_model import monte_carlo

    mf = float(interval_propagation(mlp(20), 0.9)[-1].normalised().mid())
    m = monte_carlo(mlp(20), 0.9, width=width, n_nets=n_nets, per_net=20, seed=seed, chunk=10,
                    view="normalised", sampler="projected")[-1]
    return mf, m


@c.check("monte-carlo", name="gap_width_256",
         uses=("nstheory.propagation.torch_model.monte_carlo",
               "nstheory.propagation.intervals.interval_propagation"))
def _():
    mf, m = _normalised_gap(256, 100, 1)
    z = (m.mean - mf) / m.stderr
    return attach_power(compare_holds(
        z < -4,
        [("MC normalised stability, depth 20, width 256 (100 nets x 20, seed 1, projected "
          "sampler)",
          f"{m.mean:.5f} ± {m.stderr:.2g}"), ("certified mean-field C/Q (midpoint)", mf),
         ("z", f"{z:.2f}")], tolerance="z < -4"),
        "a gap of 1.5/width (0.0059 at width 256)", z_power(1.5 / 256, m.stderr, 4))


@c.check("monte-carlo", name="gap_scales_as_1_over_width",
         uses=("nstheory.propagation.torch_model.monte_carlo",
               "nstheory.propagation.intervals.interval_propagation"))
def _():
    # 60 networks at width 1024: the per-network spread (~0.005 measured with 10) puts the
    # standard error near 6e-4, power >= 0.9 against the alternative below (10 networks, the
    # count while every weight matrix was drawn, left this check at power 0.12)
    mf, m256 = _normalised_gap(256, 100, 1)
    _, m1024 = _normalised_gap(1024, 60, 2)
    g256, g1024 = mf - m256.mean, mf - m1024.mean
    se = (m1024.stderr**2 + (m256.stderr / 4) ** 2) ** 0.5
    return compare_z(
        "gap to the certified mean-field C/Q at width 1024 (60 nets x 20, seed 2, projected "
        "sampler); se includes the width-256 error / 4", g1024, se, m1024.n,
        f"1/width prediction: gap(256) / 4 (gap(256) = {g256:.5f} ± {m256.stderr:.2g}, "
        f"mean-field C/Q {mf:.12f} certified, 53 bits)", g256 / 4,
        alternative="no width dependence: gap(1024) = gap(256), 3/4 of a 1.5/width gap at 256 "
        "above the prediction", effect=0.75 * 1.5 / 256)


def _mean_field_by_reduction(depth: int, rho: float) -> float:
    """Mean-field normalised correlation of a He ReLU MLP, c -> 2 E[relu X relu Y](c), with the
    map computed by the 1-D reduction quadrature (not the closed form, not the intervals)."""
    from nstheory.gaussian.activations import get_activation
    from nstheory.gaussian.precise import reduction_mp

    relu, c = get_activation("relu"), rho
    for _ in range(depth):
        c = 2 * reduction_mp(relu, c, 1, 1, dps=15)
    return float(c)


@c.check("monte-carlo", name="inline_gap_width_256",
         uses=("inline:relu-mlp-forward", "nstheory.gaussian.precise.reduction_mp"))
def _():
    import numpy as np
    import torch

    from nstheory.stats import Moments

    torch.set_num_threads(1)
    width, depth, rho, nets, per_net = 256, 20, 0.9, 100, 20
    rng = np.random.Generator(np.random.SFC64(2026))
    cos, w = [], torch.empty(width, width, dtype=torch.float64)
    for _ in range(nets):
        x = torch.from_numpy(rng.standard_normal((per_net, width)))
        y = rho * x + (1 - rho * rho) ** 0.5 * torch.from_numpy(
            rng.standard_normal((per_net, width)))
        h = torch.cat([x, y])
        for _ in range(depth):
            rng.standard_normal(out=w.numpy())  # N(0, 1) weights; their scale sqrt(2/width)
            h = torch.relu((h @ w.T) * (2.0 / width) ** 0.5)  # is applied to the product
        hx, hy = h[:per_net], h[per_net:]
        cos.append(float((hx * hy).sum() / torch.sqrt((hx * hx).sum() * (hy * hy).sum())))
    m = Moments.from_values(torch.tensor(cos, dtype=torch.float64))
    mf = _mean_field_by_reduction(depth, rho)
    z = (m.mean - mf) / m.stderr
    return attach_power(compare_holds(
        z < -4,
        [("per-network cosine of the output streams, depth 20, width 256, He ReLU MLP written "
          "in this module (torch float64, NumPy SFC64 normals, 100 nets x 20 inputs, seed 2026)",
          f"{m.mean:.5f} ± {m.stderr:.2g}"),
         ("mean-field normalised correlation, 20 steps of 2 E[relu relu] by 1-D reduction", mf),
         ("z", f"{z:.2f}")], tolerance="z < -4"),
        "a gap of 1.5/width (0.0059 at width 256)", z_power(1.5 / 256, m.stderr, 4))
