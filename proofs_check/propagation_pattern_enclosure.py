"""Multi-layer random-W attention at d = width: the pattern-resolved mean field, enclosed.

After the first layer that acts non-linearly on a random-W attention output the scalar
mean-field rules are a moment closure (the attention pattern is an O(1) random object). The
pattern-resolved mean field (:mod:`nstheory.propagation.pattern_resolved`) keeps the patterns;
its enclosure (:func:`~nstheory.propagation.pattern_resolved.pattern_resolved_enclosure`) holds
it with probability ``>= 1 - delta`` by the empirical Bernstein bound over almost surely
bounded samples. Routes: that enclosure (numpy, infinite width), random-weight torch models of
width 256 (finite width, independent code), and the certified arb recurrence where the scalar
rules are exact (the attention stack's first layer) and for the closure's own values.
"""

from __future__ import annotations

import functools

from nstheory.claims import attach_power, claim, compare_holds, z_power

RHO = 0.9
D = 256
ZMAX = 4.0
#: stated values: (architecture, layer) -> pattern-resolved C_l, and the scalar closure's C_l
STATED = {("attention", 1): 0.58984, ("attention", 2): 0.4449, ("attention", 6): 0.4030,
          ("preln", 1): 2.3006, ("preln", 6): 8.694}
CLOSURE = {("attention", 2): 0.3638, ("attention", 6): 0.3411, ("preln", 1): 2.2930,
           ("preln", 6): 8.4653}
#: layers a 20 000-pair Monte Carlo can tell from the closure (the alternative)
MC_LAYERS = (("attention", 2), ("attention", 6), ("preln", 6))
SAMPLES = 200_000
DELTA = 1e-6
MC_PAIRS, PER_NET = 20_000, 100


@functools.cache
def _model(arch: str):
    from nstheory.propagation.model import attention_stack, transformer

    if arch == "attention":
        return attention_stack(6, "random", n_tokens=4, d=D)
    return transformer(6, "random", n_tokens=4, d=D)


@functools.cache
def _enclosure(arch: str):
    from nstheory.propagation.pattern_resolved import pattern_resolved_enclosure

    return pattern_resolved_enclosure(_model(arch), RHO, samples=SAMPLES, seed=7, width=D,
                                      delta=DELTA)


@functools.cache
def _mc(arch: str):
    from nstheory.propagation.torch_model import monte_carlo

    return monte_carlo(_model(arch), RHO, width=D, n_nets=MC_PAIRS // PER_NET,
                       per_net=PER_NET, seed=3)


c = claim(
    "propagation.random_attention.pattern_enclosure",
    "Random-W attention at head dimension d = width = 256 (n = 4 tokens, rho = 0.9, 1/sqrt(d) "
    "logits, gamma2 = 1): the infinite-width raw stability C_l with the softmax patterns kept "
    "(the pattern-resolved mean field) is C_1 = 0.58984, C_2 = 0.4449, C_6 = 0.4030 for a stack "
    "of attention layers and C_1 = 2.3006, C_6 = 8.694 for pre-LN transformer blocks (He ReLU "
    "MLPs), where the scalar moment closure gives C_2 = 0.3638, C_6 = 0.3411 and C_1 = 2.2930, "
    "C_6 = 8.4653. An interval holding it with probability >= 1 - 1e-6 at all six layers "
    "(empirical Bernstein, 200 000 pattern samples) meets the 99.9% confidence interval of a "
    "20 000-pair Monte Carlo of width-256 torch models at every layer and is at most 3 times "
    "as wide as that Monte Carlo's 95% confidence interval.",
    latex=r"C_\ell=\mathbb E_{\text{patterns}}\big[C_\ell(K)\big],\ "
    r"|\widehat C-\mathbb E C|\le\sqrt{2VL/N}+\tfrac{7RL}{3(N-1)}",
    provenance="new",
    evidence="Stated values: 10^6 pattern samples, seed 0 (standard errors 0.0002-0.0004 for "
    "the stack, 0.0003-0.001 for the transformer). Sweep at depth 12 (`nstheory propagate "
    "--mode random --depth 12 --rho 0.9 --mc-samples 20000`, seed 0, 200 000 pattern samples, "
    "delta = 1e-6): attention stack, with and without residual; transformer pre-LN, post-LN, "
    "residual without LayerNorm, LayerNorm without residual, neither: every layer of all seven "
    "contained, tightness (enclosure width / MC 95% CI width, largest over the layers) 0.98, "
    "1.03, 0.71, 1.16, 0.55, 0.94, 0.45; the scalar closure misses by up to 40 SE (attention "
    "stack), 8 SE (pre-LN), 20 SE (post-LN), 44 SE (LayerNorm without residual). Post-LN: "
    "the Monte Carlo lies 1-3.4 SE below the pattern-resolved value at "
    "layers 5-12 at width 256 (|z_e| <= 2.95 against the enclosure), with no clear 1/width "
    "trend between widths 128 and 512 at 20 000 pairs.",
    fast=False,
)

_ALT_CLOSURE = "the scalar moment closure's value (stated beside each)"


@c.check("monte-carlo", name="enclosure_holds_the_stated_values",
         uses=("nstheory.propagation.pattern_resolved",))
def _():
    rows, ok = [], True
    for (arch, layer), v in STATED.items():
        e = _enclosure(arch)[layer - 1]
        closure = CLOSURE.get((arch, layer))
        inside = e.lo <= v <= e.hi
        excluded = closure is None or not (e.lo <= closure <= e.hi)
        ok &= inside and excluded
        rows.append((f"{arch} C_{layer}: enclosure (seed 7, {SAMPLES} samples, delta {DELTA:g})",
                     f"[{e.lo:.6f}, {e.hi:.6f}]; stated {v} inside: {inside}"
                     + ("" if closure is None else
                        f"; closure {closure} outside: {excluded}")))
    return compare_holds(ok, rows, tolerance="each stated value inside its layer's enclosure, "
                         "each closure value outside it")


@c.check("monte-carlo", name="torch_monte_carlo_width_256",
         uses=("nstheory.propagation.torch_model.monte_carlo",))
def _():
    rows, ok, power = [], True, 1.0
    for arch, layer in MC_LAYERS:
        m = _mc(arch)[layer - 1]
        v = STATED[(arch, layer)]
        z = (m.mean - v) / m.stderr
        ok &= abs(z) <= ZMAX
        power = min(power, z_power(abs(v - CLOSURE[(arch, layer)]), m.stderr, ZMAX))
        rows.append((f"{arch} C_{layer}: Monte Carlo, width {D}, {MC_PAIRS} pairs, seed 3",
                     f"{m.mean:.6g} ± {m.stderr:.2g}; z = {z:.2f} from stated {v}"))
    return attach_power(compare_holds(ok, rows, tolerance=f"|z| <= {ZMAX:g} at every layer"),
                        _ALT_CLOSURE, power)


@c.check("certified", name="arb_recurrence_where_exact_and_for_the_closure",
         uses=("nstheory.propagation.intervals.interval_propagation",))
def _():
    from nstheory.propagation.intervals import bounds as ball_bounds
    from nstheory.propagation.intervals import interval_propagation

    rows, ok = [], True
    checks = [(("attention", 1), STATED[("attention", 1)], 5e-6)]
    checks += [(k, v, 5e-5) for k, v in CLOSURE.items()]  # four decimals each
    cache = {}
    for (arch, layer), v, half_ulp in checks:
        if arch not in cache:
            cache[arch] = interval_propagation(_model(arch), RHO, 53)
        lo, hi = (float(x) for x in ball_bounds(cache[arch][layer].C, 12))
        good = lo - half_ulp <= v <= hi + half_ulp and hi - lo < 1e-5
        ok &= good
        what = "exact layer" if (arch, layer) == ("attention", 1) else "scalar closure"
        rows.append((f"{arch} C_{layer} ({what}), certified interval (arb, 53 bits)",
                     f"[{lo:.10f}, {hi:.10f}]; stated {v}: {good}"))
    return compare_holds(ok, rows, tolerance="stated value within half a unit of its last "
                         "digit of the certified interval (width < 1e-5)")


@c.check("monte-carlo", name="enclosure_meets_and_is_tight_against_monte_carlo",
         uses=("nstheory.propagation.pattern_resolved",
               "nstheory.propagation.torch_model.monte_carlo"))
def _():
    from nstheory.propagation.compare import distance_z
    from nstheory.stats import normal_quantile

    rows, ok, worst = [], True, 0.0
    for arch in ("attention", "preln"):
        for layer, (e, m) in enumerate(zip(_enclosure(arch), _mc(arch), strict=True), 1):
            z = distance_z(e.lo, e.hi, m.mean, m.stderr)
            tight = (e.hi - e.lo) / (2 * normal_quantile(0.95) * m.stderr)
            ok &= abs(z) <= normal_quantile(0.999) and tight <= 3.0
            worst = max(worst, tight)
            rows.append((f"{arch} layer {layer}: z of the MC mean from the enclosure, tightness",
                         f"{z:.2f}, {tight:.2f}"))
    rows.append(("largest tightness (enclosure width / MC 95% CI width)", f"{worst:.2f}"))
    return compare_holds(ok, rows, tolerance="every layer: the enclosure meets the MC 99.9% CI "
                         "(|z| <= 3.29) and tightness <= 3")
