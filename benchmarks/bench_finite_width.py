"""Benchmark of the finite-width extensions: the arb enclosure of the 1/width-corrected value and
the recursion through transformer blocks, each against the float64 MLP recursion in the same
process; the enclosure with many input pairs per network against one pair; the sampled 1/width
correction of the pattern-resolved mean field (random-W blocks) against the pattern-resolved
route itself, and its three estimators against each other.

Run: ``python benchmarks/bench_finite_width.py``. Timings are best-of-``REPEAT`` wall-clock
seconds.
"""

from __future__ import annotations

import platform
import time

from nstheory.propagation.finite_width import finite_width_recursion
from nstheory.propagation.finite_width_enclosure import finite_width_enclosure
from nstheory.propagation.model import mlp, transformer

REPEAT = 3


def best(fn, repeat=REPEAT):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, python "
          f"{platform.python_version()}")
    finite_width_enclosure(mlp(2), 0.9)          # warm caches (SymPy lambdify)
    finite_width_recursion(transformer(1), 0.9)
    print("\n## arb enclosure of the 1/width-corrected value (He ReLU MLP, 53-bit balls)")
    for depth in (20, 100):
        t_arb = best(lambda d=depth: finite_width_enclosure(mlp(d), 0.9))
        t_flt = best(lambda d=depth: finite_width_recursion(mlp(d), 0.9, per_net=1))
        rad = float(finite_width_enclosure(mlp(depth), 0.9)[-1].corrected_normalised(256).rad())
        print(f"depth {depth}: arb {t_arb:.3f} s; float64 recursion {t_flt:.3f} s; arb / float "
              f"= {t_arb / t_flt:.1f}x; radius of the corrected normalised value at width 256: "
              f"{rad:.3g}")
    print("\n## 1/width recursion through transformer blocks (identity pattern, pre-LN)")
    depth = 100
    t_tf = best(lambda: finite_width_recursion(transformer(depth), 0.9))
    t_mlp = best(lambda: finite_width_recursion(mlp(2 * depth), 0.9))
    print(f"{depth} transformer blocks {t_tf:.3f} s; He ReLU MLP depth {2 * depth} {t_mlp:.3f} s; "
          f"ratio {t_tf / t_mlp:.2f}x")
    _cross_pair_enclosure()
    _random_w_correction()


def _cross_pair_enclosure() -> None:
    """The arb enclosure with 20 input pairs per network (cross-pair vertex) against one pair."""
    from nstheory.propagation.finite_width_enclosure_blocks import finite_width_enclosure_blocks

    print("\n## arb enclosure with 20 input pairs per network (cross-pair vertex) vs one pair")
    for act, depth in (("relu", 20), ("gelu", 10), ("silu", 2)):
        model = mlp(depth, act=act)
        t_one = best(lambda m=model: finite_width_enclosure_blocks(m, 0.9, per_net=1), 1)
        t_20 = best(lambda m=model: finite_width_enclosure_blocks(m, 0.9, per_net=20), 1)
        rad = float(finite_width_enclosure_blocks(model, 0.9, per_net=20)[-1]
                    .corrected_normalised(256).rad())
        print(f"{act} depth {depth}: 20 pairs {t_20:.2f} s; one pair {t_one:.2f} s; ratio "
              f"{t_20 / t_one:.1f}x; radius of the corrected normalised value at width 256 "
              f"{rad:.3g}")


def _random_w_correction() -> None:
    from nstheory.propagation.pattern_resolved import pattern_resolved_mc
    from nstheory.propagation.pattern_resolved_correction import pattern_resolved_correction

    print("\n## sampled 1/width correction, random-W pre-LN transformer, 4 blocks, 4 tokens, "
          "width 32")
    model, samples = transformer(4, "random"), 50_000
    t_cor = best(lambda: pattern_resolved_correction(model, 0.9, 32, samples=samples), 1)
    t_pr = best(lambda: pattern_resolved_mc(model, 0.9, samples=samples, width=32), 1)
    se = pattern_resolved_correction(model, 0.9, 32, samples=samples)[-1].normalised
    print(f"{samples} samples: correction {t_cor:.2f} s; pattern-resolved mean field alone "
          f"{t_pr:.2f} s; ratio {t_cor / t_pr:.1f}x; standard error of the block-4 normalised "
          f"coefficient {se.coef_stderr:.3f} (of the corrected value {se.corrected_stderr:.2g})")
    _estimators()


def _estimators() -> None:
    import time

    from nstheory.propagation.pattern_resolved_correction import pattern_resolved_correction

    print("\n## estimators of the correction, random-W post-LN transformer, 4 blocks, 4 tokens "
          "(20 000 samples; efficiency = pathwise variance x time / estimator's; block 4, "
          "normalised view)")
    model, samples = transformer(4, "random", post_ln=True), 20_000
    for width in (32, 64, 128, 256):
        res = {}
        for est in ("pathwise", "likelihood-ratio", "combined"):
            t0 = time.perf_counter()
            r = pattern_resolved_correction(model, 0.9, width, samples=samples, seed=1,
                                            estimator=est)[-1].normalised
            res[est] = (time.perf_counter() - t0, r.coef_stderr)
        tp, sp = res["pathwise"]
        print(f"width {width}: " + "; ".join(
            f"{est} {t:.1f} s, se {se:.3f}, efficiency {sp ** 2 * tp / (se ** 2 * t):.2f}x"
            for est, (t, se) in res.items()))


if __name__ == "__main__":
    main()
