"""Figures of the Monte Carlo area (``nstheory figures --only 'montecarlo*'``)."""

from __future__ import annotations

from pathlib import Path

from nstheory.plots import figure, save_png


@figure("montecarlo_relu_vrf",
        "Scalar ReLU map: Monte Carlo estimates with 95% CIs against kappa(rho), and the "
        "variance-reduction factor of antithetic pairs and Hermite control variates")
def relu_vrf(path: Path) -> None:
    """Plot Monte Carlo estimates of the scalar ReLU map against kappa(rho) and the
    variance-reduction factors; the plotted rows go to a JSON file beside the PNG.

    Parameters
    ----------
    path : pathlib.Path
        Output PNG.

    Examples
    --------
    The function is registered with ``nstheory figures`` under its figure name:

    >>> from nstheory.plots import FIGURES
    >>> FIGURES["montecarlo_relu_vrf"].fn is relu_vrf
    True
    """
    import torch

    from nstheory.montecarlo.variance import relu_map_mc
    from nstheory.plots import setup_matplotlib
    from nstheory.store import save_json

    plt = setup_matplotlib()
    torch.set_num_threads(1)
    rhos = [-0.9, -0.6, -0.3, 0.0, 0.3, 0.6, 0.9]
    configs = [(True, None), (False, 1), (False, 4), (True, 4), (True, 8)]
    g = torch.Generator().manual_seed(2026)
    rows = []
    for r in rhos:
        for anti, deg in configs:
            e = relu_map_mc(r, 100_000, generator=g, antithetic=anti, cv_degree=deg)
            rows.append({"rho": r, "antithetic": anti, "cv_degree": deg, "vrf": e.vrf,
                         "plain": e.plain.to_dict(), "reduced": e.reduced.to_dict()})
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    from nstheory.gaussian.activations import get_activation

    xs = [i / 100 for i in range(-100, 101)]
    kappa = get_activation("relu").raw_float(xs)
    a1.plot(xs, kappa, "k-", lw=1, label=r"$\kappa(\rho)$ closed form")
    pl = [r for r in rows if r["antithetic"] and r["cv_degree"] is None]
    a1.errorbar([r["rho"] for r in pl], [r["plain"]["mean"] for r in pl],
                yerr=[1.96 * r["plain"]["stderr"] for r in pl], fmt="o", ms=3, capsize=3,
                label="Monte Carlo (plain), $n = 10^5$ draws\nper point, 95% CI, seed 2026")
    a1.set_xlabel(r"$\rho = \mathrm{corr}(X, Y)$ (unit variances)")
    a1.set_ylabel(r"$\mathbb{E}[\mathrm{ReLU}(X)\,\mathrm{ReLU}(Y)]$ (raw view)")
    a1.set_title("ReLU map: Monte Carlo vs closed form")
    a1.legend(fontsize=8, loc="upper left")
    for anti, deg in configs:
        sel = [r for r in rows if r["antithetic"] == anti and r["cv_degree"] == deg]
        what = ("antithetic pairs" if anti else "plain draws") + (
            f" + Hermite control variate (degree {deg})" if deg is not None else "")
        a2.semilogy([r["rho"] for r in sel], [r["vrf"] for r in sel], "o-", ms=3, label=what)
    a2.axhline(10, color="grey", ls=":", lw=1, label="factor 10")
    a2.set_xlabel(r"$\rho = \mathrm{corr}(X, Y)$ (unit variances)")
    a2.set_ylabel("variance-reduction factor per draw (log scale)")
    a2.set_title(r"Variance reduction (same draws; $n = 10^5$ per point, seed 2026)")
    a2.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    fig.tight_layout()
    save_png(fig, path, dpi=120)
    plt.close(fig)
    save_json({"rows": rows, "seed": 2026}, path.with_suffix(".json"))


@figure("montecarlo_architecture_comparison",
        "Sensitivity of MLP / CNN / LSTM / transformer (matched budgets) on four tasks, mean "
        "over seeds with 95% t-intervals, and the right-aligned per-position profile on fortunes")
def architecture_comparison(path: Path) -> None:
    """Plot the stored architecture-comparison study (sensitivity by architecture and
    task, 95% t-intervals over seeds, and the per-position profile on fortunes).

    Parameters
    ----------
    path : pathlib.Path
        Output PNG.

    Examples
    --------
    The function is registered with ``nstheory figures`` under its figure name:

    >>> from nstheory.plots import FIGURES
    >>> FIGURES["montecarlo_architecture_comparison"].fn is architecture_comparison
    True
    """
    from nstheory.figure_data import save_figure
    from nstheory.montecarlo.comparison import STORED_STUDIES, load_stored_runs, summarize
    from nstheory.plots import setup_matplotlib

    plt = setup_matplotlib()
    runs = load_stored_runs()
    summ = summarize(runs)
    tasks = [t for t in ("boolean", "sparse-token", "digits", "fortunes") if t in summ]
    archs = ("mlp", "cnn", "lstm", "transformer")
    fig, grid = plt.subplots(2, 3, figsize=(13, 8))
    axes = list(grid.flat)
    for ax, t in zip(axes, tasks, strict=False):
        s = summ[t]["archs"]
        m = [s[a]["mean"] for a in archs]
        # a flip rate lies in [0, 1]: the t-interval is clipped to it, and every clipped
        # end is said in the panel with the unclipped value
        lo = [min(max(s[a]["ci95"][0], 0.0), 1.0) for a in archs]
        hi = [min(max(s[a]["ci95"][1], 0.0), 1.0) for a in archs]
        err = [[mi - li for mi, li in zip(m, lo, strict=True)],
               [hi_ - mi for mi, hi_ in zip(m, hi, strict=True)]]
        ax.bar(archs, m, yerr=err, capsize=4, color=["C0", "C1", "C2", "C3"])
        for i, a in enumerate(archs):
            if s[a]["ci95"][0] < 0:
                ax.annotate(f"t-CI clipped at 0\n(lower end {s[a]['ci95'][0]:.3g})", (i, 0),
                            xytext=(0, 4), textcoords="offset points", ha="center",
                            fontsize=6.5)
        ax.set_ylim(bottom=0)
        ax.set_title(f"{t}\n{summ[t]['metric']}", fontsize=8)
        ax.set_ylabel("flip rate on training data (raw)\nmean over seeds, 95% t-CI in [0, 1]",
                      fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    ax = axes[len(tasks)]
    for extra in axes[len(tasks) + 1:]:
        extra.axis("off")
    if "fortunes" in summ:
        for a in archs:
            prof = summ["fortunes"]["archs"][a].get("embedding_profile")
            if prof:
                ax.plot(range(-len(prof) + 1, 1), prof, "o-", ms=3, label=a)
        ax.set_xlabel("position relative to the final token")
        ax.set_ylabel("flip rate (raw), one embedding noised\n(mean over seeds)", fontsize=8)
        ax.set_title("fortunes: per-position profile (right-aligned)", fontsize=8)
        ax.set_ylim(bottom=0)
        spare = axes[len(tasks) + 1] if len(axes) > len(tasks) + 1 else ax
        spare.legend(*ax.get_legend_handles_labels(), loc="center left", fontsize=9,
                     title="per-position profile")
    per_task = {t: sorted({r["seed"] for r in runs if r["task"] == t}) for t in tasks}
    counts = "; ".join(f"{t} {len(s)} (seeds {s[0]}-{s[-1]})" for t, s in per_task.items() if s)
    fig.suptitle(f"Architecture comparison at matched parameter budgets; seeds per "
                 f"architecture: {counts}; stored Monte Carlo studies "
                 f"{STORED_STUDIES}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)
