"""Figures of the real-model measurements, drawn from the stored MiniLM runs in
``proofs_check/data/models_minilm*.json`` (no model evaluation at figure time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nstheory.plots import figure, save_png, setup_matplotlib

DATA = Path(__file__).resolve().parents[2] / "proofs_check" / "data"


def _save_data(path, res, data, what: str) -> None:
    from nstheory.store import save_json

    save_json({"what": what, "source": "proofs_check/data/models_minilm.json",
               "config_hash": res["hash"], "inputs": res["config"]["inputs"], "data": data},
              Path(path).with_suffix(".json"))


def _summary(name="models_minilm.json"):
    from nstheory.errors import NSTheoryError
    from nstheory.models.summary import summarise

    p = DATA / name
    if not p.exists():
        raise NSTheoryError(f"stored run {p} absent: run `nstheory model influence` and export it")
    return summarise(p)


@figure("models_minilm_influence",
        "MiniLM: influence by position (token-resampling and geometric, 95% CI bands)")
def influence_by_position(path):
    """Draw influence by token position for the stored MiniLM run.

    One row per functional: token-resampling influence (raw) on the left, the
    geometric Jacobian norm on the right, each with its 95% confidence band.

    Parameters
    ----------
    path : str or pathlib.Path
        Output PNG; a JSON file with the plotted numbers is written beside it.

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["models_minilm_influence"].fn is influence_by_position
    True
    """
    plt = setup_matplotlib()
    res = _summary()
    specs = list(res["functionals"])
    fig, axes = plt.subplots(len(specs), 2, figsize=(11, 2.6 * len(specs)), squeeze=False)
    for row, spec in enumerate(specs):
        fr = res["functionals"][spec]
        for col, (m, title, ylab) in enumerate((
                ("token", "token-resampling influence", r"$\mathrm{Inf}_i[f]$ (raw, log scale)"),
                ("geometric", "geometric influence",
                 r"$\mathbb{E}\,\|J_i\|_F$ (raw, log scale)"))):
            ax = axes[row][col]
            r = fr[m]
            pp = r.get("per_position", r)
            mean = np.array(pp["mean"])
            x = np.arange(mean.size)
            ax.plot(x, mean, lw=0.9)
            lo = np.array(pp["ci95_lo"])
            # a lower 95% limit <= 0 (4 inputs) is drawn at mean/10 on the log axis
            ax.fill_between(x, np.where(lo > 0, lo, mean / 10), pp["ci95_hi"], alpha=0.3)
            ax.set_yscale("log")
            ax.set_ylim(mean.min() / 20, None)
            ax.set_title(f"functional f = {spec}: {title}, {r['inputs']} inputs", fontsize=9)
            ax.set_xlabel("token position $i$")
            ax.set_ylabel(ylab, fontsize=8)
    fig.suptitle(f"all-MiniLM-L6-v2, n = {res['config']['n']} tokens; {res['text']}\n"
                 "line: mean over inputs; band: 95% CI (a lower limit at or below 0 is drawn at "
                 "mean/10 on the log axis)", fontsize=9)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    _save_data(path, res, {spec: {m: fr[m].get("per_position", fr[m])
                                  for m in ("token", "geometric")}
                           for spec, fr in res["functionals"].items()},
               "per-position mean and 95% CI: token-resampling Inf_i (raw) and geometric "
               "E||J_i||_F")


@figure("models_minilm_junta", "MiniLM: share of total influence held by the top-k positions")
def junta_curve(path):
    """Draw the cumulative share of total influence held by the top-k positions.

    Parameters
    ----------
    path : str or pathlib.Path
        Output PNG; a JSON file with the junta sizes is written beside it.

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["models_minilm_junta"].fn is junta_curve
    True
    """
    plt = setup_matplotlib()
    res = _summary()
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, (spec, fr) in enumerate(res["functionals"].items()):
        for m, style in (("token", "-"), ("geometric", "--")):
            pp = fr[m].get("per_position", fr[m])
            v = np.sort(np.clip(pp["mean"], 0, None))[::-1]
            ax.plot(np.arange(1, v.size + 1), np.cumsum(v) / v.sum(), style, color=f"C{k}",
                    label=f"f = {spec}, {m} influence")
    for lv in (0.5, 0.9, 0.99):
        ax.axhline(lv, color="grey", lw=0.5)
    ax.axvspan(5, 10, color="orange", alpha=0.15,
               label="paper (haris2026 §4.1, Figure 1): 5-10 tokens")
    ax.set_xscale("log")
    ax.set_xlabel("number of positions k (largest influences first)")
    ax.set_ylabel("share of total influence")
    ax.set_title(f"junta curve, all-MiniLM-L6-v2, n = {res['config']['n']} "
                 f"(mean influence over {res['config']['inputs']} inputs)", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    _save_data(path, res, {spec: {m: fr[m]["junta"] for m in ("token", "geometric")}
                           for spec, fr in res["functionals"].items()},
               "junta sizes (50/90/99% of the total) with 95% intervals over inputs "
               "(nstheory.models.summary.junta_interval)")


@figure("models_minilm_layers",
        "MiniLM: per-layer stability under Gaussian embedding noise, measured vs mean-field")
def layers_vs_theory(path):
    """Draw per-layer stability of MiniLM under embedding noise against mean field.

    Parameters
    ----------
    path : str or pathlib.Path
        Output PNG, drawn from the stored layer comparison.

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["models_minilm_layers"].fn is layers_vs_theory
    True
    """
    from nstheory.store import load_json

    plt = setup_matplotlib()
    res = load_json(DATA / "models_minilm_layers.json")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, view in zip(axes, ("uncentred", "centred"), strict=True):
        for k, (rho, row) in enumerate(res["comparison"].items()):
            m = row["measured"][view]
            ci = np.array(row["measured"].get(f"{view}_ci95") or [[v, v] for v in m])
            ax.errorbar(range(len(m)), m, yerr=[np.array(m) - ci[:, 0], ci[:, 1] - np.array(m)],
                        fmt="o-", capsize=2, color=f"C{k}", label=rf"measured, $\rho = {rho}$")
            p = row["predicted"].get(view)
            if p:
                ax.plot(range(len(p)), p, "--", color=f"C{k}", label=rf"mean field, $\rho = {rho}$")
        ax.set_xlabel("layer (0 = embedding output)")
        ax.set_ylabel(f"{view} correlation of $h(x)$, $h(y)$")
        ax.set_title(f"{view} view, {res['inputs']} inputs × {res['draws']} noise draws\n"
                     "(95% jackknife-t intervals over inputs)", fontsize=9)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
    fig.suptitle("all-MiniLM-L6-v2 under Gaussian embedding noise of correlation $\\rho$, "
                 "measured vs the mean-field propagation (prediction starts at the measured "
                 "layer 0)", fontsize=9)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    save_png(fig, path)
    plt.close(fig)
    from nstheory.store import save_json

    save_json({"what": "per-layer correlation of h(x), h(y): measured vs mean-field",
               "source": "proofs_check/data/models_minilm_layers.json",
               "data": res["comparison"]}, Path(path).with_suffix(".json"))
