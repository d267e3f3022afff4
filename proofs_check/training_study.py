"""Measured training studies (haris2026 §4.3-4.4): the regularizer's speed-up, re-analysed from the
stored results in ``proofs_check/data/training_*.json`` (written by
``nstheory.training.study.write_study``; no retraining at verify time).

Two statistical analyses per claim: a Welch-t interval of the log ratio of mean steps
(``nstheory.stats.ratio_ci``; monte-carlo) and an exact permutation test enumerating every
relabelling of the seeds (exact-enumeration). Both read the same stored runs, so each claim rests
on one line of evidence (registered single-evidence); each analysis reports its power against
the paper's 1.36-fold speed-up. Runs that never reached the threshold within their step budget are
*censored*: the permutation test uses the budget for them (a lower bound, which can only weaken
the evidence in either direction); the ratio decides only in the direction its censoring bounds.

A further check per claim re-analyses the stored study of a separately written replication
(:mod:`proofs_check.replication.training_replication`, files
``proofs_check/data/replication_training_*.json``): other code for every step from the corpus to
the statistics, so it is an independent route whenever it decides.

The paper's headlines concern its own setting (p = 113, 30% train; WikiText-2): a study of
another preset, or with fewer than 5 seeds per arm, is reported but cannot decide them
(inconclusive). What we measured in our reduced setting is a separate claim of its own.
"""

from __future__ import annotations

from pathlib import Path

from nstheory.claims import (
    attach_power,
    claim,
    compare_holds,
    no_stored_measurement,
    one_sided_power,
)
from nstheory.store import reports_study
from nstheory.training.study import ratio_bound_kind

DATA = Path(__file__).parent / "data"
LEVEL = 0.95
ALPHA = 0.05
NOT_DECIDABLE = "not the claim's setting, or too few seeds: cannot decide it"
#: The effect each test must detect: the paper's modular-addition speed-up, T_base/T_reg = 1.36
#: (for the speed-up claims: a true ratio of 1, no speed-up, must be told apart from it).
EFFECT_RATIO = 4500 / 3300
SINGLE_STUDY = ("one stored training study: the ratio's interval and the permutation test are "
                "two analyses of the same runs, not independent evidence")


def _load(names):
    """The first stored study among ``names`` (the claim's own setting first, then fallbacks
    shown as evidence only)."""
    from nstheory.store import load_json

    for name in names:
        path = DATA / f"training_{name}.json"
        if path.exists():
            return load_json(path)
    return None


def _samples(study, metric):
    """Per-arm steps with censored runs replaced by their step budget, and censoring counts."""
    out, cens = {}, {}
    for arm in ("base", "reg"):
        runs = [r for r in study["runs"] if r["arm"] == arm]
        vals = [r["summary"].get(metric) for r in runs]
        cens[arm] = sum(v is None for v in vals)
        out[arm] = [v if v is not None else r["summary"]["final_step"]
                    for v, r in zip(vals, runs, strict=True)]
    return out, cens


def _describe(study, metric, s, cens):
    return [("study preset (config saved beside the results)", study["preset"]),
            ("seeds per arm (base, reg)", f"{len(s['base'])}, {len(s['reg'])}"),
            (f"{metric}, base arm (gamma = 0), per seed", str(s["base"])),
            (f"{metric}, reg arm (gamma, rho per config), per seed", str(s["reg"])),
            ("censored runs (base, reg): budget used as lower bound",
             f"{cens['base']}, {cens['reg']}")]


def _setting_ok(study, required) -> bool:
    """Whether the stored study is in the claim's own setting (preset and config values)."""
    if not required:
        return True
    cfg = study["runs"][0]["config"] if study["runs"] else {}
    return all((study.get(k) if k == "preset" else cfg.get(k)) == v for k, v in required.items())


def _decide(lo, hi, target, direction_only):
    """verified / refuted / undecided from an interval for T_base/T_reg."""
    if direction_only:
        return (True, False) if lo > 1 else ((False, False) if hi < 1 else (None, True))
    if lo > 1 and lo <= target <= hi:
        return True, False
    if hi < target:
        return False, False
    return None, True


def _ratio_check(name, metric, target, required, direction_only, min_seeds):
    def check():
        from nstheory.stats import ratio_ci

        study = _load(name)
        if study is None:
            return no_stored_measurement(f"training_{name[0]}.json absent")
        s, cens = _samples(study, metric)
        q = _describe(study, metric, s, cens)
        if not s["base"] or not s["reg"] or (cens["base"] and cens["reg"]):
            return attach_power(
                compare_holds(False, q, inconclusive=True,
                              note="missing runs, or censoring in both arms: no usable ratio"),
                "a true T_base/T_reg of 1 (no speed-up) against the paper's 1.36", 0.0)
        import numpy as np

        # Censored runs enter at their budget: with censoring only in the reg arm the computed
        # ratio is an upper bound on the true one (it can only refute), only in the base arm a
        # lower bound (it can only verify).
        r, lo, hi = ratio_ci(np.array(s["base"], float), np.array(s["reg"], float), LEVEL)
        kind = ratio_bound_kind(cens["base"] > 0, cens["reg"] > 0)
        q.append((f"T_base/T_reg ({metric}), {LEVEL:.0%} Welch-t interval of the log ratio "
                  f"({kind})",
                  f"{r:.4f} [{lo:.4f}, {hi:.4f}]"))
        q.append(("target ratio", "> 1" if direction_only else f"{target:.4f}"))
        enough = _setting_ok(study, required) and \
            min(len(s["base"]), len(s["reg"])) >= min_seeds
        holds, undecided = _decide(lo, hi, target, direction_only)
        if (holds and cens["reg"]) or (holds is False and cens["base"]):
            undecided = True  # the bound points the wrong way for this conclusion
        # power (normal approximation of the ratio, s.e. = interval width / 3.92): that the
        # interval separates a true ratio of 1 from the paper's 1.36
        se = (hi - lo) / (2 * 1.959964)
        power = one_sided_power(EFFECT_RATIO - 1, se, 1.959964)
        q.append(("power against the alternative (normal approximation)", f"{power:.3g}"))
        return attach_power(
            compare_holds(bool(holds), q, tolerance=f"{LEVEL:.0%} interval of the ratio",
                          inconclusive=undecided or not enough,
                          note="" if enough else NOT_DECIDABLE),
            "a true T_base/T_reg of 1 (no speed-up) against the paper's 1.36", power)
    check.__name__ = f"ratio_interval_{name[0]}"
    return reports_study([DATA / f"training_{n}.json" for n in name], which="first")(check)


def _permutation_check(name, metric, required, direction_only, min_seeds):
    def check():
        from nstheory.training.study import permutation_pvalue

        study = _load(name)
        if study is None:
            return no_stored_measurement(f"training_{name[0]}.json absent")
        s, cens = _samples(study, metric)
        q = _describe(study, metric, s, cens)
        if not s["base"] or not s["reg"]:
            return compare_holds(False, q, inconclusive=True, note="an arm has no runs")
        p_faster, p_slower = permutation_pvalue(s["base"], s["reg"])
        power = _permutation_power(s)
        q.append(("exact permutation p: regularized arm needs fewer steps", f"{p_faster:.4g}"))
        q.append(("exact permutation p: regularized arm needs more steps", f"{p_slower:.4g}"))
        enough = _setting_ok(study, required) and \
            min(len(s["base"]), len(s["reg"])) >= min_seeds
        holds = p_faster <= ALPHA
        decided = holds or p_slower <= ALPHA
        if (holds and cens["reg"]) or (not holds and decided and cens["base"]):
            decided = False  # budget-for-censored points the wrong way for this conclusion
        q.append(("power against the alternative (normal approximation)", f"{power:.3g}"))
        need = _seeds_for_power(s)
        if power < 0.9 and need is not None:
            q.append(("seeds per arm that would give power 0.9 at the observed spread (normal "
                      "approximation; censored runs at their budget understate the spread, so "
                      "a lower bound)", str(need)))
        return attach_power(
            compare_holds(holds, q, tolerance=f"one-sided p <= {ALPHA}",
                          inconclusive=(not decided) or not enough,
                          note="" if enough else NOT_DECIDABLE),
            "the paper's 1.36-fold speed-up (base-arm mean steps x (1 - 1/1.36) saved)", power)
    check.__name__ = f"permutation_{name[0]}"
    return reports_study([DATA / f"training_{n}.json" for n in name], which="first")(check)


def _permutation_power(s) -> float:
    """Normal-approximation power of the one-sided permutation test at level ALPHA to detect
    the paper's speed-up: a difference of mean steps of mean(base) (1 - 1/1.36), with the arms'
    sample variances; 0 when no relabelling can reach ALPHA."""
    from math import comb

    import numpy as np

    b, r = np.array(s["base"], float), np.array(s["reg"], float)
    if comb(len(b) + len(r), len(b)) * ALPHA < 1 or min(len(b), len(r)) < 2:
        return 0.0
    se = float(np.sqrt(b.var(ddof=1) / len(b) + r.var(ddof=1) / len(r)))
    return one_sided_power(_paper_saving(b), se, 1.644854)


def _paper_saving(base) -> float:
    """Mean steps the paper's speed-up would save: mean(base) (1 - 1/1.36)."""
    return float(sum(base) / len(base)) * (1 - 1 / EFFECT_RATIO)


def _seeds_for_power(s, power: float = 0.9) -> int | None:
    """Seeds per arm at which the one-sided test of :func:`_permutation_power` reaches
    ``power`` against the paper's speed-up, with the arms' observed variances (normal
    approximation); None without two runs per arm or with no spread.

    Two arms with sd 141 each and base mean 200: the speed-up saves 200 (1 - 1/1.36) = 53.3
    steps, and (2.926 x 200 / 53.3)^2 = 120.5; the power crosses 0.9 between 120 and 121:

    >>> s = {"base": [100, 300], "reg": [100, 300]}
    >>> n = _seeds_for_power(s)
    >>> n, [round(one_sided_power(53.33, (2 * 20000 / m) ** 0.5, 1.644854), 3) for m in (n - 1, n)]
    (121, [0.899, 0.901])
    """
    import math

    import numpy as np

    b, r = np.array(s["base"], float), np.array(s["reg"], float)
    if min(len(b), len(r)) < 2:
        return None
    spread = math.sqrt(b.var(ddof=1) + r.var(ddof=1))
    diff = _paper_saving(b)
    if not spread > 0 or not diff > 0:
        return None
    z = 1.644854 + 1.281552  # one-sided level ALPHA, power 0.9
    return max(2, math.ceil((z * spread / diff) ** 2))


def _sweep_check(name, target, required, direction_only, min_seeds=5):
    """The speed-up at every validation-loss threshold of the sweep (fixed before the runs):
    holds when every uncensored ratio's interval decides for the claim, refuted when every one
    decides against it; a secondary analysis of the same runs (not a second route)."""
    def check():
        from nstheory.training.study import NTP_LOSS_SWEEP, threshold_sweep

        study = _load(name)
        if study is None:
            return no_stored_measurement(f"training_{name[0]}.json absent")
        rows, verdicts, se_max = [], [], 0.0
        for r in threshold_sweep(study, NTP_LOSS_SWEEP, level=LEVEL):
            c = r["censored"]
            what = f"val. loss <= {r['threshold']:g}: T_base/T_reg"
            if r["ratio"] is None:
                rows.append((what, f"no ratio (censored base {c['base']}, reg {c['reg']})"))
                continue
            lo, hi = r["ci"]
            rows.append((what, f"{r['ratio']:.4f} [{lo:.4f}, {hi:.4f}] ({r['kind']}; censored "
                               f"base {c['base']}, reg {c['reg']})"))
            if r["kind"] == ratio_bound_kind(False, False):
                verdicts.append(_decide(lo, hi, target, direction_only)[0])
                se_max = max(se_max, (hi - lo) / (2 * 1.959964))
        enough = _setting_ok(study, required) and min(
            sum(x["arm"] == a for x in study["runs"]) for a in ("base", "reg")) >= min_seeds
        holds = bool(verdicts) and all(v is True for v in verdicts)
        refuted = bool(verdicts) and all(v is False for v in verdicts)
        rows.append(("thresholds with an uncensored ratio (decided for / against / neither)",
                     f"{len(verdicts)} ({verdicts.count(True)} / {verdicts.count(False)} / "
                     f"{verdicts.count(None)})"))
        power = one_sided_power(EFFECT_RATIO - 1, se_max, 1.959964) if verdicts else 0.0
        return attach_power(
            compare_holds(holds, rows, tolerance=f"{LEVEL:.0%} interval of the ratio per threshold",
                          inconclusive=not (holds or refuted) or not enough,
                          note="" if enough else NOT_DECIDABLE),
            "a true T_base/T_reg of 1 (no speed-up) against the paper's 1.36, at the least "
            "precise uncensored threshold", power)
    check.__name__ = f"threshold_sweep_{name[0]}"
    return reports_study([DATA / f"training_{n}.json" for n in name], which="first")(check)


#: Stored studies of the separately written replication
#: (:mod:`proofs_check.replication.training_replication`: its own data handling, models, noise,
#: training loop and statistics -- no code shared with the library's training package).
REPLICATION = {"ntp": DATA / "replication_training_ntp.json",
               "modadd": DATA / "replication_training_modadd_reduced.json"}


def _replication_check(study, target, min_seeds):
    """Re-analyse the replication's stored runs at its primary threshold: ratio of mean steps
    with its percentile-bootstrap interval, decided as the claim states (``target`` None: the
    direction T_base/T_reg > 1); the exact permutation p-values are shown beside it."""
    def check():
        from nstheory.store import load_json
        from proofs_check.replication.training_replication import (
            PAPER_RATIO,
            decide,
            threshold_table,
        )

        path = REPLICATION[study]
        if not path.is_file():
            return no_stored_measurement(f"{path.name} absent")
        data = load_json(path)
        rows = threshold_table(data["runs"], study) if data["runs"] else []
        primary = [r for r in rows if r["threshold"] == data["summary"]["primary"]]
        paper = PAPER_RATIO[study]
        alternative = (f"a true T_base/T_reg of 1 (no speed-up) against the paper's "
                       f"{paper:.3g}")
        if not primary or primary[0]["ratio"] is None:
            return attach_power(compare_holds(False, [("replication runs", len(data["runs"]))],
                                              inconclusive=True, note="no paired runs"),
                                alternative, 0.0)
        q = []
        for r in rows:
            lo, hi = r["ci95"]
            q.append((f"replication: steps to {r['metric']} "
                      f"{'<=' if r['metric'] == 'val_loss' else '>='} {r['threshold']:g}, "
                      "base / reg arm per seed (censored runs at the budget)",
                      f"{r['base']} / {r['reg']} (censored {r['censored']['base']}, "
                      f"{r['censored']['reg']})"))
            q.append((f"replication: T_base/T_reg at {r['threshold']:g}, 95% percentile "
                      f"bootstrap ({r['kind']})", f"{r['ratio']:.6g} [{lo:.6g}, {hi:.6g}]"))
            q.append((f"replication: exact permutation p at {r['threshold']:g} "
                      "(reg faster / reg slower)", f"{r['p_faster']:.6g} / {r['p_slower']:.6g}"))
        row = primary[0]
        lo, hi = row["ci95"]
        verdict = decide(lo, hi, row["kind"], target)
        q.append(("primary threshold (fixed before the runs)", f"{row['threshold']:g}"))
        q.append(("target ratio", "> 1" if target is None else f"{target:.6g}"))
        q.append(("power against the alternative (normal approximation, s.e. = interval "
                  "width / 3.92)", f"{row['power_vs_paper']:.3g}"))
        enough = len(row["seeds"]) >= min_seeds
        return attach_power(
            compare_holds(verdict == "verified", q,
                          tolerance=f"{LEVEL:.0%} bootstrap interval at the primary threshold",
                          inconclusive=verdict is None or not enough,
                          note="" if enough else f"fewer than {min_seeds} seed pairs"),
            alternative, row["power_vs_paper"])
    check.__name__ = f"replication_{study}"
    return reports_study([REPLICATION[study]])(check)


def _register_replication(c, study, target, min_seeds=5):
    c.check("monte-carlo", name="replication_bootstrap_ratio",
            uses=(f"data:{REPLICATION[study].name}",
                  "proofs_check.replication.training_replication"))(
        _replication_check(study, target, min_seeds))


def _register(c, name, metric, target, required, direction_only=False, min_seeds=5,
              sweep=False):
    data = tuple(f"data:training_{n}.json" for n in name)
    c.check("monte-carlo", name=f"ratio_interval_{metric}",
            uses=(*data, "nstheory.stats.ratio_ci"))(
        _ratio_check(name, metric, target, required, direction_only, min_seeds))
    c.check("exact-enumeration", name=f"permutation_test_{metric}",
            uses=(*data, "nstheory.training.study.permutation_pvalue"))(
        _permutation_check(name, metric, required, direction_only, min_seeds))
    if sweep:
        c.check("monte-carlo", name="threshold_sweep_val_loss",
                uses=(*data, "nstheory.training.study.threshold_sweep"))(
            _sweep_check(name, target, required, direction_only, min_seeds))


# --------------------------------------------------------------------------------------------
c = claim(
    "training.modadd.speedup_paper",
    "On modular addition (p = 113, 30% train) the regularizer with (gamma, rho) = (0.75, 0.25) "
    "reaches generalisation in ~3300 instead of ~4500 steps: T_base/T_reg ~ 1.36 (steps to "
    ">= 99% validation accuracy, >= 5 seeds per arm).",
    latex=r"T_{base}/T_{reg}\approx 4500/3300 = 1.36",
    provenance="reconstructed:haris2026 §4.3 (the paper's setting as we reconstruct it)",
    expect="refuted",
    refutation_kind="not-reproduced",
    single_evidence=SINGLE_STUDY,
    evidence="Refuted in the paper's setting (our reconstruction of it: preset modadd113, p = "
    "113, 30% train, 1-layer transformer d = 128, 4 heads, MLP 512, AdamW lr 1e-3, wd 1, full "
    "batch; token noise; 20k-step budget; 5 seeds per arm, same data and init per seed; "
    "proofs_check/data/training_modadd113.json). Steps to >= 99% validation accuracy: base "
    "6500, 10600, 6150, 4700, 11300 (mean 7850); regularized 8550 for seed 3, never within "
    "20000 for the other four (they plateau at 0.96-0.99). T_base/T_reg <= 0.44 [0.27, 0.72] "
    "(95% Welch-t interval of the log ratio, censored runs at the budget: an upper bound); "
    "exact permutation p = 0.012 that the regularized arm is slower. Uncensored thresholds "
    "agree in direction: steps to 95% "
    "ratio 0.70 [0.41, 1.21], to validation loss 0.1 ratio 0.58 [0.35, 0.97]. The paper's "
    "base (~4500 steps) groks faster than ours (mean 7850), so its setup differs somewhere "
    "(not recoverable); in ours the regularizer slows grokking, as in the reduced p = 59 "
    "setting (training.modadd_reduced.regularizer_speeds_grokking) and consistently with "
    "training.regularizer.modadd_label_preservation.",
)
_register(c, ("modadd113", "modadd_reduced"), "steps_to_val99", 4500 / 3300,
          {"preset": "modadd113"})

MODADD_REPLICATION_UNDECIDED = (
    "one stored training study decides (the ratio's interval and the permutation test are two "
    "analyses of its runs); the separately written replication agrees in direction but cannot "
    "decide at 99%: a base run is censored there too (censoring in both arms gives no bound)")
NTP_UNDECIDED = ("two independent studies (the library's and the separately written "
                 "replication's) are stored, but neither decides the direction: both "
                 "intervals for T_base/T_reg at 3.5 contain 1")

#: What the next-token study on fortunes measured (shared by the paper's claim and ours).
NTP_EVIDENCE = (
    "Study proofs_check/data/training_ntp_fortunes_plateau.json (`nstheory train ntp --preset "
    "ntp-plateau --seeds 0-4 --record ntp_fortunes_plateau`): the paper's small model on the "
    "Debian fortunes corpus, 5 seeds per arm, 1500 steps without early stop (near the "
    "plateau: the base arm's validation loss falls by 0.04-0.07 nats/token from step 1000 to "
    "1500, against 2.8 in the first 300 steps; final 3.16-3.22), validation loss every 25 "
    "steps. Thresholds fixed before any regularized run: 3.5 nats/token primary, swept "
    "3.6-3.0. T_base/T_reg at 3.5 = 0.983 [0.923, 1.047] (95% Welch-t interval of the "
    "log ratio); at 3.6 1.02 [0.94, 1.11], 3.4 0.99 [0.89, 1.09], 3.3 1.05 [0.96, 1.15]; "
    "3.2 reached by 4 of 5 base and 2 of 5 regularized runs, 3.1 and 3.0 by none. No "
    "threshold shows a speed-up near "
    "1.75; the regularized arm's plateau is slightly higher (final 3.19-3.22 vs 3.16-3.22) and "
    "each step costs 1.4x. WikiText-2 is not on this machine; with a local copy, `--corpus "
    "wikitext2 --corpus-path DIR --record ntp_wikitext2` gives the study this claim reads "
    "first. A separately written replication (proofs_check/replication/training_replication.py: "
    "its own corpus reading, tokenisation, batching without replacement, models, token noise, "
    "loop and statistics; proofs_check/data/replication_training_ntp.json, 5 seeds per arm, "
    "same thresholds fixed in advance) agrees: steps to 3.5 base 300, 300, 250, 300, 325, "
    "regularized 300, 300, 250, 300, 275; T_base/T_reg at 3.5 = 1.035 [0.933, 1.132] (95% "
    "bootstrap), exact permutation p = 0.38 that the regularized arm is faster; at 3.6 0.977 "
    "[0.909, 1.049], 3.4 1.000 [0.951, 1.051], 3.3 0.921 [0.846, 1.000] (the regularized arm "
    "slightly slower to the lowest threshold).")


c = claim(
    "training.ntp.speedup_paper",
    "On next-token prediction (4 layers, d = 30, 6 heads, vocabulary 500) the regularizer "
    "speeds training up by ~75%: T_base/T_reg ~ 1.75 to reach a validation-loss threshold.",
    latex=r"T_{base}/T_{reg}\approx 1.75",
    provenance="reconstructed:haris2026 §4.4 (the '75%' read as T_base/T_reg = 1.75; "
    "corpus and threshold ours)",
    expect="refuted",
    refutation_kind="not-reproduced",
    evidence=NTP_EVIDENCE,
)
_register(c, ("ntp_wikitext2", "ntp_fortunes_plateau", "ntp_fortunes"), "steps_to_val_loss",
          1.75, {"preset": "ntp-plateau"}, sweep=True)
_register_replication(c, "ntp", 1.75)

c = claim(
    "training.parity.speedup_paper",
    "On noisy k-sparse parity the regularizer with (gamma, rho) = (0.05, 0.05) catalyzes "
    "grokking, ~35% faster: T_base/T_reg ~ 1.35 (steps to generalisation, here >= 90% clean "
    "validation accuracy, >= 5 seeds per arm).",
    latex=r"T_{base}/T_{reg}\approx 1.35\ \text{(noisy sparse parity)}",
    provenance="paper:haris2026 §4.3 (abstract: ~35% on algorithmic tasks)",
    single_evidence=SINGLE_STUDY,
    evidence="The paper's n, k, label-noise rate and architecture are not recoverable. Our "
    "`parity-grokking` preset: n = 40, k = 3, 5% training-label noise, 1000 training strings, "
    "one-layer transformer d = 64; the base arm sits at chance, then jumps to ~95% clean "
    "validation accuracy (memorised label flips keep it from 99%), so the metric is steps to "
    "90%. Data: proofs_check/data/training_parity.json, 5 seeds per arm at the full 10 000-step "
    "budget (one torch thread): base 625, 5550, 325, never, 1225; regularized 850, 1275, 325, "
    "never, 975 (seed 3 never generalised in either arm). Censoring in both arms leaves no "
    "ratio; the exact permutation test (censored runs at the budget) gives p = 0.41 "
    "that the regularized arm is faster, with power 0.10 against the paper's speed-up: the "
    "steps to generalise are heavy-tailed (325 to > 10 000 within an arm), and at this spread "
    "at least 329 seeds per arm would be needed for power 0.9. Inconclusive, measured; not a "
    "refutation. Each regularized step costs 1.6x a base step.",
)
_register(c, ("parity",), "steps_to_val90", 1.35, {"preset": "parity-grokking"})

c = claim(
    "training.modadd_reduced.regularizer_speeds_grokking",
    "In our reduced modular-addition preset (p = 59, 50% train, the same one-layer model and "
    "AdamW recipe), the regularizer with (gamma, rho) = (0.75, 0.25), token noise, reduces the "
    "steps to >= 99% validation accuracy (T_base/T_reg > 1).",
    latex=r"T_{base}/T_{reg} > 1\ \text{(p = 59, 50\% train)}",
    provenance="new",
    expect="refuted",
    refutation_kind="not-reproduced",
    single_evidence=MODADD_REPLICATION_UNDECIDED,
    evidence="Finding (reduced setting only): with 5 seeds per arm, every unregularized run "
    "reached 99% validation accuracy in 700-1925 steps (mean 1225), while no regularized run "
    "reached it within the 4000-step budget (final validation accuracy 0.73-0.94; one seed "
    "reached 95% at step 3300); exact permutation p = 1/252 that the regularized arm is "
    "slower. A mechanism: training.regularizer.modadd_label_preservation (the token noise "
    "changes the correct answer 60% of the time, so the term rewards operand-insensitive "
    "outputs). Data: proofs_check/data/training_modadd_reduced.json (configs, summaries, "
    "trajectories). This does not decide the paper's p = 113 claim. A separately written "
    "replication (proofs_check/replication/training_replication.py, its own model "
    "initialisation, data split and statistics; proofs_check/data/"
    "replication_training_modadd_reduced.json, 5 seeds per arm, 4000-step budget) points the "
    "same way but cannot decide at 99%: its base arm groks later and less completely (99% at "
    "3450, 1550, 800, 3300 steps; seed 0 plateaus at 98.4-98.7%), so both arms are censored; "
    "no regularized run reached 99% (final validation accuracy 0.47-0.94). At 95%, reported "
    "beside it (not deciding), base 1925, 3075, 1325, 725, 2775 steps against regularized "
    "3225 for one seed and never within 4000 for four: T_base/T_reg <= 0.51 [0.31, 0.71] (an "
    "upper bound), exact permutation p = 1/252 that the regularized arm is slower.",
)
_register(c, ("modadd_reduced",), "steps_to_val99", 1.0, None, direction_only=True,
          min_seeds=3)
_register_replication(c, "modadd", None, min_seeds=3)

c = claim(
    "training.ntp_fortunes.regularizer_speeds_training",
    "On next-token prediction with the paper's small model (4 layers, d = 30, 6 heads, "
    "vocabulary 500: top-499 words + <unk>) on the Debian fortunes corpus, the regularizer with "
    "(gamma, rho) = (0.1, 0.5), token noise, reduces the steps to validation loss <= 3.5 "
    "nats/token (T_base/T_reg > 1).",
    latex=r"T_{base}/T_{reg} > 1\ \text{(fortunes, val. loss} \le 3.5)",
    provenance="new",
    single_evidence=NTP_UNDECIDED,
    evidence="Our setting, not the paper's (corpus fortunes, gamma/rho/optimiser ours). " +
    NTP_EVIDENCE,
)
_register(c, ("ntp_fortunes_plateau", "ntp_fortunes"), "steps_to_val_loss", 1.0,
          {"preset": "ntp-plateau"}, direction_only=True, sweep=True)
_register_replication(c, "ntp", None)
