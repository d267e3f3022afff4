"""Benchmark of the propagation area: interval propagation through depth 1000 and
batched Monte Carlo of random-weight torch models.

Run: ``python benchmarks/bench_propagation.py``. Timings are best-of-``REPEAT`` wall-clock
seconds; ratios compare against baselines measured in the same run.
"""

from __future__ import annotations

import platform
import time

import torch

from nstheory.propagation.intervals import interval_propagation, width
from nstheory.propagation.model import attention_stack, mlp
from nstheory.propagation.recurrence import point_recurrence
from nstheory.propagation.torch_model import monte_carlo

REPEAT = 3


def best(fn, repeat=REPEAT):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def main() -> None:
    torch.set_num_threads(1)
    print(f"machine: {platform.processor() or platform.machine()}, python "
          f"{platform.python_version()}, torch {torch.__version__}, 1 torch thread")
    print("\n## interval propagation, depth 1000, 53 bits")
    for name, model in (("MLP (He ReLU)", mlp(1000)),
                        ("attention (identity, gamma^2 = 0.9, slack 0.01)",
                         attention_stack(1000, gamma2=0.9, pattern_slack=0.01))):
        t_iv = best(lambda m=model: interval_propagation(m, 0.9, bits=53))
        t_fl = best(lambda m=model: point_recurrence(m, 0.9))
        t_mp = best(lambda m=model: point_recurrence(m, 0.9, backend="mpmath", dps=15), 1)
        w = width(interval_propagation(model, 0.9, bits=53)[-1].C)
        print(f"{name}: interval {t_iv:.3f} s (width at depth 1000: {w:.2e}); "
              f"float point {t_fl:.3f} s; mpmath point (15 dps) {t_mp:.3f} s; "
              f"interval / float = {t_iv / t_fl:.1f}x, mpmath / interval = {t_mp / t_iv:.1f}x")
    bench_finite_width()
    print("\n## Monte Carlo, MLP depth 20, width 256, 2000 input pairs (20 nets x 100)")
    model = mlp(20)
    t_batched = best(lambda: monte_carlo(model, 0.9, width=256, n_nets=20, per_net=100,
                                         chunk=10), 1)
    t_single = best(lambda: monte_carlo(model, 0.9, width=256, n_nets=20, per_net=100,
                                        chunk=1), 1)
    print(f"batched (10 nets per GEMM batch): {t_batched:.2f} s; one net at a time: "
          f"{t_single:.2f} s; speed-up {t_single / t_batched:.2f}x; "
          f"{2000 * 20 / t_batched:.0f} sample-layers/s")
    if torch.cuda.is_available():
        t_cuda = best(lambda: monte_carlo(model, 0.9, width=256, n_nets=20, per_net=100,
                                          chunk=20, device="cuda"), 2)  # the first warms up
        print(f"cuda: {t_cuda:.2f} s ({t_batched / t_cuda:.1f}x the CPU batched run)")
    else:
        print("cuda: not available on this machine")
    print("\n## Monte Carlo samplers, MLP depth 20, normalised view, 20 input pairs per network")
    for w, nets in ((256, 100), (1024, 20)):
        t_w = best(lambda w=w, n=nets: monte_carlo(model, 0.9, width=w, n_nets=n, per_net=20,
                                                   chunk=10, view="normalised"), 2)
        t_p = best(lambda w=w, n=nets: monte_carlo(model, 0.9, width=w, n_nets=n, per_net=20,
                                                   chunk=10, view="normalised",
                                                   sampler="projected"), 2)
        print(f"width {w}, {nets} networks: weights drawn (baseline) {t_w:.2f} s; projected "
              f"{t_p:.3f} s; speed-up {t_w / t_p:.1f}x")


def bench_finite_width() -> None:
    """The 1/width recursion (mean kernel + four-point vertex, float64 = 53 bits) through depth
    1000 against the mean-field recurrences it extends."""
    from nstheory.propagation.finite_width import finite_width_recursion, mean_field_only

    print("\n## finite-width (1/width) recursion, He ReLU MLP depth 1000, float64 (53 bits)")
    model = mlp(1000)
    finite_width_recursion(mlp(2), 0.9)  # warm caches (SymPy lambdify, quadrature nodes)
    t_fw = best(lambda: finite_width_recursion(model, 0.9))
    t_mf = best(lambda: mean_field_only(model, 0.9))
    t_pt = best(lambda: point_recurrence(model, 0.9))
    print(f"corrected recursion {t_fw:.3f} s ({1e3 * t_fw / 1000:.2f} ms/layer); mean-field "
          f"kernel map {t_mf:.3f} s; float point recurrence {t_pt:.3f} s; corrected / "
          f"mean-field = {t_fw / t_mf:.1f}x, corrected / point = {t_fw / t_pt:.1f}x")


if __name__ == "__main__":
    main()
