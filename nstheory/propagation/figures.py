"""Figures of the propagation area: measured stability inside interval envelopes vs depth.

``propagation_envelopes``: the plot the paper's reviewers asked for. Raw stability
``E[h(X)_ij h(Y)_ij]`` per layer for MLP, attention-only and transformer stacks, without (left)
and with (right) residual connections and LayerNorm: certified mean-field interval (band),
float point recurrence (line), Monte Carlo of random-weight torch models (width 256, 95% CI
bars). The paper's recurrence ``rho_L = kappa(rho_{L-1})`` is drawn for reference, and for the
random-``W`` attention stack the d -> infinity copy chain
(:mod:`nstheory.attention.copy_chain`) beside the finite-width Monte Carlo.

Random-``W`` attention and pre-LN transformer stacks appear twice: with the d -> infinity
(hard-argmax) pattern, and with the softmax pattern moments at ``d = 256`` (the width; their
intervals are exact only up to the first layer acting non-linearly on an attention output,
see docs/attention.md) together with the pattern-resolved mean field at ``d = 256``
(:mod:`nstheory.propagation.pattern_resolved`, dashed, with its enclosure as a band: it holds
the pattern-resolved value with probability ``>= 1 - 1e-6`` at every layer at once). The Monte
Carlo of these torch stacks is drawn once, with the finite-d entry (the torch networks are the
same).
"""

from __future__ import annotations

from nstheory.plots import figure, save_png

RHO = 0.9
DEPTH = 16
WIDTH = 256
#: Pattern-resolved samples per finite-d random-W configuration, and the failure probability of
#: their enclosure (simultaneous over the layers).
PATTERN_SAMPLES = 200_000
PATTERN_DELTA = 1e-6
#: Names of the configurations drawn without their own Monte Carlo (the torch networks are
#: those of the finite-d entry drawn next to them).
NO_MC = (r"attention (random $W$, $\gamma^2 = 0.9$, $d \to \infty$ pattern)",
         r"transformer pre-LN + residual, random $W$ ($d \to \infty$ pattern)")


def _configs():
    from nstheory.propagation.model import attention_stack, mlp, transformer

    plain = [
        ("MLP (He, ReLU)", mlp(DEPTH, sigma2=2.0)),
        (r"attention (random $W$, $\gamma^2 = 0.9$, $d \to \infty$ pattern)",
         attention_stack(DEPTH, "random", gamma2=0.9)),
        (r"attention (random $W$, $\gamma^2 = 0.9$, $d = 256$ softmax)",
         attention_stack(DEPTH, "random", gamma2=0.9, d=WIDTH)),
        (r"attention (identity $W$, $\gamma^2 = 0.9$, pattern slack 0.02)",
         attention_stack(DEPTH, gamma2=0.9, pattern_slack=0.02)),
        (r"transformer (no residual, no LN, $\gamma^2 = 0.9$, slack 0.02)",
         transformer(DEPTH, gamma2=0.9, residual=False, layernorm=False, pattern_slack=0.02)),
    ]
    residual = [
        ("MLP + residual (pre-LN)", mlp(DEPTH, residual=True, layernorm=True)),
        (r"attention + residual (pre-LN, $\gamma^2 = 0.9$, slack 0.02)",
         attention_stack(DEPTH, gamma2=0.9, residual=True, layernorm=True, pattern_slack=0.02)),
        ("transformer pre-LN + residual (slack 0.02)",
         transformer(DEPTH, gamma2=0.9, pattern_slack=0.02)),
        ("transformer post-LN + residual (slack 0.02)",
         transformer(DEPTH, gamma2=0.9, post_ln=True, pattern_slack=0.02)),
        (r"transformer pre-LN + residual, random $W$ ($d \to \infty$ pattern)",
         transformer(DEPTH, "random", gamma2=0.9)),
        (r"transformer pre-LN + residual, random $W$ ($d = 256$ softmax)",
         transformer(DEPTH, "random", gamma2=0.9, d=WIDTH)),
    ]
    return plain, residual


def envelope_data(mc_samples: int = 1500, per_net: int = 150, seed: int = 0,
                  names: tuple | None = None) -> dict:
    """Per-configuration rows of :func:`nstheory.propagation.compare.layer_table`.

    The data of the ``propagation_envelopes`` figure: for each panel (``plain``,
    ``residual``) and each stack, one row per block with the certified interval,
    the point recurrence and (if ``mc_samples > 0``) the Monte Carlo estimate.

    Parameters
    ----------
    mc_samples : int, optional
        Monte Carlo input pairs per configuration (0: intervals and recurrence only).
    per_net : int, optional
        Input pairs per random network.
    seed : int, optional
        Seed of the Monte Carlo.
    names : tuple of str, optional
        Only these configurations (default: all).

    Returns
    -------
    dict
        ``{panel: {configuration name: [row dict, ...]}}``.

    Examples
    --------
    Without sampling, one configuration. The first He-initialised ReLU layer at
    ``rho = 0.9`` encloses the arc-cosine value:

    >>> import math
    >>> d = envelope_data(mc_samples=0, names=("MLP (He, ReLU)",))
    >>> rows = d["plain"]["MLP (He, ReLU)"]
    >>> exact = (math.sqrt(1 - 0.81) + (math.pi - math.acos(0.9)) * 0.9) / math.pi
    >>> len(rows), float(rows[0]["lo"]) <= exact <= float(rows[0]["hi"]), rows[0]["mc_mean"]
    (16, True, None)
    """
    from nstheory.propagation.compare import distance_z, layer_table
    from nstheory.propagation.pattern_resolved import pattern_resolved_enclosure
    from nstheory.stats import normal_quantile

    plain, residual = _configs()
    out = {}
    for panel, cfgs in (("plain", plain), ("residual", residual)):
        out[panel] = {}
        for name, model in cfgs:
            if names is not None and name not in names:
                continue
            rows = [r.to_dict() for r in layer_table(
                model, RHO, mc_samples=0 if name in NO_MC else mc_samples, width=WIDTH,
                per_net=per_net, seed=seed)]
            if "softmax" in name and mc_samples:
                pr = pattern_resolved_enclosure(model, RHO, samples=PATTERN_SAMPLES, seed=seed,
                                                width=WIDTH, delta=PATTERN_DELTA)
                for r, m in zip(rows, pr, strict=True):
                    z = distance_z(m.lo, m.hi, r["mc_mean"], r["mc_stderr"])
                    r.update(pattern_resolved_mean=m.mean, pattern_resolved_stderr=m.stderr,
                             enclosure_lo=m.lo, enclosure_hi=m.hi,
                             enclosure_contains_mc=abs(z) <= normal_quantile(0.999))
            out[panel][name] = rows
    return out


@figure("propagation_envelopes",
        "measured stability (MC, width 256) inside certified mean-field envelopes vs depth: "
        "MLP vs attention vs transformer, with and without residual/LayerNorm")
def envelopes(path):
    """Draw measured stability inside certified mean-field envelopes against depth.

    Parameters
    ----------
    path : str or pathlib.Path
        Output PNG; the plotted rows are stored beside it as JSON.

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["propagation_envelopes"].fn is envelopes
    True
    """
    import torch

    from nstheory.attention.copy_chain import copy_chain_stability
    from nstheory.plots import setup_matplotlib
    from nstheory.propagation.recurrence import paper_relu_recurrence
    from nstheory.store import save_json

    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    plt = setup_matplotlib()
    data = envelope_data()
    fig, axes = plt.subplots(2, 1, figsize=(11, 9))
    colors = ["C0", "C1", "C5", "C2", "C3", "C4", "C6"]
    for ax, (panel, title) in zip(axes, (("plain", "no residual, no LayerNorm"),
                                         ("residual", "residual + LayerNorm")), strict=True):
        for color, (name, rows) in zip(colors, data[panel].items(), strict=False):
            L = [r["layer"] for r in rows]
            lo = [float(r["lo"]) for r in rows]
            hi = [float(r["hi"]) for r in rows]
            ax.fill_between(L, lo, hi, color=color, alpha=0.25, lw=0)
            what = ("scalar-rule interval / point (closure)" if "softmax" in name
                    else "interval (certified) / point")
            ax.plot(L, [r["point"] for r in rows], color=color, lw=1, label=f"{name}: {what}")
            if rows[0]["mc_mean"] is None:
                continue
            n_in = sum(bool(r["contained"]) for r in rows)
            ax.errorbar(L, [r["mc_mean"] for r in rows],
                        yerr=[1.96 * r["mc_stderr"] for r in rows], fmt="o", ms=2.5,
                        color=color, capsize=1.5, lw=0.8,
                        label=f"MC width {WIDTH}, 95% CI, {name}: {n_in}/{len(rows)} meet "
                              "the interval")
            if "pattern_resolved_mean" in rows[0]:
                n_e = sum(bool(r["enclosure_contains_mc"]) for r in rows)
                ax.plot(L, [r["pattern_resolved_mean"] for r in rows], color=color, ls="--",
                        lw=1.2, label=r"pattern-resolved mean field, $d = 256$, and its "
                        rf"enclosure ($p \geq 1 - 10^{{-6}}$): MC meets it at {n_e}/{len(rows)}")
                ax.fill_between(L, [r["enclosure_lo"] for r in rows],
                                [r["enclosure_hi"] for r in rows], color=color, alpha=0.15,
                                lw=0, hatch="//")
        if panel == "plain":
            chain = copy_chain_stability(4, RHO, DEPTH, gamma2=0.9, samples=200_000, seed=0)
            ax.plot(range(1, DEPTH + 1), [m.mean for m in chain], color="C1", ls=":", lw=1.2,
                    label=r"random-$W$ attention, $d \to \infty$ copy chain (MC of the limit)")
            paper = paper_relu_recurrence(RHO, DEPTH)[1:]
            ax.plot(range(1, DEPTH + 1), paper, "k--", lw=1,
                    label=r"paper recurrence $\rho_L = \kappa(\rho_{L-1}) \to 0.2172$")
        ax.set_yscale("log")
        ax.set_xlabel("layer (block)")
        ax.set_ylabel(r"raw stability $\mathbb{E}[h(X)_{ij}\, h(Y)_{ij}]$")
        ax.set_title(rf"{title} ($\rho = {RHO}$)")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle("Noise stability through depth: MC (random weights, width 256) vs certified "
                 "mean-field intervals (arb, 53 bits)", fontsize=10)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    save_json({"rho": RHO, "depth": DEPTH, "width": WIDTH, "view": "raw", "data": data},
              path.with_suffix(".json"))


# the finite-width figure registers itself on import (kept in its own module)
from nstheory.propagation.finite_width_figure import (  # noqa: E402, F401
    finite_width_figure,
    finite_width_smooth_figure,
)
