"""Teaching figures for Boolean Fourier analysis (``nstheory figures --only 'boolean_*'``).

Every plotted number is exact (FWHT weights, evaluated in floating point only for drawing);
Stab is the raw Boolean stability E[f(x) f(y)] (a correlation).
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np

from nstheory.plots import figure, save_png, setup_matplotlib
from nstheory.store import save_text


def _zoo():
    from nstheory.boolean import zoo

    return [
        (r"dictator $x_1$", zoo.dictator(3)),
        (r"$\mathrm{Maj}_3$", zoo.majority(3)),
        (r"$\mathrm{Maj}_{11}$", zoo.majority(11)),
        (r"$\mathrm{Maj}_{21}$", zoo.majority(21)),
        (r"$\mathrm{Tribes}_{3,3}$", zoo.tribes(3, 3)),
        (r"parity $\chi_{[3]}$", zoo.parity(3)),
        (r"$\mathrm{AND}_5$", zoo.and_(5)),
    ]


def _save_data(path: Path, data: dict) -> None:
    save_text(json.dumps(data, indent=1), path.with_suffix(".json"))


@figure("boolean_stability_zoo",
        "Stab_rho vs rho for the zoo (exact, FWHT) with Sheppard's limit (2/pi) arcsin rho")
def stability_zoo(path: Path) -> None:
    """Plot exact ``Stab_rho[f]`` against ``rho`` for the zoo, with Sheppard's limit.

    Parameters
    ----------
    path : pathlib.Path
        Output PNG; the plotted data are written beside it as JSON (same stem).

    Examples
    --------
    The function is registered with ``nstheory figures`` under its figure name:

    >>> from nstheory.plots import FIGURES
    >>> FIGURES["boolean_stability_zoo"].fn is stability_zoo
    True
    """
    from nstheory.boolean.analysis import weights

    plt = setup_matplotlib()
    rho = np.linspace(-1, 1, 401)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    data = {"rho": rho.tolist(), "view": "raw Stab_rho[f] = E[f(x) f(y)]", "curves": {}}
    for label, f in _zoo():
        w = [float(x) for x in weights(f)]
        s = sum(wk * rho**k for k, wk in enumerate(w))
        ax.plot(rho, s, label=label, lw=1.4)
        data["curves"][label] = [str(x) for x in weights(f)]
    shep = 2 / np.pi * np.arcsin(rho)
    ax.plot(rho, shep, "k--", lw=1.6, label=r"Sheppard limit $\frac{2}{\pi}\arcsin\rho$")
    ax.set_xlabel(r"$\rho$ (bit-flip correlation: $y_i = x_i$ w.p. $(1+\rho)/2$)")
    ax.set_ylabel(r"raw $\mathrm{Stab}_\rho[f] = \mathbb{E}[f(x)f(y)]$")
    ax.set_title(r"Noise stability of the zoo (exact, FWHT); Maj$_n \to \frac{2}{\pi}\arcsin\rho$"
                 "\n(error ~ $\\rho/(\\pi\\sqrt{1-\\rho^2})\\,/\\,n$)", fontsize=10)
    ax.legend(loc="lower right", ncol=1)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    data["weights_by_degree_exact"] = data.pop("curves")
    _save_data(path, data)


@figure("boolean_fourier_weights", "Fourier weight W^k by degree k for zoo functions (exact)")
def fourier_weights(path: Path) -> None:
    """Bar charts of the exact Fourier weight ``W^k[f]`` by degree for six zoo functions.

    Parameters
    ----------
    path : pathlib.Path
        Output PNG; the plotted data are written beside it as JSON (same stem).

    Examples
    --------
    The function is registered with ``nstheory figures`` under its figure name:

    >>> from nstheory.plots import FIGURES
    >>> FIGURES["boolean_fourier_weights"].fn is fourier_weights
    True
    """
    from nstheory.boolean import zoo
    from nstheory.boolean.analysis import weights

    plt = setup_matplotlib()
    funcs = [(r"$\mathrm{Maj}_{11}$", zoo.majority(11)),
             (r"$\mathrm{Tribes}_{3,3}$", zoo.tribes(3, 3)),
             (r"$\mathrm{AND}_6$", zoo.and_(6)),
             ("LTF, weights (5, 4, 3, 2, 1, 1, 1)", zoo.threshold([5, 4, 3, 2, 1, 1, 1])),
             ("random function (seed 0)", zoo.random_function(10, seed=0)),
             (r"$\mathbb{E}[\mathrm{label}]$, 3-sparse parity, $\eta = 0.1$",
              zoo.noisy_sparse_parity(8, {1, 2, 3}, Fraction(1, 10)))]
    fig, axes = plt.subplots(2, 3, figsize=(9.6, 5.4), sharey=True)
    data = {}
    for ax, (label, f) in zip(axes.ravel(), funcs, strict=True):
        w = weights(f)
        ax.bar(range(len(w)), [float(x) for x in w], color="C0")
        ax.set_title(f"{label} ($n = {f.n}$)", fontsize=9)
        ax.set_xlabel("degree $k$")
        ax.set_xticks(range(0, len(w), max(1, len(w) // 6)))
        data[label] = [str(x) for x in w]
    for ax in axes[:, 0]:
        ax.set_ylabel(r"$W^k[f] = \sum_{|S|=k}\hat f(S)^2$")
    fig.suptitle(r"Fourier weight by degree (exact, FWHT; the weights sum to $\mathbb{E}[f^2]$)",
                 fontsize=10)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    _save_data(path, data)


@figure("boolean_influence_profiles",
        "Influence Inf_i by coordinate for zoo functions (exact), with I[f] and as(f)/n")
def influence_profiles(path: Path) -> None:
    """Bar charts of the exact influences ``Inf_i[f]`` by coordinate for six zoo functions.

    Parameters
    ----------
    path : pathlib.Path
        Output PNG; the plotted data are written beside it as JSON (same stem).

    Examples
    --------
    The function is registered with ``nstheory figures`` under its figure name:

    >>> from nstheory.plots import FIGURES
    >>> FIGURES["boolean_influence_profiles"].fn is influence_profiles
    True
    """
    from nstheory.boolean import zoo
    from nstheory.boolean.analysis import influences, normalised_average_sensitivity

    plt = setup_matplotlib()
    funcs = [(r"$\mathrm{Maj}_{11}$", zoo.majority(11)),
             (r"$\mathrm{Tribes}_{2,5}$", zoo.tribes(2, 5)),
             ("LTF, weights (5, 4, 3, 2, 1, 1, 1)", zoo.threshold([5, 4, 3, 2, 1, 1, 1])),
             (r"$\mathrm{AND}_8$", zoo.and_(8)), (r"dictator $x_3$ ($n = 8$)", zoo.dictator(8, 3)),
             (r"parity $\chi_{\{1,2\}}$ ($n = 8$)", zoo.parity(8, {1, 2}))]
    fig, axes = plt.subplots(2, 3, figsize=(9.6, 5.4))
    data = {}
    for ax, (label, f) in zip(axes.ravel(), funcs, strict=True):
        inf = influences(f)
        total = sum(inf, Fraction(0))
        ax.bar(range(1, f.n + 1), [float(x) for x in inf], color="C2")
        ax.set_title(f"{label}\n$I[f] = {float(total):.4g}$, $\\mathrm{{as}}(f)/n = "
                     f"{float(normalised_average_sensitivity(f)):.3g}$", fontsize=9)
        ax.set_xlabel("coordinate $i$")
        ax.set_ylim(0, 1.05)
        if 0 < max(inf) < 0.05:
            ax.text(0.5, 0.5, f"largest bar {float(max(inf)):.3g}\n(too small to see)",
                    transform=ax.transAxes, ha="center", fontsize=8)
        data[label] = [str(x) for x in inf]
    for ax in axes[:, 0]:
        ax.set_ylabel(r"$\mathrm{Inf}_i[f] = \Pr[f(x) \neq f(x^{\oplus i})]$")
    fig.suptitle(r"Influence profiles (exact, FWHT; $I[f]$ = total influence = "
                 r"average sensitivity $\mathrm{as}(f)$)", fontsize=10)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    _save_data(path, data)
