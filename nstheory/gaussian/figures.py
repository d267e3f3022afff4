"""Figures of the Gaussian activation maps and the ReLU depth recurrence (``figures/gaussian_*``).

Every curve is labelled with its view (raw / cov / corr) and route (float64 evaluators, checked
against the precise and certified routes by ``nstheory verify``).
"""

from __future__ import annotations

import itertools

import numpy as np

from nstheory.plots import figure, save_png, setup_matplotlib
from nstheory.store import save_json

ACTS = ("relu", "leaky_relu", "abs", "sign", "erf", "gelu", "tanh", "silu", "softplus",
        "identity")
#: how each activation is named in a legend
LABELS = {"relu": "ReLU", "leaky_relu": "leaky ReLU (slope 0.01)", "abs": r"$|x|$",
          "sign": "sign", "erf": "erf", "gelu": "GELU", "tanh": "tanh", "silu": "SiLU",
          "softplus": "softplus", "identity": "identity"}


@figure("gaussian_maps", "Gaussian maps rho -> E[phi(U)phi(V)] of every activation in the "
        "raw, centred-covariance and normalised (C-map) views, unit variances")
def maps(path):
    """Plot the Gaussian maps of every activation in the raw, cov and corr views to ``path`` (PNG,
    with the curves as JSON next to it).

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["gaussian_maps"].fn is maps
    True
    """
    from nstheory.gaussian.activations import get_activation

    plt = setup_matplotlib()
    rho = np.linspace(-1, 1, 401)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    data = {"rho": rho.tolist()}
    titles = {"raw": r"raw view $\mathbb{E}[\phi(U)\phi(V)]$ (paper's Stab)",
              "cov": r"centred view $\mathbb{E}[\phi(U)\phi(V)] - "
                     r"\mathbb{E}\phi(U)\,\mathbb{E}\phi(V)$",
              "corr": r"normalised view $\mathbb{E}[\phi(U)\phi(V)] / "
                      r"\mathbb{E}[\phi(U)^2]$ (C-map)"}
    ylabels = {"raw": "raw map value", "cov": "centred map value (covariance)",
               "corr": "normalised map value"}
    # ten activations, eight colours: the last two are dashed so no two curves look alike
    styles = [(f"C{i % 8}", "-" if i < 8 else "--") for i in range(len(ACTS))]
    for ax, view in zip(axes, ("raw", "cov", "corr"), strict=True):
        for name, (col, ls) in zip(ACTS, styles, strict=True):
            act = get_activation(name)
            y = act.value_float(rho, 1.0, 1.0, view=view)
            data[f"{view}/{name}"] = y.tolist()
            ax.plot(rho, y, label=LABELS[name], lw=1.3, color=col, ls=ls)
        ax.set_title(titles[view])
        ax.set_xlabel(r"$\rho = \mathrm{corr}(U, V)$ (unit variances $q_1 = q_2 = 1$)")
        ax.set_ylabel(f"{ylabels[view]} (float64 route)")
    axes[0].legend(ncol=2, loc="lower right")
    fig.suptitle("Gaussian noise-stability maps of activations, three views "
                 "(float64 evaluators; verified against mpmath/arb routes)")
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    save_json(data, path.with_suffix(".json"))


@figure("gaussian_cobweb", "Cobweb of the ReLU depth recurrence rho_L = kappa(rho_{L-1}) with "
        "the certified fixed point 0.21723... against the paper's linearised 2/(3 pi)")
def cobweb(path):
    """Plot the cobweb of the ReLU depth recurrence and its convergence to the certified fixed
    point to ``path`` (PNG, data as JSON next to it).

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["gaussian_cobweb"].fn is cobweb
    True
    """
    from nstheory.gaussian.activations import kappa_np
    from nstheory.gaussian.recurrence import iterate_kappa, kappa_fixed_point_arb

    plt = setup_matplotlib()
    fp = kappa_fixed_point_arb(128)
    fpv = float(fp.mid())
    lin = 2 / (3 * np.pi)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 5))
    r = np.linspace(-1, 1, 400)
    ax.plot(r, kappa_np(r), "k", label=r"$\kappa(\rho)$ (raw view, unit variances)")
    ax.plot(r, r, color="gray", lw=0.8, label="identity")
    ax.plot(r, 1 / (2 * np.pi) + r / 4, "--", color="tab:orange",
            label=r"linearisation $1/(2\pi) + \rho/4$")
    data = {"fixed_point_certified": str(fp), "paper_linearised": lin, "cobwebs": {}}
    for start, col in ((1.0, "tab:blue"), (-1.0, "tab:green")):
        it = iterate_kappa(start, 12)
        data["cobwebs"][str(start)] = it
        xs, ys = [it[0]], [it[0]]
        for a, b in itertools.pairwise(it):
            xs += [a, b]
            ys += [b, b]
        ax.plot(xs, ys, color=col, lw=0.9, label=rf"cobweb from $\rho_0 = {start:g}$")
    ax.axvline(fpv, color="tab:red", lw=1,
               label=rf"exact $\rho^* = {fpv:.10f}$ (certified: arb, interval Newton)")
    ax.axvline(lin, color="tab:orange", lw=1, ls=":",
               label=rf"paper $2/(3\pi) = {lin:.10f}$")
    ax.set_xlabel(r"$\rho_{L-1}$ (raw view = correlation, unit variances)")
    ax.set_ylabel(r"$\rho_L = \kappa(\rho_{L-1})$")
    ax.set_title("ReLU depth recurrence (haris2026 §2.5)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    # zoom on the fixed point
    z = np.linspace(0.2, 0.235, 200)
    ax2.plot(z, kappa_np(z), "k", label=r"$\kappa(\rho)$")
    ax2.plot(z, z, color="gray", lw=0.8)
    ax2.plot(z, 1 / (2 * np.pi) + z / 4, "--", color="tab:orange", label="linearisation")
    ax2.axvline(fpv, color="tab:red", lw=1, label="exact fixed point (certified)")
    ax2.axvline(lin, color="tab:orange", ls=":", lw=1,
                label=r"$2/(3\pi)$: the linearisation's root")
    ax2.set_title(f"zoom: the linearisation misses the root by {fpv - lin:.2g} "
                  f"({(fpv - lin) / fpv:.1%} of the root)")
    ax2.set_xlabel(r"$\rho$")
    ax2.set_ylabel(r"$\kappa(\rho)$ (raw view)")
    ax2.legend()
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    save_json(data, path.with_suffix(".json"))


@figure("gaussian_cmap_depth", "The normalised ReLU C-map 2 kappa iterated over depth: rho_L "
        "-> 1 polynomially, (1 - rho_L) L^2 -> 9 pi^2/2")
def cmap_depth(path):
    """Plot the normalised ReLU C-map iterated over depth and ``(1 - rho_L) L^2`` to ``path`` (PNG,
    data as JSON next to it).

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["gaussian_cmap_depth"].fn is cmap_depth
    True
    """
    from nstheory.gaussian.recurrence import cmap_gap_step

    plt = setup_matplotlib()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.6))
    Lmax = 100_000
    marks = np.unique(np.logspace(0, 5, 80).astype(int))
    data = {}
    for rho0 in (-0.5, 0.0, 0.5, 0.9):
        eps, L, gaps, rhos = 1 - rho0, 0, [], []
        for t in marks:
            while L < t:
                eps = cmap_gap_step(eps)
                L += 1
            gaps.append(eps * t * t)
            rhos.append(1 - eps)
        data[str(rho0)] = {"L": marks.tolist(), "rho_L": rhos, "gap_L2": gaps}
        ax.semilogx(marks, rhos, label=rf"$\rho_0 = {rho0:g}$")
        ax2.semilogx(marks, gaps, label=rf"$\rho_0 = {rho0:g}$")
    assert L == Lmax
    ax.set_xlabel("depth $L$")
    ax.set_ylabel(r"$\rho_L$ (normalised view, C-map $c = 2\kappa$; float64)")
    ax.set_title(r"C-map iterates $\rho_L \to 1$ (marginal fixed point, $c'(1) = 1$)")
    ax.legend()
    ax2.axhline(9 * np.pi**2 / 2, color="k", ls="--", label=rf"$9\pi^2/2 = {9 * np.pi**2 / 2:.6g}$")
    ax2.set_xlabel("depth $L$")
    ax2.set_ylabel(r"$(1 - \rho_L)\,L^2$")
    ax2.set_title(r"polynomial approach: $(1 - \rho_L)\,L^2 \to 9\pi^2/2$ "
                  "(float64, stable gap form)")
    ax2.legend()
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    save_json(data, path.with_suffix(".json"))
