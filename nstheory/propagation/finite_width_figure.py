"""Figure ``propagation_finite_width``: stability vs depth at several widths (Monte Carlo points,
mean-field curve, 1/width-corrected curves) and the residual-scaling plot.

Data: the stored studies ``proofs_check/data/propagation_finite_width.json`` (He ReLU MLP,
widths 16-256) and ``propagation_finite_width_blocks.json`` (widths 512, 1024 and the transformer
blocks), rho = 0.9, normalised view, 20 input pairs per network, regenerated with
``nstheory finite-width-study OUT [--set blocks]``.
"""

from __future__ import annotations

from pathlib import Path

from nstheory.errors import NSTheoryError
from nstheory.plots import figure, save_png

#: Lower edge of the residual panel's log axis: an interval reaching 0 is drawn down to it.
RESIDUAL_FLOOR = 1e-6

STUDY = Path(__file__).resolve().parents[2] / "proofs_check" / "data" / \
    "propagation_finite_width.json"
BLOCKS = STUDY.with_name("propagation_finite_width_blocks.json")
WIDTHS = (16, 32, 64, 128, 256, 512, 1024)
#: transformer runs of the third panel: (key, label)
TRANSFORMER = (("tf_preln_w64", "pre-LN, width 64"), ("tf_preln_w256", "pre-LN, width 256"),
               ("tf_postln_w64", "post-LN, width 64"), ("tf_postln_w256", "post-LN, width 256"))
FIT_WIDTHS = (32, 64, 128, 256)
FIT_LAYERS = (10, 15, 20)


@figure("propagation_finite_width",
        "normalised stability vs depth at widths 16-1024: Monte Carlo, mean field and the "
        "1/width-corrected recursion; residual |MC - corrected| vs width (~ width^-2); "
        "transformer blocks (identity attention pattern, pre-LN and post-LN)")
def finite_width_figure(path):
    """Draw the stored finite-width study (no new Monte Carlo).

    Normalised stability against depth at several widths: Monte Carlo, mean field
    and the 1/width-corrected recursion, plus the residual against width.

    Parameters
    ----------
    path : str or pathlib.Path
        Output PNG.

    Raises
    ------
    NSTheoryError
        If the stored study is absent.

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["propagation_finite_width"].fn is finite_width_figure
    True
    """
    import numpy as np

    from nstheory.plots import setup_matplotlib
    from nstheory.propagation.finite_width import finite_width_recursion
    from nstheory.propagation.model import mlp
    from nstheory.store import load_json, save_json

    for f in (STUDY, BLOCKS):
        if not f.exists():
            raise NSTheoryError(f"stored study {f} absent: run python -m "
                                "nstheory.propagation.finite_width_study first")
    blocks = load_json(BLOCKS)["runs"]
    runs = {**load_json(STUDY)["runs"], **{k: v for k, v in blocks.items()
                                            if k.startswith("relu_d20_")}}
    rows = finite_width_recursion(mlp(20), 0.9, per_net=20)
    layers = np.arange(1, 21)
    mf = np.array([r.mean_field_normalised for r in rows])
    plt = setup_matplotlib()
    fig, (ax, bx, tx) = plt.subplots(1, 3, figsize=(18, 4.8))
    ax.plot(layers, mf, "k-", lw=1.5, label=r"mean field ($N \to \infty$)")
    out = {"mean_field": mf.tolist(), "widths": {}}
    colors = ("C0", "C1", "C2", "C3", "C4", "tab:brown", "tab:gray")
    for color, w in zip(colors, WIDTHS, strict=True):
        run = runs[f"relu_d20_w{w}"]
        corr = np.array([r.corrected_normalised(w) for r in rows])
        ax.plot(layers, corr, "--", color=color, lw=1, label=f"1/N-corrected, width {w}")
        ax.errorbar(layers, run["mean"], yerr=1.96 * np.array(run["stderr"]), fmt="o", ms=2.5,
                    color=color, capsize=1.5, lw=0.8,
                    label=f"MC width {w} ({run['n_nets']} nets), 95% CI")
        out["widths"][w] = {"corrected": corr.tolist(), "mc_mean": run["mean"],
                            "mc_stderr": run["stderr"], "n_nets": run["n_nets"]}
    ax.set_xlabel("layer (block)")
    ax.set_ylabel("normalised stability (mean over nets of the cosine)")
    ax.set_title(r"He ReLU MLP, $\rho = 0.9$, 20 input pairs per network")
    ax.legend(fontsize=6, loc="lower left", ncol=2)
    fit = _residual_panel(bx, {w: runs[f"relu_d20_w{w}"] for w in WIDTHS}, rows, FIT_WIDTHS,
                          FIT_LAYERS)
    out["transformer"] = _transformer_panel(tx, blocks)
    fig.suptitle("Finite-width noise stability: mean field + four-point-vertex 1/width "
                 "correction vs Monte Carlo", fontsize=10)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    out.update(view="normalised", rho=0.9, per_net=20, layers=layers.tolist(),
               residual_fit={"exponent": fit.exponent, "ci95": [fit.lo, fit.hi],
                             "chi2": fit.chi2, "dof": fit.dof, "layers": list(FIT_LAYERS),
                             "widths": list(FIT_WIDTHS)})
    save_json(out, Path(path).with_suffix(".json"))


def _residual_panel(bx, runs, rows, fit_widths, fit_layers):
    """Residual ``|MC - corrected|`` against width at ``fit_layers`` (95% intervals; an
    interval reaching 0 is drawn open, down to :data:`RESIDUAL_FLOOR`), the first-order term
    for scale, and the shared power law fitted over ``fit_widths``. ``runs`` maps every width
    drawn to its stored run. Returns the fit
    (:class:`~nstheory.propagation.residual_scaling.ExponentFit`).
    """
    import numpy as np

    from nstheory.propagation.residual_scaling import fit_exponent

    widths = tuple(runs)
    res = [[runs[w]["mean"][L - 1] - rows[L - 1].corrected_normalised(w) for w in fit_widths]
           for L in fit_layers]
    se = [[runs[w]["stderr"][L - 1] for w in fit_widths] for L in fit_layers]
    fit = fit_exponent(fit_widths, res, se)
    wgrid = np.geomspace(min(widths), max(widths), 60)
    for color, L in zip(("C5", "C6", "C7"), fit_layers, strict=True):
        r_all = [runs[w]["mean"][L - 1] - rows[L - 1].corrected_normalised(w) for w in widths]
        s_all = [runs[w]["stderr"][L - 1] for w in widths]
        mag, half = np.abs(r_all), 1.96 * np.array(s_all)
        zero = mag - half <= RESIDUAL_FLOOR  # the interval reaches 0: drawn to the floor, open
        low = np.where(zero, mag - RESIDUAL_FLOOR, half)
        bx.errorbar(np.array(widths)[~zero], mag[~zero], yerr=[low[~zero], half[~zero]],
                    fmt="o", color=color, capsize=2,
                    label=f"|MC - corrected|, layer {L} (95% CI)"
                    + (f"; open: {int(zero.sum())} CI(s) reaching 0" if zero.any() else ""))
        if zero.any():
            bx.errorbar(np.array(widths)[zero], mag[zero], yerr=[low[zero], half[zero]],
                        fmt="o", mfc="white", color=color, capsize=2)
        gap = abs(rows[L - 1].coef_normalised) / wgrid
        bx.plot(wgrid, gap, ":", color=color, lw=1, label=f"|1/N term|, layer {L}")
        r_fit = np.asarray(res[fit_layers.index(L)])
        s_fit = np.asarray(se[fit_layers.index(L)])
        f = np.asarray(fit_widths, float) ** -fit.exponent
        amp = np.sum(r_fit * f / s_fit**2) / np.sum(f * f / s_fit**2)
        bx.plot(wgrid, abs(amp) * wgrid**-fit.exponent, "-", color=color, lw=1)
    bx.set_xscale("log", base=2)
    bx.set_yscale("log")
    bx.set_ylim(bottom=RESIDUAL_FLOOR)
    bx.set_xlabel("width $N$")
    bx.set_ylabel("|normalised stability difference|")
    bx.set_title(rf"residual $\propto N^{{-p}}$: $p = {fit.exponent:.3g}$, 95% "
                 rf"[{fit.lo:.3g}, {fit.hi:.3g}] (layers "
                 rf"{'/'.join(map(str, fit_layers))}, widths {fit_widths[0]}–{fit_widths[-1]})",
                 fontsize=9)
    bx.legend(fontsize=7, loc="lower left")
    return fit


def _transformer_panel(tx, blocks) -> dict:
    """Third panel: transformer blocks (identity pattern, 4 tokens) at widths 64 and 256."""
    import numpy as np

    from nstheory.propagation.finite_width import finite_width_recursion
    from nstheory.propagation.finite_width_study import run_model

    out = {}
    for color, (key, label) in zip(("C0", "C1", "C2", "C3"), TRANSFORMER, strict=True):
        run = blocks[key]
        w = run["width"]
        rows = finite_width_recursion(run_model(run), run["rho"], per_net=run["per_net"])
        layers = np.arange(1, run["depth"] + 1)
        mf = [r.mean_field_normalised for r in rows]
        corr = [r.corrected_normalised(w) for r in rows]
        shift = 0.08 * (list(TRANSFORMER).index((key, label)) - 1.5)
        tx.errorbar(layers + shift, run["mean"], yerr=1.96 * np.array(run["stderr"]), fmt="o",
                    ms=3, color=color, capsize=1.5, lw=0.8,
                    label=f"MC {label} ({run['n_nets']} nets), 95% CI")
        tx.plot(layers, corr, "--", color=color, lw=1, label=f"1/N-corrected, {label}")
        if w == 256:
            tx.plot(layers, mf, "-", color=color, lw=0.8, alpha=0.6,
                    label=f"mean field, {label.split(',')[0]}")
        out[key] = {"mean_field": mf, "corrected": corr, "mc_mean": run["mean"],
                    "mc_stderr": run["stderr"], "n_nets": run["n_nets"]}
    tx.set_xlabel("transformer block")
    tx.set_ylabel("normalised stability")
    tx.set_title(r"transformer blocks, identity attention pattern, 4 tokens, $\rho = 0.9$",
                 fontsize=9)
    tx.legend(fontsize=6, loc="upper left", ncol=2)
    return out


SMOOTH = STUDY.with_name("propagation_finite_width_smooth.json")
#: (activation, sigma2, widths) of the collapse panels of ``propagation_finite_width_smooth``
SMOOTH_PANELS = (("gelu", 2.0, (64, 128, 256, 512, 1024)), ("tanh", 1.5, (256, 512, 1024)),
                 ("erf", 1.5, (256, 512, 1024)))


@figure("propagation_finite_width_smooth",
        "GELU, tanh and erf MLPs at widths 64-1024: width x (Monte Carlo - mean field) "
        "against the 1/width coefficient (a collapse onto one curve where the expansion "
        "holds); GELU's residual |MC - corrected| vs width (~ width^-2)")
def finite_width_smooth_figure(path):
    """Draw the stored smooth-activation study (no new Monte Carlo).

    If the 1/width expansion holds, ``N (MC - mean field)`` at every width lies on the
    first-order coefficient ``c_l``; where it breaks down (GELU at small width, deep layers)
    the points leave the curve, and the last panel shows that the residual falls like
    ``width^-2``.

    Parameters
    ----------
    path : str or pathlib.Path
        Output PNG.

    Raises
    ------
    NSTheoryError
        If the stored study is absent.

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["propagation_finite_width_smooth"].fn is finite_width_smooth_figure
    True
    """
    import numpy as np

    from nstheory.plots import setup_matplotlib
    from nstheory.propagation.finite_width import finite_width_recursion
    from nstheory.propagation.model import mlp
    from nstheory.store import load_json, save_json

    if not SMOOTH.exists():
        raise NSTheoryError(f"stored study {SMOOTH} absent: run nstheory finite-width-study "
                            f"{SMOOTH} --set smooth first")
    runs = load_json(SMOOTH)["runs"]
    plt = setup_matplotlib()
    fig, axes = plt.subplots(1, 4, figsize=(22, 4.8))
    out: dict = {"view": "normalised", "rho": 0.9, "per_net": 20, "depth": 10, "panels": {}}
    colors = ("C0", "C1", "C2", "C3", "C4")
    rows_by_act = {}
    for ax, (act, s2, widths) in zip(axes, SMOOTH_PANELS, strict=False):
        rows = rows_by_act[act] = finite_width_recursion(mlp(10, sigma2=s2, act=act), 0.9,
                                                         per_net=20)
        layers = np.arange(1, 11)
        coef = np.array([r.coef_normalised for r in rows])
        mf = np.array([r.mean_field_normalised for r in rows])
        ax.plot(layers, coef, "k-", lw=1.5, label="1/width coefficient $c_\\ell$ (recursion)")
        panel = {"coef": coef.tolist(), "widths": {}}
        for i, (color, w) in enumerate(zip(colors, widths, strict=False)):
            run = runs[f"{act}_d10_w{w}_proj"]
            scaled = w * (np.array(run["mean"]) - mf)
            err = w * 1.96 * np.array(run["stderr"])
            ax.errorbar(layers + 0.06 * (i - len(widths) / 2), scaled, yerr=err, fmt="o",
                        ms=3, color=color, capsize=1.5, lw=0.8,
                        label=f"width {w} ({run['n_nets']} nets), 95% CI")
            panel["widths"][w] = {"scaled_gap": scaled.tolist(), "scaled_ci95": err.tolist(),
                                  "n_nets": run["n_nets"]}
        ax.set_xlabel("layer")
        ax.set_ylabel(r"width $\times$ (MC $-$ mean field)")
        ax.set_title(rf"{act}, $\sigma_w^2 = {s2:g}$, $\rho = 0.9$, 20 pairs per network",
                     fontsize=9)
        ax.legend(fontsize=6, loc="best")
        out["panels"][act] = panel
    gelu = {w: runs[f"gelu_d10_w{w}_proj"] for w in (32, 64, 128, 256, 512, 1024)}
    fit = _residual_panel(axes[3], gelu, rows_by_act["gelu"], (128, 256, 512, 1024), (8, 9, 10))
    axes[3].set_title(axes[3].get_title().replace("residual", "GELU residual"), fontsize=9)
    out["gelu_residual_fit"] = {"exponent": fit.exponent, "ci95": [fit.lo, fit.hi],
                                "chi2": fit.chi2, "dof": fit.dof, "layers": [8, 9, 10],
                                "widths": [128, 256, 512, 1024]}
    fig.suptitle("Finite-width noise stability of smooth activations: the 1/width term and "
                 "where it stops sufficing (projected-sampler Monte Carlo)", fontsize=10)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    save_json(out, Path(path).with_suffix(".json"))


LEAK_B = STUDY.with_name("propagation_finite_width_leakage_b.json")
RANDOM_B = STUDY.with_name("propagation_finite_width_random_b.json")
#: held-out runs drawn: no-residual identity-pattern blocks, and pre-LN random-W blocks
LEAK_RUNS = ("tf_nores_w32_leak_b", "tf_nores_w64_leak_b", "tf_nores_w128_leak_b",
             "tf_nores_w256_leak_b")
RANDOM_B_RUNS = ("tf_random_preln_w32_d4", "tf_random_preln_w64_d4", "tf_random_preln_w128_d4",
                 "tf_random_preln_w256_d4", "tf_random_preln_w512_d4")
#: sampled token Gram matrices (leakage) and pattern samples (pattern-resolved) per run, seed 0
FIGURE_SAMPLES = {"leakage": 4000, "pattern_resolved": 10_000}


@figure("propagation_finite_width_leakage",
        "held-out transformer blocks beyond the 1/width rule: identity pattern without "
        "residual (1/width-corrected with and without the sampled leakage correction) and "
        "random query-key weights (hard-argmax mean field vs the pattern-resolved mean field "
        "at d = width), Monte Carlo with 95% intervals")
def finite_width_leakage_figure(path):
    """Draw the held-out studies ``--set leakage-b`` and ``--set random-b`` against the
    predictions (no new Monte Carlo; the sampled predictions use seed 0).

    Parameters
    ----------
    path : str or pathlib.Path
        Output PNG.

    Raises
    ------
    NSTheoryError
        If a stored study is absent.

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["propagation_finite_width_leakage"].fn is finite_width_leakage_figure
    True
    """
    import numpy as np

    from nstheory.plots import setup_matplotlib
    from nstheory.propagation.finite_width import finite_width_recursion
    from nstheory.propagation.finite_width_study import run_model
    from nstheory.propagation.identity_leakage import identity_leakage
    from nstheory.propagation.pattern_resolved import pattern_resolved_mc
    from nstheory.propagation.recurrence import point_recurrence
    from nstheory.store import load_json, save_json

    for f in (LEAK_B, RANDOM_B):
        if not f.exists():
            raise NSTheoryError(f"stored study {f} absent: run nstheory finite-width-study "
                                "OUT --set leakage-b / random-b first")
    plt = setup_matplotlib()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 4.8))
    out = {"identity_no_residual": {}, "random_preln": {},
           "samples": FIGURE_SAMPLES, "view": "normalised", "rho": 0.9, "per_net": 20}
    runs = load_json(LEAK_B)["runs"]
    for i, key in enumerate(LEAK_RUNS):
        run, color = runs[key], f"C{i}"
        model, w = run_model(run), run["width"]
        rows = finite_width_recursion(model, run["rho"], per_net=run["per_net"])
        leak = identity_leakage(model, run["rho"], w, samples=FIGURE_SAMPLES["leakage"], seed=0)
        layers = np.arange(1, run["depth"] + 1)
        corr = [r.corrected_normalised(w) for r in rows]
        both = [c + lk.normalised.mean for c, lk in zip(corr, leak, strict=True)]
        ax.errorbar(layers + 0.06 * (i - 1.5), run["mean"],
                    yerr=1.96 * np.array(run["stderr"]), fmt="o", ms=3, color=color,
                    capsize=1.5, lw=0.8, label=f"MC width {w} ({run['n_nets']} nets)")
        ax.plot(layers, corr, ":", color=color, lw=1)
        ax.plot(layers, both, "-", color=color, lw=1.2)
        out["identity_no_residual"][key] = {
            "width": w, "corrected": corr, "corrected_leak": both,
            "leak_stderr": [lk.normalised.stderr for lk in leak],
            "offdiag_weight": [lk.offdiag_weight for lk in leak],
            "mc_mean": run["mean"], "mc_stderr": run["stderr"]}
    mf = [r.mean_field_normalised for r in rows]
    ax.plot(layers, mf, "k-", lw=0.8, alpha=0.6, label="mean field")
    ax.plot([], [], "k:", label="1/N-corrected")
    ax.plot([], [], "k-", lw=1.2, label="1/N-corrected + leakage")
    out["identity_no_residual"]["mean_field"] = mf
    ax.set_xlabel("transformer block")
    ax.set_ylabel("normalised stability")
    ax.set_title("identity pattern, no residual (LN after each sub-block), held-out runs",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    runs = load_json(RANDOM_B)["runs"]
    for i, key in enumerate(RANDOM_B_RUNS):
        run, color = runs[key], f"C{i}"
        model, w = run_model(run), run["width"]
        pr = pattern_resolved_mc(model, run["rho"], samples=FIGURE_SAMPLES["pattern_resolved"],
                                 seed=0, width=w, chunk=2000, normalised_per=run["per_net"])
        layers = np.arange(1, run["depth"] + 1)
        bx.errorbar(layers + 0.06 * (i - 2), run["mean"],
                    yerr=1.96 * np.array(run["stderr"]), fmt="o", ms=3, color=color,
                    capsize=1.5, lw=0.8, label=f"MC width {w} ({run['n_nets']} nets)")
        bx.plot(layers, [p.mean for p in pr], "-", color=color, lw=1.2)
        out["random_preln"][key] = {"width": w, "pattern_resolved": [p.mean for p in pr],
                                    "pattern_resolved_stderr": [p.stderr for p in pr],
                                    "mc_mean": run["mean"], "mc_stderr": run["stderr"]}
    mf = [st.C / st.Q for st in point_recurrence(model, run["rho"])[1:]]
    bx.plot(layers, mf, "k--", lw=1, label="mean field (hard argmax, width -> inf)")
    bx.plot([], [], "k-", lw=1.2, label="pattern-resolved, d = width")
    out["random_preln"]["mean_field"] = mf
    bx.set_xticks(layers)
    bx.set_xlabel("transformer block")
    bx.set_ylabel("normalised stability")
    bx.set_title("random query-key weights, pre-LN, held-out runs", fontsize=9)
    bx.legend(fontsize=7, loc="lower left")
    fig.suptitle(r"Beyond the 1/width rule: 4 tokens, $\rho = 0.9$, 20 input pairs per network,"
                 " normalised view", fontsize=10)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    save_json(out, Path(path).with_suffix(".json"))


RANDOM_C = STUDY.with_name("propagation_finite_width_random_c.json")
RANDOM_E = STUDY.with_name("propagation_finite_width_random_e.json")
RANDOM_E_KEY = "tf_random_postln_w256_p1_L12"
#: held-out random-W runs drawn (one input pair per network), by panel
RANDOM_C_PANELS = (("pre-LN", ("tf_random_preln_w32_p1", "tf_random_preln_w64_p1",
                               "tf_random_preln_w128_p1")),
                   ("post-LN", ("tf_random_postln_w32_p1", "tf_random_postln_w64_p1")))


def _wide_panel(ax, run, pred) -> dict:
    """The random-e panel: Monte Carlo, mean field and the corrected value with its 95% band."""
    import numpy as np

    blocks = pred["blocks"]
    layers = np.arange(1, len(blocks) + 1)
    mf = np.array([b["normalised"]["mean_field"] for b in blocks])
    cor = np.array([b["normalised"]["corrected"] for b in blocks])
    se = np.array([b["normalised"]["corrected_stderr"] for b in blocks])
    ax.fill_between(layers, cor - 1.96 * se, cor + 1.96 * se, color="C3", alpha=0.2, lw=0,
                    label="corrected, 95% band (sampled prediction)")
    ax.plot(layers, cor, "-", color="C3", lw=1.2,
            label=f"+ 1/width correction ({blocks[0]['estimator']} estimator)")
    ax.plot(layers, mf, "--", color="k", lw=0.9, label="pattern-resolved mean field (d = 256)")
    ax.errorbar(layers, run["mean"], yerr=1.96 * np.array(run["stderr"]), fmt="o", ms=3,
                color="C0", capsize=1.5, lw=0.8, label=f"MC width 256 ({run['n_nets']} nets)")
    ax.set_xticks(layers)
    ax.set_xlabel("transformer block")
    ax.set_ylabel("normalised stability")
    ax.set_title("random query-key weights, post-LN, depth 12, width 256, held-out", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return {"width": 256, "estimator": blocks[0]["estimator"], "mean_field": mf.tolist(),
            "corrected": cor.tolist(), "corrected_stderr": se.tolist(), "mc_mean": run["mean"],
            "mc_stderr": run["stderr"]}


@figure("propagation_finite_width_random_corrected",
        "held-out random query-key transformer blocks (one input pair per network): the "
        "pattern-resolved mean field and its sampled 1/width correction against Monte Carlo "
        "with 95% intervals, at widths 32-128 (depth 4) and 256 (depth 12)")
def finite_width_random_corrected_figure(path):
    """Draw the held-out studies ``--set random-c`` (depth 4, widths 32-128) and ``--set
    random-e`` (post-LN, depth 12, width 256, with the prediction's 95% band) with their stored
    predictions (nothing is sampled here).

    Parameters
    ----------
    path : str or pathlib.Path
        Output PNG.

    Raises
    ------
    NSTheoryError
        If the stored study or its predictions are absent.

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["propagation_finite_width_random_corrected"].fn is (
    ...     finite_width_random_corrected_figure)
    True
    """
    import numpy as np

    from nstheory.plots import setup_matplotlib
    from nstheory.store import load_json, save_json

    data = load_json(RANDOM_C) if RANDOM_C.exists() else {}
    preds = data.get("predictions", {})
    if not all(k in preds for _, keys in RANDOM_C_PANELS for k in keys):
        raise NSTheoryError(f"stored study {RANDOM_C} or its predictions absent: run nstheory "
                            "finite-width-study OUT --set random-c --predict 400000 first")
    wide = load_json(RANDOM_E) if RANDOM_E.exists() else {}
    if RANDOM_E_KEY not in wide.get("predictions", {}):
        raise NSTheoryError(f"stored study {RANDOM_E} or its prediction absent: run nstheory "
                            "finite-width-study OUT --set random-e --predict 600000 first")
    plt = setup_matplotlib()
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.6))
    out = {"view": "normalised", "rho": 0.9, "per_net": 1}
    for ax, (title, keys) in zip(axes[:2], RANDOM_C_PANELS, strict=True):
        out[title] = {}
        for i, key in enumerate(keys):
            run, blocks = data["runs"][key], preds[key]["blocks"]
            w, color = run["width"], f"C{i}"
            layers = np.arange(1, len(blocks) + 1)
            mf = [b["normalised"]["mean_field"] for b in blocks]
            cor = [b["normalised"]["corrected"] for b in blocks]
            ax.errorbar(layers + 0.05 * (i - 1), run["mean"],
                        yerr=1.96 * np.array(run["stderr"]), fmt="o", ms=3, color=color,
                        capsize=1.5, lw=0.8, label=f"MC width {w} ({run['n_nets']} nets)")
            ax.plot(layers, mf, "--", color=color, lw=0.9)
            ax.plot(layers, cor, "-", color=color, lw=1.2)
            out[title][key] = {"width": w, "mean_field": mf, "corrected": cor,
                               "corrected_stderr": [b["normalised"]["corrected_stderr"]
                                                    for b in blocks],
                               "mc_mean": run["mean"], "mc_stderr": run["stderr"]}
        ax.plot([], [], "k--", lw=0.9, label="pattern-resolved mean field (d = width)")
        ax.plot([], [], "k-", lw=1.2, label="+ sampled 1/width correction")
        ax.set_xticks(layers)
        ax.set_xlabel("transformer block")
        ax.set_ylabel("normalised stability")
        ax.set_title(f"random query-key weights, {title}, held-out runs", fontsize=9)
        ax.legend(fontsize=7, loc="lower left")
    out["post-LN, depth 12, width 256"] = _wide_panel(axes[2], wide["runs"][RANDOM_E_KEY],
                                                       wide["predictions"][RANDOM_E_KEY])
    fig.suptitle(r"The pattern-resolved mean field's 1/width correction: 4 tokens, "
                 r"$\rho = 0.9$, one input pair per network, normalised view", fontsize=10)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    save_json(out, Path(path).with_suffix(".json"))
