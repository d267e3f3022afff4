"""Benchmark of nstheory.attention: s_n(r) evaluation and batched attention Monte Carlo.

Run: ``python benchmarks/bench_attention.py [--quick]``. Prints timings and ratios against
baselines measured in the same run (the machine may be loaded; ratios are what count):

* s_n(r) at 15 digits by the matrix-product quadrature (arb_mat products) for n <= 64, vs the
  same trapezoid sums evaluated in pure-mpmath loops (same grid, same accuracy);
* certified s_n(r) near r = 1: the rotated rule vs the tensor rule in (a, b) at the same points
  (``--certified-only`` runs this section alone);
* the deterministic finite-d Stab of identity-W softmax attention vs the Monte Carlo samples
  its accuracy would take;
* the conditional quasi-Monte Carlo Stab of random-W softmax attention vs the Monte Carlo time
  to the same standard error (the conditional route's cost does not grow with n);
* attention Monte Carlo throughput (samples/s) on CPU (and CUDA when present): identity W,
  random W with the projected sampler vs a dense d x d W per sample, float64 vs float32.
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import mpmath


def _time(fn, repeat=1):
    best = math.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def sn_pure_mpmath(n: int, r: float, dps: int = 15):
    """Baseline: the same trapezoid grids as s_n_quadrature, summed with mpmath loops."""
    from nstheory.attention.consistency import quadrature_grid

    g = quadrature_grid(n, r, dps + 3)
    with mpmath.workdps(dps + 10):
        c = mpmath.mpf(r)
        hx = (mpmath.mpf(g["upper"]) - g["lower"]) / g["nx"]
        hw = 2 * mpmath.mpf(g["wmax"]) / g["nw"]
        xs = [g["lower"] + hx * i for i in range(g["nx"] + 1)]
        ws = [-g["wmax"] + hw * j for j in range(g["nw"] + 1)]
        sq, isig = mpmath.sqrt(c), 1 / mpmath.sqrt(1 - c)
        P = [[mpmath.ncdf((x - sq * w) * isig) for w in ws] for x in xs]
        om = [mpmath.npdf(w) * hw for w in ws]
        tot = mpmath.mpf(0)
        for i, x in enumerate(xs):
            for k, y in enumerate(xs):
                F = mpmath.fsum(P[i][j] * P[k][j] * om[j] for j in range(len(ws)))
                dens = mpmath.exp(-(x * x - 2 * c * x * y + y * y) / (2 * (1 - c * c)))
                tot += dens * F ** (n - 1)
        return tot * n * hx * hx / (2 * mpmath.pi * mpmath.sqrt(1 - c * c))


def _conditional_section() -> None:
    """Conditional quasi-Monte Carlo (random and low-rank W) against the Monte Carlo time to
    the same standard error, measured in the same run."""
    from nstheory.attention.montecarlo import attention_stability_mc
    from nstheory.attention.random_finite_d import stab_lowrank_finite_d, stab_random_finite_d

    print("\n## finite-d Stab, softmax (1/sqrt d), rho = 0.5 (conditional QMC vs MC at equal "
          "accuracy)")
    cases = [("random", n, d, None, m) for n, d, m in ((4, 16, 200_000), (256, 64, 4_000),
                                                       (4096, 64, 400))]
    cases += [("lowrank", 4, 64, 16, 100_000), ("lowrank", 256, 64, 4, 4_000)]
    for mode, n, d, rank, mc_samples in cases:
        if mode == "random":
            t_c, r = _time(lambda n=n, d=d: stab_random_finite_d(n, d, 0.5, points=512,
                                                                  replicates=8))
        else:
            t_c, r = _time(lambda n=n, d=d, k=rank: stab_lowrank_finite_d(
                n, d, 0.5, k, points=512, replicates=8))
        t_mc, est = _time(lambda n=n, d=d, m=mc_samples, k=rank, w=mode: attention_stability_mc(
            n, d, 0.5, w, rank=k, samples=m, seed=1, device="cpu", show_progress=False))
        rate = est.stab.n / t_mc
        need = est.stab.variance / r.stderr ** 2
        what = "random W" if mode == "random" else f"low-rank W, rank {rank}"
        print(f"{what}, n={n}, d={d}: conditional QMC (8 x 512 points, "
              f"{r.params['inner_nodes']} inner nodes) {t_c:.2f} s, value {r.value:.6f} +- "
              f"{r.stderr:.1e}; MC {rate:,.0f} samples/s, {est.stab.mean:.4f} +- "
              f"{est.stab.stderr:.1e} after {est.stab.n} samples; the same standard error "
              f"would take ~{need:.0e} MC samples (~{need / rate:.0e} s): x{need / rate / t_c:.1f}")

    from nstheory.attention.quadrature import stab_random_n2_finite_d

    print("\n## finite-d Stab, random W, softmax, n = 2, rho = 0.5 (deterministic Bartlett and "
          "logistic-mixture quadrature vs MC at its error estimate)")
    for d in (16, 64):
        t_q, r = _time(lambda d=d: stab_random_n2_finite_d(0.5, d))
        t_mc, est = _time(lambda d=d: attention_stability_mc(
            2, d, 0.5, "random", samples=400_000, seed=1, device="cpu", show_progress=False))
        rate = est.stab.n / t_mc
        need = est.stab.variance / max(r.error, 1e-16) ** 2
        print(f"d={d}: quadrature (fine + coarse) {t_q:.2f} s, value {r.value:.10f}, error "
              f"estimate {r.error:.1e}; MC {rate:,.0f} samples/s, s.e. {est.stab.stderr:.1e} "
              f"after 4e5 samples; the quadrature's accuracy would need ~{need:.0e} MC samples "
              f"(~{need / rate:.0e} s): x{need / rate / t_q:.0e}")


def _certified_near_one_section(quick: bool) -> None:
    """Certified s_n(r), 15 digits, near r = 1: the rotated rule (used from r = 0.9) against the
    tensor rule in (a, b) (the baseline; its cost grows like (1 - r)^(-3/2))."""
    from nstheory.attention.certified import _tensor_rule, s_n_certified
    from nstheory.attention.consistency import _to_arb
    from nstheory.numerics import arb_precision, bits_for_digits

    print("\n## certified s_n(r) near r = 1, 15 digits: rotated rule vs tensor rule (baseline)")
    for n in ((4, 64) if quick else (4, 16, 64)):
        cells = []
        for r in ("0.9", "0.95", "0.99"):
            t_rot, ball = _time(lambda n=n, r=r: s_n_certified(n, r), repeat=3)
            with arb_precision(bits=bits_for_digits(23) + 2 * n.bit_length()):
                t_ten, ten = _time(lambda n=n, r=r: _tensor_rule(n, _to_arb(r), float(r), 15,
                                                                 None))
            agree = "overlap" if ball.overlaps(ten) else "DISJOINT"
            cells.append(f"r={r}: {t_rot * 1e3:.0f} ms vs {t_ten:.2f} s (x{t_ten / t_rot:.0f}, "
                         f"{agree})")
        far = [(r, _time(lambda n=n, r=r: s_n_certified(n, r))[0])
               for r in ("0.999", "0.99999904632568359375")]
        print(f"n={n}: " + "; ".join(cells) + "; rotated alone: "
              + ", ".join(f"r={r}: {t * 1e3:.0f} ms" for r, t in far))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer cases")
    ap.add_argument("--conditional-only", action="store_true",
                    help="only the conditional quasi-Monte Carlo rows")
    ap.add_argument("--throughput-only", action="store_true",
                    help="only the Monte Carlo throughput rows (CPU and, when present, CUDA)")
    ap.add_argument("--certified-only", action="store_true",
                    help="only the certified s_n rows near r = 1")
    args = ap.parse_args()
    import torch

    from nstheory.attention.consistency import s_n
    from nstheory.attention.montecarlo import argmax_agreement_mc, attention_stability_mc

    torch.set_num_threads(1)
    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}, "
          f"torch {torch.__version__}, 1 torch thread; CUDA: {torch.cuda.is_available()}")
    if args.conditional_only:
        _conditional_section()
        return
    if args.certified_only:
        _certified_near_one_section(args.quick)
        return
    if args.throughput_only:
        _throughput_section()
        return

    print("\n## s_n(r) at 15 digits (matrix-product quadrature; n = 2, 3: closed forms)")
    ns = (2, 3, 4, 8, 16, 32, 64) if not args.quick else (4, 64)
    worst = 0.0
    for r in (0.25, 0.81, 0.95):
        cells = []
        for n in ns:
            t, _ = _time(lambda n=n, r=r: s_n(n, r, dps=15))
            worst = max(worst, t)
            cells.append(f"n={n}: {t * 1e3:.0f} ms")
        print(f"r = {r}: " + ", ".join(cells))
    print(f"slowest s_n evaluation: {worst:.3f} s (target <= 1 s)")

    n, r = 8, 0.25
    t_fast, v_fast = _time(lambda: s_n(n, r, dps=15), repeat=3)
    t_base, v_base = _time(lambda: sn_pure_mpmath(n, r, 15))
    print(f"\nbaseline s_{n}({r}): pure-mpmath sums on the same grid {t_base:.2f} s vs "
          f"arb_mat {t_fast:.3f} s -> speed-up x{t_base / t_fast:.0f}; "
          f"values agree to {float(-mpmath.log10(abs(v_fast - v_base) / v_fast)):.1f} digits")
    t_mc, m = _time(lambda: argmax_agreement_mc(n, r, samples=1_000_000, device="cpu"))
    need = m.variance / (0.5e-15) ** 2
    print(f"baseline plain MC of s_{n}({r}): {m.n / t_mc:,.0f} samples/s; stderr "
          f"{m.stderr:.1e} after 1e6 samples; 15 digits would need ~{need:.0e} samples "
          f"(~{need / (m.n / t_mc) / 3.15e7:.0e} years)")
    _certified_near_one_section(args.quick)

    from nstheory.attention.quadrature import stab_random_hard_n2

    print("\n## finite-d Stab, random W, hard argmax, n = 2, rho = 0.5 (Bartlett quadrature vs MC)")
    for d in (8, 256):
        t4, q4 = _time(lambda d=d: stab_random_hard_n2(0.5, d, nodes=4), repeat=3)
        t5, q5 = _time(lambda d=d: stab_random_hard_n2(0.5, d, nodes=5))
        err = max(abs(q5 - q4), 1e-16)
        t_mc, est = _time(lambda d=d: attention_stability_mc(
            2, d, 0.5, "random", samples=200_000, seed=1, hard=True, scale="none",
            device="cpu", show_progress=False))
        rate = est.stab.n / t_mc
        need = est.stab.variance / err**2
        print(f"d={d}: quadrature 4^10 nodes {t4:.2f} s, 5^10 nodes {t5:.2f} s, value {q5:.10f}, "
              f"4-vs-5-node difference {err:.1e}; MC {rate:,.0f} samples/s, s.e. "
              f"{est.stab.stderr:.1e} after 2e5 samples; the quadrature's accuracy would need "
              f"~{need:.0e} MC samples (~{need / rate:.0e} s): x{need / rate / t4:.0e}")

    from nstheory.attention.identity_finite_d import stab_identity_finite_d

    print("\n## finite-d Stab, identity W, softmax (1/sqrt d), rho = 0.5 "
          "(Laplace-factorised quadrature vs MC)")
    for n, d in ((4, 16), (64, 64)):
        t_q, r = _time(lambda n=n, d=d: stab_identity_finite_d(n, d, 0.5))
        t_mc, est = _time(lambda n=n, d=d: attention_stability_mc(
            n, d, 0.5, "identity", samples=200_000, seed=1, device="cpu", show_progress=False))
        rate = est.stab.n / t_mc
        need = est.stab.variance / max(r.error, 1e-16) ** 2
        print(f"n={n}, d={d}: quadrature (fine + coarse) {t_q:.2f} s, value {r.value:.10f}, "
              f"error estimate {r.error:.1e}; MC {rate:,.0f} samples/s, s.e. "
              f"{est.stab.stderr:.1e} after 2e5 samples; the quadrature's accuracy would need "
              f"~{need:.0e} MC samples (~{need / rate:.0e} s): x{need / rate / t_q:.0e}")

    _conditional_section()
    _throughput_section()


def _throughput_section() -> None:
    import torch

    from nstheory.attention.montecarlo import attention_stability_mc

    print("\n## attention Monte Carlo throughput (samples/s), n = 4, d = 64")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev in devices:
        S = 20000 if dev == "cpu" else 200000
        # warm-up (CUDA context, cuBLAS, kernels), not timed
        attention_stability_mc(4, 64, 0.5, "identity", samples=1000, device=dev,
                               show_progress=False)
        rows = {}
        for label, kw in (
            ("identity float64", dict(mode="identity")),
            ("identity float32", dict(mode="identity", dtype=torch.float32)),
            ("random projected float64", dict(mode="random", scale="none")),
            ("random dense-W float64", dict(mode="random", scale="none", w_sampling="dense")),
            ("lowrank k=16 fixed U", dict(mode="lowrank", rank=16, fresh_weights=False)),
        ):
            mode = kw.pop("mode")
            ss = S if "dense" not in label else S // 4
            est = attention_stability_mc(4, 64, 0.5, mode, samples=ss, device=dev,
                                         show_progress=False, **kw)
            rows[label] = est.throughput
            print(f"{dev}: {label:28s} {est.throughput:12,.0f} samples/s  "
                  f"(Stab {est.stab.mean:.4f} ± {est.stab.stderr:.4f})")
        print(f"{dev}: projected / dense random-W sampler: "
              f"x{rows['random projected float64'] / rows['random dense-W float64']:.1f}; "
              f"float32 / float64 identity: "
              f"x{rows['identity float32'] / rows['identity float64']:.2f}")


if __name__ == "__main__":
    main()
