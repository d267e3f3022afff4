"""Claims about one softmax attention layer: Theorems 5.2 and 5.3 (haris2026 §2.3-2.4).

All Stab values are the raw (uncentred) Stab_rho(f_ij) = E[f_ij(X) f_ij(Y)] of one output
coordinate, X in R^{n x d} i.i.d. N(0,1), noise on all n*d coordinates, ||(W_V)_{:,j}|| = 1,
query i = n (last token), no mask; Monte Carlo on torch (CPU here), seeds fixed.
"""

from __future__ import annotations

import functools
import math

import mpmath

from nstheory.claims import (
    attach_power,
    claim,
    compare_digits,
    compare_exact,
    compare_holds,
    compare_z,
    z_power,
)


def _mc(n, d, rho, mode, samples, seed, **kw):
    import torch

    from nstheory.attention.montecarlo import attention_stability_mc

    torch.set_num_threads(1)
    return attention_stability_mc(n, d, rho, mode, samples=samples, seed=seed, device="cpu",
                                  show_progress=False, **kw)


def _label(est, what="raw Stab_rho(f_ij)"):
    p = est.params
    extra = f", rank {p['rank']}" if p.get("rank") else ""
    return (f"MC {what}, {p['mode']} W{extra}, n={p['n']}, d={p['d']}, rho={p['rho']}, "
            f"scale {p['scale']}{', hard argmax' if p['hard'] else ''}, seed {p['seed']}")


def _inline_attention(n, d, rho, mode, samples, seed, scale="sqrt", hard=False, rank=None,
                      chunk=2_000):
    """An independent implementation of the one-layer attention Monte Carlo (written here,
    not :mod:`nstheory.attention.montecarlo`): query token n, value column e_1, W identity,
    a fixed U U^T (U i.i.d. N(0, 1/rank), seeded) or a dense i.i.d. N(0, 1) W drawn afresh
    per sample. Returns ``(Moments of f(X) f(Y), Moments of 1[argmax X = argmax Y])``."""
    import numpy as np
    import torch

    from nstheory.stats import Moments

    torch.set_num_threads(1)
    rng = np.random.Generator(np.random.SFC64(seed))

    def randn(*shape):
        return torch.from_numpy(rng.standard_normal(shape))

    t = {"sqrt": 1 / math.sqrt(d), "linear": 1 / d, "none": 1.0}[scale]
    U = None
    if mode == "lowrank":
        U = randn(d, rank) / math.sqrt(rank)
    stab, agree = Moments(), Moments()
    c = math.sqrt(1 - rho * rho)
    for start in range(0, samples, chunk):
        m = min(chunk, samples - start)
        X = randn(m, n, d)
        Y = rho * X + c * randn(m, n, d)

        def scores(A, W):
            q = A[:, -1]
            if W is None:
                qW = q
            elif W.dim() == 2:
                qW = (q @ U) @ U.T
            else:
                qW = torch.einsum("ma,mab->mb", q, W)
            return t * torch.einsum("mb,mlb->ml", qW, A)

        W = U if mode == "lowrank" else None
        if mode == "random":
            W = randn(m, d, d)
        sx, sy = scores(X, W), scores(Y, W)
        kx, ky = sx.argmax(-1), sy.argmax(-1)
        if hard:
            fx = X[torch.arange(m), kx, 0]
            fy = Y[torch.arange(m), ky, 0]
        else:
            fx = (torch.softmax(sx, -1) * X[:, :, 0]).sum(-1)
            fy = (torch.softmax(sy, -1) * Y[:, :, 0]).sum(-1)
        stab = stab.merge(Moments.from_values(fx * fy))
        agree = agree.merge(Moments.from_values((kx == ky).double()))
    return stab, agree


# ---------------------------------------------------------------- Theorem 5.2 (identity W)

c = claim(
    "attention.thm52.identity_limit",
    "Identity query-key matrix, logits scaled by 1/sqrt(d): as d -> infinity (n fixed) the "
    "attention matrix tends to I_n and Stab_rho(f_ij) -> rho ||(W_V)_{:,j}||^2.",
    latex=r"\lim_{d\to\infty}\mathrm{Stab}_\rho(f_{ij}) = \rho\,\|(W_V)_{:,j}\|_2^2",
    provenance="reconstructed:haris2026 §2.3 Thm 5.2",
    fast=False,
)


_ALT_IDENTITY = ("Stab off the limit by 0.1 (attention keeping a fifth of its mass off the "
                 "diagonal; the 1/d-scaled layer is off by 0.34)")


@c.check("symbolic", name="limit_derivation", uses=("nstheory.attention.theory.thm52_limit",))
def _():
    import sympy as sp

    from nstheory.attention.theory import thm52_limit

    rho = sp.Symbol("rho")
    v = sp.symbols("v_1:4", real=True)
    return compare_exact("SymPy sum_{a,b} v_a v_b E[x_a y_b] (softmax -> e_i, d = 3)",
                         thm52_limit(3), "rho ||v||^2", rho * sum(x**2 for x in v))


@c.check("monte-carlo", name="n4_d256_rho05",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",))
def _():
    est = _mc(4, 256, 0.5, "identity", 10_000, seed=11)
    return compare_z(_label(est), est.stab.mean, est.stab.stderr, est.stab.n,
                     "limit rho ||v||^2", 0.5, alternative=_ALT_IDENTITY, effect=0.1)


@c.check("monte-carlo", name="n8_d128_rho09",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",))
def _():
    est = _mc(8, 128, 0.9, "identity", 10_000, seed=12)
    return compare_z(_label(est), est.stab.mean, est.stab.stderr, est.stab.n,
                     "limit rho ||v||^2", 0.9, alternative=_ALT_IDENTITY, effect=0.1)


c = claim(
    "attention.thm52.finite_d_identity",
    "Theorem 5.2 at finite d, exactly (identity W, logits scaled by 1/sqrt(d), ||v|| = 1): the "
    "raw Stab_rho(f_ij) is 0.436892 at n = 4, d = 16, rho = 0.5 (0.063 below the limit rho) and "
    "0.476691 at n = 2, d = 1, rho = 0.5; the mean self-weight E[a_ii] at n = 4, d = 16 is "
    "0.879849.",
    latex=r"\mathrm{Stab}_{0.5}(f_{ij})\big|_{n=4,d=16}=0.436892\ldots<\rho,\quad "
    r"\mathbb E[a_{ii}]=0.879849\ldots",
    provenance="new",
    evidence="deterministic route: nstheory.attention.identity_finite_d (rotation average, "
    "Bartlett factor of the query pair, the other tokens integrated by a Laplace "
    "factorisation of the two softmax normalisations); error estimates 4e-8 and 5e-8",
    fast=False,
)

_FD_STAB_4_16 = 0.436892
_FD_STAB_2_1 = 0.476691
_FD_SELF_4_16 = 0.879849
_ALT_FD = "the finite-d value off by 0.02 (a third of its gap to the d -> infinity limit rho)"


@c.check("precise", name="laplace_quadrature",
         uses=("nstheory.attention.identity_finite_d", "nstheory.attention.softmax_conditional"))
def _():
    from nstheory.attention.identity_finite_d import (
        self_weight_identity_finite_d,
        stab_identity_finite_d,
    )

    a = stab_identity_finite_d(4, 16, 0.5)
    b = stab_identity_finite_d(2, 1, 0.5)
    w = self_weight_identity_finite_d(4, 16)
    ok = all(abs(r.value - v) <= 5e-7 + r.error and r.error < 1e-6
             for r, v in ((a, _FD_STAB_4_16), (b, _FD_STAB_2_1), (w, _FD_SELF_4_16)))
    return compare_holds(ok, [("Stab n=4 d=16, deterministic quadrature", a.value),
                              ("its error estimate (|fine - coarse|)", a.error),
                              ("Stab n=2 d=1", f"{b.value!r} (error estimate {b.error:.1g})"),
                              ("E[a_ii] n=4 d=16", f"{w.value!r} (error estimate {w.error:.1g})"),
                              ("stated", f"{_FD_STAB_4_16}, {_FD_STAB_2_1}, {_FD_SELF_4_16}")],
                         tolerance="within 5e-7 (the stated 6th decimal) plus the error estimate,"
                         " each estimate < 1e-6")


def _direct_n2_d1(rho: float, m: int) -> float:
    """E[f(X) f(Y)] for n = 2, d = 1 (logit scale 1), written here: an m^4 Gauss-Hermite rule
    over the raw entries (x1, x2, z1, z2), f(a, b) = b + (a - b) sigmoid(b (a - b))."""
    import numpy as np
    from numpy.polynomial.hermite_e import hermegauss

    t, w = hermegauss(m)
    w = w / math.sqrt(2 * math.pi)
    s = math.sqrt(1 - rho * rho)
    x1, x2, z1 = np.meshgrid(t, t, t, indexing="ij", sparse=True)
    w3 = np.einsum("a,b,c->abc", w, w, w)

    def f(a, b):
        u = b * (a - b)
        e = np.exp(-np.abs(u))
        return b + (a - b) * np.where(u >= 0, 1 / (1 + e), e / (1 + e))

    fx = f(x1, x2)
    return sum(w[k] * float((w3 * fx * f(rho * x1 + s * z1, rho * x2 + s * t[k])).sum())
               for k in range(m))


@c.check("precise", name="direct_tensor_rule_n2_d1",
         uses=("proofs_check.attention_theorems._direct_n2_d1",))
def _():
    fine, coarse = _direct_n2_d1(0.5, 64), _direct_n2_d1(0.5, 48)
    ok = abs(fine - _FD_STAB_2_1) <= 5e-7 + abs(fine - coarse)
    return compare_holds(ok, [("Stab n=2 d=1, 64^4 Gauss-Hermite over the raw entries", fine),
                              ("its change from 48^4 nodes", fine - coarse),
                              ("stated", _FD_STAB_2_1)],
                         tolerance="within 5e-7 plus the rule's own change")


@c.check("monte-carlo", name="inline_mc_n2_d1",
         uses=("proofs_check.attention_theorems._inline_attention",))
def _():
    stab, _ = _inline_attention(2, 1, 0.5, "identity", 150_000, seed=21)
    return compare_z("MC raw Stab_0.5(f_ij), identity W, n=2, d=1, seed 21 (implementation "
                     "written in this check module)", stab.mean, stab.stderr, stab.n,
                     "stated 0.476691", _FD_STAB_2_1, alternative=_ALT_FD, effect=0.02)


@functools.lru_cache(maxsize=1)
def _mc_n4_d16():
    return _mc(4, 16, 0.5, "identity", 150_000, seed=22)


@c.check("monte-carlo", name="library_mc_n4_d16",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",))
def _():
    est = _mc_n4_d16()
    return compare_z(_label(est), est.stab.mean, est.stab.stderr, est.stab.n, "stated 0.436892",
                     _FD_STAB_4_16, alternative=_ALT_FD, effect=0.02)


@c.check("monte-carlo", name="library_mc_self_weight_n4_d16",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",))
def _():
    est = _mc_n4_d16()
    return compare_z(_label(est, "mean self-weight E[a_ii] = 1 - E[1 - a_ii]"),
                     1 - est.offdiag.mean, est.offdiag.stderr, est.offdiag.n, "stated 0.879849",
                     _FD_SELF_4_16, alternative="E[a_ii] off by 0.005", effect=0.005)


c = claim(
    "attention.thm52.deviation_bound",
    "For identity W with logit scale t, |Stab_rho(f_ij) - rho||v||^2| <= 2||v|| sqrt(G) + G "
    "with G = (n-1) sqrt(12 m) ||v||^2 and m = E[exp(t(x_i.x_l - |x_i|^2))] = "
    "(1 + 2t - t^2)^(-d/2); for t = 1/sqrt(d) the bound decays like exp(-sqrt(d)/4).",
    latex=r"|\mathrm{Stab}-\rho\|v\|^2|\le 2\|v\|\sqrt G+G,\ G=(n-1)\sqrt{12m}\|v\|^2,\ "
    r"m=(1+2t-t^2)^{-d/2}",
    provenance="new",
    evidence="proof in nstheory.attention.theory.thm52_deviation_bound; the bound is valid but "
    "loose (vacuous below d ~ 200; 0.17 at d = 256, 0.0031 at d = 1024 for n = 4)",
    fast=False,
)


@c.check("precise", name="lemma_m_closed_form_vs_quadrature", uses=("mpmath.quad:chi2-density",))
def _():
    # m = E_{u ~ chi2_d}[exp((t^2/2 - t) u)] by quadrature of the chi-square density.
    d, t = 64, mpmath.mpf(1) / 8
    with mpmath.workdps(30):
        s = t * t / 2 - t
        dens = lambda u: u ** (mpmath.mpf(d) / 2 - 1) * mpmath.exp(-u / 2) / (  # noqa: E731
            2 ** (mpmath.mpf(d) / 2) * mpmath.gamma(mpmath.mpf(d) / 2))
        quad = mpmath.quad(lambda u: dens(u) * mpmath.exp(s * u), [0, d, 4 * d, mpmath.inf])
        closed = (1 + 2 * t - t * t) ** (-mpmath.mpf(d) / 2)
    return compare_digits("m by quadrature of the chi-square(64) density, t = 1/8", quad,
                          "m = (1 + 2t - t^2)^(-d/2)", closed, min_digits=25)


@c.check("monte-carlo", name="lemma_m_sampled", uses=("torch-mc:lemma-m",))
def _():
    import torch

    torch.set_num_threads(1)
    d, t, N = 16, 0.25, 400_000
    g = torch.Generator().manual_seed(5)
    xi = torch.randn(N, d, generator=g, dtype=torch.float64)
    xl = torch.randn(N, d, generator=g, dtype=torch.float64)
    vals = torch.exp(t * ((xi * xl).sum(-1) - (xi * xi).sum(-1)))
    from nstheory.stats import Moments

    m = Moments.from_values(vals)
    closed = (1 + 2 * t - t * t) ** (-d / 2)
    return compare_z("MC E[exp(t(x_i.x_l - |x_i|^2))], d=16, t=1/4, seed 5", m.mean, m.stderr,
                     m.n, "(1 + 2t - t^2)^(-d/2)", closed,
                     alternative="m off by 10% (e.g. (1 + 2t)^(-d/2), dropping t^2, is 20% "
                     "smaller)", effect=0.1 * closed)


@c.check("monte-carlo", name="bound_holds_d256",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",
               "nstheory.attention.theory.thm52_deviation_bound"))
def _():
    from nstheory.attention.theory import thm52_deviation_bound

    est = _mc(4, 256, 0.5, "identity", 10_000, seed=13)
    B = float(thm52_deviation_bound(4, 256, 1 / 16))
    dev = abs(est.stab.mean - 0.5)
    res = compare_holds(dev - 4 * est.stab.stderr <= B,
                        [(_label(est) + " minus rho", f"{est.stab.mean - 0.5:+.5f} ± "
                          f"{est.stab.stderr:.5f}"), ("proved bound B(n=4, d=256)", B)],
                        tolerance="|MC - rho| - 4 stderr <= B")
    # a true deviation of B + 0.1 is flagged when the estimate exceeds B by 4 s.e.
    return attach_power(res, "a true deviation exceeding the bound by 0.1",
                        z_power(0.1, est.stab.stderr, 4))


c = claim(
    "attention.thm52.linear_scale_limit",
    "With logits scaled by 1/d (not 1/sqrt(d)) Theorem 5.2 fails: the logits tend to 1 on the "
    "diagonal and 0 elsewhere, the attention row to (e, 1, ..., 1)/(e + n - 1), and Stab_rho -> "
    "rho ||v||^2 (e^2 + n - 1)/(e + n - 1)^2 (0.1589 for n = 4, rho = 0.5), not rho ||v||^2.",
    latex=r"\mathrm{Stab}_\rho\to\rho\|v\|^2\frac{e^2+n-1}{(e+n-1)^2}\quad(\text{scale }1/d)",
    provenance="new",
    fast=False,
)


@c.check("symbolic", name="softmax_of_limit_logits", uses=("sympy:softmax-of-limit-logits",))
def _():
    import sympy as sp

    from nstheory.attention.theory import thm52_limit_linear_scale

    n = 4
    logits = [sp.Integer(1)] + [sp.Integer(0)] * (n - 1)  # E[x_i.x_i/d] = 1, E[x_i.x_l/d] = 0
    Z = sum(sp.exp(x) for x in logits)
    a = [sp.exp(x) / Z for x in logits]
    rho = sp.Symbol("rho")
    return compare_exact("rho * sum_l softmax(1,0,0,0)_l^2 (SymPy)", rho * sum(x**2 for x in a),
                         "thm52_limit_linear_scale(4)", thm52_limit_linear_scale(4))


@c.check("monte-carlo", name="n4_d512_rho05",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",))
def _():
    est = _mc(4, 512, 0.5, "identity", 8_000, seed=14, scale="linear")
    lim = 0.5 * (math.e**2 + 3) / (math.e + 3) ** 2
    return compare_z(_label(est), est.stab.mean, est.stab.stderr, est.stab.n,
                     "rho (e^2+3)/(e+3)^2", lim,
                     alternative="Theorem 5.2's limit rho ||v||^2 = 0.5", effect=0.5 - lim,
                     note=f"Thm 5.2's rho||v||^2 = 0.5 is "
                     f"{(0.5 - est.stab.mean) / est.stab.stderr:.0f} standard errors away")


c = claim(
    "attention.thm52.lowrank_jl",
    "Low-rank query-key W = U U^T (U i.i.d. N(0, 1/k), so E[U U^T] = I) reduces to the identity "
    "case: at d = 256 with rank k >= 16, Stab_rho(f_ij) = rho ||v||^2 within Monte Carlo error "
    "(for k = 1, 4 it does not: the diagonal then often loses the argmax).",
    latex=r"W=UU^\top,\ k\ge16:\ \mathrm{Stab}_\rho\approx\rho\|v\|^2",
    provenance="reconstructed:haris2026 §2.3 (low-rank case via Johnson-Lindenstrauss)",
    evidence="measured (n=4, d=256, rho=0.5, 20k samples, fresh U): Stab = 0.194 (k=1), 0.360 "
    "(k=4), 0.501 (k=16), 0.495 (k=64); rank and error terms of the paper's statement unknown. "
    "'Within Monte Carlo error' is the checks' precision here (s.e. ~0.01 at 10k samples): the "
    "conditional route of attention.lowrank.finite_d_rank16 puts rank 16 at d = 256 (U drawn "
    "with the tokens) at 0.4940 +- 0.0002, 0.006 below rho, and rank 32 at 0.4995",
    fast=False,
)


_ALT_LOWRANK = ("Stab 0.1 below the identity limit (rank 4 measures 0.14 below, rank 1 0.31 "
                "below)")


@c.check("monte-carlo", name="rank16_d256",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",))
def _():
    est = _mc(4, 256, 0.5, "lowrank", 10_000, seed=15, rank=16, fresh_weights=False)
    return compare_z(_label(est) + " (one fixed U)", est.stab.mean, est.stab.stderr, est.stab.n,
                     "identity limit rho ||v||^2", 0.5, alternative=_ALT_LOWRANK, effect=0.1)


@c.check("monte-carlo", name="inline_rank16_d256",
         uses=("proofs_check.attention_theorems._inline_attention",))
def _():
    stab, _ = _inline_attention(4, 256, 0.5, "lowrank", 10_000, seed=18, rank=16)
    return compare_z("MC raw Stab_0.5(f_ij), W = U U^T rank 16 (one fixed U), n=4, d=256, "
                     "1/sqrt(d) scale, seed 18 (implementation written in this check module)",
                     stab.mean, stab.stderr, stab.n, "identity limit rho ||v||^2", 0.5,
                     alternative=_ALT_LOWRANK, effect=0.1)


@c.check("monte-carlo", name="rank1_fails",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",))
def _():
    est = _mc(4, 256, 0.5, "lowrank", 10_000, seed=17, rank=1, fresh_weights=False)
    z = (est.stab.mean - 0.5) / est.stab.stderr
    res = compare_holds(z < -4, [(_label(est) + " (one fixed U)", f"{est.stab.mean:.5f} ± "
                                  f"{est.stab.stderr:.5f}"), ("z against rho ||v||^2", z)],
                        tolerance="rank 1 is far below the identity limit: z < -4")
    return attach_power(res, "rank 1 below the identity limit by 0.1",
                        z_power(0.1, est.stab.stderr, 4))


@c.check("monte-carlo", name="rank64_d256",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",))
def _():
    est = _mc(8, 256, 0.9, "lowrank", 10_000, seed=16, rank=64, fresh_weights=False)
    return compare_z(_label(est) + " (one fixed U)", est.stab.mean, est.stab.stderr, est.stab.n,
                     "identity limit rho ||v||^2", 0.9, alternative=_ALT_LOWRANK, effect=0.1)


# ---------------------------------------------------------------- Theorem 5.3 (random W)

c = claim(
    "attention.thm53.score_correlation",
    "For any fixed W, the score pairs (x_i^T W x_l, y_i^T W y_l) have correlation exactly "
    "rho^2, for l != i and also for the diagonal l = i (where the covariance is "
    "rho^2 (||W||_F^2 + tr W^2)).",
    latex=r"\mathrm{corr}(x_i^\top Wx_l,\ y_i^\top Wy_l)=\rho^2",
    provenance="reconstructed:haris2026 §2.4",
)


def _isserlis_cov(d: int, diagonal: bool):
    """SymPy covariance of the score pair for symbolic W (d x d) by Wick/Isserlis."""
    import sympy as sp

    rho = sp.Symbol("rho")
    W = sp.Matrix(d, d, lambda a, b: sp.Symbol(f"w{a}{b}"))

    def E2(p, q):  # covariance of two coordinates: x and y vectors of token i and l
        (ta, ia, ka), (tb, ib, kb) = p, q
        if ia != ib or ka != kb:
            return 0
        return 1 if ta == tb else rho

    def E4(a, b, c_, e):
        return E2(a, b) * E2(c_, e) + E2(a, c_) * E2(b, e) + E2(a, e) * E2(b, c_)

    li = 0 if diagonal else 1
    cov = 0
    for a in range(d):
        for b in range(d):
            for c_ in range(d):
                for e in range(d):
                    w = W[a, b] * W[c_, e]
                    if w == 0:
                        continue
                    m = E4(("x", 0, a), ("x", li, b), ("y", 0, c_), ("y", li, e))
                    mean = E2(("x", 0, a), ("x", li, b)) * E2(("y", 0, c_), ("y", li, e))
                    cov += w * (m - mean)
    return sp.expand(cov), W, rho


@c.check("symbolic", name="isserlis_d2", uses=("sympy:isserlis-d2",))
def _():
    import sympy as sp

    out = []
    for diagonal in (False, True):
        cov, _, rho = _isserlis_cov(2, diagonal)
        var = cov.subs(rho, 1)
        out.append(sp.simplify(cov / var))
    rho = sp.Symbol("rho")
    return compare_exact("SymPy corr of score pairs for symbolic 2x2 W (off-diagonal, diagonal)",
                         tuple(out), "(rho^2, rho^2)", (rho**2, rho**2))


@c.check("monte-carlo", name="sampled_fixed_W", uses=("torch-mc:score-pairs-batch-means",))
def _():
    import torch

    torch.set_num_threads(1)
    d, rho, N = 8, 0.6, 100_000
    g = torch.Generator().manual_seed(21)
    W = torch.randn(d, d, generator=g, dtype=torch.float64)
    X = torch.randn(N, 2, d, generator=g, dtype=torch.float64)
    Y = rho * X + math.sqrt(1 - rho * rho) * torch.randn(N, 2, d, generator=g,
                                                           dtype=torch.float64)
    sx = ((X[:, 0] @ W) * X[:, 1]).sum(-1)
    sy = ((Y[:, 0] @ W) * Y[:, 1]).sum(-1)
    # batch means: the sample correlation of each of 50 batches of 2000 pairs; their mean and
    # standard error make no Gaussian assumption about the (heavy-tailed) score pairs
    B = 50
    rs = torch.stack([torch.corrcoef(torch.stack([a, b]))[0, 1]
                      for a, b in zip(sx.chunk(B), sy.chunk(B), strict=True)])
    from nstheory.stats import Moments

    m = Moments.from_values(rs)
    return compare_z("MC corr of off-diagonal score pair, fixed W (d=8), rho=0.6, seed 21; "
                     "mean of 50 batch correlations (2000 pairs each)", m.mean, m.stderr, N,
                     "rho^2", rho * rho,
                     alternative="corr off rho^2 by 10% (0.036); corr = rho would be 0.24 off",
                     effect=0.036)


c = claim(
    "attention.thm53.argmax_consistency",
    "Random W (i.i.d. N(0,1)), unscaled logits, d = 64: the probability that X and its "
    "rho-correlated copy Y select the same token k = k' is s_n(rho^2).",
    latex=r"P(k=k') = s_n(\rho^2)",
    provenance="reconstructed:haris2026 §2.4 Thm 5.3 (s(rho) = P(k = k'))",
    fast=False,
)


_ALT_AGREE = ("agreement 0.02 away from s_n(rho^2) (the random-W layer's P(k = k') measured "
              "within 0.004 of it)")


@c.check("monte-carlo", name="n4_rho05",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",
               "nstheory.attention.consistency.s_n_quadrature"))
def _():
    from nstheory.attention.consistency import s_n

    est = _mc(4, 64, 0.5, "random", 40_000, seed=31, scale="none", hard=True)
    return compare_z(_label(est, "P(k = k')"), est.agree.mean, est.agree.stderr, est.agree.n,
                     "s_4(0.25) quadrature", float(s_n(4, 0.25)), alternative=_ALT_AGREE,
                     effect=0.02)


@c.check("monte-carlo", name="n8_rho07",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",
               "nstheory.attention.consistency.s_n_quadrature"))
def _():
    from nstheory.attention.consistency import s_n

    est = _mc(8, 64, 0.7, "random", 40_000, seed=32, scale="none", hard=True)
    return compare_z(_label(est, "P(k = k')"), est.agree.mean, est.agree.stderr, est.agree.n,
                     "s_8(0.49) quadrature", float(s_n(8, 0.49)), alternative=_ALT_AGREE,
                     effect=0.02)


@c.check("monte-carlo", name="inline_n3_rho05",
         uses=("proofs_check.attention_theorems._inline_attention", "closed-form:s3"))
def _():
    from nstheory.attention.consistency import s3_closed_form

    _, agree = _inline_attention(3, 64, 0.5, "random", 20_000, seed=33, scale="none",
                                 hard=True)
    s3 = float(s3_closed_form(0.25))
    return compare_z("MC P(k = k'), dense random W per sample, n=3, d=64, rho=0.5, unscaled, "
                     "seed 33 (implementation written in this check module)", agree.mean,
                     agree.stderr, agree.n, "s_3(0.25) Plackett closed form (mpmath)", s3,
                     alternative=_ALT_AGREE, effect=0.02)


c = claim(
    "attention.thm53.stab_finite_d",
    "Reconstructed Thm 5.3 read at finite d: for random W and unscaled logits, "
    "Stab_rho(f_ij) = rho s_n(rho^2) ||v||^2 at rho = 0.5 for (n, d) = (4, 16), (4, 8) and "
    "(2, 1).",
    latex=r"\mathrm{Stab}_\rho = \rho\,s_n(\rho^2)\|v\|^2\ \ (d=1, 8, 16)",
    provenance="reconstructed:haris2026 §2.4 Thm 5.3",
    expect="refuted",
    refutation_kind="our-reading",
    evidence="Stab sits above rho*s by a gap that shrinks like ~0.5/d (n=4, rho=0.5, 400k "
    "samples each): +0.062 (d=8), +0.030 (d=16), +0.018 (d=32), +0.0094 (d=64), +0.0049 "
    "(d=128), +0.0013 (d=256), s.e. 0.0017; the agreement P(k=k') itself matches s_n(rho^2) "
    "within 0.004. The formula is a d -> infinity statement, the reconstruction's own d = 64 "
    "table shows the same positive gap. At (n, d) = (2, 1) a deterministic 5-D Gauss-Hermite "
    "quadrature gives 0.3376 (24 vs 32 nodes differ by 8e-4; MC 0.3368 +- 0.0013) against "
    "rho s_2(rho^2) = 0.2902.",
    fast=False,
)


@c.check("precise", name="gauss_hermite_n2_d1",
         uses=("nstheory.attention.quadrature.stab_random_d1_n2", "closed-form:s2"))
def _():
    from nstheory.attention.consistency import s2_closed_form
    from nstheory.attention.quadrature import stab_random_d1_n2

    coarse, fine = stab_random_d1_n2(0.5, 24), stab_random_d1_n2(0.5, 32)
    err = abs(fine - coarse)  # the rule converges monotonically here: a generous estimate
    theory = 0.5 * float(s2_closed_form(0.25))
    return compare_holds(
        abs(fine - theory) <= 10 * err,
        [("raw Stab_0.5(f_2), n=2, d=1, random W, unscaled: Gauss-Hermite 32^5 nodes", fine),
         ("same, 24^5 nodes (error estimate = difference)", coarse),
         ("rho s_2(rho^2) ||v||^2 (Sheppard closed form)", theory)],
        tolerance="|quadrature - theory| <= 10 x (32-node - 24-node difference)",
    )


@c.check("monte-carlo", name="projected_W_d16",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",
               "nstheory.attention.consistency.s_n_quadrature"))
def _():
    from nstheory.attention.consistency import s_n

    est = _mc(4, 16, 0.5, "random", 100_000, seed=41, scale="none")
    return compare_z(_label(est) + " (W sampled via its projections)", est.stab.mean,
                     est.stab.stderr, est.stab.n, "rho s_4(0.25) ||v||^2",
                     0.5 * float(s_n(4, 0.25)),
                     alternative="the finite-d gap ~0.5/d (0.031 at d = 16)", effect=0.5 / 16)


@c.check("monte-carlo", name="dense_W_d8",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",
               "nstheory.attention.consistency.s_n_quadrature"))
def _():
    from nstheory.attention.consistency import s_n

    est = _mc(4, 8, 0.5, "random", 40_000, seed=42, scale="none", w_sampling="dense")
    return compare_z(_label(est) + " (dense W per sample)", est.stab.mean, est.stab.stderr,
                     est.stab.n, "rho s_4(0.25) ||v||^2", 0.5 * float(s_n(4, 0.25)),
                     alternative="the finite-d gap ~0.5/d (0.062 at d = 8)", effect=0.5 / 8)


c = claim(
    "attention.thm53.stab_large_d",
    "Reconstructed Thm 5.3 as a large-d statement: for random W, Stab_rho(f_ij) -> "
    "rho s_n(rho^2) ||v||^2 as d -> infinity, with a gap of order 1/d that at d = 256 is below "
    "Monte Carlo resolution (rho = 0.5; n = 2 exactly in d for hard argmax, n = 2 and 4 at "
    "d = 256 with softmax).",
    latex=r"\mathrm{Stab}_\rho = \rho\,s_n(\rho^2)\|v\|^2 + O(1/d)\ \ (d\to\infty)",
    provenance="reconstructed:haris2026 §2.4 Thm 5.3",
    evidence="Integrating W out exactly (Bartlett quadrature over the 4 x 4 Gram matrix, "
    "n = 2, hard argmax): Stab(256) = 0.2910324468, gap 8.17e-4 = 0.209/d; the values at "
    "d = 256 ... 4096 extrapolated in 1/d give 0.290215311628 = rho s_2(rho^2) to ~14 digits. "
    "Monte Carlo at d = 256 (20k samples, s.e. ~0.0075) agrees for n = 2 (1/sqrt(d) scale) and "
    "n = 4 (unscaled), and a second Monte Carlo written in the check module (projected W "
    "draws) agrees for n = 4; random W at n = 4 and finite d has no deterministic route.",
    fast=False,
)


_LARGE_D = (256, 512, 1024, 2048, 4096)
_ALT_LARGE_D = "a gap of 0.05 from rho s_n(rho^2) ||v||^2 (the d = 8 gap is 0.062)"


@c.check("precise", name="bartlett_n2_limit",
         uses=("nstheory.attention.quadrature.stab_random_hard_n2",
               "nstheory.attention.quadrature.extrapolate_in_inverse_d",
               "closed-form:s2"))
def _():
    from nstheory.attention.consistency import s2_closed_form
    from nstheory.attention.quadrature import extrapolate_in_inverse_d, stab_random_hard_n2

    vals = [stab_random_hard_n2(0.5, d, nodes=4) for d in _LARGE_D]
    limit, err = extrapolate_in_inverse_d(_LARGE_D, vals)
    return compare_digits(
        "d -> inf limit of raw Stab_0.5(f_ij), n=2, random W, hard argmax: Bartlett "
        f"quadrature (4^10 nodes) at d = {', '.join(map(str, _LARGE_D))}, Neville in 1/d",
        limit, "rho s_2(rho^2) ||v||^2 (Sheppard closed form)",
        0.5 * float(s2_closed_form(0.25)), min_digits=10,
        note=f"extrapolation error estimate (drop d = 256): {err:.1e}")


@c.check("precise", name="bartlett_n2_gap_d256",
         uses=("nstheory.attention.quadrature.stab_random_hard_n2", "closed-form:s2"))
def _():
    from nstheory.attention.consistency import s2_closed_form
    from nstheory.attention.quadrature import stab_random_hard_n2

    theory = 0.5 * float(s2_closed_form(0.25))
    g256 = stab_random_hard_n2(0.5, 256, nodes=5) - theory
    g256_coarse = stab_random_hard_n2(0.5, 256, nodes=4) - theory
    g1024 = stab_random_hard_n2(0.5, 1024, nodes=5) - theory
    # the MC checks of this claim have s.e. ~0.0075 at 20k samples: "below resolution" means
    # the gap is under one standard error; O(1/d) means d * gap is (nearly) constant
    ok = 0 < g256 < 0.007 and abs(1024 * g1024 / (256 * g256) - 1) < 0.01
    return compare_holds(
        ok,
        [("gap Stab - rho s_2(rho^2) at d = 256, n=2, hard argmax, Bartlett 5^10 nodes", g256),
         ("same gap with 4^10 nodes (quadrature error estimate)", g256_coarse),
         ("256 x gap(256)", 256 * g256), ("1024 x gap(1024)", 1024 * g1024)],
        tolerance="0 < gap(256) < 0.007 (under one MC s.e.) and d x gap constant to 1% "
        "(256 vs 1024)",
    )


@c.check("monte-carlo", name="n4_d256",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",
               "nstheory.attention.consistency.s_n_quadrature"))
def _():
    from nstheory.attention.consistency import s_n

    est = _mc(4, 256, 0.5, "random", 20_000, seed=51, scale="none")
    return compare_z(_label(est), est.stab.mean, est.stab.stderr, est.stab.n,
                     "rho s_4(0.25) ||v||^2", 0.5 * float(s_n(4, 0.25)),
                     alternative=_ALT_LARGE_D, effect=0.05)


def _inline_random_projected(n, d, rho, samples, seed, scale="none", chunk=4_000):
    """A second, independent Monte Carlo of the random-W layer (numpy, written here): a fresh
    i.i.d. N(0, 1) W per sample enters query n's logits only through u = W^T x_n and
    u' = W^T y_n, which given (x_n, y_n) are Gaussian with covariance
    [[|x_n|^2, x_n.y_n], [x_n.y_n, |y_n|^2]] (x) I_d; value column e_1. Returns the mean and
    standard error of f(X) f(Y)."""
    import numpy as np

    rng = np.random.Generator(np.random.PCG64(seed))
    t = {"sqrt": 1 / math.sqrt(d), "linear": 1 / d, "none": 1.0}[scale]
    c = math.sqrt(1 - rho * rho)
    vals = []
    for start in range(0, samples, chunk):
        m = min(chunk, samples - start)
        X = rng.standard_normal((m, n, d))
        Y = rho * X + c * rng.standard_normal((m, n, d))
        q, qp = X[:, -1], Y[:, -1]
        a, b, cr = (q * q).sum(1), (qp * qp).sum(1), (q * qp).sum(1)
        g1, g2 = rng.standard_normal((m, d)), rng.standard_normal((m, d))
        u = np.sqrt(a)[:, None] * g1
        up = (cr / np.sqrt(a))[:, None] * g1 + np.sqrt(np.maximum(b - cr**2 / a, 0))[:, None] * g2
        sx, sy = t * np.einsum("mld,md->ml", X, u), t * np.einsum("mld,md->ml", Y, up)
        ax = np.exp(sx - sx.max(1, keepdims=True))
        ay = np.exp(sy - sy.max(1, keepdims=True))
        fx = (ax * X[:, :, 0]).sum(1) / ax.sum(1)
        fy = (ay * Y[:, :, 0]).sum(1) / ay.sum(1)
        vals.append(fx * fy)
    v = np.concatenate(vals)
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))


@c.check("monte-carlo", name="n4_d256_inline",
         uses=("proofs_check.attention_theorems._inline_random_projected",
               "nstheory.attention.certified.s_n_certified"))
def _():
    from nstheory.attention.certified import s_n_certified

    mean, se = _inline_random_projected(4, 256, 0.5, 20_000, seed=53)
    s4 = float(s_n_certified(4, 0.25).mid())
    return compare_z("MC raw Stab_0.5(f_ij), random W (projected draws), n=4, d=256, "
                     "unscaled, seed 53 (implementation written in this check module)", mean, se,
                     20_000, "rho s_4(0.25) ||v||^2 (certified s_4)", 0.5 * s4,
                     alternative=_ALT_LARGE_D, effect=0.05)


@c.check("monte-carlo", name="n2_d256_sqrt_scale",
         uses=("nstheory.attention.montecarlo.attention_stability_mc", "closed-form:s2"))
def _():
    from nstheory.attention.consistency import s2_closed_form

    est = _mc(2, 256, 0.5, "random", 20_000, seed=52, scale="sqrt")
    return compare_z(_label(est), est.stab.mean, est.stab.stderr, est.stab.n,
                     "rho s_2(0.25) ||v||^2 (Sheppard)", 0.5 * float(s2_closed_form(0.25)),
                     alternative=_ALT_LARGE_D, effect=0.05)


c = claim(
    "attention.thm53.finite_d_random",
    "Theorem 5.3's setting at finite d (random W with i.i.d. N(0, 1) entries drawn with the "
    "tokens, logits scaled by 1/sqrt(d), ||v|| = 1): the raw Stab_rho(f_ij) is 0.1962 at n = 4, "
    "d = 16, rho = 0.5, 0.0235 above the d -> infinity value rho s_4(rho^2) = 0.17270.",
    latex=r"\mathrm{Stab}_{0.5}(f_{ij})\big|_{n=4,d=16,\ W\sim\mathcal N(0,1)}=0.1962\ldots"
    r">\rho\,s_4(\rho^2)",
    provenance="new",
    evidence="conditional quasi-Monte Carlo (nstheory.attention.random_finite_d: W and the "
    "other tokens integrated exactly, the ten query-pair variables by scrambled Sobol points) "
    "0.196187 +- 0.000052 (8 x 4096 points, seed 100); 8 x 1024 points 0.19633 +- 0.00025; "
    "library Monte Carlo 400k samples 0.19459 +- 0.0013; a numpy Monte Carlo written in the "
    "check module 0.19683 +- 0.0011 (600k samples; its first 200k-sample form had power 0.59 "
    "and sat at z = +2.6, and was enlarged to reach power >= 0.9). No deterministic route for "
    "random W at n = 4 (a ten-dimensional outer integral with near-hard softmax logits).",
    fast=False,
)

_FD_RANDOM_4_16 = 0.1962
_ALT_FD_RANDOM = "the value off by 0.008 (a third of its gap to the d -> infinity value)"


@c.check("monte-carlo", name="conditional_qmc",
         uses=("nstheory.attention.random_finite_d", "nstheory.attention.softmax_conditional"))
def _():
    from nstheory.attention.random_finite_d import stab_random_finite_d

    r = stab_random_finite_d(4, 16, 0.5, points=512, replicates=4, seed=7)
    return compare_z("conditional QMC raw Stab_0.5(f_ij), random W, n=4, d=16, 1/sqrt(d) "
                     "scale, 4 scramblings x 512 Sobol points, seed 7 (W and the other tokens "
                     "integrated exactly)", r.value, r.stderr, 4, "stated 0.1962",
                     _FD_RANDOM_4_16, alternative=_ALT_FD_RANDOM, effect=0.008)


@c.check("monte-carlo", name="library_mc",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",))
def _():
    est = _mc(4, 16, 0.5, "random", 400_000, seed=61, scale="sqrt")
    return compare_z(_label(est), est.stab.mean, est.stab.stderr, est.stab.n, "stated 0.1962",
                     _FD_RANDOM_4_16, alternative=_ALT_FD_RANDOM, effect=0.008)


@c.check("monte-carlo", name="inline_mc",
         uses=("proofs_check.attention_theorems._inline_random_projected",))
def _():
    mean, se = _inline_random_projected(4, 16, 0.5, 600_000, seed=62, scale="sqrt")
    return compare_z("MC raw Stab_0.5(f_ij), random W (projected draws), n=4, d=16, 1/sqrt(d) "
                     "scale, seed 62 (implementation written in this check module)", mean, se,
                     600_000, "stated 0.1962", _FD_RANDOM_4_16, alternative=_ALT_FD_RANDOM,
                     effect=0.008)


c = claim(
    "attention.thm53.finite_d_many_tokens",
    "Random W at fixed d with many tokens: at d = 4 (i.i.d. N(0, 1) W, 1/sqrt(d) logits, "
    "rho = 0.5, ||v|| = 1) the raw Stab_rho(f_ij) rises with n past n ~ 8, from 0.2150 at n = 8 "
    "to 0.4198 at n = 4096 (+0.205), while Theorem 5.3's d -> infinity value rho s_n(rho^2) "
    "falls (0.1050 at n = 8, 0.0105 at n = 256): at fixed d the limits n -> infinity and "
    "d -> infinity do not commute.",
    latex=r"\mathrm{Stab}_{0.5}\big|_{d=4}:\ 0.2150\ (n=8)\ \to\ 0.4198\ (n=4096),\quad "
    r"\rho\,s_n(\rho^2)\downarrow 0",
    provenance="new",
    evidence="conditional quasi-Monte Carlo (8 x 2048 points, seed 200): 0.215038 +- 0.00034 "
    "(n = 8), 0.419763 +- 0.00048 (n = 4096); the curve at d = 4 (8 x 256 points): 0.314 (n = 2), "
    "0.233 (4), 0.215 (8), 0.227 (16), 0.282 (64), 0.340 (256), 0.385 (1024), 0.442 (16384), "
    "0.459 (65536); at d = 16 the minimum is 0.140 near n = 16, 0.328 at n = 16384 (figure "
    "attention_random_many_tokens, with torch Monte Carlo at n = 4, 64, 1024). Mechanism: "
    "with many tokens the softmax output tends to the exponentially "
    "tilted mean t W^T x_i of the tokens, so f(X) and f(Y) align with W^T x_i and W^T y_i (whose "
    "correlation is rho) instead of decorrelating; the d -> infinity formula describes fixed d "
    "only while log n is small against d.",
    fast=False,
)

_MANY_TOKENS = {8: 0.2150, 4096: 0.4198}
_ALT_MANY = ("no rise: Stab(4096) <= Stab(8), as the decrease of the d -> infinity value "
             "rho s_n(rho^2) would have it")


def _rise(label, values, n_samples):
    (m8, s8), (m4096, s4096) = values
    stated = _MANY_TOKENS[4096] - _MANY_TOKENS[8]
    return compare_z(f"{label}: Stab(n=4096) - Stab(n=8), d=4, rho=0.5, 1/sqrt(d) scale",
                     m4096 - m8, math.hypot(s8, s4096), n_samples,
                     "stated rise 0.4198 - 0.2150", stated, alternative=_ALT_MANY,
                     effect=stated)


@c.check("monte-carlo", name="conditional_qmc",
         uses=("nstheory.attention.random_finite_d", "nstheory.attention.softmax_conditional"))
def _():
    from nstheory.attention.random_finite_d import stab_random_finite_d

    vals = []
    for n in (8, 4096):
        r = stab_random_finite_d(n, 4, 0.5, points=256, replicates=4, seed=9)
        vals.append((r.value, r.stderr))
    return _rise("conditional QMC (4 x 256 Sobol points per n, seed 9)", vals, 4)


@c.check("monte-carlo", name="library_mc",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",))
def _():
    vals = []
    for n, m in ((8, 10_000), (4096, 2_000)):
        est = _mc(n, 4, 0.5, "random", m, seed=73, scale="sqrt")
        vals.append((est.stab.mean, est.stab.stderr))
    return _rise("library MC (10k samples at n = 8, 2k at n = 4096, seed 73)", vals, 2_000)


@c.check("monte-carlo", name="inline_mc",
         uses=("proofs_check.attention_theorems._inline_random_projected",))
def _():
    vals = [_inline_random_projected(n, 4, 0.5, m, seed=74, scale="sqrt", chunk=1_000)
            for n, m in ((8, 10_000), (4096, 2_000))]
    return _rise("MC written in this check module (projected W draws; 10k / 2k samples, seed 74)",
                 vals, 2_000)


@c.check("precise", name="d_infinity_value_falls",
         uses=("nstheory.attention.certified.s_n_certified",))
def _():
    from nstheory.attention.certified import s_n_certified

    lim = {n: 0.5 * float(s_n_certified(n, 0.25).mid()) for n in (8, 256)}
    ok = abs(lim[8] - 0.1050) < 5e-5 and abs(lim[256] - 0.0105) < 5e-5 and lim[256] < lim[8]
    return compare_holds(ok, [("rho s_8(0.25) (certified s_n)", lim[8]),
                              ("rho s_256(0.25) (certified s_n)", lim[256]),
                              ("stated", "0.1050, 0.0105")],
                         tolerance="each within 5e-5 of the stated 4th decimal, and falling")


# ---------------------------------------------------------------- low-rank W at finite d

def _inline_lowrank_fresh(n, d, rho, rank, samples, seed, chunk=5_000):
    """A numpy Monte Carlo of the low-rank layer written here: a fresh ``d x rank`` factor
    ``U`` with i.i.d. N(0, 1/rank) entries per sample, W = U U^T, 1/sqrt(d) logits, query token
    n, value column e_1. Returns the mean and standard error of f(X) f(Y)."""
    import numpy as np

    rng = np.random.Generator(np.random.PCG64(seed))
    t, c = 1 / math.sqrt(d), math.sqrt(1 - rho * rho)
    vals = []
    for start in range(0, samples, chunk):
        m = min(chunk, samples - start)
        X = rng.standard_normal((m, n, d))
        Y = rho * X + c * rng.standard_normal((m, n, d))
        U = rng.standard_normal((m, d, rank)) / math.sqrt(rank)
        px, py = np.einsum("mld,mdk->mlk", X, U), np.einsum("mld,mdk->mlk", Y, U)
        sx = t * np.einsum("mlk,mk->ml", px, px[:, -1])
        sy = t * np.einsum("mlk,mk->ml", py, py[:, -1])
        ax = np.exp(sx - sx.max(1, keepdims=True))
        ay = np.exp(sy - sy.max(1, keepdims=True))
        vals.append((ax * X[:, :, 0]).sum(1) / ax.sum(1) * (ay * Y[:, :, 0]).sum(1) / ay.sum(1))
    v = np.concatenate(vals)
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))


c = claim(
    "attention.lowrank.finite_d_rank16",
    "Low-rank query-key W = U U^T (U of shape d x 16 with i.i.d. N(0, 1/16) entries, drawn "
    "with the tokens), n = 4, rho = 0.5, 1/sqrt(d) logits, ||v|| = 1: the raw Stab_rho(f_ij) is "
    "0.4712 at d = 64 and 0.4940 at d = 256, below the identity-W values 0.4975 and 0.499999 "
    "by 0.026 and 0.006: the reduction of rank-16 attention to the identity case holds to "
    "about 1% at d = 256, and the deficit grows as d falls.",
    latex=r"W=UU^\top,\ k=16:\ \mathrm{Stab}_{0.5}=0.4712\ (d=64),\ 0.4940\ (d=256)"
    r"\ <\ \mathrm{Stab}_{0.5}\big|_{W=I}",
    provenance="new",
    evidence="conditional quasi-Monte Carlo (nstheory.attention.random_finite_d."
    "stab_lowrank_finite_d: the other tokens integrated exactly, U^T U's Bartlett factor and "
    "the query pair by scrambled Sobol points; 8 x 512 points): 0.47119 +- 0.00051 (d = 64), "
    "0.49401 +- 0.00021 (d = 256); the identity-W values by the deterministic route "
    "(stab_identity_finite_d): 0.497517, 0.499999. The rank profile at d = 256 (8 x 1024 "
    "points): 0.3617 (rank 4), 0.4560 (8), 0.4939 (16), 0.4995 (32), 0.49978 (64); at d = 16: "
    "0.2080 (rank 1), 0.2551 (2), 0.3122 (4), 0.3617 (8), 0.3975 (16 = d, a full-rank Wishart "
    "W). Torch Monte Carlo at d = 64, rank 16: 0.46915 +- 0.0024 (200k). The claim "
    "attention.thm52.lowrank_jl's 'Stab = rho within Monte Carlo error' at rank 16, d = 256 "
    "holds only at its 10k-sample precision (s.e. ~0.005): the deficit there is 0.006.",
    fast=False,
)

_LR16 = {64: 0.4712, 256: 0.4940}
_LR_IDENTITY = {64: 0.4975, 256: 0.499999}


def _alt_lr(d):
    return (f"no deficit: the identity-W value {_LR_IDENTITY[d]} (Theorem 5.2's reduction "
            "exact at this rank)")


def _lr_conditional(d, seed):
    from nstheory.attention.random_finite_d import stab_lowrank_finite_d

    r = stab_lowrank_finite_d(4, d, 0.5, 16, points=512, replicates=8, seed=seed)
    return compare_z(f"conditional QMC raw Stab_0.5(f_ij), W = U U^T rank 16, n=4, d={d}, "
                     f"1/sqrt(d) scale, 8 scramblings x 512 Sobol points, seed {seed}", r.value,
                     r.stderr, 8, f"stated {_LR16[d]:.4f}", _LR16[d], alternative=_alt_lr(d),
                     effect=_LR_IDENTITY[d] - _LR16[d])


for _d, _seed in ((64, 11), (256, 12)):
    c.check("monte-carlo", name=f"conditional_qmc_d{_d}",
            uses=("nstheory.attention.random_finite_d",
                  "nstheory.attention.softmax_conditional"))(
        functools.partial(_lr_conditional, _d, _seed))


@c.check("monte-carlo", name="library_mc_d64",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",))
def _():
    est = _mc(4, 64, 0.5, "lowrank", 100_000, seed=81, rank=16)
    return compare_z(_label(est) + " (fresh U per sample)", est.stab.mean, est.stab.stderr,
                     est.stab.n, "stated 0.4712", _LR16[64], alternative=_alt_lr(64),
                     effect=_LR_IDENTITY[64] - _LR16[64])


@c.check("monte-carlo", name="inline_mc_d64",
         uses=("proofs_check.attention_theorems._inline_lowrank_fresh",))
def _():
    mean, se = _inline_lowrank_fresh(4, 64, 0.5, 16, 100_000, seed=82)
    return compare_z("MC raw Stab_0.5(f_ij), W = U U^T rank 16 (fresh U per sample), n=4, d=64, "
                     "1/sqrt(d) scale, seed 82 (implementation written in this check module)",
                     mean, se, 100_000, "stated 0.4712", _LR16[64], alternative=_alt_lr(64),
                     effect=_LR_IDENTITY[64] - _LR16[64])


c = claim(
    "attention.thm53.finite_d_n2_softmax",
    "Theorem 5.3's setting with n = 2 tokens and softmax at finite d (random W with i.i.d. "
    "N(0, 1) entries drawn with the tokens, 1/sqrt(d) logits, rho = 0.5, ||v|| = 1): the raw "
    "Stab_rho(f_ij) is 0.297908 at d = 16 (six digits), between the d -> infinity value "
    "rho s_2(rho^2) = 0.290215 and the hard-argmax value at the same d, 0.30292.",
    latex=r"\mathrm{Stab}_{0.5}\big|_{n=2,\ d=16}=0.297908,\quad "
    r"\rho\,s_2(\rho^2)<\mathrm{Stab}<\mathrm{Stab}^{\mathrm{hard}}",
    provenance="new",
    evidence="deterministic route (nstheory.attention.quadrature.stab_random_n2_finite_d: W "
    "integrated exactly given the Gram matrix of the two token pairs, whose Bartlett factor "
    "goes by an anisotropic tensor Gauss rule (chi rules for the diagonal, 5.9 million "
    "points: per-variable refinement put the error in the normal entries that carry the "
    "noise along the clean vectors); the sigmoid of the Gaussian logit difference through "
    "the logistic law's normal scale mixture, so that E[sigmoid sigmoid'] is an average of "
    "bivariate-normal orthant probabilities): d = 16: 0.29790761 (error estimate 1.9e-7 from "
    "a 1.8-million-point rule; a 14-million-point rule differs by 4e-9; the earlier isotropic "
    "chi-square rules gave 0.2979054 and 0.2979075 at 4^10 and 5^10 points); d = 64: "
    "0.29235554; d = 4096: 0.29024996 (1e-12). Hard argmax at d = 16 (4, 5 nodes): 0.3029166, "
    "0.3029178. Conditional quasi-Monte Carlo (8 x 2048 points) 0.29800 +- "
    "0.00014 (d = 16), 0.292375 +- 0.00007 (d = 64); torch Monte Carlo 400k at d = 16 "
    "0.29838 +- 0.0015.",
    fast=False,
)

_N2_SOFT_16 = 0.297908
_N2_HARD_16 = 0.30292
_N2_LIMIT = 0.290215
_ALT_N2 = "the d -> infinity value rho s_2(rho^2) = 0.290215 (no finite-d effect)"


@c.check("precise", name="bartlett_mixture_quadrature",
         uses=("nstheory.attention.quadrature.stab_random_n2_finite_d",
               "nstheory.attention.quadrature.stab_random_hard_n2", "closed-form:s2"))
def _():
    from nstheory.attention.consistency import s2_closed_form
    from nstheory.attention.quadrature import stab_random_hard_n2, stab_random_n2_finite_d

    r16 = stab_random_n2_finite_d(0.5, 16)
    hard = stab_random_hard_n2(0.5, 16, nodes=5)
    lim = 0.5 * float(s2_closed_form(0.25))
    ok = (abs(r16.value - _N2_SOFT_16) < 5e-7 + r16.error and r16.error < 5e-7
          and abs(hard - _N2_HARD_16) < 5e-6 + 1e-5 and abs(lim - _N2_LIMIT) < 5e-7
          and lim < r16.value < hard)
    return compare_holds(ok, [
        ("Stab at d = 16 (deterministic, anisotropic Bartlett rule, 12-node mixture)",
         f"{r16.value:.10f} +- {r16.error:.1e} (error estimate)"),
        ("hard-argmax Stab at d = 16 (Bartlett, 5^10 nodes; 4 nodes differ by 1.3e-6)",
         f"{hard:.10f}"),
        ("rho s_2(rho^2) (Sheppard closed form)", f"{lim:.10f}"),
        ("stated", "0.297908, 0.30292, 0.290215")],
        tolerance="each stated value within half a unit of its last digit plus its error "
        "estimate (< 5e-7, six digits; 1e-5 for the hard-argmax rule); limit < Stab < hard")


@c.check("monte-carlo", name="conditional_qmc",
         uses=("nstheory.attention.random_finite_d", "nstheory.attention.softmax_conditional"))
def _():
    from nstheory.attention.random_finite_d import stab_random_finite_d

    r = stab_random_finite_d(2, 16, 0.5, points=512, replicates=8, seed=21)
    return compare_z("conditional QMC raw Stab_0.5(f_ij), random W, n=2, d=16, 1/sqrt(d) "
                     "scale, 8 scramblings x 512 Sobol points, seed 21", r.value, r.stderr, 8,
                     "stated 0.297908", _N2_SOFT_16, alternative=_ALT_N2,
                     effect=_N2_SOFT_16 - _N2_LIMIT)


@c.check("monte-carlo", name="library_mc",
         uses=("nstheory.attention.montecarlo.attention_stability_mc",))
def _():
    est = _mc(2, 16, 0.5, "random", 800_000, seed=91, scale="sqrt")
    return compare_z(_label(est), est.stab.mean, est.stab.stderr, est.stab.n, "stated 0.297908",
                     _N2_SOFT_16, alternative=_ALT_N2, effect=_N2_SOFT_16 - _N2_LIMIT)
