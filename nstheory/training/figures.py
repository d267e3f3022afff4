"""Figures of the training studies, drawn from the stored study files
``proofs_check/data/training_<name>.json`` (no retraining).

One set of three figures (curves, trajectories, speed-up) per stored study in ``STUDIES``; each
PNG has its plotted data beside it as JSON (:func:`nstheory.figure_data.save_figure`).
Where runs stop once their validation accuracy reaches a threshold, a stopped run is held at
its last logged value when averaging over seeds (said in each figure).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nstheory.figure_data import save_figure
from nstheory.plots import figure
from nstheory.training.study import ratio_bound_kind, speedup_ratio

DATA = Path(__file__).resolve().parents[2] / "proofs_check" / "data"
#: figure-name suffix -> stored study (``proofs_check/data/training_<name>.json``)
STUDIES = {"": "modadd_reduced", "_p113": "modadd113", "_parity": "parity"}
PAPER = {"modadd": "paper (haris2026 §4.3, p = 113): ~4500 -> ~3300 steps, ratio 1.36",
         "parity": "paper (haris2026 §4.3): ~35% faster on noisy sparse parity (ratio ~1.35)",
         "ntp": "paper (haris2026 §4.4): ~75% faster (ratio ~1.75)"}
#: arm colours: the first two colours of the toolkit style (:data:`nstheory.plots.STYLE`)
COLOURS = {"base": "#0072B2", "reg": "#D55E00"}
#: per-seed colours of the single-arm figure (the toolkit style cycle)
SEED_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")


def load_study(name: str = "modadd_reduced") -> dict:
    """Load the stored study ``proofs_check/data/training_<name>.json``.

    Parameters
    ----------
    name : str, optional
        Study name (a value of :data:`STUDIES`).

    Returns
    -------
    dict
        ``preset``, ``seeds``, ``arms``, ``analysis`` and ``runs`` (each run: ``arm``,
        ``seed``, ``config``, ``trajectory``, ``summary``).

    Examples
    --------
    >>> s = load_study("modadd_reduced")
    >>> s["preset"], {r["arm"] for r in s["runs"]} == {"base", "reg"}
    ('modadd-reduced', True)
    """
    from nstheory.store import load_json

    return load_json(DATA / f"training_{name}.json")


def _arm_label(study, arm) -> str:
    runs = [r for r in study["runs"] if r["arm"] == arm]
    if arm == "base" or not runs:
        return r"$\gamma = 0$ (no regularizer)"
    c = runs[0]["config"]
    return (rf"regularizer $(\gamma, \rho) = ({c['reg_gamma']}, {c['reg_rho']})$, "
            f"{c['reg_noise']} noise")


def _title(study) -> str:
    cfg = study["runs"][0]["config"]
    if cfg["task"] == "modadd":
        what = f"modular addition p = {cfg['p']}, {cfg['frac']:.0%} train"
        if study["preset"] != "modadd113":
            what += " (REDUCED: not the paper's p = 113 setting)"
    elif cfg["task"] == "parity":
        what = (f"noisy sparse parity n = {cfg['n_bits']}, k = {cfg['k']}, "
                f"{cfg['label_noise']:.0%} train-label noise, {cfg['n_train']} train strings")
    else:
        what = f"next-token prediction, corpus {cfg['corpus']}"
    seeds = {a: sorted(r["seed"] for r in study["runs"] if r["arm"] == a) for a in ("base", "reg")}
    stop, stop_loss = cfg.get("stop_val_acc"), cfg.get("stop_val_loss")
    rule = (f"runs stop at {stop:.0%} val. accuracy (held at last value)" if stop
            else f"runs stop at val. loss {stop_loss:g} (budget {cfg['steps']} steps)"
            if stop_loss is not None else f"every run trains {cfg['steps']} steps")
    # next-token studies have no accuracy target: their censoring is counted per loss threshold
    note = "" if cfg["task"] == "ntp" else f"\n{censoring_note(study)}"
    return (f"{what}, preset {study['preset']}\nseeds base {seeds['base']}, reg {seeds['reg']}; "
            f"{rule}{note}")


def censoring_note(study, threshold: int = 99) -> str:
    """How many runs of each arm reached ``threshold`` % validation accuracy within their
    step budget, and how many are censored (never reached it; drawn up to the budget).

    Parameters
    ----------
    study : dict
        A study as returned by :func:`load_study`.
    threshold : int, optional
        The validation-accuracy threshold in percent (a ``steps_to_val<threshold>`` summary).

    Returns
    -------
    str
        One line, e.g. ``"reached 99% val. acc. within the budget: base 5 of 5, reg 0 of 5
        (5 censored at 4000 steps)"``.

    Examples
    --------
    >>> run = lambda arm, t: {"arm": arm, "summary": {"steps_to_val99": t, "budget_steps": 40}}
    >>> censoring_note({"runs": [run("base", 10), run("reg", None), run("reg", 30)]})
    'reached 99% val. acc. within the budget: base 1 of 1, reg 1 of 2 (1 censored at 40 steps)'
    """
    key = f"steps_to_val{threshold}"
    parts = []
    for arm in ("base", "reg"):
        runs = [r for r in study["runs"] if r["arm"] == arm]
        if not runs:
            continue
        hit = sum(r["summary"].get(key) is not None for r in runs)
        part = f"{arm} {hit} of {len(runs)}"
        if hit < len(runs):
            budgets = sorted({r["summary"].get("budget_steps") for r in runs
                              if r["summary"].get(key) is None})
            part += (f" ({len(runs) - hit} censored at "
                     f"{' / '.join(str(b) for b in budgets)} steps)")
        parts.append(part)
    return f"reached {threshold}% val. acc. within the budget: " + ", ".join(parts)


def _mark_censored(ax, study, key="val_acc", threshold: int = 99) -> None:
    """A triangle at (budget, last value) for every run that never reached ``threshold`` %
    validation accuracy, labelled with the count, so censored runs stay countable."""
    for arm, col in COLOURS.items():
        runs = [r for r in study["runs"] if r["arm"] == arm
                and r["summary"].get(f"steps_to_val{threshold}") is None]
        pts = [(r["trajectory"][-1]["step"], r["trajectory"][-1][key]) for r in runs
               if r["trajectory"] and r["trajectory"][-1].get(key) is not None]
        if pts:
            n = sum(r["arm"] == arm for r in study["runs"])
            ax.plot([x for x, _ in pts], [y for _, y in pts], ls="none", marker=">",
                    ms=6, color=col, label=f"{arm}: {len(pts)} of {n} runs censored at the "
                    f"budget (never {threshold}%), last value")


def grid(study, arm, key):
    """(steps, values [seed, step]) on the union of logged steps, forward-filled after a stop.

    Parameters
    ----------
    study : dict
        A study as returned by :func:`load_study`.
    arm : str
        ``"base"`` or ``"reg"``.
    key : str
        The logged quantity.

    Returns
    -------
    tuple
        ``(steps, values)``: the sorted steps, and an array ``(n_runs, n_steps)`` (NaN before a
        run's first value).

    Examples
    --------
    A run that stopped at step 10 is held at its last value:

    >>> study = {"runs": [
    ...     {"arm": "base", "trajectory": [{"step": 0, "acc": 0.1}, {"step": 10, "acc": 1.0}]},
    ...     {"arm": "base", "trajectory": [{"step": 0, "acc": 0.2}, {"step": 10, "acc": 0.5},
    ...                                    {"step": 20, "acc": 0.9}]}]}
    >>> steps, vals = grid(study, "base", "acc")
    >>> steps.tolist(), vals.tolist()
    ([0, 10, 20], [[0.1, 1.0, 1.0], [0.2, 0.5, 0.9]])
    """
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
    for arm, col in COLOURS.items():
        if not any(r["arm"] == arm for r in study["runs"]):
            continue
        s, v = grid(study, arm, key)
        if not len(s):
            continue
        ax.plot(s, np.nanmean(v, 0), color=col, ls=ls,
                label=f"{_arm_label(study, arm)}: mean over {v.shape[0]} seeds"
                if label else None)
        ax.fill_between(s, np.nanmin(v, 0), np.nanmax(v, 0), color=col, alpha=0.2,
                        label="min-max band over seeds" if label else None)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("optimizer step (full batch)")


def _legend_below(fig, ax, ncol=2) -> None:
    """The legend of ``ax`` under the panels, where it cannot cover data."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8)


def grokking_curves(path: Path, name: str) -> None:
    """Accuracy (train and validation) and validation loss against step, both arms,
    mean over seeds with min-max bands.

    Registered for every stored study in :data:`STUDIES` as
    ``training_grokking_curves<suffix>``.

    Parameters
    ----------
    path : pathlib.Path
        Output PNG.
    name : str
        Stored study (``proofs_check/data/training_<name>.json``).

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> n = "training_grokking_curves"
    >>> sorted(k[len(n):] for k in FIGURES if k.startswith(n))
    ['', '_p113', '_parity']
    >>> FIGURES[n + "_p113"].description.endswith("(stored study training_modadd113.json)")
    True
    """
    from nstheory.plots import setup_matplotlib

    plt = setup_matplotlib()
    study = load_study(name)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    _band(axes[0], study, "val_acc")
    _band(axes[0], study, "train_acc", ls="--", label=False)
    axes[0].set_ylabel("accuracy (solid: validation, dashed: train)")
    axes[0].axhline(0.99, color="gray", ls=":", lw=1)
    _mark_censored(axes[0], study)
    axes[0].set_ylim(-0.02, 1.02)
    _band(axes[1], study, "val_loss", log=True)
    axes[1].set_ylabel("validation cross-entropy (nats)")
    _legend_below(fig, axes[0])
    fig.suptitle(_title(study), fontsize=9)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    save_figure(fig, path)
    plt.close(fig)


def stability_sensitivity(path: Path, name: str) -> None:
    """Noise stability, sensitivity and weight-norm trajectories of both arms.

    Registered for every stored study in :data:`STUDIES` as
    ``training_stability_sensitivity<suffix>``.

    Parameters
    ----------
    path : pathlib.Path
        Output PNG.
    name : str
        Stored study (``proofs_check/data/training_<name>.json``).

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> n = "training_stability_sensitivity"
    >>> sorted(k[len(n):] for k in FIGURES if k.startswith(n))
    ['', '_p113', '_parity']
    >>> FIGURES[n + "_p113"].description.endswith("(stored study training_modadd113.json)")
    True
    """
    from nstheory.plots import setup_matplotlib
    from nstheory.training.study import noise_summary

    plt = setup_matplotlib()
    study = load_study(name)
    cfg = study["runs"][0]["config"]
    tok = noise_summary({**cfg, "reg_gamma": 1.0}) or {}
    rho = cfg["reg_rho"]
    pp = r"$\mathbb{E}\,\langle p(X), p(Y)\rangle$"
    keys = [("val_acc", "validation accuracy (for timing)", "accuracy"),
            ("sens", rf"sensitivity: $N(0, {cfg['sens_sigma']}^2)$ on the noised positions' "
                     "embeddings", "argmax flip rate (raw)"),
            ("stab_token", rf"token stability {pp}, $\rho = {rho}$ "
                           rf"($\rho_{{\rm eff}} = {tok.get('rho_eff', float('nan')):.4g}$)",
             "stability (raw view)"),
            ("stab_token_norm", "token stability, normalised view (Cov / Var)",
             "stability (normalised view)"),
            ("stab_gauss", rf"Gaussian-embedding stability {pp}, $\rho = {rho}$",
             "stability (raw view)"),
            ("weight_norm", r"global weight norm $\|\theta\|_2$", r"$\|\theta\|_2$")]
    keys = [(k, lab, yl) for k, lab, yl in keys
            if any(k in p for r in study["runs"] for p in r["trajectory"])]
    fig, axes = plt.subplots(2, 3, figsize=(15, 7.6))
    for ax, (k, lab, yl) in zip(axes.flat, keys, strict=False):
        _band(ax, study, k)
        ax.set_title(lab, fontsize=9)
        ax.set_ylabel(yl)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    _mark_censored(axes[0, 0], study)
    _legend_below(fig, axes[0, 0], ncol=3)
    fig.suptitle(_title(study) + f"\nMonte Carlo on {cfg['metric_samples']} train inputs, one "
                 "noise draw per point, both arms under the same noise", fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    save_figure(fig, path)
    plt.close(fig)


#: the speed-up ratio (steps of the base arm over steps of the regularized arm)
RATIO = r"$T_{\rm base}/T_{\rm reg}$"


def speedup(path: Path, name: str) -> None:
    """Steps to validation-accuracy thresholds per seed and the speed-up ratio with
    its 95% interval (:func:`nstheory.training.study.speedup_ratio`).

    Registered for every stored study in :data:`STUDIES` as
    ``training_speedup<suffix>``.

    Parameters
    ----------
    path : pathlib.Path
        Output PNG.
    name : str
        Stored study (``proofs_check/data/training_<name>.json``).

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> n = "training_speedup"
    >>> sorted(k[len(n):] for k in FIGURES if k.startswith(n))
    ['', '_p113', '_parity']
    >>> FIGURES[n + "_p113"].description.endswith("(stored study training_modadd113.json)")
    True
    """
    from nstheory.plots import setup_matplotlib

    plt = setup_matplotlib()
    study = load_study(name)
    metrics = [m for m in ("steps_to_val90", "steps_to_val95", "steps_to_val99")
               if all(m in r["summary"] for r in study["runs"])]
    fig, ax = plt.subplots(figsize=(10, 5.5))
    ticks = []
    for i, m in enumerate(metrics):
        tick = f"steps to ≥ {m[-2:]}% val. acc."
        for dx, arm in ((-0.12, "base"), (0.12, "reg")):
            runs = [r for r in study["runs"] if r["arm"] == arm]
            ys = [r["summary"][m] for r in runs]
            cens = [r["summary"]["final_step"] for r, y in zip(runs, ys, strict=True) if y is None]
            ok = [y for y in ys if y is not None]
            ax.scatter([i + dx] * len(ok), ok, color=COLOURS[arm],
                       label=_arm_label(study, arm) if i == 0 else None)
            if cens:
                ax.scatter([i + dx] * len(cens), cens, color=COLOURS[arm], marker="^",
                           label=f"{arm}: run(s) that never reached a threshold (plotted at "
                           "the budget, a lower bound; the number says how many)")
                for y in sorted(set(cens)):
                    ax.annotate(f"{cens.count(y)}", (i + dx, y), xytext=(5, 3),
                                textcoords="offset points", fontsize=8, color=COLOURS[arm])
        b, g = ([r["summary"][m] or r["summary"]["final_step"] for r in study["runs"]
                 if r["arm"] == a] for a in ("base", "reg"))
        if not b or not g:
            ticks.append(tick)
            continue
        creg = any(r["summary"][m] is None for r in study["runs"] if r["arm"] == "reg")
        cbase = any(r["summary"][m] is None for r in study["runs"] if r["arm"] == "base")
        r, ci = speedup_ratio(b, g, 0.95)
        ci = "no interval (one seed)" if ci is None else f"95% CI [{ci[0]:.3g}, {ci[1]:.3g}]"
        if creg or cbase:
            kind = ratio_bound_kind(cbase, creg)
            txt = (rf"censored runs at their budget: {RATIO} {r:.3g}" "\n"
                   f"{ci}\n({kind})")
        else:
            txt = f"{RATIO} = {r:.3g}\n{ci}"
        ticks.append(f"{tick}\n{txt}")
    ax.set_xticks(range(len(metrics)), ticks, fontsize=8)
    ax.set_ylabel("optimizer steps")
    ax.set_ylim(bottom=0)
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=True))
    ax.legend(uniq.values(), uniq.keys(), fontsize=7)
    task = study["runs"][0]["config"]["task"]
    ax.set_title(_title(study) + f"\n{PAPER[task]}", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def _register_study_figures() -> None:
    for suffix, name in STUDIES.items():
        for fname, fn, what in (
                ("training_grokking_curves", grokking_curves,
                 "grokking curves with and without the regularizer"),
                ("training_stability_sensitivity", stability_sensitivity,
                 "noise stability, sensitivity and weight norm trajectories"),
                ("training_speedup", speedup, "steps to validation-accuracy thresholds per "
                 "seed and the speed-up ratio with its 95% interval")):
            def draw(path: Path, fn=fn, name=name) -> None:
                fn(path, name)
            figure(fname + suffix, f"{what} (stored study training_{name}.json)")(draw)


_register_study_figures()


@figure("training_grokking_p113_sensitivity",
        "modadd113 base arm (p = 113, 30% train): accuracy and token-embedding sensitivity per "
        "seed through the grokking plateau, with 95% Clopper-Pearson bands (stored study)")
def grokking_p113_sensitivity(path: Path) -> None:
    """Accuracy and token-embedding sensitivity per seed of the stored ``modadd113`` base arm,
    with 95% Clopper-Pearson bands.

    Parameters
    ----------
    path : pathlib.Path
        Output PNG.

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> FIGURES["training_grokking_p113_sensitivity"].fn is grokking_p113_sensitivity
    True
    """
    from nstheory.plots import setup_matplotlib
    from nstheory.stats import clopper_pearson

    study = load_study("modadd113")
    runs = [r for r in study["runs"] if r["arm"] == "base"]
    plt = setup_matplotlib()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.4))
    for run, col in zip(runs, SEED_COLOURS, strict=False):
        tr = run["trajectory"]
        seed = run["seed"]
        a1.plot([p["step"] for p in tr], [p["val_acc"] for p in tr], color=col,
                label=f"seed {seed}")
        a1.plot([p["step"] for p in tr], [p["train_acc"] for p in tr], color=col, ls=":",
                label=f"seed {seed}: training accuracy")
        pts = [p for p in tr if "sens" in p]
        n = run["config"]["metric_samples"]
        steps = [p["step"] for p in pts]
        rate = [p["sens"] for p in pts]
        ci = [clopper_pearson(round(r * n), n) for r in rate]
        a2.plot(steps, rate, "o-", ms=3, color=col, label=f"seed {seed}: flip rate")
        a2.fill_between(steps, [c[0] for c in ci], [c[1] for c in ci], color=col, alpha=0.2)
        grok = run["summary"].get("steps_to_val99")
        if grok:
            for ax in (a1, a2):
                ax.axvline(grok, color=col, lw=0.8, ls="--")
    a1.set_xlabel("training step (full batch)")
    a1.set_ylabel("accuracy")
    a1.set_title("accuracy (solid: validation, dotted: training;\n"
                 "dashed vertical: step reaching 99% validation accuracy)")
    a1.set_ylim(-0.02, 1.02)
    a2.set_xlabel("training step (full batch)")
    a2.set_ylabel("flip rate of the argmax (raw)")
    a2.set_ylim(bottom=0)
    sigma = runs[0]["config"]["sens_sigma"]
    a2.set_title(rf"sensitivity: $N(0, {sigma}^2)$ on both operand embeddings, training set"
                 f"\n(Monte Carlo, n = {n} inputs per point, 95% Clopper-Pearson bands)")
    handles, labels = a1.get_legend_handles_labels()
    keep = [(h, lab) for h, lab in zip(handles, labels, strict=True) if ":" not in lab]
    fig.legend([h for h, _ in keep], [lab for _, lab in keep], loc="lower center",
               ncol=len(keep), fontsize=8)
    cfg = study["runs"][0]["config"]
    hit = sum(r["summary"].get("steps_to_val99") is not None for r in runs)
    fig.suptitle(f"grokking on modular addition p = {cfg['p']}, {cfg['frac']:.0%} train, "
                 f"preset {study['preset']}, no regularizer ({len(runs)} seeds; {hit} of "
                 f"{len(runs)} reach 99% val. acc. within {cfg['steps']} steps)")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    save_figure(fig, path)
    plt.close(fig)


@figure("training_ntp_loss_sweep",
        "ntp-plateau study on fortunes: validation loss per seed to the plateau, and the "
        "speed-up T_base/T_reg at each validation-loss threshold with its 95% interval "
        "(stored study training_ntp_fortunes_plateau.json)")
def ntp_loss_sweep(path: Path, name: str = "ntp_fortunes_plateau") -> None:
    """Validation loss per seed and arm, and the speed-up ratio at every threshold of
    :data:`nstheory.training.study.NTP_LOSS_SWEEP` (censored runs counted, bounds marked).

    Parameters
    ----------
    path : pathlib.Path
        Output PNG.
    name : str, optional
        Stored study (``proofs_check/data/training_<name>.json``).

    Examples
    --------
    >>> from nstheory.plots import FIGURES
    >>> "threshold" in FIGURES["training_ntp_loss_sweep"].description
    True
    """
    from nstheory.plots import setup_matplotlib
    from nstheory.training.study import NTP_LOSS_SWEEP, threshold_sweep

    plt = setup_matplotlib()
    study = load_study(name)
    rows = threshold_sweep(study, NTP_LOSS_SWEEP)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.8))
    for arm in ("base", "reg"):
        steps, vals = grid(study, arm, "val_loss")
        for v in vals:
            ax.plot(steps, v, color=COLOURS[arm], lw=0.6, alpha=0.45)
        ax.plot(steps, np.nanmean(vals, axis=0), color=COLOURS[arm], lw=1.8,
                label=f"{_arm_label(study, arm)}: mean of {len(vals)} seeds (thin: each seed)")
    for thr in NTP_LOSS_SWEEP:
        ax.axhline(thr, color="0.6", lw=0.5, ls=":")
    ax.set_ylim(min(NTP_LOSS_SWEEP) - 0.3, max(NTP_LOSS_SWEEP) + 0.6)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("validation loss (nats/token)")
    ax.legend(fontsize=7)
    ax.set_title("validation loss; dotted: the thresholds (fixed before any regularized run)",
                 fontsize=8)
    for i, r in enumerate(rows):
        c = r["censored"]
        note = f"censored {c['base']}/{len(r['steps']['base'])} base, " \
               f"{c['reg']}/{len(r['steps']['reg'])} reg"
        if r["ratio"] is None:
            bx.annotate(f"no ratio:\ncensored\nbase {c['base']}/{len(r['steps']['base'])}\n"
                        f"reg {c['reg']}/{len(r['steps']['reg'])}", (i, 1.0), fontsize=6,
                        ha="center")
            continue
        lo, hi = r["ci"] if r["ci"] is not None else (r["ratio"], r["ratio"])
        marker = "o" if r["kind"] == ratio_bound_kind(False, False) else (
            "v" if r["kind"] == ratio_bound_kind(False, True) else "^")
        bx.errorbar([i], [r["ratio"]], yerr=[[r["ratio"] - lo], [hi - r["ratio"]]], fmt=marker,
                    color="k", capsize=3)
        if r["kind"] != ratio_bound_kind(False, False):
            bx.annotate(f"{r['kind']}\n({note})", (i, hi), xytext=(0, 4),
                        textcoords="offset points", fontsize=6, ha="center")
    bx.axhline(1.0, color="0.4", lw=0.8, label="no speed-up (ratio 1)")
    bx.axhline(1.75, color="tab:orange", lw=0.8, ls="--", label=PAPER["ntp"])
    bx.set_xticks(range(len(rows)), [f"{r['threshold']:g}" for r in rows])
    bx.set_xlabel("validation-loss threshold (nats/token); 3.5 is the primary one")
    bx.set_ylabel(r"$T_{base}/T_{reg}$ (steps to the threshold)")
    bx.legend(fontsize=7)
    bx.set_title("speed-up per threshold, 95% Welch-t interval of the log ratio over seeds\n"
                 "(o estimate; v upper / ^ lower bound when runs are censored at the budget)",
                 fontsize=8)
    fig.suptitle(_title(study), fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
