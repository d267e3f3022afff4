"""Claims about the 1/width correction beyond plain MLPs: its certified (arb) enclosure, transformer
blocks with the identity attention pattern, widths 512-1024, and where the expansion breaks down
(depth comparable to width).

View throughout: "normalised" = the mean over random networks of the per-network cosine
``sum h(X).h(Y) / sqrt(sum |h(X)|^2 sum |h(Y)|^2)``, sums over the input pairs of a network (20
unless stated), their tokens and all channels; rho = 0.9. Monte Carlo data:
``proofs_check/data/propagation_finite_width_blocks.json``
(``nstheory finite-width-study OUT --set blocks``, ``--set random``; seeds and network counts
stored with each run).
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

from nstheory.claims import (
    REGISTRY,
    Status,
    attach_power,
    claim,
    compare_digits,
    compare_enclosure,
    compare_holds,
    compare_z,
    no_stored_measurement,
    z_power,
)
from nstheory.stats import normal_cdf
from nstheory.store import report_study_on, reports_study

DATA = Path(__file__).parent / "data" / "propagation_finite_width_blocks.json"
ZMAX = 4.0
#: claims whose Monte Carlo checks read the stored study
_STUDY_CLAIMS = []
# stated values of the enclosure claim (depth 20, width 256, one input pair per network)
CORR_NORM_D20_W256 = "0.9744662878"
CORR_RAW_D20_W256 = "0.9718313618"


def _run(key: str):
    from nstheory.store import load_json

    if not DATA.exists():
        return None
    return load_json(DATA)["runs"].get(key)


@functools.cache
def _rows(spec: str):
    """The recursion for a study entry's model (``spec``: the entry as JSON without its key,
    width, seed and network count, so runs of one model at several widths share it)."""
    from nstheory.propagation.finite_width import finite_width_recursion
    from nstheory.propagation.finite_width_study import run_model

    run = json.loads(spec)
    return finite_width_recursion(run_model(run), run["rho"], per_net=run["per_net"])


def _layer_table(run):
    """Per layer: (MC mean, stderr, corrected, mean field, 1/N term) for a stored run."""
    keep = {k: v for k, v in run.items()
            if k not in ("key", "width", "seed", "n_nets", "seconds", "mean", "stderr")}
    rows = _rows(json.dumps(keep, sort_keys=True))
    w = run["width"]
    return [(m, e, r.corrected_normalised(w), r.mean_field_normalised, r.coef_normalised / w)
            for m, e, r in zip(run["mean"], run["stderr"], rows, strict=True)]


def _every_layer_check(key: str):
    """The corrected value within ``ZMAX`` standard errors of the Monte Carlo at every layer,
    with power >= 0.9 against the mean-field value at the layer of the largest predicted gap.

    Reported through :func:`compare_z` at the deciding layer: the worst miss if there is one,
    else the layer of the largest predicted gap ``|c_l / N|`` (chosen without looking at the
    Monte Carlo means; inconclusive if the power there is < 0.9). The note lists, for every
    layer where mean field is rejected, the power against it: requiring >= 0.9 at *every* such
    layer cannot be planned for, since a marginal rejection (true gap ~4 standard errors) comes
    with power ~0.5 by construction and more networks only move it to a shallower layer."""
    run = _run(key)
    if run is None:
        return no_stored_measurement(f"{DATA.name} ({key}) absent")
    tab = _layer_table(run)
    zc = [(m - c) / e for m, e, c, _, _ in tab]
    zmf = [(m - f) / e for m, e, _, f, _ in tab]
    power = [z_power(abs(g), e, ZMAX) for _, e, _, _, g in tab]
    rejected = [i for i, z in enumerate(zmf) if abs(z) > ZMAX]
    worst = max(range(len(zc)), key=lambda i: abs(zc[i]))
    if abs(zc[worst]) <= ZMAX:
        worst = max(range(len(tab)), key=lambda i: abs(tab[i][4]))
    m, e, c, _, g = tab[worst]
    desc = run.get("arch", "mlp")
    if desc == "transformer":
        desc = ("transformer " + ("post-LN" if run["post_ln"] else "pre-LN")
                + (" residual" if run["residual"] else " no-residual")
                + f", identity pattern, {run['n_tokens']} tokens")
    return compare_z(
        f"{desc}: MC normalised stability, layer {worst + 1} of {run['depth']} (width "
        f"{run['width']}, {run['n_nets']} nets x {run['per_net']} pairs, seed {run['seed']})",
        m, e, run["n_nets"], "mean field + c/width (recursion)", c, zmax=ZMAX,
        alternative="the mean-field value (no 1/width correction)", effect=abs(g),
        note="z(corrected) per layer: " + ", ".join(f"{z:.1f}" for z in zc)
        + "; z(mean field): " + ", ".join(f"{z:.1f}" for z in zmf)
        + "; power vs mean field at the layers where it is rejected: "
        + ", ".join(f"L{i + 1} {power[i]:.2f}" for i in rejected)
        + f" ({sum(power[i] >= 0.9 for i in rejected)} of {len(rejected)} >= 0.9)",
    )


def _coefficient_digits(key: str, layer: int, stated: str, digits: float):
    """The recursion with finite-difference kernel-map derivatives against a stated
    coefficient (the route independent of the SymPy derivatives and of the Monte Carlo)."""
    import functools

    from nstheory.propagation.finite_width import finite_width_recursion
    from nstheory.propagation.finite_width_study import BLOCK_RUNS, run_model
    from nstheory.propagation.kernel_derivatives import numerical_map_derivatives

    run = next(r for r in BLOCK_RUNS if r["key"] == key)
    rows = finite_width_recursion(
        run_model(run), run["rho"], per_net=run["per_net"],
        derivatives=functools.partial(numerical_map_derivatives, dps=30))
    return compare_digits(
        f"recursion with Richardson finite differences of the mpmath maps (30 digits), layer "
        f"{layer} 1/width coefficient", rows[layer - 1].coef_normalised, "stated coefficient",
        stated, min_digits=digits)


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width.arb_corrected_relu_depth20",
    "Depth-20 He ReLU MLP, rho = 0.9, one input pair per network, width 256: the 1/width-"
    f"corrected value (mean field + c/width, the O(1/width^2) remainder excluded) is "
    f"{CORR_NORM_D20_W256} in the normalised view and {CORR_RAW_D20_W256} in the raw view "
    "(10 digits).",
    latex=r"\rho^{\mathrm{mf}}_{20} + c_{20}/256 = 0.9744662878\ (\text{normalised, 1 pair})",
    provenance="textbook:roberts-yaida-hanin (mean metric + four-point vertex, 1/width "
    "expansion)",
    evidence="Stated values: an independent mpmath evaluation (polar-coordinate quadrature of "
    "the ReLU moments, mpmath.diff derivatives of that quadrature, the recursion written out "
    "again; the reference of tests/propagation/test_finite_width_enclosure.py at depth 20 and "
    "20 digits) gives 0.974466287801719 and 0.971831361803443. "
    "Certified: arb balls through the whole recursion (SymPy derivatives of the "
    "arc-cosine map in ball arithmetic, the mixed four-point moments by acb.integral with an "
    "analytic tail bound). Precise: the float recursion (64-node Gauss-Hermite four-point "
    "moments, finite-difference derivatives of the mpmath map), accurate to ~1e-5 of the "
    "coefficient, i.e. ~1e-8 of the corrected value at width 256.",
    fast=False,
)


@c.check("certified", name="arb_enclosure",
         uses=("nstheory.propagation.finite_width_enclosure.finite_width_enclosure",
               "nstheory.propagation.finite_width_enclosure.relu_pair_moment_arb",
               "nstheory.propagation.finite_width_enclosure.relu_map_arb"))
def _():
    from nstheory.propagation.finite_width_enclosure import finite_width_enclosure
    from nstheory.propagation.model import mlp

    return corrected_values_enclosed(finite_width_enclosure(mlp(20), 0.9)[-1], 20, 256,
                                     CORR_NORM_D20_W256, CORR_RAW_D20_W256)


def corrected_values_enclosed(row, layer: int, width: int, normalised: str, raw: str):
    """The check that the arb row's 1/width-corrected values at ``width`` contain the stated
    ``normalised`` and ``raw`` values (the truncated expansion)."""
    a = compare_enclosure(f"arb enclosure (53 bits), normalised, layer {layer}, width {width}",
                          row.corrected_normalised(width), "stated", normalised)
    b = compare_enclosure(f"arb enclosure (53 bits), raw, layer {layer}, width {width}",
                          row.corrected_raw(width), "stated", raw)
    return compare_holds(str(a.status) == "verified" and str(b.status) == "verified",
                         a.quantities + b.quantities,
                         tolerance="containment of both stated values (truncated expansion)")


@c.check("precise", name="float_recursion_numerical_derivatives",
         uses=("nstheory.propagation.finite_width.finite_width_recursion",
               "nstheory.propagation.four_point.four_point_moments",
               "nstheory.propagation.kernel_derivatives.numerical_map_derivatives",
               "nstheory.gaussian.activations.ABReLU.raw"))
def _():
    import functools

    from nstheory.propagation.finite_width import finite_width_recursion
    from nstheory.propagation.kernel_derivatives import numerical_map_derivatives
    from nstheory.propagation.model import mlp

    r = finite_width_recursion(mlp(20), 0.9, per_net=1, derivatives=functools.partial(
        numerical_map_derivatives, dps=30))[-1]
    return compare_digits("float recursion, finite-difference derivatives, normalised, layer "
                          "20, width 256", r.corrected_normalised(256), "stated",
                          CORR_NORM_D20_W256, min_digits=10,
                          note="the statement's 10 digits (the float route agrees to ~11.8)")


# --------------------------------------------------------------------------------------------
PRELN_COEF_L6 = "-0.280884"
c = claim(
    "propagation.finite_width.transformer_preln_identity",
    "Pre-LN transformer blocks h + W_V Attn(LN h), h + Dense(1) relu(Dense(2) LN h) with the "
    "identity query-key pattern (4 tokens, logits x_i.x_j / sqrt(width), gamma2 = 1), rho = 0.9: "
    "the 1/width-corrected normalised stability (the attention sub-block as its value "
    "projection, the tokens as independent pairs) agrees with Monte Carlo (|z| <= 4) at every "
    "layer to depth 6 at widths 32, 64, 128 and 256, with power >= 0.9 against the mean-field "
    f"value at the layer of the largest predicted gap; the layer-6 coefficient is {PRELN_COEF_L6} "
    "(20 pairs x 4 tokens per network).",
    latex=r"\bar\rho_\ell(N) = \rho^{\mathrm{mf}}_\ell + c_\ell/N,\ "
          r"\mathrm{Attn}_{\mathrm{id}} \to W_V",
    provenance="new",
    evidence="The attention rule is ours: the identity pattern's off-diagonal weight is "
    "O(n e^{-sqrt(N)(K_ii - K_ij)}), below every power of 1/N, so the layer is its value "
    "projection; the residual rule then covers the linear branch. 800/500/500/900 networks x "
    "20 pairs at widths 32/64/128/256. The layer-6 coefficient by two routes beside the SymPy "
    "float recursion: finite-difference derivatives, and the arb enclosure with the cross-pair "
    "vertex of the 80 pairs a network sees (three-input ReLU moments by a certified integral).",
    fast=False,
)
_STUDY_CLAIMS.append(c.id)
for _w in (32, 64, 128, 256):
    c.check("monte-carlo", name=f"stored_mc_width_{_w}",
            uses=("nstheory.propagation.torch_model.monte_carlo",))(
        lambda k=f"tf_preln_w{_w}": _every_layer_check(k))
c.check("precise", name="coefficient_numerical_derivatives",
        uses=("nstheory.propagation.finite_width.finite_width_recursion",
              "nstheory.propagation.four_point.four_point_moments",
              "nstheory.propagation.kernel_derivatives.numerical_map_derivatives",
              "nstheory.gaussian.activations.ABReLU.raw"))(
    lambda: _coefficient_digits("tf_preln_w64", 6, PRELN_COEF_L6, 5))


@c.check("certified", name="arb_coefficient_80_pairs",
         uses=("nstheory.propagation.finite_width_enclosure_blocks.finite_width_enclosure_blocks",
               "nstheory.propagation.finite_width_enclosure.relu_cross_moment_arb",
               "nstheory.propagation.finite_width_enclosure_blocks.layernorm_map_arb"))
def _():
    """The layer-6 coefficient with 20 pairs x 4 tokens per network as an arb ball (the
    cross-pair vertex enclosed): it must round to the stated six digits."""
    from flint import arb

    from nstheory.propagation.finite_width_enclosure_blocks import finite_width_enclosure_blocks
    from nstheory.propagation.finite_width_study import BLOCK_RUNS, run_model

    run = next(r for r in BLOCK_RUNS if r["key"] == "tf_preln_w64")
    ball = finite_width_enclosure_blocks(run_model(run), run["rho"],
                                         per_net=run["per_net"])[5].coef_normalised
    # the whole ball (not its midpoint) must round to the stated six digits: it must lie in
    # the stated value's rounding interval +- 5e-7
    rounding = arb(PRELN_COEF_L6, "5e-7")
    inside, apart = rounding.contains(ball), not rounding.overlaps(ball)
    return compare_holds(inside, [
        ("arb enclosure (53 bits), layer-6 1/width coefficient, 20 pairs x 4 tokens",
         ball.str(12, radius=True)),
        ("stated coefficient and its rounding interval", f"{PRELN_COEF_L6} +- 5e-7")],
        tolerance="the ball inside the rounding interval", inconclusive=not inside and not apart)


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width.transformer_postln_identity",
    "Post-LN transformer blocks LN(h + W_V Attn h), LN(h + Dense(1) relu(Dense(2) h)) with the "
    "identity query-key pattern (4 tokens, gamma2 = 1), rho = 0.9, width 256: the 1/width-"
    "corrected normalised stability agrees with Monte Carlo (|z| <= 4) at every layer to depth "
    "6, with power >= 0.9 against the mean-field value at the layer of the largest predicted "
    "gap.",
    latex=r"|\hat\rho_\ell - \rho^{(1)}_\ell| \le 4\,\mathrm{se},\ \ell \le 6,\ N = 256",
    provenance="new",
    evidence="The attention rule of propagation.finite_width.transformer_preln_identity under "
    "post-LN; 600 networks x 20 pairs.",
    fast=False,
    single_evidence="Monte Carlo is the only route independent of the rule under test (the "
    "recursion's numerical-derivative route is registered with the pre-LN claim)",
)
_STUDY_CLAIMS.append(c.id)
c.check("monte-carlo", name="stored_mc_width_256",
        uses=("nstheory.propagation.torch_model.monte_carlo",))(
    lambda: _every_layer_check("tf_postln_w256"))


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width.transformer_postln_identity_width64",
    "The same post-LN transformer blocks at width 64: the 1/width-corrected normalised "
    "stability agrees with Monte Carlo (|z| <= 4) at every layer to depth 6.",
    latex=r"|\hat\rho_\ell - \rho^{(1)}_\ell| \le 4\,\mathrm{se},\ \ell \le 6,\ N = 64",
    provenance="new",
    expect="refuted",
    refutation_kind="our-reading",
    evidence="It agrees at layers 1-4 and misses at layers 5-6, the Monte Carlo above the "
    "corrected value (in the pilot with other seeds and again in the stored runs). The rule "
    "neglects the pattern's off-diagonal weight e^{-sqrt(N)(1 - K_ij)}: under post-LN the logits "
    "see the stream itself, whose cross-token correlation K_ij grows with depth (the ReLU "
    "sub-blocks), so at sqrt(64) = 8 the neglected leakage is no longer small: its mean-field "
    "estimate (n - 1) e^{-sqrt(N)(1 - K_ij)} is 6% and 9% after blocks 5 and 6 (0.3% at "
    "width 256). 400 networks x 20 pairs. The sampled leakage correction "
    "(propagation.finite_width.transformer_identity_leakage) brings these layers to z = 0.9 "
    "and 0.9 (|z| <= 1.2 at every layer).",
    fast=False,
    single_evidence="Monte Carlo is the only route independent of the rule under test",
)
_STUDY_CLAIMS.append(c.id)
c.check("monte-carlo", name="stored_mc_width_64",
        uses=("nstheory.propagation.torch_model.monte_carlo",))(
    lambda: _every_layer_check("tf_postln_w64"))


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width.transformer_no_residual_identity",
    "Transformer blocks without residual (W_V Attn h, LN, Dense(2) relu Dense(1), LN) with the "
    "identity query-key pattern (4 tokens, gamma2 = 1), rho = 0.9: the 1/width-corrected "
    "normalised stability agrees with Monte Carlo (|z| <= 4) at every layer to depth 6 at "
    "widths 64 and 256.",
    latex=r"|\hat\rho_\ell - \rho^{(1)}_\ell| \le 4\,\mathrm{se},\ \ell \le 6",
    provenance="new",
    expect="refuted",
    refutation_kind="our-reading",
    evidence="Agrees at layers 1-2 (width 64) and 1-4 (width 256), then the Monte Carlo "
    "rises above both the corrected and the mean-field values (z up to +26 at width 64). "
    "Without a skip the tokens' cross-correlation K_ij approaches the ReLU fixed point "
    "quickly, and the identity pattern's neglected off-diagonal weight e^{-sqrt(N)(1 - K_ij)} "
    "mixes the tokens (mean-field estimate of that weight: 13-50% after blocks 3-6 at width "
    "64, 4-9% after blocks 5-6 at width 256): the rule (and mean field) fail here at these "
    "widths (in the pilot with other seeds and again in the stored runs). 400 and 300 "
    "networks x 20 pairs. With the sampled leakage correction added "
    "(propagation.finite_width.transformer_identity_leakage_reduces_miss) the stored runs "
    "agree at every layer (|z| <= 2.4 at width 64, <= 2.0 at width 256).",
    fast=False,
    single_evidence="Monte Carlo is the only route independent of the rule under test",
)
_STUDY_CLAIMS.append(c.id)
for _w in (64, 256):
    c.check("monte-carlo", name=f"stored_mc_width_{_w}",
            uses=("nstheory.propagation.torch_model.monte_carlo",))(
        lambda k=f"tf_nores_w{_w}": _every_layer_check(k))


# --------------------------------------------------------------------------------------------
#: held-out runs (fresh seeds) for the identity pattern's leakage correction: set A tested its
#: first form (Gaussian tokens everywhere), set B -- run after A had shown one miss and the
#: correction had been refined (a LayerNorm output's token norms exact) -- the refined form
LEAK_DATA = {"A": DATA.with_name("propagation_finite_width_leakage.json"),
             "B": DATA.with_name("propagation_finite_width_leakage_b.json")}
#: sampled token Gram matrices per run (the correction's standard error stays below a tenth of
#: the Monte Carlo's at every layer)
LEAK_SAMPLES = 4000


@functools.cache
def _leak_tables(which: str, exact_ln_norms: bool):
    """Per run of held-out set ``which``: its network count and, per layer, (MC mean, stderr,
    1/width-corrected, leakage correction), or None when the file is absent."""
    from nstheory.propagation.finite_width import finite_width_recursion
    from nstheory.propagation.finite_width_study import run_model
    from nstheory.propagation.identity_leakage import identity_leakage
    from nstheory.store import load_json

    if not LEAK_DATA[which].exists():
        return None
    out = {}
    for key, run in load_json(LEAK_DATA[which])["runs"].items():
        model, w = run_model(run), run["width"]
        rows = finite_width_recursion(model, run["rho"], per_net=run["per_net"])
        leak = identity_leakage(model, run["rho"], w, samples=LEAK_SAMPLES, seed=0,
                                exact_ln_norms=exact_ln_norms)
        out[key] = (run["n_nets"], [(m, e, r.corrected_normalised(w), lk.normalised.mean)
                                     for m, e, r, lk in zip(run["mean"], run["stderr"], rows,
                                                            leak, strict=True)])
    return out


def _leak_z_lines(tabs):
    return [(f"{key}: z(1/N + leakage) | z(1/N) per layer",
             " ".join(f"{(m - c - lk) / e:.1f}" for m, e, c, lk in tab) + " | "
             + " ".join(f"{(m - c) / e:.1f}" for m, e, c, _ in tab))
            for key, (_, tab) in tabs.items()]


def misses_shrink(pairs, unit: str, before: str, after: str, lines):
    """Verified when every ``(z_before, z_after)`` pair with ``|z_before| > ZMAX`` has
    ``|z_after| < |z_before|``. The alternative it rejects: a prediction unrelated to the miss
    shrinks each one with probability at most 1/2 (a shift of the wrong sign, or of more than
    twice the miss, enlarges it), so its power is ``1 - 2^-misses``."""
    missed = [(a, b) for a, b in pairs if abs(a) > ZMAX]
    smaller = sum(abs(b) < abs(a) for a, b in missed)
    power = 1 - 0.5 ** len(missed) if missed else 0.0
    return attach_power(compare_holds(
        smaller == len(missed) and len(missed) > 0,
        [(f"{unit} (runs x depth)", len(pairs)),
         (f"{unit} where {before} misses (|z| > {ZMAX:g})", len(missed)),
         (f"of them with a smaller miss {after}", smaller), *lines],
        tolerance="every miss smaller", inconclusive=not missed),
        "a prediction unrelated to the miss (each shrinks with probability <= 1/2)", power)


def _leak_every_layer(which: str, exact_ln_norms: bool):
    """|z| <= ZMAX at every layer of every run of set ``which``, decided at the worst layer,
    with the power against the 1/width rule without the correction there."""
    def check():
        tabs = _leak_tables(which, exact_ln_norms)
        if tabs is None:
            return no_stored_measurement(f"{LEAK_DATA[which].name} absent")
        rows = [(key, i + 1, n, m, e, c, lk) for key, (n, tab) in tabs.items()
                for i, (m, e, c, lk) in enumerate(tab)]
        key, layer, n, m, e, c, lk = max(rows, key=lambda r: abs((r[3] - r[5] - r[6]) / r[4]))
        return compare_z(
            f"{key}: MC normalised stability, layer {layer} (worst |z| over the {len(rows)} "
            "layers of the held-out set)", m, e, n, "1/width-corrected + leakage correction",
            c + lk, zmax=ZMAX,
            alternative="the 1/width-corrected value without the leakage correction",
            effect=abs(lk), note=" ; ".join(f"{a}: {b}" for a, b in _leak_z_lines(tabs)))
    return reports_study(LEAK_DATA[which])(check)


def _leak_uses(which: str):
    return ("nstheory.propagation.torch_model.monte_carlo", f"data:{LEAK_DATA[which].name}")


LEAK_EVIDENCE = (
    "The correction (nstheory.propagation.identity_leakage, ours): at each identity-pattern "
    "attention layer the tokens' empirical Gram matrix at the width is sampled (Wishart given "
    "the mean-field kernel; for a LayerNorm output only the angles, its norms being exact), "
    "the pattern softmax(G / sqrt(N)) mixes the tokens, and the per-sample change of the "
    "stability against the same draws without mixing is added to the 1/width-corrected value. "
    "History: the first form (Gaussian tokens everywhere) was built after the stored post-LN "
    "width-64 and no-residual runs had missed the rule (up to z = 26) and was tested on held-out "
    "set A (`nstheory finite-width-study OUT --set leakage`, "
    "proofs_check/data/propagation_finite_width_leakage.json, seeds 800-807): 47 of 48 layers "
    "agreed, no-residual width 64 missed at layer 5 (z = -4.3; see "
    "propagation.finite_width.transformer_identity_leakage_gaussian_tokens). Giving LayerNorm "
    "outputs their exact norms (a token's self-logit sqrt(N) G_ii otherwise fluctuates by "
    "sqrt(2) logit units at width 64) is the refined form, tested on held-out set B (`--set "
    "leakage-b`, proofs_check/data/propagation_finite_width_leakage_b.json, seeds 900-907, "
    "the same eight models: no residual at widths 32/64/128/256, post-LN at 32/64/128, pre-LN "
    "at 32, depth 6, 300-800 networks x 20 pairs). z(1/N + leakage) per layer on B: "
    "no-residual w32 -0.8 -0.2 -1.1 -1.4 -1.0 -0.1; w64 -0.3 1.7 1.2 0.4 -2.6 -3.4; w128 0.5 "
    "0.4 1.2 2.0 1.0 -0.9; w256 -0.3 -0.1 -0.6 0.5 1.3 1.0; post-LN w32 0.2 -0.2 -0.7 -1.3 -2.2 "
    "-3.1; w64 -0.4 1.9 1.6 1.3 0.9 -0.4; w128 -0.9 -0.7 -1.1 0.3 -0.5 -0.7; pre-LN w32 -2.0 "
    "-2.5 -2.9 -2.3 -2.3 -2.2 (4000 samples, seed 0, as the check computes them). Without it "
    "the 1/width rule misses 17 of the 48 layers (z up to 24.2). The sampled off-diagonal "
    "attention weight reaches 0.74 (no residual, width 32, "
    "layer 6) and 0.67 (width 64).")

c = claim(
    "propagation.finite_width.transformer_identity_leakage",
    "Identity-pattern transformer blocks (no residual at widths 32-256, post-LN at 32-128, "
    "pre-LN at 32; 4 tokens, gamma2 = 1, rho = 0.9, depth 6; held-out runs): the 1/width-"
    "corrected normalised stability plus the identity pattern's leakage correction (its "
    "off-diagonal weight at the actual width, neglected by the 1/width rule; LayerNorm outputs "
    "with exact norms) agrees with Monte Carlo (|z| <= 4) at every layer.",
    latex=r"|\hat\rho_\ell - \bar\rho^{(1)}_\ell - \lambda_\ell| \le 4\,\mathrm{se}\ "
          r"\forall \ell \le 6",
    provenance="new",
    evidence=LEAK_EVIDENCE,
    fast=False,
    single_evidence="Monte Carlo is the only route independent of the rule under test",
)
c.check("monte-carlo", name="held_out_mc_set_b", uses=_leak_uses("B"))(
    _leak_every_layer("B", True))

c = claim(
    "propagation.finite_width.transformer_identity_leakage_reduces_miss",
    "On the same held-out runs, at every layer where the 1/width-corrected normalised "
    "stability alone misses the Monte Carlo (|z| > 4), adding the leakage correction leaves a "
    "smaller miss.",
    latex=r"|z(\bar\rho^{(1)}_\ell + \lambda_\ell)| < |z(\bar\rho^{(1)}_\ell)|\ "
          r"\text{wherever}\ |z(\bar\rho^{(1)}_\ell)| > 4",
    provenance="new",
    evidence=LEAK_EVIDENCE + " Every one of the 17 misses shrinks (e.g. 24.2 -> -3.4, 17.4 -> "
    "-0.1, 5.9 -> -3.1).",
    fast=False,
    single_evidence="Monte Carlo is the only route independent of the rule under test",
)


@c.check("monte-carlo", name="held_out_mc_set_b", uses=_leak_uses("B"))
@reports_study(LEAK_DATA["B"])
def _():
    tabs = _leak_tables("B", True)
    if tabs is None:
        return no_stored_measurement(f"{LEAK_DATA['B'].name} absent")
    pairs = [((m - c) / e, (m - c - lk) / e) for _, tab in tabs.values()
             for m, e, c, lk in tab]
    return misses_shrink(pairs, "layers", "the 1/width rule alone",
                         "after the leakage correction", _leak_z_lines(tabs))


c = claim(
    "propagation.finite_width.transformer_identity_leakage_gaussian_tokens",
    "The leakage correction's first form, every attention input sampled as Gaussian tokens "
    "(LayerNorm outputs included), added to the 1/width-corrected normalised stability, "
    "agrees with Monte Carlo (|z| <= 4) at every layer of held-out set A (the same eight "
    "models as set B, other seeds).",
    latex=r"|\hat\rho_\ell - \bar\rho^{(1)}_\ell - \lambda^{\mathrm{gauss}}_\ell| \le "
          r"4\,\mathrm{se}\ \forall \ell \le 6",
    provenance="new",
    expect="refuted",
    refutation_kind="our-reading",
    evidence=LEAK_EVIDENCE + " Set A with the first form, z per layer: no-residual w64 0.5 0.3 "
    "-0.9 -2.2 -4.3 -3.6 (the miss), post-LN w32 -1.9 -2.5 -3.0 -3.8 -3.1 -3.6, the other six "
    "runs within |z| <= 3.7; on set B the first form misses the same layer again (z = -4.7), "
    "and a third no-residual width-64 run from the command line (seed 3) gave -5.0: where the "
    "pattern mixes strongly the Gaussian self-logits overstate the mixing's effect by 0.3-0.5%.",
    fast=False,
    single_evidence="Monte Carlo is the only route independent of the rule under test",
)
c.check("monte-carlo", name="held_out_mc_set_a", uses=_leak_uses("A"))(
    _leak_every_layer("A", False))


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width.relu_width_512_1024",
    "Depth-20 He ReLU MLP, rho = 0.9 (normalised view, 20 pairs per network) at widths 512 and "
    "1024: the 1/width-corrected value agrees with Monte Carlo (|z| <= 4) at every layer, with "
    "power >= 0.9 against the mean-field value at the layer of the largest predicted gap.",
    latex=r"|\hat\rho_\ell(N) - \rho^{(1)}_\ell(N)| \le 4\,\mathrm{se},\ N \in \{512, 1024\}",
    provenance="textbook:roberts-yaida-hanin (mean metric + four-point vertex, 1/width "
    "expansion)",
    evidence="300 networks at width 512 and 500 at width 1024 (the mean-field gap c/N halves "
    "with each doubling while the per-network spread shrinks only like 1/sqrt(N)).",
    fast=False,
    single_evidence="Monte Carlo is the only route independent of the recursion under test "
    "(the recursion's own two routes are registered with the depth-20 width-256 claim)",
)
_STUDY_CLAIMS.append(c.id)
for _w in (512, 1024):
    c.check("monte-carlo", name=f"stored_mc_width_{_w}",
            uses=("nstheory.propagation.torch_model.monte_carlo",))(
        lambda k=f"relu_d20_w{_w}": _every_layer_check(k))


# --------------------------------------------------------------------------------------------
def _d64_residuals(widths, layers):
    """(residual MC - corrected, stderr, first-order term c/N) at the given layers/widths of the
    depth-64 runs, or None if a run is absent."""
    runs = {w: _run(f"relu_d64_w{w}") for w in widths}
    if any(r is None for r in runs.values()):
        return None
    tabs = {w: _layer_table(r) for w, r in runs.items()}
    return {(L, w): (tabs[w][L - 1][0] - tabs[w][L - 1][2], tabs[w][L - 1][1],
                     tabs[w][L - 1][4]) for L in layers for w in widths}


c = claim(
    "propagation.finite_width.relu_depth64_breakdown",
    "Where the 1/width expansion breaks down, measured (He ReLU MLP, depth 64, rho = 0.9, "
    "normalised view, 20 pairs per network, widths 16, 32, 64): (a) between widths 32 and 64 "
    "the residual |MC - corrected| still scales as width^-2 at layers 16, 32 and 64 (depth/width "
    "up to 2; fitted exponent's 95% interval contains 2), while between widths 16 and 32 at "
    "layers 16 and 32 (depth/width 1-2 at width 16) the fitted exponent's 95% interval lies "
    "below 2; (b) the first-order term still removes most of the mean-field gap: "
    "|MC - corrected| <= 0.5 |c_l / N| at every layer with depth/width <= 2.",
    latex=r"|\hat\rho_\ell - \rho^{(1)}_\ell| \propto N^{-p}:\ p\approx 2\ (\ell/N \le 1),"
          r"\ p < 2\ (\ell/N \ge 1)",
    provenance="new",
    evidence="8000, 4000 and 2000 networks at widths 16, 32, 64. The corrected value is "
    "rejected (|z| > 4) from depth/width ~0.22-0.25 on (layers 4, 7, 14 at widths 16, 32, 64): "
    "the Monte Carlo resolves the O(1/N^2) remainder there; the remainder is positive (Monte "
    "Carlo above the corrected value) and its ratio to the first-order term grows with "
    "depth/width but is not a function of depth/width alone (0.34, 0.24, 0.12 at depth/width 1 "
    "for widths 16, 32, 64). At width 16, networks whose ReLU layer dies (all outputs 0) appear "
    "deep in the stack (from layer 54 in the stored run, 34 in the pilot): the cosine is "
    "undefined there (the stored mean is NaN), a failure outside any 1/N expansion.",
    fast=False,
    single_evidence="the breakdown is a property of the measured residuals",
)
_STUDY_CLAIMS.append(c.id)


@c.check("monte-carlo", name="residual_scaling_vs_depth_over_width",
         uses=("nstheory.propagation.torch_model.monte_carlo",
               "nstheory.propagation.residual_scaling.fit_exponent"))
def _():
    from nstheory.propagation.residual_scaling import fit_exponent

    got = _d64_residuals((16, 32, 64), (16, 32, 64))
    if got is None:
        return no_stored_measurement(f"{DATA.name} (relu_d64_w16..64) absent")

    def fit(widths, layers):
        return fit_exponent(widths, [[got[L, w][0] for w in widths] for L in layers],
                            [[got[L, w][1] for w in widths] for L in layers])

    near = fit((32, 64), (16, 32, 64))
    deep = fit((16, 32), (16, 32))
    ratios = {(L, w): abs(r) / abs(g) for (L, w), (r, _, g) in got.items()
              if math.isfinite(r) and L / w <= 2}
    worst = max(ratios.values())
    return compare_holds(
        near.lo <= 2 <= near.hi and deep.hi < 2 and worst <= 0.5,
        [("exponent, widths 32-64, layers 16/32/64 (95% interval)",
          f"{near.exponent:.3g} [{near.lo:.3g}, {near.hi:.3g}]"),
         ("exponent, widths 16-32, layers 16/32 (95% interval)",
          f"{deep.exponent:.3g} [{deep.lo:.3g}, {deep.hi:.3g}]"),
         ("largest |MC - corrected| / |c/N| at depth/width <= 2", f"{worst:.3g}"),
         ("|MC - corrected| / |c/N| at layer 64, width 32 and 64; layer 32, width 16",
          ", ".join(f"{ratios[k]:.3g}" for k in ((64, 32), (64, 64), (32, 16))))],
        tolerance="interval (32-64) contains 2; interval (16-32) below 2; ratio <= 0.5",
    )


report_study_on([REGISTRY.claims[cid] for cid in _STUDY_CLAIMS], DATA)


# --------------------------------------------------------------------------------------------
RANDOM_DATA = DATA.with_name("propagation_finite_width_random_attention.json")
c = claim(
    "propagation.finite_width.random_attention_gap_order",
    "Pre-LN transformer blocks with random query-key weights (W ~ N(0, 1), logits "
    "x_i W x_j / sqrt(width), 4 tokens, gamma2 = 1; the mean-field limit is the hard argmax), "
    "rho = 0.9, depth 2: the finite-width gap of the normalised stability, Monte Carlo minus "
    "mean field, shrinks more slowly than 1/width: the exponent p of gap ~ a_l width^-p, fitted "
    "at blocks 1 and 2 over widths 32-512, has a 95% interval below 1. No 1/width correction "
    "captures it; the finite-width recursion refuses this case.",
    latex=r"\hat\rho_\ell(N) - \rho^{\mathrm{mf}}_\ell \propto N^{-p},\ p < 1",
    provenance="new",
    evidence="Measured p = 0.35, 95% [0.33, 0.38]: the block-1 gap falls only from 0.053 "
    "(width 32) to 0.017 (width 512). The logits have spread O(sqrt(width)), so the softmax is "
    "a hard argmax except near ties of the two largest logits, whose probability alone would "
    "give O(width^-1/2) (a heuristic, not derived here); the measured decay is slower still, "
    "so over these widths the gap is not a single clean power. Mean field: the propagation "
    "area's recurrence (hard-argmax consistency s_n). 400/300/200/150/100 networks x 20 pairs "
    "at widths 32-512 (the bound on p was fixed on a 100-400-network pilot with other seeds).",
    fast=False,
    single_evidence="the gap's order is a property of the measured Monte Carlo",
)


@c.check("monte-carlo", name="gap_exponent_widths_32_512",
         uses=("nstheory.propagation.torch_model.monte_carlo",
               "nstheory.propagation.recurrence.point_recurrence",
               "nstheory.propagation.residual_scaling.fit_exponent"))
def _():
    from nstheory.propagation.finite_width_study import RANDOM_RUNS, run_model
    from nstheory.propagation.recurrence import point_recurrence
    from nstheory.propagation.residual_scaling import fit_exponent
    from nstheory.store import load_json

    if not RANDOM_DATA.exists():
        return no_stored_measurement(f"{RANDOM_DATA.name} absent")
    runs = load_json(RANDOM_DATA)["runs"]
    if any(r["key"] not in runs for r in RANDOM_RUNS):
        return no_stored_measurement(f"{RANDOM_DATA.name} incomplete")
    stored = [runs[r["key"]] for r in RANDOM_RUNS]
    mf = [st.C / st.Q for st in point_recurrence(run_model(stored[0]), stored[0]["rho"])[1:]]
    widths = [r["width"] for r in stored]
    gaps = [[r["mean"][li] - mf[li] for r in stored] for li in range(len(mf))]
    ses = [[r["stderr"][li] for r in stored] for li in range(len(mf))]
    fit = fit_exponent(widths, gaps, ses)
    from scipy.stats import chi2

    # the power law must fit (a mean field off by a width-independent amount adds a constant
    # to every gap, which a lone power reads as a slower decay: 10% off gives chi2 20.8 / 7)
    # and the gap must shrink (p > 0), besides shrinking more slowly than 1/width
    fit_p = float(chi2.sf(fit.chi2, fit.dof))
    holds = fit.hi < 1 and fit.lo > 0 and fit_p >= 0.01
    return compare_holds(
        holds,
        [*fit.quantities("of MC - mean field, blocks 1, 2; widths "
                         + "/".join(map(str, widths))),
         ("goodness of fit: P(chi2 >= observed)", f"{fit_p:.3g}"),
         ("block-1 gap MC - mean field per width",
          ", ".join(f"{g:.4g} ± {e:.2g}" for g, e in zip(gaps[0], ses[0], strict=True)))],
        tolerance="95% interval of p inside (0, 1) (a 1/width expansion would give p = 1; p <= 0 "
                  "a gap that does not shrink) and the power law not rejected (P >= 0.01)",
        inconclusive=fit.hi < 1 and fit.lo > 0 and fit_p < 0.01,
    )


report_study_on([c], RANDOM_DATA)


# --------------------------------------------------------------------------------------------
#: held-out random-W runs (depth 4, fresh seeds) for the pattern-resolved mean field at d = width
RANDOM_B_DATA = DATA.with_name("propagation_finite_width_random_b.json")
#: pattern samples per run, pooled in groups of the runs' 20 pairs (the pattern-resolved
#: standard error is 0.3-0.5 of the Monte Carlo's; the check uses the standard error of the
#: difference)
PR_SAMPLES = 10_000


@functools.cache
def _pattern_resolved_table():
    """Per held-out random-W run: its network count and, per block, (MC mean, MC stderr,
    pattern-resolved mean, its stderr, hard-argmax mean field), or None when absent."""
    from nstheory.propagation.finite_width_study import run_model
    from nstheory.propagation.pattern_resolved import pattern_resolved_mc
    from nstheory.propagation.recurrence import point_recurrence
    from nstheory.store import load_json

    if not RANDOM_B_DATA.exists():
        return None
    out = {}
    for key, run in load_json(RANDOM_B_DATA)["runs"].items():
        model = run_model(run)
        mf = [st.C / st.Q for st in point_recurrence(model, run["rho"])[1:]]
        pr = pattern_resolved_mc(model, run["rho"], samples=PR_SAMPLES, seed=0,
                                 width=run["width"], chunk=2000, normalised_per=run["per_net"])
        out[key] = (run["n_nets"], [(m, e, p.mean, p.stderr, f) for m, e, p, f in
                                    zip(run["mean"], run["stderr"], pr, mf, strict=True)])
    return out


def _pr_z_lines(tab):
    def z(m, e, v, se=0.0):
        return (m - v) / math.hypot(e, se)

    return [(f"{key}: z(pattern-resolved) | z(hard-argmax mean field) per block",
             " ".join(f"{z(m, e, p, pe):.1f}" for m, e, p, pe, _ in rows) + " | "
             + " ".join(f"{z(m, e, f):.1f}" for m, e, _, _, f in rows))
            for key, (_, rows) in tab.items()]


PR_EVIDENCE = (
    "The pattern-resolved mean field (nstheory.propagation.pattern_resolved: widths integrated "
    "out, each sample's softmax patterns drawn exactly at head dimension d = width through the "
    "2n x 2n token kernel) is a finite-d prediction that leaves out the channels' own 1/width "
    "fluctuations. On the stored depth-2 runs (propagation.finite_width.random_attention_gap_"
    "order) it agreed at every block and width (|z| <= 2.0, pooled in groups of 20 pairs like "
    "the Monte Carlo), which was seen before this held-out set was run: `nstheory "
    "finite-width-study OUT --set random-b`, proofs_check/data/propagation_finite_width_"
    "random_b.json, seeds 1000-1006, depth 4, pre-LN at widths 32/64/128/256/512 "
    "(800/600/400/300/200 networks x 20 pairs) and without residual at widths 64/256 "
    "(600/300). z(pattern-resolved) per block: pre-LN w32 -1.1 -3.8 -5.2 -6.2; w64 0.4 -0.3 "
    "-1.5 -1.7; w128 0.2 -0.9 -0.8 -0.8; w256 -1.4 -1.4 -1.2 -1.3; w512 0.5 0.8 0.9 0.8; "
    "no residual w64 0.1 0.6 -0.6 -0.0; w256 0.5 0.7 -1.0 -0.7 (20 000 pattern samples; the "
    "check's 10 000 give the same picture). The hard-argmax mean field misses every block "
    "(z = 13 to 89).")

c = claim(
    "propagation.finite_width.random_attention_pattern_resolved_reduces_miss",
    "Transformer blocks with random query-key weights (4 tokens, gamma2 = 1, rho = 0.9, depth "
    "4; pre-LN at widths 32-512 and without residual at 64 and 256; held-out runs): at every "
    "block where the hard-argmax mean field misses the Monte Carlo normalised stability (|z| > "
    "4), the pattern-resolved mean field at d = width misses by less.",
    latex=r"|z(\rho^{\mathrm{pr}}_\ell(d = N))| < |z(\rho^{\mathrm{mf}}_\ell)|\ "
          r"\text{wherever}\ |z(\rho^{\mathrm{mf}}_\ell)| > 4",
    provenance="new",
    evidence=PR_EVIDENCE + " All 28 blocks are missed by the mean field and every miss "
    "shrinks (e.g. 89.3 -> -5.2, 75.2 -> -1.5, 33.5 -> 0.8).",
    fast=False,
    single_evidence="Monte Carlo is the only route independent of the prediction under test",
)


@c.check("monte-carlo", name="held_out_mc_random_b",
         uses=("nstheory.propagation.torch_model.monte_carlo",
               "data:propagation_finite_width_random_b.json"))
@reports_study(RANDOM_B_DATA)
def _():
    tab = _pattern_resolved_table()
    if tab is None:
        return no_stored_measurement(f"{RANDOM_B_DATA.name} absent")
    pairs = [((m - f) / e, (m - p) / math.hypot(e, pe)) for _, rows in tab.values()
             for m, e, p, pe, f in rows]
    return misses_shrink(pairs, "blocks", "the hard-argmax mean field",
                         "from the pattern-resolved mean field", _pr_z_lines(tab))


c = claim(
    "propagation.finite_width.random_attention_pattern_resolved",
    "On the same held-out random-W runs the pattern-resolved mean field at d = width agrees "
    "with the Monte Carlo normalised stability (|z| <= 4, standard error of the difference) at "
    "every block of every run.",
    latex=r"|\hat\rho_\ell - \rho^{\mathrm{pr}}_\ell(d = N)| \le 4\,\mathrm{se}\ \forall\ell",
    provenance="new",
    expect="refuted",
    refutation_kind="our-reading",
    evidence=PR_EVIDENCE + " It agrees at all 24 blocks at widths 64-512 (|z| <= 1.7) and "
    "misses at width 32 from block 3 (z = -5.2, -6.2; -3.8 at block 2): the Monte Carlo lies "
    "below, the direction of the channels' 1/width correction that the pattern-resolved mean "
    "field leaves out (for the pre-LN identity pattern at width 32 that correction is -0.002 "
    "to -0.009 over blocks 1-6; this miss is -0.008 at block 4). That correction, sampled, is "
    "tested in propagation.finite_width.random_attention_corrected (one pair per network).",
    fast=False,
    single_evidence="Monte Carlo is the only route independent of the prediction under test",
)


@c.check("monte-carlo", name="held_out_mc_random_b",
         uses=("nstheory.propagation.torch_model.monte_carlo",
               "data:propagation_finite_width_random_b.json"))
@reports_study(RANDOM_B_DATA)
def _():
    tab = _pattern_resolved_table()
    if tab is None:
        return no_stored_measurement(f"{RANDOM_B_DATA.name} absent")
    rows = [(key, i + 1, n, m, e, p, pe, f) for key, (n, rs) in tab.items()
            for i, (m, e, p, pe, f) in enumerate(rs)]
    key, block, n, m, e, p, pe, f = max(
        rows, key=lambda r: abs((r[3] - r[5]) / math.hypot(r[4], r[6])))
    return compare_z(
        f"{key}: MC normalised stability, block {block} (worst |z| over the {len(rows)} blocks; "
        "standard error of MC minus pattern-resolved)", m, math.hypot(e, pe), n,
        "pattern-resolved mean field at d = width", p, zmax=ZMAX,
        alternative="the hard-argmax mean field", effect=abs(p - f),
        note=" ; ".join(f"{a}: {b}" for a, b in _pr_z_lines(tab)))


# --------------------------------------------------------------------------------------------
#: held-out random-W runs with one input pair per network, and the stored predictions of the
#: pattern-resolved mean field's 1/width correction (``--set random-c --predict 400000``)
RANDOM_C_DATA = DATA.with_name("propagation_finite_width_random_c.json")
#: decision threshold of the random-c claims, fixed before the set was run: Bonferroni over
#: its 28 blocks at family-wise level 0.05 (two-sided 0.05 / 28 -> z = 3.2)
ZMAX_C = 3.2


@functools.cache
def _correction_table(path=RANDOM_C_DATA):
    """Per run of the study at ``path`` (random-c, random-e): its width, network count and,
    per block, (MC mean, MC stderr, corrected, its stderr, mean field, its stderr), or None
    when absent."""
    from nstheory.store import load_json

    if not path.exists():
        return None
    data = load_json(path)
    preds = data.get("predictions", {})
    out = {}
    for key, run in data["runs"].items():
        if key not in preds:
            return None
        if "refused" in preds[key]:  # collapsed tokens: no expansion (recorded in the notes)
            continue
        rows = [(m, e, b["normalised"]["corrected"], b["normalised"]["corrected_stderr"],
                 b["normalised"]["mean_field"], b["normalised"]["mean_field_stderr"])
                for m, e, b in zip(run["mean"], run["stderr"], preds[key]["blocks"],
                                   strict=True)]
        out[key] = (run["width"], run["n_nets"], rows)
    return out


def _zc(m, e, v, ve):
    return (m - v) / math.hypot(e, ve)


def _correction_z_lines(tab):
    return [(f"{key}: z(corrected) | z(pattern-resolved mean field) per block",
             " ".join(f"{_zc(m, e, c, ce):.1f}" for m, e, c, ce, _, _ in rows) + " | "
             + " ".join(f"{_zc(m, e, f, fe):.1f}" for m, e, _, _, f, fe in rows))
            for key, (_, _, rows) in tab.items()]


CORRECTION_EVIDENCE = (
    "The correction (nstheory.propagation.pattern_resolved_correction, ours): per sample the "
    "random-W patterns are drawn exactly at d = width (as for the pattern-resolved mean field) "
    "and one channel deviation per weight matrix (and for the inputs); every block's statistic "
    "is differentiated twice along them by antithetic finite differences with the same "
    "patterns, giving the 1/width coefficient (cross terms between independent sources vanish "
    "in the mean). Without attention it reproduces the deterministic 1/width recursion "
    "(tests/propagation/test_pattern_resolved_correction.py). Built after the width-32 runs of "
    "--set random-b had missed the pattern-resolved mean field; explored on one pre-LN model "
    "at width 32 (MC 160 000 networks, one pair each), where Monte Carlo minus corrected was "
    "+0.002 to +0.003 (the O(1/width^2) remainder). The held-out set and these thresholds were "
    "fixed before it ran: `nstheory finite-width-study OUT --set random-c --predict 400000`, "
    "proofs_check/data/propagation_finite_width_random_c.json, seeds 1100-1106, depth 4, 4 "
    "tokens, rho = 0.9, one input pair per network (normalised view), 80 000 networks per run: "
    "pre-LN at widths 32/64/128, post-LN and no residual at 32/64; predictions from 400 000 "
    "samples each (seed + 50 000). ")


def _correction_agrees():
    tab = _correction_table()
    if tab is None:
        return no_stored_measurement(f"{RANDOM_C_DATA.name} (runs and predictions) absent")
    wide = {k: v for k, v in tab.items() if v[0] >= 64}
    rows = [(key, i + 1, n, *r) for key, (_, n, rs) in wide.items() for i, r in enumerate(rs)]

    def zc(r):
        return _zc(r[3], r[4], r[5], r[6])

    def zf(r):
        return _zc(r[3], r[4], r[7], r[8])

    rejected = [r for r in rows if abs(zf(r)) > ZMAX_C]
    if not rejected:
        return no_stored_measurement("no block at widths >= 64 where the mean field is rejected")
    key, block, n, m, e, c, ce, f, _ = max(rejected, key=lambda r: abs(zc(r)))
    res = compare_z(
        f"{key}: MC normalised stability, block {block} (worst |z| over the {len(rejected)} "
        f"blocks at widths 64-128 where the mean field is rejected, |z| > {ZMAX_C:g}; standard "
        "error of MC minus prediction)", m, math.hypot(e, ce), n,
        "pattern-resolved mean field + sampled 1/width correction", c, zmax=ZMAX_C,
        alternative="the pattern-resolved mean field without the correction",
        effect=abs(c - f), note=" ; ".join(f"{a}: {b}" for a, b in _correction_z_lines(tab)))
    worst_all = max(abs(zc(r)) for r in rows)
    runs_rejected = {r[0] for r in rejected}
    res.quantities += [
        (f"largest |z(corrected)| over all {len(rows)} blocks at widths 64-128",
         f"{worst_all:.2f}"),
        ("runs at widths >= 64 whose mean field is rejected at some block",
         f"{len(runs_rejected)} of {len(wide)}")]
    if worst_all > ZMAX_C:
        res.status = Status.REFUTED
    elif len(runs_rejected) < len(wide) and res.status == Status.VERIFIED:
        res.status = Status.INCONCLUSIVE
    return res


def _correction_reduces_miss():
    tab = _correction_table()
    if tab is None:
        return no_stored_measurement(f"{RANDOM_C_DATA.name} (runs and predictions) absent")
    pairs = [(_zc(m, e, f, fe), _zc(m, e, c, ce)) for _, _, rs in tab.values()
             for m, e, c, ce, f, fe in rs]
    smaller = sum(abs(b) < abs(a) for a, b in pairs)
    return attach_power(compare_holds(
        smaller == len(pairs),
        [("blocks (runs x depth)", len(pairs)),
         ("of them with |MC - corrected| < |MC - mean field|", smaller),
         *_correction_z_lines(tab)], tolerance="every block"),
        "a prediction unrelated to the miss (each shrinks with probability <= 1/2)",
        1 - 0.5 ** len(pairs))


_CORRECTION_USES = ("nstheory.propagation.torch_model.monte_carlo",
                    "data:propagation_finite_width_random_c.json")

c = claim(
    "propagation.finite_width.random_attention_corrected",
    "Transformer blocks with random query-key weights (4 tokens, gamma2 = 1, rho = 0.9, depth "
    "4; pre-LN at widths 64 and 128, post-LN at width 64; one input pair per network; held-out "
    "runs): the pattern-resolved mean field at d = width plus its sampled 1/width correction "
    "agrees with the Monte Carlo normalised stability (|z| <= 3.2, standard error of the "
    "difference) at every block, and every run has blocks where the uncorrected value is "
    "rejected (|z| > 3.2).",
    latex=r"|\hat\rho_\ell - \rho^{\mathrm{pr}}_\ell - c_\ell/N| \le 3.2\,\mathrm{se}\ "
          r"\forall \ell,\ N \ge 64",
    provenance="new",
    evidence=CORRECTION_EVIDENCE + (
        "Before the set ran, its no-residual runs (widths 32, 64) were in this claim's scope; the"
        " route refuses them (stored as refused): without a residual stream the near-hard "
        "patterns average the tokens into near-copies at infinite width (median smallest/largest "
        "eigenvalue of the token Gram matrix 1e-8 after block 2, 1e-14 after block 3 at d = 32), "
        "so there is no 1/width expansion around that state. Measured: |z(corrected)| <= 1.6 at "
        "the 12 blocks of widths 64-128 (the mean field: z = -1.4 to -19.1, rejected at 10 of "
        "them); at width 32, outside this claim, the corrected value also agrees (|z| <= 2.0; the"
        " mean field z = -11 to -37), Monte Carlo minus corrected +0.0007 +- 0.0007 (pre-LN) and "
        "+0.0025 +- 0.0013 (post-LN) at block 4 (the O(1/width^2) remainder is not resolved). "
        "Coefficients at block 4 (normalised view): -0.37, -0.35, -0.22 (pre-LN, widths 32, 64, "
        "128), -0.72, -0.67 (post-LN, 32, 64)."
    ),
    fast=False,
    single_evidence="Monte Carlo is the only route independent of the prediction under test "
    "(the correction's own second route, the deterministic recursion on models without "
    "attention, is a test)",
)
c.check("monte-carlo", name="held_out_mc_random_c", uses=_CORRECTION_USES)(
    reports_study(RANDOM_C_DATA)(_correction_agrees))

c = claim(
    "propagation.finite_width.random_attention_corrected_reduces_miss",
    "On the same held-out set, pre-LN at widths 32-128 and post-LN at widths 32 and 64 (20 "
    "blocks): at every block the Monte Carlo normalised stability lies closer to the corrected "
    "value than to the pattern-resolved mean field.",
    latex=r"|\hat\rho_\ell - \rho^{\mathrm{pr}}_\ell - c_\ell/N| < "
          r"|\hat\rho_\ell - \rho^{\mathrm{pr}}_\ell|\ \forall \ell, N",
    provenance="new",
    evidence=CORRECTION_EVIDENCE + "The no-residual runs, in this claim's scope before the set "
    "ran, are refused by the route (collapsed tokens, see propagation.finite_width."
    "random_attention_corrected). All 20 misses shrink, e.g. z = -36.5 -> 2.0, -26.7 -> 1.0, "
    "-14.7 -> -0.0.",
    fast=False,
    single_evidence="Monte Carlo is the only route independent of the prediction under test",
)
c.check("monte-carlo", name="held_out_mc_random_c", uses=_CORRECTION_USES)(
    reports_study(RANDOM_C_DATA)(_correction_reduces_miss))


# --------------------------------------------------------------------------------------------
#: the remainder of that correction: pre-/post-LN at widths 16-64, 400 000 networks each
#: (random-d: widths 16, 32, 64; random-f: 24, 48), and the pre-LN width-32 residual again
#: with 14x the prediction samples (random-h)
RANDOM_D_DATA = DATA.with_name("propagation_finite_width_random_d.json")
RANDOM_F_DATA = DATA.with_name("propagation_finite_width_random_f.json")
RANDOM_H_DATA = DATA.with_name("propagation_finite_width_random_h.json")
RANDOM_D_WIDTHS = (16, 24, 32, 48, 64)
RANDOM_D_BLOCKS = (3, 4)


def _remainder_files(kind: str):
    """The study files (and key suffixes) the ``kind`` check reads: random-h only pre-LN."""
    files = [(RANDOM_D_DATA, "d"), (RANDOM_F_DATA, "f")]
    return [*files, (RANDOM_H_DATA, "h")] if kind == "preln" else files


def _remainder_runs(kind: str):
    """Per width of :data:`RANDOM_D_WIDTHS`: the ``kind`` runs with their predictions, or a
    reason they are absent."""
    from nstheory.store import load_json

    out = {}
    for path, suffix in _remainder_files(kind):
        if not path.exists():
            return f"{path.name} absent"
        data = load_json(path)
        preds = data.get("predictions", {})
        for key, run in data["runs"].items():
            if key.startswith(f"tf_random_{kind}_") and key.endswith(f"_p1_{suffix}"):
                if "blocks" not in preds.get(key, {}):
                    return f"{path.name}: prediction for {key} absent"
                out.setdefault(run["width"], []).append((run, preds[key]["blocks"]))
    missing = [w for w in RANDOM_D_WIDTHS if w not in out]
    return f"{kind} runs at widths {missing} absent" if missing else out


def _residual(runs, block: int):
    """MC minus corrected at ``block`` and its standard error; several runs at one width are
    combined by inverse-variance weights (fixed before random-h ran)."""
    pairs = []
    for run, blocks in runs:
        p = blocks[block - 1]["normalised"]
        pairs.append((run["mean"][block - 1] - p["corrected"],
                      math.hypot(run["stderr"][block - 1], p["corrected_stderr"])))
    weights = [1 / e ** 2 for _, e in pairs]
    return (sum(w * r for w, (r, _) in zip(weights, pairs, strict=True)) / sum(weights),
            1 / math.sqrt(sum(weights)))


def _remainder_order(kind: str):
    """The residual-order check of the ``kind`` (``preln`` / ``postln``) runs of random-d,
    random-f (and random-h)."""
    def check():
        from nstheory.propagation.residual_scaling import fit_exponent
        from proofs_check.propagation_finite_width import _second_order

        runs = _remainder_runs(kind)
        if isinstance(runs, str):
            return no_stored_measurement(runs)
        res, se = [], []
        for b in RANDOM_D_BLOCKS:
            pairs = [_residual(runs[w], b) for w in RANDOM_D_WIDTHS]
            res.append([r for r, _ in pairs])
            se.append([e for _, e in pairs])
        out = _second_order(RANDOM_D_WIDTHS, RANDOM_D_BLOCKS, res, se)
        fit = fit_exponent(RANDOM_D_WIDTHS, res, se)
        if fit.hi >= GRID_END or fit.lo <= 0:  # fixed before the sets ran: unresolved side
            out.status = Status.INCONCLUSIVE
            out.quantities.append(("interval reaches the scanned grid's end (0 or "
                                   f"{GRID_END:g}): that side is unresolved", "inconclusive"))
        return out
    return reports_study(tuple(path for path, _ in _remainder_files(kind)))(check)


#: the end of :func:`~nstheory.propagation.residual_scaling.fit_exponent`'s default grid
GRID_END = 4.0


c = claim(
    "propagation.finite_width.random_attention_remainder_order",
    "Random query-key transformer blocks (4 tokens, gamma2 = 1, rho = 0.9, depth 4, one input "
    "pair per network), pre-LN and post-LN: after subtracting the pattern-resolved mean field "
    "and its sampled 1/width correction, the Monte Carlo residual of the normalised stability "
    "scales as width^-2: the shared exponent fitted at blocks 3 and 4 over widths 16-64 has a "
    "95% interval that contains 2 and excludes 1 (a wrong coefficient would leave a width^-1 "
    "residual).",
    latex=r"|\hat\rho_\ell(N) - \rho^{\mathrm{pr}}_\ell - c_\ell/N| \propto N^{-p},\ p\approx 2",
    provenance="new",
    evidence=CORRECTION_EVIDENCE + (
        "Built after random-c left the O(1/width^2) remainder unresolved; sizes, blocks, widths "
        "and the rule (an interval reaching the scanned grid's end is inconclusive) fixed before "
        "the set ran: `nstheory finite-width-study OUT --set random-d --predict 1000000`, "
        "proofs_check/data/propagation_finite_width_random_d.json, seeds 1200-1205, 400 000 "
        "networks per run, predictions from 1 000 000 samples. Residuals MC - corrected at block "
        "4: pre-LN +0.0033 +- 0.0004, +0.0009 +- 0.0004, -0.0003 +- 0.0005 (widths 16, 32, 64); "
        "post-LN +0.0068 +- 0.0006, +0.0018 +- 0.0007, +0.0018 +- 0.0016. Fitted exponents: pre-"
        "LN 2.1 [1.28, 4: the grid's end, so inconclusive], post-LN 1.7 [1.01, 3.05] (verified, "
        "narrowly). The width-16 and width-32 residuals fall by 3.5-3.7x (an exponent near 1.9); "
        "width 64 does not resolve them. z(corrected) per block: pre-LN w16 1.1 3.0 5.5 7.8, w32 "
        "-0.3 1.1 1.5 2.2, w64 0.1 -0.1 -0.2 -0.6; post-LN w16 -1.5 2.3 6.4 10.9, w32 0.8 2.4 1.7"
        " 2.5, w64 -0.2 0.8 1.2 1.1 (mean field: z = -10 to -140). Then, fixed in writing "
        "before it ran, `--set random-f --predict 1000000` (propagation_finite_width_random_f."
        "json, the same models at widths 24 and 48, seeds 1400-1403, 400 000 networks) and the "
        "same fit and rule over the five widths: residuals at block 4 (widths 16, 24, 32, 48, "
        "64) pre-LN +0.0033, +0.0010, +0.0009, +0.0004, -0.0003 (+- 0.0004-0.0005), post-LN "
        "+0.0068, +0.0028, +0.0018, +0.0002, +0.0018 (+- 0.0006-0.0016); exponents pre-LN 2.48 "
        "[1.6, 4: the grid's end, inconclusive], post-LN 2.23 [1.54, 3.27] (verified). Both "
        "intervals now exclude 1 (the wrong-coefficient alternative); the pre-LN upper side "
        "stayed open because no residual beyond width 24 was resolved. Then, fixed in writing "
        "before it ran, `--set random-h --predict 14000000` (propagation_finite_width_random_h."
        "json: the pre-LN model at width 32 again, seed 1600, 800 000 networks, predictions "
        "from 14 000 000 samples in 14 parts, since the prediction's error dominated), its "
        "width-32 residual pooled with random-d's by inverse variance: +0.00065 +- 0.00016 and "
        "+0.00085 +- 0.00016 at blocks 3 and 4 (pooled block 4: +0.00086 +- 0.00015); pre-LN "
        "exponent 2.02 [1.52, 2.56] (verified)."
    ),
    fast=False,
    single_evidence="the residual exists only as a Monte Carlo measurement",
)
for _kind in ("preln", "postln"):
    c.check("monte-carlo", name=f"fitted_exponent_{_kind}_widths_16_64",
            uses=("nstheory.propagation.torch_model.monte_carlo",
                  "nstheory.propagation.residual_scaling.fit_exponent",
                  *(f"data:{path.name}" for path, _ in _remainder_files(_kind))))(
        _remainder_order(_kind))


# --------------------------------------------------------------------------------------------
#: the correction at width 256, by its combined estimator (post-LN, depth 12)
RANDOM_E_DATA = DATA.with_name("propagation_finite_width_random_e.json")
#: decision threshold of the random-e claim, fixed before the set ran (12 blocks, two-sided
#: Bonferroni at 0.05 gives 2.87; rounded up)
ZMAX_E = 3.0


def _held_out_agrees(path, estimator: str):
    """The rule fixed before the random-e and random-g sets ran: A, the corrected value agrees
    at every block (|z| <= ZMAX_E), and B, the mean field is rejected at some block."""
    tab = _correction_table(path)
    if tab is None:
        return no_stored_measurement(f"{path.name} (runs and predictions) absent")
    rows = [(key, i + 1, n, *r) for key, (_, n, rs) in tab.items() for i, r in enumerate(rs)]
    zc = [_zc(m, e, c, ce) for *_, m, e, c, ce, _, _ in rows]
    zf = [_zc(m, e, f, fe) for *_, m, e, _, _, f, fe in rows]
    worst = max(range(len(rows)), key=lambda i: abs(zc[i]))
    key, block, n, m, e, c, ce, _, _ = rows[worst]
    res = compare_z(
        f"{key}: MC normalised stability, block {block} (the worst |z| of the {len(rows)} "
        "blocks; standard error of MC minus prediction)", m, math.hypot(e, ce), n,
        f"pattern-resolved mean field + sampled 1/width correction ({estimator} estimator)", c,
        zmax=ZMAX_E, note=" ; ".join(f"{a}: {b}" for a, b in _correction_z_lines(tab)))
    # Power of the rule against "no channel effect": then the mean field is the truth and B
    # fails unless some |z(mean field)| exceeds the threshold by chance, so the rule withholds
    # "verified" with probability >= 1 - blocks x P(|N(0,1)| > ZMAX_E) (Bonferroni: any
    # correlation between blocks).
    attach_power(res, "no channel effect: the truth is the pattern-resolved mean field (the "
                 "rule then fails its part B except by chance; Bonferroni over the blocks)",
                 1 - len(rows) * 2 * normal_cdf(-ZMAX_E))
    # part A alone against a coefficient twice the predicted one, at the block where the
    # correction moves the prediction furthest in standard errors of the difference
    strongest = max(rows, key=lambda r: abs(r[5] - r[7]) / math.hypot(r[4], r[6]))
    skey, sblock, _, _, se, sc, sce, sf, _ = strongest
    res.quantities.append((
        f"power of part A alone against a coefficient twice the predicted one, at {skey} "
        f"block {sblock} (where the correction moves the prediction furthest in standard "
        f"errors, by {abs(sc - sf):.4f})",
        f"{z_power(abs(sc - sf), math.hypot(se, sce), ZMAX_E):.2f}"))
    rejected = [f"{r[0]} block {r[1]}" for r, z in zip(rows, zf, strict=True)
                if abs(z) > ZMAX_E]
    res.quantities.append((f"blocks where the mean field is rejected (|z| > {ZMAX_E:g})",
                           ", ".join(rejected) if rejected else "none"))
    if max(abs(z) for z in zc) > ZMAX_E:
        res.status = Status.REFUTED
    elif not rejected and res.status == Status.VERIFIED:
        res.status = Status.INCONCLUSIVE
        res.quantities.append(("the mean field is rejected nowhere: the gap the correction "
                               "explains is not resolved at this size", "inconclusive"))
    return res


def _wide_correction_agrees():
    return _held_out_agrees(RANDOM_E_DATA, "combined")


c = claim(
    "propagation.finite_width.random_attention_corrected_wide",
    "A post-LN transformer with random query-key weights (4 tokens, gamma2 = 1, rho = 0.9, "
    "ReLU MLPs, depth 12) at width = d = 256, one input pair per network (held-out runs): the "
    "pattern-resolved mean field plus its 1/width correction (combined estimator) agrees with "
    "the Monte Carlo normalised stability at every block (|z| <= 3.0), and the uncorrected "
    "value is rejected (|z| > 3.0) at some block.",
    latex=r"|\hat\rho_\ell - \rho^{\mathrm{pr}}_\ell - c_\ell/256| \le 3\,\mathrm{se}\ "
          r"\forall \ell \le 12",
    provenance="new",
    evidence=CORRECTION_EVIDENCE + (
        "At width 256 the pathwise estimator is heavy-tailed (the softmax's curvature near ties "
        "is O(d); its standard error at 100 000 samples was 7-10x that of a 20 000-pair Monte "
        "Carlo); the combined estimator (pathwise and likelihood-ratio derivatives of the "
        "patterns, mixed by regression) has 10-14x smaller per-sample spread at block 4 of a "
        "four-block stack (BENCHMARKS.md); here its corrected values' standard errors are "
        "0.0001-0.0016, 0.3-4.5x the Monte Carlo's. "
        "Built after a width-256 post-LN run (100 pairs per network, seed 0) had sat 1-3.4 "
        "standard errors below the pattern-resolved mean field at layers 5-12. Model, sizes, "
        "threshold and verdict rule fixed in writing before the set ran: `nstheory "
        "finite-width-study OUT --set random-e --predict 600000`, "
        "proofs_check/data/propagation_finite_width_random_e.json, 40 000 networks (projected "
        "sampler, seed 1300), predictions from 600 000 samples in five parts of 120 000 (seeds "
        "51300 + 1000 k; the route's work cap), pooled. Rule: verified if |z(corrected)| <= 3.0 "
        "at all 12 blocks (A) and the mean field is rejected, |z| > 3.0, at some block (B); "
        "inconclusive if A holds without B; refuted if A fails. Measured: z(corrected) -1.04 to "
        "+0.92 at every block; z(mean field) -0.5, -1.0, -2.2, then -4.0 to -10.2 at blocks "
        "4-12. Coefficients (normalised view) -0.15 at block 1 growing to -1.21 +- 0.42 at block "
        "12; MC - mean field at block 10: -0.0039 +- 0.0004, the correction -0.0033 +- 0.0013. "
        "The coefficient's size is resolved to about +-50% per block: part A alone would catch a"
        " coefficient twice the predicted one at a single block with power 0.62 (reported)."
    ),
    fast=False,
    single_evidence="Monte Carlo is the only route independent of the prediction under test",
)
c.check("monte-carlo", name="held_out_mc_random_e",
        uses=("nstheory.propagation.torch_model.monte_carlo",
              "data:propagation_finite_width_random_e.json"))(
    reports_study(RANDOM_E_DATA)(_wide_correction_agrees))


# --------------------------------------------------------------------------------------------
#: the normalised view with 20 input pairs per network (pre-LN, widths 24 and 32)
RANDOM_G_DATA = DATA.with_name("propagation_finite_width_random_g.json")

c = claim(
    "propagation.finite_width.random_attention_corrected_pairs",
    "Pre-LN transformer blocks with random query-key weights (4 tokens, gamma2 = 1, rho = 0.9, "
    "ReLU MLPs, depth 4) at widths 24 and 32 with 20 input pairs per network (held-out runs): "
    "the pattern-resolved mean field plus its 1/width correction, for the per-network ratio "
    "over 20 pairs (two pairs sharing a network, the ratio's second-order expansion), agrees "
    "with the Monte Carlo normalised stability at every block (|z| <= 3.0), and the "
    "uncorrected value is rejected (|z| > 3.0) at some block.",
    latex=r"|\hat\rho^{(20)}_\ell - \rho^{\mathrm{pr},(20)}_\ell - c^{(20)}_\ell/N| \le "
          r"3\,\mathrm{se}\ \forall \ell,\ N \in \{24, 32\}",
    provenance="new",
    evidence=CORRECTION_EVIDENCE + (
        "With several input pairs per network the Monte Carlo's normalised statistic is a "
        "per-network ratio over the pairs, whose mean depends on how they covary through shared "
        "weights (random-b's per_net = 20 runs sat ~0.003 above random-c's one-pair runs at "
        "widths 32-64, block 4). The route "
        "then holds two pairs of one network per sample (shared patterns and channel deviations)"
        " and corrects the ratio's second-order expansion (own spread weighted 1/20, the shared "
        "network's 19/20); without attention it reproduces the deterministic recursion's "
        "cross-pair vertex (tests). Model, sizes, threshold and rule fixed in writing before "
        "the set ran: `nstheory finite-width-study OUT --set random-g --predict 400000`, "
        "proofs_check/data/propagation_finite_width_random_g.json, seeds 1500-1501, 10 000 "
        "networks x 20 pairs, predictions from 400 000 samples in four parts (the work cap), "
        "pathwise estimator. Rule: verified if |z(corrected)| <= 3.0 at all 8 blocks and the "
        "mean field is rejected (|z| > 3.0) at some block. Measured z(corrected) | z(mean "
        "field): width 24 1.0 1.2 1.8 2.2 | -8.1 -13.9 -18.6 -22.0; width 32 0.3 -0.2 -0.4 -0.4 "
        "| -4.9 -9.3 -14.1 -16.9. Coefficients at block 4: -0.26 +- 0.03 (width 24), -0.17 +- "
        "0.04 (width 32), against -0.37 with one pair per network (random-c, width 32). At width "
        "24 Monte Carlo minus corrected grows to +0.0027 +- 0.0012 by block 4 (the O(1/width^2)"
        " remainder, positive as in random-d)."
    ),
    fast=False,
    single_evidence="Monte Carlo is the only route independent of the prediction under test "
    "(without attention the pooled coefficient's second route, the deterministic recursion's "
    "cross-pair vertex, is a test)",
)
c.check("monte-carlo", name="held_out_mc_random_g",
        uses=("nstheory.propagation.torch_model.monte_carlo",
              "data:propagation_finite_width_random_g.json"))(
    reports_study(RANDOM_G_DATA)(lambda: _held_out_agrees(RANDOM_G_DATA, "pathwise")))
