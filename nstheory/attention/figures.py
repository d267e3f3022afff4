"""Figures for single-layer attention (``nstheory figures --only 'attention_*'``).

All Stab values are the raw uncentred ``Stab_rho(f_ij)`` (route monte-carlo, 95% CI error bars,
seeds fixed) against the reconstructed theory (precise route); the data are written next to
each PNG as JSON.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from nstheory.plots import figure, save_png, setup_matplotlib
from nstheory.store import save_text


def _save(path: Path, data: dict) -> None:
    save_text(json.dumps(data, indent=1), path.with_suffix(".json"))


def _mc(*a, **k):
    import torch

    from nstheory.attention.montecarlo import attention_stability_mc

    torch.set_num_threads(1)
    return attention_stability_mc(*a, device="cpu", show_progress=False, **k)


@figure("attention_stab_vs_rho",
        "Stab_rho(f_ij) vs rho for identity, low-rank and random W: MC (95% CI) vs theory")
def stab_vs_rho(path: Path) -> None:
    """Plot Monte Carlo ``Stab_rho(f_ij)`` (95% CI) against the theory for identity, low-rank and
    random W to ``path`` (PNG, data as JSON next to it).

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["attention_stab_vs_rho"].fn is stab_vs_rho
    True
    """
    from nstheory.attention.consistency import s_n

    plt = setup_matplotlib()
    n, d = 4, 64
    rhos = [0.1, 0.3, 0.5, 0.7, 0.9, 1.0]
    modes = [("identity", dict(scale="sqrt"), r"identity $W$, scale $1/\sqrt{d}$"),
             ("lowrank", dict(scale="sqrt", rank=16, fresh_weights=False),
              r"low-rank $W = UU^\top$ ($k = 16$, one $U$), scale $1/\sqrt{d}$"),
             ("random", dict(scale="none"), r"random $W$ (fresh per sample), unscaled")]
    data = {"n": n, "d": d, "view": "raw Stab_rho(f_ij), ||v||=1", "series": {}}
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    grid = [i / 50 for i in range(51)]
    ax.plot(grid, grid, "k-", lw=1,
            label=r"Thm 5.2 (haris2026 §2.3) limit $\rho\|v\|^2$, closed form "
            "(identity, low-rank)")
    ax.plot(grid, [r * float(s_n(n, r * r, dps=10)) for r in grid], "k--", lw=1,
            label=rf"Thm 5.3 (haris2026 §2.4, reconstructed) $\rho\, s_{{{n}}}(\rho^2)\|v\|^2$, "
            "precise")
    for (mode, kw, lab), mk in zip(modes, "os^", strict=True):
        pts = []
        for k, rho in enumerate(rhos):
            est = _mc(n, d, rho, mode, samples=6000, seed=100 + k, **kw)
            pts.append((rho, est.stab.mean, est.stab.stderr))
        data["series"][mode] = pts
        ax.errorbar([p[0] for p in pts], [p[1] for p in pts],
                    yerr=[1.96 * p[2] for p in pts], fmt=mk, ms=4, capsize=2,
                    label=f"MC {lab}")
    ax.set_xlabel(r"$\rho$ (Gaussian noise correlation on all $n d$ inputs)")
    ax.set_ylabel(r"raw $\mathrm{Stab}_\rho(f_{ij}) = \mathbb{E}[f(X) f(Y)]$")
    ax.set_title(rf"One attention layer, $n = {n}$, $d = {d}$, query $i = n$, "
                 rf"$\|(W_V)_{{:,j}}\| = 1$" "\n"
                 f"Monte Carlo: 6000 samples per point, 95% CI, seeds 100-{99 + len(rhos)}",
                 fontsize=9)
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    _save(path, data)


@figure("attention_sn_curves",
        "s_n(r) = P(argmax coincide) for n = 2..64 (quadrature; n = 2, 3 closed forms)")
def sn_curves(path: Path) -> None:
    """Plot the argmax-agreement probabilities ``s_n(r)`` for several ``n`` to ``path`` (PNG, data
    as JSON next to it).

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["attention_sn_curves"].fn is sn_curves
    True
    """
    from nstheory.attention.consistency import s_n

    plt = setup_matplotlib()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9.6, 4.0))
    rs = [i / 20 for i in range(20)] + [0.97, 0.99]
    data = {"curves": {}, "vs_n": {}}
    for n in (2, 3, 4, 8, 16, 32, 64):
        vals = [float(s_n(n, r, dps=10)) for r in rs] + [1.0]
        data["curves"][n] = list(zip([*rs, 1.0], vals, strict=True))
        ax.plot([*rs, 1.0], vals, label=f"$n = {n}$")
    ax.set_xlabel(r"pair correlation $r$ ($= \rho^2$ for random attention)")
    ax.set_ylabel(r"$s_n(r) = \Pr[\mathrm{argmax\ coincide}]$")
    ax.set_title(r"permutation-consistency factor $s_n(r)$" "\n"
                 r"(precise route: quadrature; $n = 2, 3$ closed forms)", fontsize=9)
    ax.legend()
    ns = list(range(2, 65))
    for r in (0.25, 0.5, 0.81):
        vals = [float(s_n(n, r, dps=10)) for n in ns]
        data["vs_n"][r] = list(zip(ns, vals, strict=True))
        ax2.plot(ns, vals, label=f"$r = {r}$")
    ax2.plot(ns, [1 / n for n in ns], "k:", label="$1/n$ (the value at $r = 0$)")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax2.set_xticks([2, 4, 8, 16, 32, 64])
    ax2.xaxis.set_major_formatter(ScalarFormatter())
    ax2.xaxis.set_minor_formatter(NullFormatter())
    ax2.set_xlabel("$n$ (tokens, log scale)")
    ax2.set_ylabel(r"$s_n(r)$ (log scale)")
    ax2.set_title(r"$s_n(r)$ for $n = 2, \dots, 64$ (precise route)", fontsize=9)
    ax2.legend()
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    _save(path, data)


def convergence_data(samples_identity: int = 60000, samples_random: int = 60000) -> dict:
    """MC deviations from the d -> infinity theory for identity (Thm 5.2, scale 1/sqrt d) and
    random W (Thm 5.3 reconstructed, unscaled), n = 4, rho = 0.5, with rate fits.

    Parameters
    ----------
    samples_identity, samples_random : int
        Monte Carlo samples per dimension ``d`` (at least 2) for identity and random ``W``.

    Examples
    --------
    A full run takes minutes; the sample counts are validated first:

    >>> convergence_data(samples_identity=0)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: samples_identity must be >= 2, got 0
    """
    from nstheory.attention.consistency import s_n
    from nstheory.errors import check_int

    samples_identity = check_int(samples_identity, "samples_identity", lo=2)
    samples_random = check_int(samples_random, "samples_random", lo=2)
    from nstheory.attention.rates import fit_decay
    from nstheory.attention.theory import thm52_deviation_bound

    n, rho = 4, 0.5
    th_rand = rho * float(s_n(n, rho * rho))
    out = {"n": n, "rho": rho, "identity": [], "random": [], "bound": [],
           "mc_samples_seeds": {"identity": [], "random": []}}
    for k, d in enumerate((4, 8, 16, 32, 64)):
        ns = samples_identity * (3 if d >= 32 else 1)  # small deviations need more samples
        e = _mc(n, d, rho, "identity", samples=ns, seed=200 + k)
        out["identity"].append((d, e.stab.mean - rho, e.stab.stderr, e.offdiag.mean))
        out["mc_samples_seeds"]["identity"].append((d, ns, 200 + k))
    for k, d in enumerate((8, 16, 32, 64)):
        e = _mc(n, d, rho, "random", samples=samples_random, seed=300 + k, scale="none")
        out["random"].append((d, e.stab.mean - th_rand, e.stab.stderr, e.agree.mean))
        out["mc_samples_seeds"]["random"].append((d, samples_random, 300 + k))
    from nstheory.attention.identity_finite_d import stab_identity_finite_d
    from nstheory.attention.quadrature import stab_random_hard_n2

    exact = [(d, stab_identity_finite_d(n, d, rho)) for d in (1, 2, 4, 8, 16, 32, 64, 128, 256)]
    out["identity_exact"] = [(d, rho - r.value, r.error) for d, r in exact]
    g = dict((d, gap) for d, gap, _ in out["identity_exact"])
    # the exact gap's local rate in sqrt(d) between d = 64 and 256 (gap ~ e^{-c sqrt d})
    out["identity_exact_sqrt_rate_64_256"] = -math.log(g[64] / g[256]) / (16 - 8)
    th2 = rho * float(s_n(2, rho * rho))
    out["random_n2_quadrature"] = [(d, stab_random_hard_n2(rho, d, nodes=5) - th2)
                                   for d in (4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)]
    for d in (64, 128, 256, 512, 1024, 2048, 4096):
        out["bound"].append((d, float(thm52_deviation_bound(n, d, d**-0.5))))
    ident = [r for r in out["identity"] if r[0] >= 8]  # d = 4 is pre-asymptotic
    out["fit_identity_sqrt"] = fit_decay([r[0] for r in ident], [r[1] for r in ident],
                                         [r[2] for r in ident], kind="sqrt")
    out["fit_identity_power"] = fit_decay([r[0] for r in ident], [r[1] for r in ident],
                                          [r[2] for r in ident], kind="power")
    rnd = out["random"]
    out["fit_random_power"] = fit_decay([r[0] for r in rnd], [r[1] for r in rnd],
                                        [r[2] for r in rnd], kind="power")
    return out


def _samples_seeds(info: dict) -> str:
    """One line naming the Monte Carlo samples and seeds per arm, e.g. ``identity: 60000-180000
    samples, seeds 200-204``."""
    parts = []
    for arm, rows in info.items():
        ns = sorted({r[1] for r in rows})
        seeds = [r[2] for r in rows]
        size = f"{ns[0]}" if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"
        parts.append(f"{arm}: {size} samples per $d$, seeds {min(seeds)}-{max(seeds)}")
    return "MC " + "; ".join(parts)


@figure("attention_thm52_convergence",
        "finite-d deviation from the d -> inf theory: identity (Thm 5.2) and random (Thm 5.3)")
def thm52_convergence(path: Path) -> None:
    """Plot the finite ``d`` deviations from the ``d -> infinity`` theory computed by
    :func:`convergence_data` to ``path`` (PNG, data as JSON next to it).

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["attention_thm52_convergence"].fn is thm52_convergence
    True
    """
    plt = setup_matplotlib()
    data = convergence_data()
    fig, ax = plt.subplots(figsize=(6.6, 5.8))
    floor = 1e-6
    open_pts = 0
    for k, (key, mk, lab) in enumerate((
            ("identity", "o",
             r"identity $W$, $1/\sqrt{d}$: $\rho\|v\|^2 - \mathrm{Stab}$"),
            ("random", "s",
             r"random $W$, unscaled: $\mathrm{Stab} - \rho\, s_n(\rho^2)\|v\|^2$"))):
        rows = data[key]
        sign = -1 if key == "identity" else 1
        for j, r in enumerate(rows):
            v, h = sign * r[1], 1.96 * r[2]
            # on the log axis a 95% CI that reaches 0 is drawn down to the axis floor, with an
            # open marker, so the reader sees that the deviation is not resolved there
            unresolved = v - h <= 0
            open_pts += unresolved
            # the two arms share d values: shifted sideways by 6% so no bar hides another
            ax.errorbar([r[0] * (0.94 if key == "identity" else 1.06)], [max(v, floor)],
                        yerr=[[max(v, floor) - max(v - h, floor)],
                                                       [h]],
                        fmt=mk, capsize=2, ms=4, color=f"C{k}",
                        mfc="white" if unresolved else f"C{k}",
                        label=f"MC {lab} (95% CI)" if j == 0 else None)
    ex = data["identity_exact"]
    ax.plot([r[0] for r in ex], [r[1] for r in ex], "-", color="C0", lw=1.2,
            label=rf"identity $W$, $n = {data['n']}$: $\rho\|v\|^2 - \mathrm{{Stab}}$ "
            "(deterministic quadrature, exact in $d$)")
    q = data["random_n2_quadrature"]
    ax.plot([r[0] for r in q], [r[1] for r in q], "-", color="tab:green", lw=1.2,
            label=r"random $W$, $n = 2$, hard argmax: $\mathrm{Stab} - \rho\, s_2(\rho^2)$ "
            "(Bartlett quadrature, exact in $d$)")
    b = data["bound"]
    ax.plot([r[0] for r in b], [r[1] for r in b], "k--", lw=1,
            label=r"proved bound on $|\mathrm{Stab} - \rho\|v\|^2|$ (identity)")
    fi, fr = data["fit_identity_sqrt"], data["fit_random_power"]
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("$d$ (channels, log scale)")
    ax.set_ylabel(r"deviation from the $d \to \infty$ theory (raw Stab, log scale)")
    dq, gq = q[-1]
    ax.set_title(rf"$\rho = {data['rho']}$; identity exact: "
                 rf"$\sim e^{{{data['identity_exact_sqrt_rate_64_256']:.2f}\sqrt{{d}}}}$ "
                 r"($d$ = 64-256); "
                 rf"MC $n = {data['n']}$: identity "
                 rf"$\sim e^{{{fi['slope']:.2f}\sqrt{{d}}}}$, "
                 rf"random $\sim d^{{{fr['slope']:.2f}}}$;"
                 rf" quadrature $n = 2$: $d \times$ gap $\to {dq * gq:.3f}$" "\n"
                 f"open markers: 95% CI reaches 0 ({open_pts} points; drawn to the axis floor); "
                 "MC markers shifted sideways by 6%"
                 "\n" + _samples_seeds(data["mc_samples_seeds"]),
                 fontsize=8)
    ax.set_ylim(floor, 2)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    _save(path, data)


def many_tokens_data(points: int = 256, replicates: int = 4) -> dict:
    """Data of :func:`many_tokens`: random-``W`` ``Stab`` against the number of tokens at
    ``d = 4`` and ``d = 16`` (conditional quasi-Monte Carlo, :mod:`~nstheory.attention.
    random_finite_d`), Monte Carlo at a few ``n``, and the ``d -> infinity`` value
    ``rho s_n(rho^2)``.

    Examples
    --------
    >>> import inspect
    >>> list(inspect.signature(many_tokens_data).parameters)
    ['points', 'replicates']
    """
    from nstheory.attention.consistency import s_n
    from nstheory.attention.random_finite_d import stab_random_finite_d

    rho = 0.5
    ns = (2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096, 16384)
    out = {"rho": rho, "scale": "1/sqrt(d)", "points": points, "replicates": replicates,
           "conditional": {}, "mc": {}, "limit": []}
    for d in (4, 16):
        rows = []
        for n in ns:
            r = stab_random_finite_d(n, d, rho, points=points, replicates=replicates, seed=n)
            rows.append((n, r.value, r.stderr))
        out["conditional"][str(d)] = rows
        mc_rows = []
        for k, (n, m) in enumerate(((4, 40_000), (64, 20_000), (1024, 4_000))):
            e = _mc(n, d, rho, "random", samples=m, seed=400 + 10 * d + k, scale="sqrt")
            mc_rows.append((n, e.stab.mean, e.stab.stderr, m, 400 + 10 * d + k))
        out["mc"][str(d)] = mc_rows
    out["limit"] = [(n, rho * float(s_n(n, rho * rho))) for n in ns if n <= 256]
    return out


@figure("attention_random_many_tokens",
        "random-W Stab vs the number of tokens at fixed d: the n and d limits do not commute")
def many_tokens(path: Path) -> None:
    """Plot random-``W`` ``Stab_rho(f_ij)`` against ``n`` at ``d = 4, 16`` (see
    :func:`many_tokens_data`) to ``path`` (PNG, data as JSON next to it).

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["attention_random_many_tokens"].fn is many_tokens
    True
    """
    plt = setup_matplotlib()
    data = many_tokens_data()
    fig, ax = plt.subplots(figsize=(6.6, 5.0))
    for k, d in enumerate(("4", "16")):
        rows = data["conditional"][d]
        ax.errorbar([r[0] for r in rows], [r[1] for r in rows],
                    yerr=[1.96 * r[2] for r in rows], fmt="-o", ms=3, capsize=2,
                    color=f"C{k}", label=f"$d = {d}$: conditional quasi-MC (95% CI)")
        mc = data["mc"][d]
        ax.errorbar([r[0] * 1.08 for r in mc], [r[1] for r in mc],
                    yerr=[1.96 * r[2] for r in mc], fmt="s", mfc="white", ms=5, capsize=2,
                    color=f"C{k}", label=f"$d = {d}$: torch Monte Carlo (95% CI)")
    lim = data["limit"]
    ax.plot([r[0] for r in lim], [r[1] for r in lim], "k--", lw=1.2,
            label=r"$d \to \infty$: $\rho\, s_n(\rho^2)$ (Theorem 5.3 as reconstructed)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("$n$ (tokens, log scale)")
    ax.set_ylabel(r"raw $\mathrm{Stab}_\rho(f_{ij})$, $\|v\| = 1$")
    ax.set_ylim(0, None)
    sizes = ", ".join(str(r[3]) for r in data["mc"]["4"])
    ax.set_title(rf"random $W$, $1/\sqrt{{d}}$ logits, $\rho = {data['rho']}$: at fixed $d$ the "
                 "stability falls, then rises with $n$" "\n"
                 f"conditional route: {data['replicates']} x {data['points']} Sobol points per "
                 f"$n$; torch MC at $n$ = 4, 64, 1024" "\n"
                 f"({sizes} samples per $d$; markers shifted right by 8%)", fontsize=8)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    _save(path, data)
