"""Noise-stability dynamics on noisy sparse parity (haris2026 §4.3, Appendix J.2), measured on
our ``parity-grokking`` runs and re-analysed from their stored trajectories.

Data: ``proofs_check/data/training_parity.json`` (``nstheory train parity --preset
parity-grokking --seeds 0-4 --record parity``): n = 40 bits, k = 3 hidden bits, 5% of the
training labels flipped (validation labels clean), 1000 training strings, a one-layer
transformer (d = 64, 4 heads, MLP 256) with AdamW (lr 1e-3, weight decay 1), full batch,
10 000 steps, 5 seeds per arm (one torch thread). Stability is the *normalised* view of the
token stability of the class probabilities,
``sum_c Cov(p_c(X), p_c(Y)) / sum_c Var(p_c(X))``, under the regularizer's token noise
(rho = 0.05: keep each bit with probability 0.525, else redraw it uniformly), on 512 training
strings every 100 steps. For the target parity this is ``q^k`` with ``q = 0.525``.

Only the unregularized (base) arm is used: the paper's statement is about plain training.
The separately written replication's stored parity study
(``proofs_check/data/replication_training_parity.json``,
:mod:`proofs_check.replication.training_replication`) gives each claim a second check.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

from nstheory.claims import (
    attach_power,
    claim,
    compare_holds,
    no_stored_measurement,
    one_sided_power,
)
from nstheory.store import reports_study

DATA = Path(__file__).parent / "data" / "training_parity.json"
#: The separately written replication's stored parity study
#: (:mod:`proofs_check.replication.training_replication`, ``--study parity --arms base``).
REPLICATION = Path(__file__).parent / "data" / "replication_training_parity.json"
MIN_SEEDS = 5
#: Per-seed probability of the effect under the alternative a sign test must detect: a
#: systematic effect seen in nearly every seed.
P_SYSTEMATIC = 0.99
SINGLE_STUDY = ("one stored training study (the parity-grokking base arm): both checks analyse "
                "the same runs")
PRECURSOR_UNDECIDED = ("neither stored study decides: a seed that never generalised leaves the "
                       "library's study 4 usable seeds of 5 and the separately written "
                       "replication's 3 of 5 (all of them with the stability drop first)")
ALT_SIGN = (f"a systematic effect, present in each seed with probability {P_SYSTEMATIC} "
            f"(power = {P_SYSTEMATIC}^seeds, 0 below {MIN_SEEDS} seeds)")


def _sign_power(n: int) -> float:
    return P_SYSTEMATIC**n if n >= MIN_SEEDS else 0.0


def _base_runs():
    from nstheory.store import load_json

    if not DATA.exists():
        return None
    study = load_json(DATA)
    if study["preset"] != "parity-grokking":
        return None
    return [r for r in study["runs"] if r["arm"] == "base"]


def _missing():
    return no_stored_measurement(f"{DATA.name} absent or another preset")


def _stab(run):
    return [(t["step"], t["stab_token_norm"]) for t in run["trajectory"]
            if "stab_token_norm" in t]


def _target(run, k: int | None = None) -> Fraction:
    """Normalised token stability of the k-sparse parity itself (``k`` from the run unless
    given), by exact enumeration of the noise on k bits (the other bits do not matter)."""
    import numpy as np

    from nstheory.boolean.alphabet import stability_by_enumeration
    from nstheory.noise import regularizer_keep_prob

    k = run["config"]["k"] if k is None else k
    q = regularizer_keep_prob(Fraction(str(run["config"]["reg_rho"])))
    grid = np.indices((2,) * k).reshape(k, -1).T  # every k-bit string, tokens 0/1
    chi = np.where(grid.sum(1) % 2 == 0, 1, -1).reshape((2,) * k)
    return stability_by_enumeration(chi, q, False)  # E chi = 0, E chi^2 = 1: raw = normalised


c = claim(
    "training.parity.stability_decreases",
    "Trained without the regularizer on noisy sparse parity, a model's noise stability "
    "decreases during training, to match the (highly unstable) parity target: the normalised "
    "token stability falls in every seed and ends within 0.05 of the target's q^k.",
    latex=r"\mathrm{Stab}^{norm}_{t} \downarrow\ \to\ \mathrm{Stab}^{norm}[\chi_S] = q^{k}",
    provenance="paper:haris2026 App. J.2 (research note §4.3, stability dynamics)",
    evidence="Our parity-grokking preset (n = 40, k = 3, 5% label noise); data "
    "proofs_check/data/training_parity.json, 5 seeds per arm, 10 000 steps. In every base "
    "seed the normalised token stability falls, from 0.49-0.56 at initialisation to "
    "0.093-0.113 at step 10 000 (mean 0.102 [0.091, 0.113], within 0.05 of q^3 = 0.1447 but "
    "*below* it: the trained model is less stable than the parity it should compute). Seed 3, "
    "which never generalised (validation accuracy 0.49 at step 10 000, in both arms), falls "
    "just the same (0.51 -> 0.095): the fall comes with fitting the noisy training labels, so "
    "reaching the target's stability level is not by itself evidence that the parity was "
    "learned. A separately written replication (proofs_check/replication/"
    "training_replication.py --study parity --arms base: its own data generation from numpy, "
    "model, training loop and stability estimator; proofs_check/data/"
    "replication_training_parity.json, 5 seeds, 10 000 steps, one torch thread) agrees: the "
    "stability falls in every seed, 0.44-0.55 -> 0.073-0.164, final mean 0.124 [0.079, 0.169] "
    "(within 0.05 of q^3); its seeds 0 and 4 never generalised (validation accuracy ~0.50 at "
    "step 10 000) and fell just the same.",
    fast=False,
)


@c.check("exact-enumeration", name="sign_test_over_seeds",
         uses=("data:training_parity.json", "sign-test:stability-fall"))
@reports_study(DATA)
def _():
    runs = _base_runs()
    if runs is None:
        return _missing()
    q, fell = [], 0
    for r in runs:
        pts = _stab(r)
        (s0, v0), (s1, v1) = pts[0], pts[-1]
        fell += v1 < v0
        q.append((f"seed {r['seed']}: normalised token stability at step {s0} -> {s1} (MC, "
                  f"{r['config']['metric_samples']} strings)", f"{v0:.4f} -> {v1:.4f}"))
    n = len(runs)
    p = Fraction(1, 2**n) if fell == n else None
    q.append(("seeds where it fell / seeds", f"{fell} / {n}"))
    q.append(("exact one-sided sign-test p (all fell, no-direction null)", str(p)))
    return attach_power(compare_holds(fell == n and n >= MIN_SEEDS, q,
                                      tolerance=f"fell in every seed, >= {MIN_SEEDS} seeds "
                                      "(p <= 1/32)", inconclusive=n < MIN_SEEDS),
                        ALT_SIGN, _sign_power(n))


@c.check("monte-carlo", name="final_matches_target",
         uses=("data:training_parity.json", "nstheory.boolean.alphabet.stability_by_enumeration"))
@reports_study(DATA)
def _():
    import numpy as np
    from scipy.special import stdtrit

    runs = _base_runs()
    if runs is None:
        return _missing()
    target = _target(runs[0])
    final = np.array([_stab(r)[-1][1] for r in runs])
    first = np.array([_stab(r)[0][1] for r in runs])
    m, se = final.mean(), final.std(ddof=1) / np.sqrt(len(final))
    half = stdtrit(len(final) - 1, 0.975) * se
    k = runs[0]["config"]["k"]
    # power: a final stability still at the initial level (~0.50, 0.35 above the target) lies
    # outside the 0.05 band with this probability (normal approximation of the mean)
    power = one_sided_power(0.35 - 0.05, se, 0.0) if len(final) > 1 else 0.0
    return attach_power(compare_holds(
        abs(m - float(target)) <= 0.05 and len(runs) >= MIN_SEEDS,
        [("normalised token stability at step 0, mean over seeds", f"{first.mean():.4f}"),
         ("normalised token stability at the end, mean over seeds (95% t-interval)",
          f"{m:.4f} [{m - half:.4f}, {m + half:.4f}] ({len(final)} seeds)"),
         (f"target: {k}-sparse parity, exact enumeration of the token noise", str(target)),
         ("target as a decimal", f"{float(target):.6f}"),
         # the 0.05 band is the claim's reading; it does not tell neighbouring parities apart,
         # and the mean's own interval is shown against each
         ("t-interval contains the target; q^(k-1), q^(k+1) (the neighbouring parities) and "
          "whether the band / the interval holds them",
          f"{m - half <= float(target) <= m + half}; "
          + ", ".join(f"{float(t):.4f} (band {abs(m - float(t)) <= 0.05}, interval "
                      f"{m - half <= float(t) <= m + half})"
                      for t in (_target(runs[0], k - 1), _target(runs[0], k + 1))))],
        tolerance="|mean final - target| <= 0.05 (the claim's band; it does not separate k from "
                  "k +- 1)", inconclusive=len(runs) < MIN_SEEDS),
        "the final stability left at the initial level, 0.35 above the target", power)


def _replication_rows():
    """The replication's per-seed stability summary and its config, or None when absent."""
    from nstheory.store import load_json
    from proofs_check.replication.training_replication import stability_summary

    if not REPLICATION.is_file():
        return None
    study = load_json(REPLICATION)
    return stability_summary(study["runs"]), study["config"]["config"]


def _replication_missing():
    return no_stored_measurement(f"{REPLICATION.name} absent")


@c.check("monte-carlo", name="replication_fall_and_final",
         uses=("data:replication_training_parity.json",
               "proofs_check.replication.training_replication"))
@reports_study(REPLICATION)
def _():
    import numpy as np
    from scipy.special import stdtrit

    got = _replication_rows()
    if got is None:
        return _replication_missing()
    rows, cfg = got
    # the target: each noised bit keeps its value with probability q + (1 - q)/2 and flips
    # otherwise, so chi_i(X) chi_i(Y) has mean q; the k bits are independent: q^k
    q_keep = (1 + Fraction(str(cfg["rho"]))) / 2
    target = q_keep ** cfg["k"]
    n = len(rows)
    fell = sum(r["fell"] for r in rows)
    final = np.array([r["last"] for r in rows])
    m = float(final.mean()) if n else float("nan")
    se = float(final.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    half = float(stdtrit(n - 1, 0.975)) * se if n > 1 else float("inf")
    q = [(f"replication seed {r['seed']}: normalised token stability first -> last "
          f"({cfg['stab_samples']} strings, one noisy copy each)",
          f"{r['first']:.4f} -> {r['last']:.4f}") for r in rows]
    q += [("replication: seeds where it fell / seeds", f"{fell} / {n}"),
          ("replication: final value, mean over seeds (95% t-interval)",
           f"{m:.4f} [{m - half:.4f}, {m + half:.4f}]"),
          (f"target q^k = ((1 + rho)/2)^{cfg['k']} at rho = {cfg['rho']}",
           f"{target} = {float(target):.6f}")]
    holds = fell == n and abs(m - float(target)) <= 0.05
    # power: the sign test detects a systematic fall with probability P_SYSTEMATIC^n; a final
    # value left at the initial level (0.35 above the target) is outside the 0.05 band with
    # the normal-approximation power below; the check needs both
    power = min(_sign_power(n), one_sided_power(0.35 - 0.05, se, 0.0) if n > 1 else 0.0)
    return attach_power(compare_holds(
        holds and n >= MIN_SEEDS, q,
        tolerance=f"fell in every seed (>= {MIN_SEEDS} seeds) and |mean final - target| <= "
        "0.05", inconclusive=n < MIN_SEEDS),
        f"{ALT_SIGN}; and a final value left at the initial level, 0.35 above the target",
        power)


c = claim(
    "training.parity.stability_precedes_generalisation",
    "On noisy sparse parity the stability change is a precursor of generalisation: the "
    "normalised token stability completes half of its fall before the validation accuracy "
    "first reaches 90%, in every seed.",
    latex=r"t_{\mathrm{Stab}\,\downarrow 1/2} < t_{\mathrm{acc}_{val} \ge 0.9}",
    provenance="paper:haris2026 (summary's gloss 'precursor to generalization'; weakly "
    "sourced, research note §4.3)",
    single_evidence=PRECURSOR_UNDECIDED,
    evidence="Our parity-grokking preset, stability every 100 steps, validation accuracy "
    "every 25 steps; data proofs_check/data/training_parity.json (5 base seeds, 10 000 "
    "steps). In the four seeds that generalised the stability was half-way down first (steps "
    "400, 300, 200, 100 against 90% validation accuracy at 625, 5550, 325, 1225: leads of "
    "125-5250 steps); seed 3's stability fell just the same by step 300 but it never "
    "generalised within 10 000 steps -- a 'precursor' with no successor, so the sign test "
    "over all seeds cannot decide (4 of 5) and the lead-time interval has 4 usable seeds (5 "
    "needed). The drop at steps 100-400 comes with fitting the training labels, long before "
    "generalisation in most seeds, which makes it a weak precursor even where it precedes. The "
    "separately written replication (proofs_check/data/replication_training_parity.json) "
    "agrees where it can: in its three seeds that generalised the stability was half-way down "
    "first (steps 200, 400, 300 against 90% validation accuracy at 850, 8475, 6250); seeds 0 "
    "and 4 never generalised within 10 000 steps, so it cannot decide either.",
    fast=False,
)


def _precursor_rows(runs):
    from nstheory.training.metrics import steps_to_threshold

    rows = []
    for r in runs:
        pts = _stab(r)
        v0, v1 = pts[0][1], pts[-1][1]
        mid = (v0 + v1) / 2
        t_stab = next((s for s, v in pts if v <= mid), None) if v1 < v0 else None
        t_gen = steps_to_threshold(r["trajectory"], "val_acc", 0.90)
        rows.append((r["seed"], t_stab, t_gen))
    return rows


def _precursor_sign_test(rows, prefix: str):
    """Sign test over seeds of ``rows`` = (seed, step stability half-way down, step to 90%
    validation accuracy): verified when the stability is strictly first in every one of
    >= MIN_SEEDS seeds, refuted when it never is, inconclusive otherwise."""
    q = [(f"{prefix}seed {s}: step stability is half-way down / step val acc >= 0.9",
          f"{ts} / {tg}") for s, ts, tg in rows]
    before = sum(ts is not None and tg is not None and ts < tg for _, ts, tg in rows)
    after = sum(ts is not None and tg is not None and ts >= tg for _, ts, tg in rows)
    n = len(rows)
    q.append((f"{prefix}seeds with the stability drop strictly first / at or after",
              f"{before} / {after}"))
    decided = n >= MIN_SEEDS and before + after == n
    return attach_power(compare_holds(before == n and decided, q,
                                      tolerance=f"strictly first in every seed, >= {MIN_SEEDS} "
                                      "seeds (sign test p <= 1/32)",
                                      inconclusive=not decided or 0 < before < n),
                        ALT_SIGN, _sign_power(n))


@c.check("exact-enumeration", name="sign_test_over_seeds",
         uses=("data:training_parity.json", "sign-test:precursor"))
@reports_study(DATA)
def _():
    runs = _base_runs()
    if runs is None:
        return _missing()
    return _precursor_sign_test(_precursor_rows(runs), "")


ALT_LEAD = "a mean lead time of 500 steps (normal approximation with the seeds' spread)"


@c.check("monte-carlo", name="lead_time_interval",
         uses=("data:training_parity.json", "t-interval:lead-time"))
@reports_study(DATA)
def _():
    import numpy as np
    from scipy.special import stdtrit

    runs = _base_runs()
    if runs is None:
        return _missing()
    all_rows = _precursor_rows(runs)
    rows = [(s, ts, tg) for s, ts, tg in all_rows if ts is not None and tg]
    if len(rows) < MIN_SEEDS:
        q = [("usable seeds (the stability drop and 90% validation accuracy both reached)",
              f"{len(rows)} of {len(all_rows)}")]
        if rows:
            q.append((f"seeds that would give {MIN_SEEDS} usable ones at the observed rate "
                      f"({len(rows)} of {len(all_rows)} usable), expected",
                      str(math.ceil(MIN_SEEDS * len(all_rows) / len(rows)))))
        return attach_power(compare_holds(False, q, inconclusive=True), ALT_LEAD, 0.0)
    lead = np.array([tg - ts for _, ts, tg in rows], float)
    m, se = lead.mean(), lead.std(ddof=1) / np.sqrt(len(lead))
    half = stdtrit(len(lead) - 1, 0.975) * se
    lo, hi = m - half, m + half
    power = one_sided_power(500.0, se, float(stdtrit(len(lead) - 1, 0.975)))
    return attach_power(compare_holds(
        lo > 0,
        [("lead time t(val acc >= 0.9) - t(stability half-way down), steps, per seed",
          str(lead.astype(int).tolist())),
         ("mean lead time, 95% t-interval over seeds", f"{m:.0f} [{lo:.0f}, {hi:.0f}]")],
        tolerance="95% interval of the mean lead time entirely above 0",
        inconclusive=not (lo > 0 or hi < 0)), ALT_LEAD, power)


@c.check("exact-enumeration", name="replication_sign_test_over_seeds",
         uses=("data:replication_training_parity.json",
               "proofs_check.replication.training_replication"))
@reports_study(REPLICATION)
def _():
    got = _replication_rows()
    if got is None:
        return _replication_missing()
    rows, _ = got
    return _precursor_sign_test([(r["seed"], r["half_way_step"], r["steps_to_primary"])
                                 for r in rows], "replication ")
