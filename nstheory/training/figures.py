"""Figures of the training studies, drawn from the stored study files
``proofs_check/data/training_<name>.json`` (no retraining).

Every run stops once its validation accuracy reaches 99%; when averaging over seeds a stopped
run is held at its last logged value (said in each figure).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nstheory.plots import figure

DATA = Path(__file__).resolve().parents[2] / "proofs_check" / "data"
STUDY = "modadd_reduced"
ARM_STYLE = {"base": ("tab:blue", "gamma = 0 (no regularizer)"),
             "reg": ("tab:red", "regularizer (gamma, rho) = (0.75, 0.25), token noise")}


def load_study(name: str = STUDY) -> dict:
    from nstheory.store import load_json

    return load_json(DATA / f"training_{name}.json")


def _title(study) -> str:
    cfg = study["runs"][0]["config"]
    seeds = {a: sorted(r["seed"] for r in study["runs"] if r["arm"] == a) for a in ("base", "reg")}
    return (f"modular addition p = {cfg['p']}, {cfg['frac']:.0%} train, preset {study['preset']}"
            f" (REDUCED: not the paper's p = 113 setting)\nseeds base {seeds['base']}, "
            f"reg {seeds['reg']}")


def grid(study, arm, key):
    """(steps, values [seed, step]) on the union of logged steps, forward-filled after a stop."""
    runs = [r for r in study["runs"] if r["arm"] == arm]
    steps = sorted({p["step"] for r in runs for p in r["trajectory"] if p.get(key) is not None})
    vals = np.full((len(runs), len(steps)), np.nan)
    for i, r in enumerate(runs):
        pts = {p["step"]: p[key] for p in r["trajectory"] if p.get(key) is not None}
        last = np.nan
        for j, s in enumerate(steps):
            last = pts.get(s, last)
            vals[i, j] = last
    return np.array(steps), vals


def _band(ax, study, key, log=False, ls="-", label=True):
    for arm, (col, lab) in ARM_STYLE.items():
        if not any(r["arm"] == arm for r in study["runs"]):
            continue
        s, v = grid(study, arm, key)
        if not len(s):
            continue
        med = np.nanmedian(v, 0)
        ax.plot(s, med, color=col, ls=ls,
                label=f"{lab}: median over {v.shape[0]} seeds" if label else None)
        ax.fill_between(s, np.nanmin(v, 0), np.nanmax(v, 0), color=col, alpha=0.2,
                        label="min-max band over seeds" if label else None)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("optimizer step (full batch)")


@figure("training_grokking_curves", "grokking curves with and without the regularizer "
        "(stored reduced study)")
def grokking_curves(path: Path) -> None:
    from nstheory.plots import setup_matplotlib

    plt = setup_matplotlib()
    study = load_study()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    _band(axes[0], study, "val_acc")
    _band(axes[0], study, "train_acc", ls="--", label=False)
    axes[0].set_ylabel("accuracy (solid: validation, dashed: train)")
    axes[0].axhline(0.99, color="gray", ls=":", lw=1)
    _band(axes[1], study, "val_loss", log=True)
    axes[1].set_ylabel("validation cross-entropy")
    axes[0].legend(loc="lower right")
    fig.suptitle(_title(study) + "\nruns stop at 99% val. accuracy (held at last value)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


@figure("training_stability_sensitivity", "noise stability, sensitivity and weight norm "
        "trajectories (stored reduced study)")
def stability_sensitivity(path: Path) -> None:
    from nstheory.plots import setup_matplotlib

    plt = setup_matplotlib()
    study = load_study()
    keys = [("sens", "sensitivity: flip rate, sigma = 0.1 on both operand embeddings (train)"),
            ("stab_token", "token stability E sum p(X)p(Y), rho = 0.25 (rho_eff 0.625)"),
            ("stab_gauss", "Gaussian-embedding stability E sum p(X)p(Y), rho = 0.25"),
            ("weight_norm", "global L2 weight norm")]
    fig, axes = plt.subplots(2, 2, figsize=(12, 7))
    for ax, (k, lab) in zip(axes.flat, keys, strict=True):
        _band(ax, study, k)
        ax.set_title(lab, fontsize=9)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(_title(study) + "\nMonte Carlo on 512 train inputs, one noise draw per point; "
                 "runs stop at 99% val. accuracy (held at last value)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


@figure("training_speedup", "steps to 95%/99% validation accuracy per seed and the speed-up "
        "ratio with its bootstrap interval (stored reduced study)")
def speedup(path: Path) -> None:
    from nstheory.plots import setup_matplotlib

    plt = setup_matplotlib()
    study = load_study()
    an = study["analysis"]
    fig, ax = plt.subplots(figsize=(10, 5.5))
    metrics = ("steps_to_val95", "steps_to_val99")
    for i, m in enumerate(metrics):
        for dx, arm in ((-0.12, "base"), (0.12, "reg")):
            col, lab = ARM_STYLE[arm]
            runs = [r for r in study["runs"] if r["arm"] == arm]
            ys = [r["summary"][m] for r in runs]
            cens = [r["summary"]["final_step"] for r, y in zip(runs, ys, strict=True) if y is None]
            ok = [y for y in ys if y is not None]
            ax.scatter([i + dx] * len(ok), ok, color=col, label=lab if i == 0 else None)
            ax.scatter([i + dx] * len(cens), cens, color=col, marker="^",
                       label=f"{arm}: {len(cens)} run(s) never reached it (plotted at the "
                       "budget, a lower bound)" if cens and i == 0
                       else None)
        s = an["speedup"].get(m, {})
        if s.get("ratio"):
            txt = f"T_base/T_reg = {s['ratio']:.2f}\n95% CI [{s['ci'][0]:.2f}, {s['ci'][1]:.2f}]"
        else:
            from nstheory.stats import ratio_ci

            b, g = ([r["summary"][m] or r["summary"]["final_step"] for r in study["runs"]
                     if r["arm"] == a] for a in ("base", "reg"))
            r, lo, hi = ratio_ci(np.array(b, float), np.array(g, float))
            creg = any(r_["summary"][m] is None for r_ in study["runs"] if r_["arm"] == "reg")
            cbase = any(r_["summary"][m] is None for r_ in study["runs"] if r_["arm"] == "base")
            kind = "bound" if creg and cbase else ("upper bound" if creg else "lower bound")
            txt = (f"censored runs at their budget: T_base/T_reg {r:.2f}\n"
                   f"95% CI [{lo:.2f}, {hi:.2f}] ({kind}, not an estimate)")
        ax.text(i, 0, txt, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(metrics)), ["steps to >= 95% val. acc.", "steps to >= 99% val. acc."])
    ax.set_ylabel("optimizer steps")
    ax.axhline(0, color="k", lw=0.5)
    ax.legend(fontsize=7)
    ax.set_title(_title(study) + "\npaper (p = 113): ~4500 -> ~3300 steps, ratio 1.36",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


@figure("training_grokking_p113_sensitivity",
        "modadd113 base arm (p = 113, 30% train): accuracy and token-embedding sensitivity per "
        "seed through the grokking plateau, with 95% Clopper-Pearson bands (stored study)")
def grokking_p113_sensitivity(path: Path) -> None:
    from nstheory.plots import setup_matplotlib
    from nstheory.stats import clopper_pearson

    study = load_study("modadd113")
    runs = [r for r in study["runs"] if r["arm"] == "base"]
    plt = setup_matplotlib()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.4))
    for run, col in zip(runs, ("tab:blue", "tab:orange", "tab:green", "tab:red",
                                          "tab:purple"), strict=False):
        tr = run["trajectory"]
        seed = run["seed"]
        a1.plot([p["step"] for p in tr], [p["val_acc"] for p in tr], color=col,
                label=f"seed {seed}: validation accuracy")
        a1.plot([p["step"] for p in tr], [p["train_acc"] for p in tr], color=col, ls=":",
                label=f"seed {seed}: training accuracy")
        pts = [p for p in tr if "sens" in p]
        n = run["config"]["metric_samples"]
        steps = [p["step"] for p in pts]
        rate = [p["sens"] for p in pts]
        ci = [clopper_pearson(round(r * n), n) for r in rate]
        a2.plot(steps, rate, "o-", ms=3, color=col, label=f"seed {seed} (n = {n} per point)")
        a2.fill_between(steps, [c[0] for c in ci], [c[1] for c in ci], color=col, alpha=0.2)
        grok = run["summary"].get("steps_to_val99")
        if grok:
            for ax in (a1, a2):
                ax.axvline(grok, color=col, lw=0.8, ls="--")
    a1.set_xlabel("training step (full batch)")
    a1.set_ylabel("accuracy")
    a1.set_title("accuracy (dashed: step reaching 99% validation accuracy)")
    a1.legend(loc="center right")
    a2.set_xlabel("training step (full batch)")
    a2.set_ylabel("flip rate of the argmax")
    a2.set_title("sensitivity: N(0, 0.1^2) on both operand embeddings, training set\n"
                 "(monte-carlo, 95% Clopper-Pearson bands)")
    a2.legend()
    cfg = study["runs"][0]["config"]
    fig.suptitle(f"grokking on modular addition p = {cfg['p']}, {cfg['frac']:.0%} train, "
                 f"preset {study['preset']}, no regularizer ({len(runs)} seeds)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
