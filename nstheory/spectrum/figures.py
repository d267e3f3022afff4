"""Figures of the spectrum area: cube eigenvalues by degree, per-degree learning curves.

Each figure writes ``figures/<name>.png`` and the plotted numbers to ``figures/<name>.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from nstheory.plots import figure, save_png, setup_matplotlib
from nstheory.store import save_text


def _save(path: Path, data: dict) -> None:
    save_text(json.dumps(data, indent=1) + "\n", path.with_suffix(".json"))


def _transformer_kernels(t):
    """(NNGP, NTK) of the one-layer linear-attention transformer: ((1+t)^2/4, (1+t)^2)."""
    return (1 + t) ** 2 / 4, (1 + t) ** 2


@figure("spectrum_mu_by_degree",
        "NTK and NNGP eigenvalues mu_k by degree on {-1,1}^30 (certified), MLPs of several "
        "activations and depths and the one-layer linear-attention transformer")
def mu_by_degree(path: Path) -> None:
    """Draw certified NTK/NNGP eigenvalues on the cube against the degree.

    Parameters
    ----------
    path : pathlib.Path
        Output PNG; the plotted arb midpoints are stored beside it as JSON.

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["spectrum_mu_by_degree"].fn is mu_by_degree
    True
    """
    from nstheory.spectrum.cube import resolved, spectra_arb
    from nstheory.spectrum.kernels import MLPKernel

    plt = setup_matplotlib()
    n = 30
    cases = [("relu", 1, "2", "0"), ("relu", 3, "2", "0"), ("relu", 8, "2", "0"),
             ("relu", 3, "2", "0.1"), ("erf", 3, "1", "0.1"), ("abs", 3, "1", "0")]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    data = {"n": n, "route": "certified arb balls (midpoints plotted; all resolved to 2^-53 "
                             "unless listed as zero)", "cases": []}
    for i, (act, depth, sw2, sb2) in enumerate(cases):
        k = MLPKernel(act, depth, sw2, sb2)
        nngp, ntk = spectra_arb(k.arb, n)
        name = {"relu": "ReLU", "abs": "$|x|$"}.get(act, act)
        label = rf"{name} MLP, $L = {depth}$, $\sigma_w^2 = {sw2}$, $\sigma_b^2 = {sb2}$"
        entry = {"label": label}
        for ax, name, mus in ((axes[0], "ntk", ntk), (axes[1], "nngp", nngp)):
            ks = [j for j, m in enumerate(mus) if resolved(m, 50)]
            vals = [float(mus[j].mid()) for j in ks]
            # ReLU with and without a bias variance nearly coincide: the biased one is dashed
            ax.semilogy(ks, vals, "o--" if sb2 != "0" else "o-", ms=3, color=f"C{i}",
                        label=label)
            entry[name] = {str(j): repr(float(m.mid())) if resolved(m, 50) else "0 (ball "
                           f"contains 0, radius {float(m.rad()):.3g})" for j, m in enumerate(mus)}
        data["cases"].append(entry)
    t_nngp, t_ntk = spectra_arb(_transformer_kernels, n)
    label = "linear-attention transformer, 1 layer"
    entry = {"label": label}
    for ax, name, mus in ((axes[0], "ntk", t_ntk), (axes[1], "nngp", t_nngp)):
        ks = [j for j, m in enumerate(mus) if resolved(m, 50)]
        ax.semilogy(ks, [float(mus[j].mid()) for j in ks], "s--", ms=5, color="k", label=label)
        entry[name] = {str(j): repr(float(m.mid())) if resolved(m, 50) else "0"
                       for j, m in enumerate(mus)}
    data["cases"].append(entry)
    for ax, name in ((axes[0], "NTK"), (axes[1], "NNGP")):
        ax.set_xlabel("degree $k$")
        ax.set_title(rf"{name} eigenvalue $\mu_k$", fontsize=10)
    fig.suptitle(rf"Kernel eigenvalues by degree on $\{{-1,1\}}^{{{n}}}$: certified arb balls "
                 "(midpoints drawn; degrees whose ball contains 0 omitted)", fontsize=10)
    axes[0].set_ylabel(r"$\mu_k$ (eigenvalue of each degree-$k$ monomial)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    save_png(fig, path)
    plt.close(fig)
    _save(path, data)


@figure("spectrum_learning_curves",
        "Per-degree residual of a width-2048 ReLU MLP trained by GD on the cube vs the "
        "kernel-regime prediction (1 - eta mu_k)^s", slow=True)
def learning_curves(path: Path) -> None:
    """Draw measured per-degree learning curves of a wide MLP against the NTK prediction.

    Parameters
    ----------
    path : pathlib.Path
        Output PNG; the curves are stored beside it as JSON.

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["spectrum_learning_curves"].fn is learning_curves
    True
    """
    import numpy as np

    from nstheory.spectrum.kernels import mlp_spectrum
    from nstheory.spectrum.learning import degree_of, predicted_curves, train_mlp_on_cube

    plt = setup_matplotlib()
    n, width, eta, steps, seeds = 7, 2048, 1.0, 300, 5
    sets = [0b1, 0b110, 0b1111000]
    mu = [float(b.mid()) for b in mlp_spectrum("relu", 1, n, 2, 0)["ntk"]]
    runs = [train_mlp_on_cube(sets, n=n, width=width, eta=eta, steps=steps, seed=s,
                              record_every=10) for s in range(seeds)]
    grid = runs[0]["steps"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    data = {"setting": f"depth-1 ReLU MLP, width {width}, NTK param sw2=2 sb2=0, n={n}, "
                       f"full-batch GD eta={eta}, centred output, {seeds} seeds",
            "steps": grid, "curves": []}
    for i, S in enumerate(sets):
        k = degree_of(S)
        R = -np.array([r["residual"][S] for r in runs])  # remaining fraction of the target
        mean, sd = R.mean(0), R.std(0, ddof=1)
        pred = predicted_curves([mu[k]], eta, steps)[0]
        ax.plot(range(steps + 1), pred, "-", color=f"C{i}", lw=1,
                label=rf"theory, degree {k}: $(1 - \eta\mu_{{{k}}})^s$, "
                      rf"$\mu_{{{k}}} = {mu[k]:.4g}$")
        ax.errorbar(grid, mean, yerr=sd, fmt="o", ms=3, color=f"C{i}",
                    label=f"trained, degree {k} (mean ± sd, {seeds} seeds)")
        data["curves"].append({"degree": k, "subset_mask": S, "mu_k": repr(mu[k]),
                               "trained_mean": [repr(float(v)) for v in mean],
                               "trained_sd": [repr(float(v)) for v in sd],
                               "theory": [repr(pred[s]) for s in grid]})
    ax.set_xlabel("gradient step $s$")
    ax.set_ylabel(r"fraction of $\chi_S$ not yet learned")
    ax.set_title(f"learning by degree: kernel regime vs training\n{data['setting']}", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    _save(path, data)


@figure("spectrum_empirical_ntk_convergence",
        "Empirical NTK (finite width, 20 initialisations, 95% CIs) vs the derived infinite-width "
        "kernel on {-1,1}^5: per-degree relative error and monomial leakage, MLP and "
        "linear-attention transformer", slow=True)
def empirical_convergence(path: Path) -> None:
    """Draw the convergence of the empirical NTK to the derived infinite-width kernel.

    Per-degree relative error and monomial leakage against width, for a ReLU MLP
    and a linear-attention transformer on the cube of dimension 5.

    Parameters
    ----------
    path : pathlib.Path
        Output PNG; the measured numbers are stored beside it as JSON.

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> spec = FIGURES["spectrum_empirical_ntk_convergence"]
    >>> spec.fn is empirical_convergence, spec.slow
    (True, True)
    """
    import numpy as np

    from nstheory.spectrum.cube import spectrum_polynomial_exact
    from nstheory.spectrum.empirical import degree_rayleigh, mlp_empirical_ntk, monomial_leakage
    from nstheory.spectrum.kernels import mlp_spectrum
    from nstheory.spectrum.transformer import transformer_empirical_ntk

    plt = setup_matplotlib()
    n, seeds, widths = 5, 20, (256, 512, 1024, 2048)
    limits = {
        "ReLU MLP, 1 hidden layer": [float(b.mid()) for b in
                                     mlp_spectrum("relu", 1, n, 2, 0)["ntk"]],
        "ReLU MLP, 2 hidden layers": [float(b.mid()) for b in
                                      mlp_spectrum("relu", 2, n, 2, 0)["ntk"]],
        "linear-attention transformer": [float(m) for m in
                                         spectrum_polynomial_exact([1, 2, 1], n)],
    }
    makers = {
        "ReLU MLP, 1 hidden layer": lambda w, s: mlp_empirical_ntk("relu", 1, w, n, 2.0, 0.0, s),
        "ReLU MLP, 2 hidden layers": lambda w, s: mlp_empirical_ntk("relu", 2, w, n, 2.0, 0.0, s),
        "linear-attention transformer": lambda w, s: transformer_empirical_ntk(w, n, s),
    }
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    data = {"n": n, "seeds": seeds, "widths (MLP width / transformer heads)": list(widths),
            "error": "mean over initialisations of |Rayleigh_k - mu_k| / mu_k, k = 0, 1, 2; "
                     "95% CI = 1.96 standard errors", "series": []}
    for i, (name, make) in enumerate(makers.items()):
        mu = limits[name]
        errs, err_ci, leaks, leak_ci = [], [], [], []
        for w in widths:
            e, lk = [], []
            for s in range(seeds):
                th = make(w, s)
                r = degree_rayleigh(th, n)
                e.append(np.mean([abs(r[k] - mu[k]) / mu[k] for k in range(3)]))
                lk.append(monomial_leakage(th, n))
            errs.append(float(np.mean(e)))
            err_ci.append(float(1.96 * np.std(e, ddof=1) / np.sqrt(seeds)))
            leaks.append(float(np.mean(lk)))
            leak_ci.append(float(1.96 * np.std(lk, ddof=1) / np.sqrt(seeds)))
        axes[0].errorbar(widths, errs, yerr=err_ci, fmt="o-", color=f"C{i}", label=name)
        axes[1].errorbar(widths, leaks, yerr=leak_ci, fmt="o-", color=f"C{i}", label=name)
        data["series"].append({"name": name, "mu_limit_0_2": [repr(v) for v in mu[:3]],
                               "rel_error": [repr(v) for v in errs],
                               "rel_error_ci95": [repr(v) for v in err_ci],
                               "leakage": [repr(v) for v in leaks],
                               "leakage_ci95": [repr(v) for v in leak_ci]})
    ref = np.array(widths, float)
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("width (MLP) / heads (transformer)")
        ax.plot(ref, 0.5 * (ref / ref[0]) ** -0.5 * (1 if ax is axes[1] else 0.2), "k:",
                lw=1, label="slope $-1/2$")
    axes[0].set_ylabel(r"rel. error of Rayleigh quotients, $k \leq 2$")
    axes[1].set_ylabel(r"leakage $\|H - \mathrm{diag}\,H\| / \|H\|$")
    axes[0].set_title(rf"empirical NTK $\to$ derived kernel on $\{{-1,1\}}^{{{n}}}$",
                      fontsize=10)
    axes[1].set_title(r"eigenvectors $\to$ monomials", fontsize=10)
    fig.suptitle(f"mean over {seeds} initialisations (seeds 0-{seeds - 1}) with its 95% CI; "
                 "infinite-width kernel: certified (MLP) and exact (transformer)", fontsize=9)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    _save(path, data)
