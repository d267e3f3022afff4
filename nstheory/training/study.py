"""Multi-seed sweeps of a preset with and without the regularizer, and the speed-up ratio.

:func:`run_study` trains every (arm, seed) through :func:`nstheory.executor.get_executor`
(serial, process pool or Ray), each in its own resumable run directory, so re-running the same
command after a kill continues where it stopped. :func:`analyze_study` turns the run summaries
into distributions of steps-to-threshold over seeds and the speed-up ratio
``mean(T_base) / mean(T_reg)`` with a Welch-t interval of its logarithm
(:func:`nstheory.stats.ratio_ci`; none with a single seed in an arm); the paper's "36%" is this
ratio minus 1.

Runs that never reach a threshold within the step budget are *censored*: the analysis reports
how many, and gives no ratio for a metric unless every run of both arms reached it.

>>> a = analyze_study([
...     {"arm": "base", "seed": s, "summary": {"steps_to_val99": t, "wall_s": 1.0,
...      "final_step": t}} for s, t in enumerate([4400, 4500, 4600])] + [
...     {"arm": "reg", "seed": s, "summary": {"steps_to_val99": t, "wall_s": 1.5,
...      "final_step": t}} for s, t in enumerate([3200, 3300, 3400])],
...     metrics=("steps_to_val99",))
>>> round(a["speedup"]["steps_to_val99"]["ratio"], 4)
1.3636
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from nstheory.errors import NSTheoryError, parse_seeds
from nstheory.store import save_json

METRICS = ("steps_to_val90", "steps_to_val95", "steps_to_val99", "steps_to_val_loss")
#: Log fields kept in the study file (the trajectories behind the figures).
TRAJ_KEYS = ("step", "train_loss", "train_acc", "val_loss", "val_acc", "sens", "flip_token",
             "stab_token", "stab_gauss", "stab_token_norm", "weight_norm")


def noise_summary(cfg: dict) -> dict | None:
    """The regularized arm's rho, keep probability and effective correlation (None if gamma = 0).

    >>> noise_summary({"task": "modadd", "p": 113, "reg_gamma": 0.75, "reg_rho": 0.25,
    ...                "reg_noise": "token-excl"})["rho_eff"]
    0.6216517857142857
    """
    from nstheory.training.regularizer import describe_noise

    if not cfg.get("reg_gamma"):
        return None
    vocab = {"modadd": cfg.get("p"), "parity": 2, "ntp": cfg.get("vocab")}[cfg["task"]]
    return describe_noise(cfg["reg_rho"], cfg["reg_noise"], vocab)


def _run_one(item) -> dict:
    from nstheory.store import JsonlLog
    from nstheory.training.config import TrainConfig
    from nstheory.training.loop import summarize_run, train

    arm, cfg_dict, run_dir, threads = item
    cfg = TrainConfig.from_dict(cfg_dict)
    summary = train(cfg, run_dir, progress_bar=False, threads=threads)
    recs = JsonlLog(Path(run_dir) / "log.jsonl").records()
    summary = {**summary, **summarize_run(recs, cfg)}  # a run summarised by older code
    traj = [{k: r[k] for k in TRAJ_KEYS if k in r} for r in recs]
    return {"arm": arm, "seed": cfg.seed, "config": cfg_dict, "summary": summary,
            "noise": noise_summary(cfg_dict), "trajectory": traj}


def study_configs(base, seeds, arms=("base", "reg"), reg=None):
    """(arm, config) pairs, seed-major.

    Arm ``base`` has gamma = 0, arm ``reg`` the given ``(gamma, rho, noise)`` (default: the
    preset's regularized arm); both carry that ``(rho, noise)`` for their trajectory metrics.

    Raises
    ------
    NSTheoryError
        For an unknown arm, or a regularized arm with ``gamma <= 0``.

    Examples
    --------
    >>> from nstheory.training.config import preset
    >>> pairs = study_configs(preset("tiny"), [0, 1], reg=(0.75, 0.25, "token"))
    >>> [(arm, c.seed, c.reg_gamma) for arm, c in pairs]
    [('base', 0, 0.0), ('reg', 0, 0.75), ('base', 1, 0.0), ('reg', 1, 0.75)]
    >>> pairs[0][1].reg_rho == pairs[1][1].reg_rho == 0.25
    True
    >>> [c.reg_gamma for _, c in study_configs(preset("tiny"), [0])]    # the preset's arm
    [0.0, 0.75]
    >>> study_configs(preset("tiny"), [0], reg=(0.0, 0.25, "token"))
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: the regularized arm needs --reg-gamma > 0
    """
    out = []
    for arm in arms:
        if arm not in ("base", "reg"):
            raise NSTheoryError(f"arms must be base and/or reg, got {arm!r}")
    if reg is None and "reg" in arms:
        from nstheory.training.config import regularized_arm

        reg = regularized_arm(base.preset)
    for s in seeds:  # seed-major: a study stopped early still has both arms of its first seeds
        for arm in arms:
            if arm == "base":
                # gamma = 0, but the same (rho, noise) as the regularized arm: the trajectory
                # metrics (token stability, flip rate) then measure both arms under one noise
                extra = {} if reg is None else {"reg_rho": reg[1], "reg_noise": reg[2]}
                cfg = replace(base, seed=s, reg_gamma=0.0, **extra)
            else:
                g, r, noise = reg
                if g <= 0:
                    raise NSTheoryError("the regularized arm needs --reg-gamma > 0")
                cfg = replace(base, seed=s, reg_gamma=g, reg_rho=r, reg_noise=noise)
            out.append((arm, cfg.validate()))
    return out


def _ray_gpu_options(executor: str, device: str, workers: int | None) -> dict:
    """Ray hides the GPUs from a task that requests none (``CUDA_VISIBLE_DEVICES=""``), so a
    CUDA study under Ray asks for a share of one: ``1 / workers`` each, the runs sharing the
    GPU. Nothing is requested without CUDA here (Ray would wait for a GPU that never comes)."""
    if executor != "ray" or device == "cpu":
        return {}
    import torch

    if not torch.cuda.is_available():
        return {}
    return {"num_gpus_per_task": 1.0 / max(1, workers or 1)}


def run_study(base, seeds, out, arms=("base", "reg"), reg=None, executor: str = "serial",
              workers: int | None = None, threads: int | None = None,
              command: str | None = None) -> dict:
    """Train every (arm, seed) of ``base`` into ``out/<arm>_seed<k>`` and analyse them.

    ``out/study.json`` gets a provenance block naming ``command``.

    Parameters
    ----------
    base : TrainConfig
        The configuration shared by every run.
    seeds : sequence of int
        The seeds.
    out : str or pathlib.Path
        Study directory.
    arms : tuple of str, optional
        ``base`` and/or ``reg``.
    reg : tuple, optional
        ``(gamma, rho, noise)`` of the regularized arm.
    executor : str, optional
        ``serial``, a process pool or Ray (:func:`nstheory.executor.get_executor`).
    workers, threads : int, optional
        Executor workers and torch threads per run.
    command : str, optional
        The command line recorded in the provenance block.

    Returns
    -------
    dict
        ``preset``, ``seeds``, ``arms``, the :func:`analyze_study` ``analysis`` and the ``runs``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from nstheory.training.config import preset
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> res = run_study(preset("tiny", steps=5), [0], out, arms=("base",))
    >>> res["runs"][0]["summary"]["final_step"], (out / "study.json").exists()
    (5, True)
    """
    from nstheory.executor import get_executor

    out = Path(out)
    items = [(arm, cfg.to_dict(), str(out / f"{arm}_seed{cfg.seed}"), threads)
             for arm, cfg in study_configs(base, seeds, arms, reg)]
    runs = get_executor(executor, workers, **_ray_gpu_options(executor, base.device, workers)
                        ).map(_run_one, items, desc=f"{base.preset} runs")
    result = {"preset": base.preset, "seeds": list(seeds), "arms": list(arms),
              "analysis": analyze_study(runs), "runs": runs}
    from nstheory.store import provenance_block

    configs = [r["config"] for r in sorted(runs, key=lambda r: (r["arm"], r["seed"]))]
    prov = provenance_block(configs, PRODUCERS, command=command, threads={
        "torch": threads or "torch default", "executor": executor, "workers": workers})
    save_json({**result, "provenance": prov}, out / "study.json")
    return result


def collect_runs(out) -> list[dict]:
    """Every *finished* run (one with ``summary.json``) under a study directory ``out``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from nstheory.training.config import preset
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> collect_runs(out)
    []
    >>> (out / "base_seed0").mkdir()       # started, never finished: skipped
    >>> collect_runs(out)
    []
    """
    from nstheory.store import JsonlLog, load_json
    from nstheory.training.config import TrainConfig
    from nstheory.training.loop import summarize_run

    runs = []
    for d in sorted(Path(out).glob("*_seed*")):
        if not (d / "summary.json").exists():
            continue
        cfg = load_json(d / "config.json")
        recs = JsonlLog(d / "log.jsonl").records()
        # thresholds re-read from the log, so runs summarised by older code gain new metrics
        summary = {**load_json(d / "summary.json"),
                   **summarize_run(recs, TrainConfig.from_dict(cfg))}
        runs.append({"arm": d.name.split("_seed")[0], "seed": cfg["seed"], "config": cfg,
                     "summary": summary, "noise": noise_summary(cfg),
                     "trajectory": [{k: r[k] for k in TRAJ_KEYS if k in r} for r in recs]})
    return runs


def permutation_pvalue(a, b) -> tuple[float, float]:
    """Exact one-sided permutation p-values of ``mean(a) - mean(b)`` over all relabellings.

    Returns ``(p_greater, p_less)``: the fraction of the ``C(n_a + n_b, n_a)`` splits of the
    pooled sample whose mean difference is ``>=`` (resp. ``<=``) the observed one. With 5 + 5
    seeds the smallest attainable p-value is 1/252.

    Splits whose difference equals the observed one up to rounding (a relative ``1e-9`` of the
    largest value) count as ties, on both sides.

    >>> permutation_pvalue([5, 6, 7], [1, 2, 3])
    (0.05, 1.0)
    >>> permutation_pvalue([1e-10, 2e-10, 3e-10], [0, 0, 0])        # any scale
    (0.05, 1.0)
    """
    from itertools import combinations

    a, b = [float(v) for v in a], [float(v) for v in b]
    if not all(math.isfinite(v) for v in a + b):  # NaN compares false: both p-values were 0
        raise NSTheoryError(f"permutation_pvalue needs finite values, got {a} and {b}")
    pool, na = a + b, len(a)
    if na == 0 or not b:
        raise NSTheoryError("permutation_pvalue needs two non-empty samples")
    total = sum(pool)
    obs = sum(a) / na - (total - sum(a)) / len(b)
    tol = 1e-9 * max(abs(v) for v in pool)
    ge = le = n = 0
    for idx in combinations(range(len(pool)), na):
        sa = sum(pool[i] for i in idx)
        diff = sa / na - (total - sa) / len(b)
        ge += diff >= obs - tol
        le += diff <= obs + tol
        n += 1
    return ge / n, le / n


#: Files whose code computes a training study's numbers (watched by the provenance check).
PRODUCERS = (*(f"nstheory/training/{m}.py" for m in
                ("config", "loop", "metrics", "models", "regularizer", "study", "tasks")),
             "nstheory/corpora.py")


def write_study(out, path, force: bool = False, threads: dict | None = None,
                command: str | None = None) -> dict:
    """Collect the finished runs under ``out``, analyse them and save the study JSON to ``path``.

    ``path`` is e.g. ``proofs_check/data/training_<name>.json`` (re-analysed by
    ``nstheory verify``), written with its provenance block
    (:func:`nstheory.store.provenance_block`; the configuration hashed is the list of
    run configurations). An existing ``path`` is replaced only when ``force``.

    Raises
    ------
    NSTheoryError
        If no run under ``out`` has finished.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> write_study(out, out / "study_copy.json")             # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: no finished runs under ...
    """
    from nstheory.store import provenance_block, save_study

    runs = collect_runs(out)
    if not runs:
        raise NSTheoryError(f"no finished runs under {out}")
    cfg = runs[0]["config"]
    result = {"preset": cfg["preset"], "seeds": sorted({r["seed"] for r in runs}),
              "arms": sorted({r["arm"] for r in runs}), "analysis": analyze_study(runs),
              "runs": runs}
    configs = [r["config"] for r in sorted(runs, key=lambda r: (r["arm"], r["seed"]))]
    save_study(result, path, provenance_block(configs, PRODUCERS, command=command,
                                              threads=threads), force=force)
    return result


def analyze_study(runs: list[dict], metrics=METRICS, level: float = 0.95) -> dict:
    """Distributions over seeds per arm and, per metric, the speed-up ratio base/reg with CI.

    A metric gets no ratio when some run of either arm never reached it (censored).

    Examples
    --------
    >>> def run(arm, seed, t):
    ...     return {"arm": arm, "seed": seed,
    ...             "summary": {"steps_to_val99": t, "wall_s": 2.0, "final_step": 100}}
    >>> a = analyze_study([run("base", 0, 40), run("base", 1, 60),
    ...                    run("reg", 0, 20), run("reg", 1, None)], metrics=("steps_to_val99",))
    >>> a["arms"]["reg"]["steps_to_val99_censored"], a["arms"]["base"]["wall_per_step_s"]
    (1, 0.02)
    >>> a["speedup"]["steps_to_val99"]["ratio"] is None
    True
    """
    from nstheory.stats import Moments

    arms: dict[str, dict] = {}
    for r in runs:
        a = arms.setdefault(r["arm"], {"seeds": [], "wall_s": [], "final_step": []})
        a["seeds"].append(r["seed"])
        a["wall_s"].append(r["summary"].get("wall_s"))
        a["final_step"].append(r["summary"].get("final_step"))
        for m in metrics:
            a.setdefault(m, []).append(r["summary"].get(m))
    for a in arms.values():
        for m in metrics:
            vals = [v for v in a[m] if v is not None]
            a[f"{m}_censored"] = len(a[m]) - len(vals)
            if len(vals) > 1:
                a[f"{m}_moments"] = Moments.from_values(np.array(vals, float)).to_dict()
        ws = [w / s for w, s in zip(a["wall_s"], a["final_step"], strict=True) if w and s]
        a["wall_per_step_s"] = float(np.mean(ws)) if ws else None
    speed = {}
    if "base" in arms and "reg" in arms:
        for m in metrics:
            b, g = arms["base"][m], arms["reg"][m]
            if any(v is None for v in b + g) or not b or not g:
                speed[m] = {"ratio": None, "note": "censored runs: some seed never reached it"}
                continue
            ratio, ci = speedup_ratio(b, g, level)
            speed[m] = {"ratio": ratio, "ci": ci, "level": level,
                        "speedup_pct": 100 * (ratio - 1), "fewer_steps_pct": 100 * (1 - 1 / ratio),
                        "n_base": len(b), "n_reg": len(g)}
        wb, wg = arms["base"]["wall_per_step_s"], arms["reg"]["wall_per_step_s"]
        if wb and wg:
            speed["wall_per_step_ratio_reg_over_base"] = wg / wb
    return {"arms": arms, "speedup": speed}


def speedup_ratio(base, reg, level: float = 0.95):
    """The speed-up ``mean(base) / mean(reg)`` of two arms' steps and its interval
    (:func:`nstheory.stats.ratio_ci`), the interval ``None`` with fewer than two seeds in an
    arm (no spread to set it).

    Examples
    --------
    >>> r, ci = speedup_ratio([4400, 4500, 4600], [3200, 3300, 3400])
    >>> round(r, 4), [round(x, 4) for x in ci]
    (1.3636, [1.2811, 1.4515])
    >>> speedup_ratio([4400], [3200, 3300])[1] is None
    True
    """
    from nstheory.stats import ratio_ci

    if min(len(base), len(reg)) < 2:
        return float(np.mean(base) / np.mean(reg)), None
    r, lo, hi = ratio_ci(np.array(base, float), np.array(reg, float), level)
    return r, [lo, hi]


def ratio_bound_kind(censored_base: bool, censored_reg: bool) -> str:
    """What the speed-up ratio ``mean(T_base) / mean(T_reg)`` computed with censored runs
    counted at their budget is.

    A censored time is a lower bound on the true time, so censoring in the regularized arm
    only (a denominator too small) makes the ratio an upper bound, censoring in the base arm
    only a lower bound, and censoring in both arms no bound at all.

    Parameters
    ----------
    censored_base, censored_reg : bool
        Whether some run of the arm never reached the threshold within its budget.

    Returns
    -------
    str
        ``"an estimate"``, ``"an upper bound, not an estimate"``, ``"a lower bound, not an
        estimate"`` or ``"no bound: both arms censored"``.

    Examples
    --------
    >>> ratio_bound_kind(False, True)
    'an upper bound, not an estimate'
    >>> ratio_bound_kind(True, True)
    'no bound: both arms censored'
    """
    if censored_base and censored_reg:
        return "no bound: both arms censored"
    if censored_reg:
        return "an upper bound, not an estimate"
    if censored_base:
        return "a lower bound, not an estimate"
    return "an estimate"



#: Validation-loss thresholds (nats/token) of the next-token sweep, fixed before any
#: regularized run of the ntp-plateau study; 3.5 is the primary one (the ``ntp`` preset's
#: early stop).
NTP_LOSS_SWEEP = (3.6, 3.5, 3.4, 3.3, 3.2, 3.1, 3.0)


def threshold_sweep(study: dict, thresholds=NTP_LOSS_SWEEP, key: str = "val_loss",
                    above: bool = False, level: float = 0.95) -> list[dict]:
    """Steps to each threshold per arm and seed, from the stored trajectories, with the
    speed-up ratio ``T_base / T_reg`` and its interval (:func:`speedup_ratio`) per threshold.

    A run that never reached a threshold is censored: it enters at its final step (a lower
    bound on its time), and ``kind`` (:func:`ratio_bound_kind`) says what the ratio then is.

    Parameters
    ----------
    study : dict
        A stored study (``runs`` with ``arm``, ``trajectory`` and ``summary``).
    thresholds : sequence of float
        Levels of ``key``.
    key : str
        Logged quantity (default the validation loss).
    above : bool
        Reach the level from below (accuracy) instead of from above (loss).
    level : float
        Confidence level of the ratio's interval.

    Returns
    -------
    list of dict
        Per threshold: ``threshold``, ``steps`` and ``censored`` per arm, ``ratio``, ``ci``,
        ``kind`` (None when an arm has no runs, both arms are censored, or a reg run is at
        step 0).

    Examples
    --------
    >>> def run(arm, losses):
    ...     traj = [{"step": 10 * i, "val_loss": v} for i, v in enumerate(losses, 1)]
    ...     return {"arm": arm, "trajectory": traj, "summary": {"final_step": 10 * len(losses)}}
    >>> st = {"runs": [run("base", [4, 3.4, 3.1]), run("base", [4, 3.6, 3.4]),
    ...                run("reg", [3.4, 3.2, 3.0]), run("reg", [4, 3.3, 3.1])]}
    >>> rows = threshold_sweep(st, thresholds=(3.5, 3.1))
    >>> rows[0]["steps"], rows[0]["ratio"], rows[0]["kind"]
    ({'base': [20, 30], 'reg': [10, 20]}, 1.6666666666666667, 'an estimate')
    >>> rows[1]["censored"], rows[1]["kind"]
    ({'base': 1, 'reg': 0}, 'a lower bound, not an estimate')
    """
    from nstheory.training.metrics import steps_to_threshold

    out = []
    for thr in thresholds:
        steps, cens = {}, {}
        for arm in ("base", "reg"):
            runs = [r for r in study["runs"] if r["arm"] == arm]
            got = [steps_to_threshold(r["trajectory"], key, thr, above=above) for r in runs]
            cens[arm] = sum(g is None for g in got)
            steps[arm] = [g if g is not None else r["summary"]["final_step"]
                          for g, r in zip(got, runs, strict=True)]
        row = {"threshold": thr, "steps": steps, "censored": cens, "ratio": None, "ci": None,
               "kind": None}
        if steps["base"] and steps["reg"] and not (cens["base"] and cens["reg"]) \
                and min(steps["reg"]) > 0:
            r, ci = speedup_ratio(steps["base"], steps["reg"], level)
            row.update(ratio=r, ci=ci,
                       kind=ratio_bound_kind(cens["base"] > 0, cens["reg"] > 0))
        out.append(row)
    return out


__all__ = ["METRICS", "NTP_LOSS_SWEEP", "PRODUCERS", "analyze_study", "collect_runs",
           "noise_summary", "parse_seeds", "permutation_pvalue", "ratio_bound_kind", "run_study",
           "speedup_ratio", "study_configs", "threshold_sweep", "write_study"]
