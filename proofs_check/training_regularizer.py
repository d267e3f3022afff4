"""Claims about the noise-stability regularizer (haris2026 Definition 6.1) and the arithmetic of
the paper's training headlines (haris2026 §4.3-4.4)."""

from __future__ import annotations

from fractions import Fraction
from itertools import product

from nstheory.claims import claim, compare_exact, compare_holds

# --------------------------------------------------------------------------------------------
c = claim(
    "training.regularizer.range",
    "With S = 1 the regularizer R = -sum_i p_i(X) p_i(Y) lies in [-1, 0], and R = -1 exactly "
    "when both outputs are the same one-hot vector; its gradient is finite.",
    latex=r"R_{M,1,\rho}=-\sum_i M(X)_i M(Y)_i\in[-1,0],\ "
    r"R=-1\iff M(X)=M(Y)=e_j",
    provenance="paper:haris2026 §3 Def. 6.1 (range from §6 item 16)",
)


@c.check("exact-enumeration", name="simplex_grid_C3_den4", uses=("inline:simplex-grid",))
def _():
    # every pair of probability vectors on the grid {k/4} of the 3-class simplex, in rationals
    grid = [tuple(Fraction(k, 4) for k in v) for v in product(range(5), repeat=3) if sum(v) == 4]
    vals = {}
    for p in grid:
        for q in grid:
            vals[(p, q)] = -sum(a * b for a, b in zip(p, q, strict=True))
    lo, hi = min(vals.values()), max(vals.values())
    at_minus_one = sorted({k for k, v in vals.items() if v == -1})
    onehots = sorted((p, p) for p in grid if max(p) == 1)
    return compare_holds(
        lo == -1 and hi == 0 and at_minus_one == onehots,
        [("min R over the 15x15 grid pairs (exact)", str(lo)),
         ("max R (exact)", str(hi)),
         ("pairs with R = -1", str(len(at_minus_one))),
         ("pairs of equal one-hot vectors", str(len(onehots)))],
        tolerance="exact",
    )


@c.check("monte-carlo", name="torch_stability_term_random_outputs",
         uses=("nstheory.training.regularizer.stability_term",))
def _():
    import torch

    from nstheory.training.regularizer import stability_term

    g = torch.Generator().manual_seed(20260)
    worst_lo, worst_hi, finite = 0.0, -1.0, True
    for temp in (0.1, 1.0, 10.0):
        lx = (temp * torch.randn(1024, 113, generator=g)).requires_grad_(True)
        ly = (temp * torch.randn(1024, 113, generator=g)).requires_grad_(True)
        px, py = torch.softmax(lx, -1), torch.softmax(ly, -1)
        per_row = -(px * py).sum(-1).detach()
        worst_lo = min(worst_lo, float(per_row.min()))
        worst_hi = max(worst_hi, float(per_row.max()))
        gx, gy = torch.autograd.grad(stability_term(px, py), (lx, ly))
        finite &= bool(torch.isfinite(gx).all() and torch.isfinite(gy).all())
    e = torch.eye(113)
    onehot = float(stability_term(e, e))
    return compare_holds(
        -1.0 <= worst_lo and worst_hi <= 0.0 and finite and onehot == -1.0,
        [("min per-row R over 3 x 1024 random softmax pairs (C=113, float32)", f"{worst_lo:.6g}"),
         ("max per-row R", f"{worst_hi:.6g}"),
         ("R at identical one-hot outputs", f"{onehot}"),
         ("gradients finite in both branches", str(finite))],
        tolerance="R in [-1, 0] (float32 rounding absent at these values)",
    )


# --------------------------------------------------------------------------------------------
c = claim(
    "training.headline.modadd_arithmetic",
    "The paper's modular-addition headline, about 4500 -> about 3300 steps, is a speed-up ratio "
    "4500/3300 = 15/11 (the '36%' is 15/11 - 1 = 4/11 = 0.3636...), i.e. 1 - 3300/4500 = 4/15 "
    "= 26.67% fewer steps, not 36% fewer.",
    latex=r"\tfrac{4500}{3300}-1=\tfrac{4}{11}\approx 0.3636,\quad "
    r"1-\tfrac{3300}{4500}=\tfrac{4}{15}\approx 0.2667",
    provenance="paper:haris2026 §4.3 (arithmetic per §6 item 17)",
    single_evidence="exact arithmetic on two printed step counts: one route (the same division "
    "in a second library is not a second one)",
)


@c.check("symbolic", name="sympy_rationals", uses=("sympy:headline-arithmetic",))
def _():
    import sympy as sp

    T0, T1 = sp.symbols("T_base T_reg", positive=True)
    speedup = (T0 / T1 - 1).subs({T0: 4500, T1: 3300})
    fewer = (1 - T1 / T0).subs({T0: 4500, T1: 3300})
    return compare_exact("(T_base/T_reg - 1, 1 - T_reg/T_base) at 4500, 3300 (SymPy)",
                         (sp.nsimplify(speedup), sp.nsimplify(fewer)),
                         "(4/11, 4/15)", (sp.Rational(4, 11), sp.Rational(4, 15)))


# --------------------------------------------------------------------------------------------
c = claim(
    "training.headline.ntp_reading",
    "Read like the 36% headline (T_base/T_reg - 1), the next-token '~75%' speed-up means "
    "T_reg = T_base/1.75 = (4/7) T_base, i.e. 3/7 = 42.86% fewer steps; the reading '75% fewer "
    "steps' (T_reg = T_base/4) cannot be excluded from the sources.",
    latex=r"\tfrac{T_{base}}{T_{reg}}=1.75\Rightarrow T_{reg}=\tfrac47T_{base},\ "
    r"1-\tfrac47=\tfrac37",
    provenance="reconstructed:haris2026 §4.4",
    single_evidence="exact arithmetic on a printed percentage: one route (the same division in "
    "a second library is not a second one)",
)


@c.check("symbolic", name="sympy_solve", uses=("sympy:headline-arithmetic",))
def _():
    import sympy as sp

    T0, T1 = sp.symbols("T_base T_reg", positive=True)
    sol = sp.solve(sp.Eq(T0 / T1 - 1, sp.Rational(3, 4)), T1)[0]
    return compare_exact("T_reg solving T_base/T_reg - 1 = 3/4 (SymPy)", sol,
                         "(4/7) T_base", sp.Rational(4, 7) * T0)


# --------------------------------------------------------------------------------------------
c = claim(
    "training.regularizer.modadd_label_preservation",
    "On modular addition the regularizer's token noise (keep prob q = (1+rho)/2, redraw "
    "uniformly from all p residues, applied to both operands) preserves the correct answer "
    "(a+b mod p) with probability s^2 + (p-1)((1-q)/p)^2, s = q + (1-q)/p: 0.39602 at p = 113, "
    "rho = 0.25. So a perfectly generalising, confident model has -R = 0.396, while a constant "
    "output attains the regularizer's optimum -R = 1: the term pulls against the task.",
    latex=r"\Pr[a'+b'\equiv a+b]=s^2+(p-1)\left(\tfrac{1-q}{p}\right)^2,\ s=q+\tfrac{1-q}{p}",
    provenance="new",
    evidence="Explains why gamma = 0.75 slowed grokking in our reduced study; the measured "
    "token stability of generalising models (~0.38-0.41, figures/training_stability_sensitivity"
    ".png) is close to this ceiling (0.40095 at p = 59).",
)


def _label_preservation_exact(p: int, rho: Fraction) -> Fraction:
    """Enumerate the operand shifts (da, db) in Z_p^2 with their probabilities, in rationals."""
    q = (1 + rho) / 2
    P = [q + (1 - q) / p if d == 0 else (1 - q) / p for d in range(p)]
    return sum(P[da] * P[(-da) % p] for da in range(p))


@c.check("exact-enumeration", name="enumerate_shifts_p113", uses=("inline:shift-enumeration",))
def _():
    import sympy as sp

    p, rho = 113, Fraction(1, 4)
    exact = _label_preservation_exact(p, rho)
    q = (1 + sp.Rational(1, 4)) / 2
    s = q + (1 - q) / p
    closed = s**2 + (p - 1) * ((1 - q) / p) ** 2
    return compare_exact("Pr[answer unchanged], enumeration over Z_113 shifts (Fractions)",
                         exact, "closed form s^2 + (p-1)((1-q)/p)^2 (SymPy)",
                         Fraction(int(sp.numer(closed)), int(sp.denom(closed))),
                         note=f"= {float(exact):.6f}")


@c.check("monte-carlo", name="perturb_modadd_inputs",
         uses=("nstheory.training.regularizer.perturb_tokens",))
def _():
    import math

    import torch

    from nstheory.claims import compare_z
    from nstheory.training.regularizer import perturb_tokens
    from nstheory.training.tasks import modular_addition

    d = modular_addition(113, 0.3, seed=0)
    g = torch.Generator().manual_seed(7)
    x = d.train_x.repeat(200, 1)
    y = (x[:, 0] + x[:, 1]) % 113
    xn = perturb_tokens(x, 0.25, "token", d.noise_vocab, d.noise_positions, g)
    same = ((xn[:, 0] + xn[:, 1]) % 113 == y).double()
    n = same.numel()
    m = float(same.mean())
    p, q = 113, (1 + Fraction(1, 4)) / 2
    s = q + (1 - q) / p
    closed = s**2 + (p - 1) * ((1 - q) / p) ** 2
    return compare_z(f"fraction of noisy inputs with unchanged answer (torch, n={n})", m,
                     math.sqrt(m * (1 - m) / n), n, "closed form s^2 + (p-1)((1-q)/p)^2",
                     float(closed),
                     alternative="Pr = q^2 (a redraw never lands on the same residue): "
                     f"{float(q * q):.6g}", effect=float(closed - q * q))
