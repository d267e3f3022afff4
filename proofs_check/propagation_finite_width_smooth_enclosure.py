"""Claims about the certified (arb) enclosure of the 1/width-corrected value for smooth
activations without a closed-form kernel map (tanh, GELU; SiLU uses the same ingredients) and for
erf.

Setting: plain MLPs ``mlp(depth, sigma2, act)`` (Dense(sigma2) -> act, no bias), inputs X with
i.i.d. N(0, 1) entries and Y = rho X + sqrt(1 - rho^2) Z, rho = 0.9, width 128. Views: "raw" =
``E[h(X)_i h(Y)_i]`` (the statistic's mean for any number of input pairs per network);
"normalised" = the mean of the per-network cosine of ONE input pair per network. The enclosed
value is the truncated expansion ``mean field + c / width``; the ``O(1/width^2)`` remainder is
not inside the ball.

Monte Carlo: the one-pair runs ``tanh_d10_w128_p1``, ``gelu_d10_w128_p1`` and
``erf_d5_w128_p1`` of ``proofs_check/data/propagation_finite_width_enclosure.json``
(``nstheory finite-width-study OUT --set one-pair``; 36000, 9000 and 60000 networks, seeds and
counts stored with each run). The counts were fixed from a 400-network pilot (seed 1, not
stored) so that a ``|z| <= 4`` test rejects the mean-field value with power >= 0.9 at every
layer (see ``ONE_PAIR_RUNS`` in :mod:`nstheory.propagation.finite_width_study`); erf is run to
depth 5 only, as its mean-field gap shrinks with depth while the spread grows (layers 7-10 would
need 64000 to 710000 networks). The comparison allows nothing for the ``O(1/width^2)``
remainder (neither does ``propagation.finite_width.enclosure_residual_ln``). The 20-pair run
``tanh_d10_w128`` of ``proofs_check/data/propagation_finite_width.json`` is not used: the
enclosure does not cover that view (it needs the vertex between two independent pairs); it is
held against the float recursion by ``propagation.finite_width.smooth_activations_width128``.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

from nstheory.claims import (
    Status,
    claim,
    compare_holds,
    compare_z,
    no_stored_measurement,
    z_power,
)
from nstheory.store import report_study_on

DATA = Path(__file__).parent / "data" / "propagation_finite_width_enclosure.json"
WIDTH, RHO = 128, 0.9
#: the critical |z| of the Monte Carlo comparison
ZMAX = 4.0
#: power against the mean-field value from which mean field must be rejected
MIN_POWER = 0.9
#: agreement required between the enclosure and the float recursion (the float four-point
#: moments' documented accuracy, ~1e-5 of the coefficient, is ~2e-8 of the corrected value)
MIN_DIGITS = 7
#: the enclosure must be far sharper than that agreement
MAX_RADIUS = 1e-10
#: (activation, sigma2, depth, stored one-pair run)
TANH = ("tanh", 1.5, 10, "tanh_d10_w128_p1")
GELU = ("gelu", 2.0, 10, "gelu_d10_w128_p1")
ERF = ("erf", 1.5, 5, "erf_d5_w128_p1")

_FLOAT_USES = ("nstheory.propagation.finite_width.finite_width_recursion",
               "nstheory.propagation.four_point.four_point_moments",
               "nstheory.propagation.kernel_derivatives.map_derivatives")
_MC_USES = ("nstheory.propagation.torch_model.monte_carlo",
            "study:proofs_check/data/propagation_finite_width_enclosure.json")


def _arb_uses(act: str) -> tuple:
    if act == "erf":
        ingredients = ("nstheory.propagation.erf_enclosure.erf_map_arb",
                       "nstheory.propagation.erf_enclosure.erf_moments_arb")
    else:
        ingredients = ("nstheory.propagation.smooth_enclosure.smooth_ingredients",
                       "nstheory.propagation.smooth_enclosure.cross_map",
                       "nstheory.gaussian.trapezoid.hermite_coefficients_trapezoid")
    return ("nstheory.propagation.finite_width_enclosure_blocks.finite_width_enclosure_blocks",
            *ingredients)


def _model(act: str, sigma2: float, depth: int):
    from nstheory.propagation.model import mlp

    return mlp(depth, sigma2=sigma2, act=act)


@functools.cache
def _enclosure(act: str, sigma2: float, depth: int):
    from nstheory.propagation.finite_width_enclosure_blocks import finite_width_enclosure_blocks

    return finite_width_enclosure_blocks(_model(act, sigma2, depth), RHO)


def _arb_vs_float(act: str, sigma2: float, depth: int):
    """The enclosure's corrected values (raw and one-pair normalised) at every layer against
    the float recursion: >= ``MIN_DIGITS`` agreeing digits, radius < ``MAX_RADIUS``."""
    from nstheory.propagation.finite_width import finite_width_recursion

    balls = _enclosure(act, sigma2, depth)
    floats = finite_width_recursion(_model(act, sigma2, depth), RHO, per_net=1)
    worst, radius = math.inf, 0.0
    for b, f in zip(balls, floats, strict=True):
        for ball, x in ((b.corrected_raw(WIDTH), f.mean_field_raw + f.coef_raw / WIDTH),
                        (b.corrected_normalised(WIDTH), f.corrected_normalised(WIDTH))):
            mid = float(ball.mid())
            radius = max(radius, float(ball.rad()))
            worst = min(worst, -math.log10(max(abs(x - mid) / abs(mid), 1e-17)))
    last_b, last_f = balls[-1], floats[-1]
    return compare_holds(
        worst >= MIN_DIGITS and radius < MAX_RADIUS,
        [(f"{act}: arb enclosure (53 bits), raw, layer {depth}, width {WIDTH}",
          str(last_b.corrected_raw(WIDTH))),
         (f"{act}: float recursion, raw, layer {depth}, width {WIDTH}",
          f"{last_f.mean_field_raw + last_f.coef_raw / WIDTH:.16g}"),
         (f"{act}: arb enclosure (53 bits), normalised (1 pair), layer {depth}",
          str(last_b.corrected_normalised(WIDTH))),
         (f"{act}: float recursion, normalised (1 pair), layer {depth}",
          f"{last_f.corrected_normalised(WIDTH):.16g}"),
         (f"fewest agreeing significant digits over layers 1-{depth} and both views",
          f"{worst:.3g}"),
         ("largest enclosure radius", f"{radius:.3g}")],
        tolerance=f">= {MIN_DIGITS} agreeing digits at every layer; radius < {MAX_RADIUS:g}")


def _one_pair_monte_carlo(act: str, sigma2: float, depth: int, key: str):
    """The stored one-pair Monte Carlo against the enclosed corrected value at every layer.

    Verified iff at every layer ``|MC - corrected| <= ZMAX`` standard errors (the ball's
    midpoint; its radius, below ``MAX_RADIUS``, is ~1e-6 of a standard error) and, at every
    layer where the test has power >= ``MIN_POWER`` against the alternative "no 1/width term"
    (effect ``|c_l| / width``, fixed by the enclosure, not by the data), the mean-field value
    is rejected (``|z| > ZMAX``). Reported through :func:`~nstheory.claims.compare_z` at the
    deciding layer: the worst miss of the corrected value if there is one, else the layer of
    least power against mean field (so the reported power is the smallest over the layers).
    """
    from nstheory.store import load_json

    if not DATA.exists():
        return no_stored_measurement(f"{DATA.name} absent")
    run = load_json(DATA)["runs"].get(key)
    if run is None:
        return no_stored_measurement(f"{DATA.name} ({key}) absent")
    rows = _enclosure(act, sigma2, depth)
    if (run["act"], run["sigma2"], run["depth"], run["width"], run["per_net"], run["rho"]) != (
            act, sigma2, depth, WIDTH, 1, RHO):
        return compare_holds(False, [("stored run", key)], note="the run's setting differs")
    corr = [float(r.corrected_normalised(WIDTH).mid()) for r in rows]
    mf = [float(r.mean_field_normalised.mid()) for r in rows]
    gap = [abs(float(r.coef_normalised.mid())) / WIDTH for r in rows]
    zc = [(m - c) / e for m, e, c in zip(run["mean"], run["stderr"], corr, strict=True)]
    zmf = [(m - f) / e for m, e, f in zip(run["mean"], run["stderr"], mf, strict=True)]
    power = [z_power(g, e, ZMAX) for g, e in zip(gap, run["stderr"], strict=True)]
    missed = [i + 1 for i in range(depth) if power[i] >= MIN_POWER and abs(zmf[i]) <= ZMAX]
    worst = max(range(depth), key=lambda i: abs(zc[i]))
    if abs(zc[worst]) <= ZMAX:
        worst = min(range(depth), key=lambda i: power[i])
    res = compare_z(
        f"{act} MLP (sigma2 {sigma2}): MC normalised stability, layer {worst + 1} of {depth} "
        f"(width {run['width']}, {run['n_nets']} nets x 1 pair, seed {run['seed']})",
        run["mean"][worst], run["stderr"][worst], run["n_nets"],
        "arb enclosure: mean field + c/width (midpoint)", corr[worst], zmax=ZMAX,
        alternative="the mean-field value (no 1/width correction)", effect=gap[worst],
        note="z(corrected) per layer: " + ", ".join(f"{z:.2f}" for z in zc)
        + "; z(mean field): " + ", ".join(f"{z:.1f}" for z in zmf)
        + "; power vs mean field per layer: " + ", ".join(f"{p:.3f}" for p in power))
    res.tolerance = (f"|z| <= {ZMAX:g} at every layer; mean field |z| > {ZMAX:g} at every "
                     f"layer with power >= {MIN_POWER:g} against it")
    if missed and res.status == Status.VERIFIED:
        res.status = Status.REFUTED
        res.note = f"mean field not rejected at the powered layers {missed}; " + res.note
    res.quantities.append(("largest |z| of the corrected value over the layers",
                           f"{max(abs(z) for z in zc):.3g}"))
    res.quantities.append(("smallest |z| of the mean-field value over the layers",
                           f"{min(abs(z) for z in zmf):.3g}"))
    return res


# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width_smooth.enclosure_tanh_mlp",
    "Depth-10 tanh MLP (Dense(1.5) -> tanh), rho = 0.9, width 128: at every layer the 53-bit "
    "arb enclosure of the 1/width-corrected value (mean field + c/width, the O(1/width^2) "
    "remainder excluded), raw and one-pair normalised, has radius < 1e-10 and agrees with the "
    "separately coded float recursion to >= 7 significant digits; the Monte Carlo normalised "
    "stability with one input pair per network lies within 4 standard errors of the enclosed "
    "corrected value at every layer, and rejects the mean-field value (|z| > 4) at every layer "
    "where the test has power >= 0.9 against it.",
    latex=r"\mathrm{arb}\bigl(K^{\mathrm{mf}}_L + c_L/128\bigr) \approx_{7} "
          r"\mathrm{float}\bigl(K^{\mathrm{mf}}_L + c_L/128\bigr) \approx_{4\,\mathrm{se}} "
          r"\mathrm{MC},\ L \le 10\ (\tanh)",
    provenance="textbook:roberts-yaida-hanin (mean metric + four-point vertex, 1/width "
    "expansion)",
    evidence="Certified: arb balls through the whole recursion; every tanh ingredient (kernel "
    "map, its gradient and Hessian by Price's theorem and the heat equation, E tanh^2 and its "
    "q-derivatives, the four-point moments) a Hermite cross kernel map with coefficients from "
    "a certified trapezoidal rule and a rigorous series tail. Precise: the float recursion "
    "(separate code) with 160-node Gauss-Hermite map derivatives and 64-node Gauss-Hermite "
    "four-point moments. They share only the recursion's equations. At layer 10 the enclosure "
    "is [0.1584539272718145, 0.1584539272718236] (raw); the float recursion gives "
    "0.1584539268528781 (8.6 digits): the float route is the less accurate one (its 160-node "
    "Gauss-Hermite d2/dq2 E tanh^2 at q = 1.3 is off by 8e-9, which finite differences of the "
    "mpmath map confirm). Monte Carlo: 36000 random torch networks, one pair each (the count "
    "from a 400-network pilot: power >= 0.9 against mean field at every layer); corrected "
    "|z| <= 1.1 at every layer, mean field z = -7.0 to -11.3 (stored run, seed 504).",
    fast=False,
)
c.check("certified", name="arb_enclosure_vs_float_recursion",
        uses=_arb_uses("tanh") + _FLOAT_USES)(functools.partial(_arb_vs_float, *TANH[:3]))
c.check("monte-carlo", name="stored_one_pair_study", uses=_MC_USES)(
    functools.partial(_one_pair_monte_carlo, *TANH))
report_study_on([c], DATA)

# --------------------------------------------------------------------------------------------
c = claim(
    "propagation.finite_width_smooth.enclosure_gelu_erf_mlp",
    "Depth-10 GELU MLP (Dense(2) -> gelu) and depth-5 erf MLP (Dense(1.5) -> erf), rho = 0.9, "
    "width 128: at every layer the 53-bit arb enclosure of the 1/width-corrected value (mean "
    "field + c/width, the O(1/width^2) remainder excluded), raw and one-pair normalised, has "
    "radius < 1e-10 and agrees with the separately coded float recursion to >= 7 significant "
    "digits; the Monte Carlo normalised stability with one input pair per network lies within "
    "4 standard errors of the enclosed corrected value at every layer, and rejects the "
    "mean-field value (|z| > 4) at every layer where the test has power >= 0.9 against it.",
    latex=r"\mathrm{arb}\bigl(K^{\mathrm{mf}}_L + c_L/128\bigr) \approx_{7} "
          r"\mathrm{float} \approx_{4\,\mathrm{se}} \mathrm{MC}\ "
          r"(\mathrm{GELU}, L \le 10;\ \mathrm{erf}, L \le 5)",
    provenance="textbook:roberts-yaida-hanin (mean metric + four-point vertex, 1/width "
    "expansion)",
    evidence="Certified: GELU as tanh (Hermite cross kernel maps of polynomials in x, Phi and "
    "the normal density); erf: Williams' arcsine map with SymPy derivatives on balls and the "
    "four-point moments by certified one-dimensional integrals. Precise: the float recursion "
    "(separate code, Gauss-Hermite). Monte Carlo: 9000 (GELU) and 60000 (erf) random torch "
    "networks, one pair each, counts from a 400-network pilot (power >= 0.9 against mean field "
    "at every layer; erf stops at depth 5 because its deeper layers would need 64000 to 710000 "
    "networks). GELU at layer 10: in the 20-pair normalised view the corrected value misses "
    "the Monte Carlo by +0.0087 (z = +7, propagation.finite_width.smooth_activations_width128), "
    "while with one pair per network it agrees (z = -0.9 at a standard error of 0.0011, which "
    "would show a miss of that size at z ~ 8): the 20-pair miss is not a breakdown of the "
    "one-pair expansion at this depth; whether it lies in the cross-pair vertex (float "
    "recursion only, not enclosed) or in a larger 20-pair O(1/width^2) remainder is not "
    "resolved here.",
    fast=False,
)
for _spec in (GELU, ERF):
    c.check("certified", name=f"arb_enclosure_vs_float_recursion_{_spec[0]}",
            uses=_arb_uses(_spec[0]) + _FLOAT_USES)(functools.partial(_arb_vs_float, *_spec[:3]))
    c.check("monte-carlo", name=f"stored_one_pair_study_{_spec[0]}", uses=_MC_USES)(
        functools.partial(_one_pair_monte_carlo, *_spec))
report_study_on([c], DATA)
