"""Claims from the architecture comparison (the sensitivity paper's central comparison).

Each claim has three checks: (1) statistics recomputed at verify time from the per-seed runs
saved in ``proofs_check/data/montecarlo_comparison_digits.json``,
``montecarlo_comparison_synthetic.json`` (Boolean and sparse-token tasks) and
``montecarlo_comparison_fortunes.json`` (fortunes seeds 3-8), each reproducible bit for bit by
the command in its provenance block, and ``montecarlo_comparison.json`` (fortunes seeds 0-2,
made before runs were deterministic);
(2) a small replicate trained at verify time with a new seed (100), which runs the same
training and measuring code as the stored study, so (1) and (2) are one route; and
(3) a re-analysis of ``replication_arch_sensitivity.json``, the stored study of a separately
written replication (:mod:`proofs_check.replication.arch_sensitivity`: its own tokenisation,
models, training loop, antithetic flip-rate estimator and statistics, sharing no code with
(1) and (2)), an independent route. Each check reports its power against a stated effect.
"""

from __future__ import annotations

from pathlib import Path

from nstheory.claims import attach_power, claim, compare_holds, one_sided_power
from nstheory.store import reports_study

DATA_DIR = Path(__file__).resolve().parent / "data"
#: The stored studies: fortunes seeds 0-2 (before deterministic runs), then the ones made
#: reproducibly by their own command (fortunes seeds 3-8 last).
STUDIES = [DATA_DIR / f"montecarlo_comparison{s}.json"
           for s in ("", "_digits", "_synthetic", "_fortunes")]
REPLICATE_SEED = 100


def _tq(n: int) -> float:
    """Two-sided 95% Student-t quantile with ``n - 1`` degrees of freedom (n seeds)."""
    from scipy.special import stdtrit

    return float(stdtrit(n - 1, 0.975))


EFFECT_ARCH = 0.005  # flip-rate difference between architectures each check must detect
EFFECT_LAST = 0.02  # final-token excess of the LSTM's profile (the replicate measured 0.022)
#: The separately written replication's stored study (its own models, training and estimator).
REPLICATION = DATA_DIR / "replication_arch_sensitivity.json"
REPLICATION_USES = ("proofs_check.replication.arch_sensitivity",
                    "data:replication_arch_sensitivity.json")


def _summary():
    from nstheory.montecarlo.comparison import load_stored_runs, summarize

    return summarize(load_stored_runs(DATA_DIR))  # recomputed from the per-seed runs


def _ci(x):
    return f"{x['mean']:+.4f} [{x['ci95'][0]:+.4f}, {x['ci95'][1]:+.4f}] (n={x['n']} seeds)"


def _replication_runs():
    from nstheory.store import load_json

    return load_json(REPLICATION)["runs"]


def _gci(x):
    return (f"{x['mean']:+.4g} [{x['ci95'][0]:+.4g}, {x['ci95'][1]:+.4g}] "
            f"(n={x['n']} seeds)")


c = claim(
    "montecarlo.comparison.transformer_least_sensitive",
    "At matched parameter budgets a transformer learns a less sensitive function than an MLP, "
    "a CNN and an LSTM (flip rate of the argmax under one-token/patch noise, on training data) "
    "-- tested on four small tasks: Boolean 3-junta, sparse/frequent tokens, scikit-learn "
    "digits, fortunes topics.",
    latex=r"S(\text{transformer}) < S(\text{MLP}),\ S(\text{CNN}),\ S(\text{LSTM})",
    provenance="reconstructed:vasudeva2025 §5 (vision) and §6 (language), small-scale setting",
    expect="refuted",
    refutation_kind="not-reproduced",
    evidence="Not reproduced at small scale (3 seeds per task, 9 on fortunes; ~6k-80k "
    "parameters): the MLP is significantly LESS sensitive than the transformer on fortunes "
    "(MLP - transformer = -0.0472, 95% t-CI [-0.0517, -0.0426]; the CNN is more sensitive, "
    "+0.0148 [+0.0063, +0.0233], where the replication's max-pooling CNN is less); on "
    "digits (study regenerated deterministically) the "
    "MLP's mean is also lower (-0.0052 [-0.0119, +0.0016]) and the transformer is not "
    "distinguishable from the CNN (+0.0029 [-0.0118, +0.0176]) or the LSTM (+0.0041 "
    "[-0.0055, +0.0138]); an independent digits replicate (seed 100) puts the MLP's flip rate "
    "(0.0025) significantly below the transformer's (0.0142); on the sparse-token task the "
    "transformer's mean is the highest (inconclusive CIs); on the Boolean junta every "
    "architecture learns the target exactly (identical sensitivity). The separately written "
    "replication (its own models, training, antithetic estimator; 40 seeds per architecture; "
    "power >= 0.98 against a 0.005 difference in every comparison) refutes it too: "
    "on fortunes the MLP (-0.0455 [-0.0474, -0.0435]) and the CNN (-0.0388 [-0.0407, -0.0369]) "
    "are less sensitive than the transformer, the LSTM more (+0.0041 [+0.0017, +0.0064]); on "
    "digits the MLP (-0.0069 [-0.0085, -0.0053]) and the LSTM (-0.0058 [-0.0074, -0.0042]) "
    "are less sensitive, the CNN more (+0.0058 [+0.0040, +0.0075]). It disagrees with the "
    "library study on the fortunes CNN (there +0.010 [-0.012, +0.032]; the replication's "
    "token CNN max-pools over positions) and points the other way on the digits LSTM (there "
    "+0.0041 [-0.0055, +0.0138]; the replication's image LSTM reads pixel rows, not 2x2 "
    "patches): which architecture beats the transformer depends on design details, but in "
    "no setting is the transformer the least sensitive.",
    fast=False,
)


@c.check("monte-carlo", name="saved_study_seed_cis",
         uses=("data:montecarlo_comparison.json", "data:montecarlo_comparison_fortunes.json",
               "nstheory.montecarlo.comparison.run_one",
               "nstheory.montecarlo.comparison.summarize"))
@reports_study(STUDIES)
def _():
    s = _summary()
    rows, every, sig_lower, power = [], True, [], 1.0
    for task, t in s.items():
        for a, d in t["vs_transformer"].items():
            power = min(power, one_sided_power(EFFECT_ARCH, d["stderr"], _tq(d["n"])))
            rows.append((f"{task}: {a} - transformer (paired over seeds, 95% t-CI)", _ci(d)))
            every &= d["ci95"][0] > 0
            if d["ci95"][1] < 0:
                sig_lower.append(f"{task}/{a}")
    return attach_power(compare_holds(
        every, rows,
        tolerance="holds iff every (arch - transformer) CI lies above 0",
        note=f"significantly LESS sensitive than the transformer: {', '.join(sig_lower)}"
        if sig_lower else "",
        inconclusive=not every and not sig_lower,
    ), f"every architecture {EFFECT_ARCH} more sensitive than the transformer (power: the "
       "least powerful comparison, normal approximation with the seeds' spread)", power)


@c.check("monte-carlo", name="replicate_digits_seed100", slow=True,
         uses=("nstheory.montecarlo.comparison.run_one",))
def _():
    from nstheory.montecarlo.comparison import run_one

    res = {a: run_one({"task": "digits", "arch": a, "seed": REPLICATE_SEED})
           for a in ("mlp", "transformer")}
    m, t = res["mlp"]["sensitivity"], res["transformer"]["sensitivity"]
    rows = [(f"digits replicate seed {REPLICATE_SEED}: {a} flip rate (Clopper-Pearson 95%)",
             f"{r['sensitivity']['rate']:.5f} [{r['sensitivity']['ci95'][0]:.5f}, "
             f"{r['sensitivity']['ci95'][1]:.5f}], train acc {r['train_acc']:.3f}")
            for a, r in res.items()]
    holds = t["ci95"][1] < m["ci95"][0]
    refuted = m["ci95"][1] < t["ci95"][0]
    se_m = (m["ci95"][1] - m["ci95"][0]) / (2 * 1.959964)
    se_t = (t["ci95"][1] - t["ci95"][0]) / (2 * 1.959964)
    power = one_sided_power(EFFECT_ARCH - 1.959964 * (se_m + se_t), (se_m**2 + se_t**2) ** 0.5,
                            0.0)
    return attach_power(
        compare_holds(holds, rows, tolerance="transformer interval entirely below the MLP's",
                      inconclusive=not holds and not refuted),
        f"the MLP {EFFECT_ARCH} more sensitive than the transformer (disjoint intervals)", power)


@c.check("monte-carlo", name="replication_study_seed_cis",
         uses=REPLICATION_USES)
@reports_study([REPLICATION])
def _():
    from proofs_check.replication.arch_sensitivity import arch_comparison

    s = arch_comparison(_replication_runs(), EFFECT_ARCH)
    rows, every, sig_lower, power, need = [], True, [], 1.0, 0
    for task, t in s.items():
        for a, x in t["archs"].items():
            rows.append((f"replication {task}: {a} flip rate on training inputs, mean over seeds "
                         f"(95% t-CI; {x['params']} parameters)", _gci(x)))
        for a, d in t["vs_transformer"].items():
            power = min(power, one_sided_power(EFFECT_ARCH, d["stderr"], d["t_crit"]))
            need = max(need, d["seeds_for_power_0.9"])
            rows.append((f"replication {task}: {a} - transformer (paired over seeds, 95% t-CI)",
                         _gci(d)))
            every &= d["ci95"][0] > 0
            if d["ci95"][1] < 0:
                sig_lower.append(f"{task}/{a}")
    rows.append(("seeds the least powerful comparison needs for power 0.9 at its observed "
                 "spread", need))
    return attach_power(compare_holds(
        every, rows,
        tolerance="holds iff every (arch - transformer) CI lies above 0",
        note=f"significantly LESS sensitive than the transformer: {', '.join(sig_lower)}"
        if sig_lower else "",
        inconclusive=not every and not sig_lower,
    ), f"every architecture {EFFECT_ARCH} more sensitive than the transformer (power: the "
       "least powerful comparison, normal approximation with the seeds' spread)", power)


c = claim(
    "montecarlo.comparison.lstm_last_tokens",
    "Under Gaussian noise on one token embedding, the LSTM is most sensitive to the last tokens "
    "of the sequence (right-aligned per-position profile peaks at the final token; the final "
    "token's flip rate exceeds the mean of the other positions).",
    latex=r"s_{\mathrm{LSTM}}(L) > \tfrac{1}{L-1}\sum_{k<L} s_{\mathrm{LSTM}}(k)",
    provenance="paper:vasudeva2025 §6 (QQP per-position plot)",
    evidence="Reproduced on fortunes (16-word windows). The library's stored study, extended "
    "from 3 to 9 seeds (3 seeds gave +0.018 [-0.004, +0.039], power 0.39): the LSTM's mean "
    "profile is U-shaped and highest at the final token (0.069; first 0.055), final-minus-rest "
    "= +0.0188 [+0.0126, +0.0250] (power 1 against 0.02), versus -0.0104 [-0.0140, -0.0067] "
    "for the transformer. A replicate (seed 100) peaks at the final token (0.074 vs 0.052 "
    "for the other positions). The "
    "separately written replication (40 seeds, power > 0.999 against an excess of 0.02) "
    "reproduces it: the same U-shaped profile, highest at the final token (0.067; first "
    "0.052), final-minus-rest = +0.0185 [+0.0160, +0.0210], versus -0.0093 [-0.0105, -0.0080] "
    "for the transformer. The shape depends on the LSTM's initialisation: with the forget-gate "
    "bias started at 1 (10 seeds, stored apart) the profile falls from the first token (0.070) "
    "to the last (0.041), final-minus-rest = -0.0061 [-0.0092, -0.0029].",
    fast=False,
)


@c.check("monte-carlo", name="saved_study_profile",
         uses=("data:montecarlo_comparison.json", "data:montecarlo_comparison_fortunes.json",
               "nstheory.montecarlo.comparison.run_one",
               "nstheory.montecarlo.comparison.summarize"))
@reports_study([STUDIES[0], STUDIES[3]])
def _():
    s = _summary()["fortunes"]["archs"]
    lstm, tr = s["lstm"], s["transformer"]
    prof = lstm["embedding_profile"]
    d = lstm["last_minus_rest"]
    peak_last = max(range(len(prof)), key=prof.__getitem__) == len(prof) - 1
    rows = [("LSTM final - mean(other positions), over seeds", _ci(d)),
            ("transformer final - mean(other positions)", _ci(tr["last_minus_rest"])),
            ("LSTM mean profile (first 3 ... last 3)",
             f"{[round(v, 4) for v in prof[:3]]} ... {[round(v, 4) for v in prof[-3:]]}"),
            ("LSTM mean profile peaks at the final token", peak_last)]
    holds = peak_last and d["ci95"][0] > 0
    refuted = d["ci95"][1] < 0
    power = one_sided_power(EFFECT_LAST, d["stderr"], _tq(d["n"]))
    return attach_power(
        compare_holds(holds, rows, tolerance="peak at the final token and CI above 0",
                      inconclusive=not holds and not refuted),
        f"a final-token excess of {EFFECT_LAST} over the other positions", power)


@c.check("monte-carlo", name="replicate_fortunes_seed100",
         uses=("nstheory.montecarlo.comparison.run_one",))
def _():
    import math

    from nstheory.corpora import skipped_without_fortunes
    from nstheory.montecarlo.comparison import run_one

    if (skip := skipped_without_fortunes()) is not None:
        return skip
    r = run_one({"task": "fortunes", "arch": "lstm", "seed": REPLICATE_SEED})
    prof = r["embedding_profile"]
    n = r["embedding_sensitivity"]["n"] // len(prof)  # evaluations per position
    last, rest = prof[-1], sum(prof[:-1]) / (len(prof) - 1)
    se = math.sqrt(last * (1 - last) / n + rest * (1 - rest) / (n * (len(prof) - 1)))
    z = (last - rest) / se
    peak = max(range(len(prof)), key=prof.__getitem__)
    rows = [(f"LSTM replicate seed {REPLICATE_SEED}: final-token flip rate", f"{last:.4f}"),
            ("mean of the other positions", f"{rest:.4f}"),
            ("z of the difference (binomial, positions treated as independent)", f"{z:.2f}"),
            ("position of the profile's maximum (0-based, final = 15)", peak)]
    holds = z > 3 and peak == len(prof) - 1
    return attach_power(
        compare_holds(holds, rows, tolerance="z > 3 and the peak at the final token",
                      inconclusive=not holds and z > -3),
        f"a final-token excess of {EFFECT_LAST} over the other positions",
        one_sided_power(EFFECT_LAST, se, 3.0))


@c.check("monte-carlo", name="replication_study_profile",
         uses=REPLICATION_USES)
@reports_study([REPLICATION])
def _():
    from nstheory.store import load_json
    from proofs_check.replication.arch_sensitivity import last_token_excess

    study = load_json(REPLICATION)
    runs = study["runs"]
    d = last_token_excess(runs, "fortunes", "lstm", EFFECT_LAST)
    tr = last_token_excess(runs, "fortunes", "transformer", EFFECT_LAST)
    prof, L = d["profile"], len(d["profile"])
    rows = [("replication: LSTM final - mean(other positions), over seeds (95% t-CI)", _gci(d)),
            ("replication: transformer final - mean(other positions) (95% t-CI)", _gci(tr)),
            ("replication: LSTM mean profile (first 3 ... last 3)",
             f"{[float(f'{v:.4g}') for v in prof[:3]]} ... "
             f"{[float(f'{v:.4g}') for v in prof[-3:]]}"),
            (f"replication: position of the LSTM profile's maximum (0-based, final = {L - 1})",
             d["peak"]),
            ("seeds power 0.9 would need at the observed spread", d["seeds_for_power_0.9"])]
    variant = study.get("variant_runs") or []
    if len(variant) >= 2:  # a sensitivity analysis, not part of the decision
        v = last_token_excess(variant, "fortunes", "lstm", EFFECT_LAST)
        rows.append(("replication variant, LSTM forget-gate bias started at 1 (not used in the "
                     "decision): final - mean(other positions) (95% t-CI); profile peak",
                     f"{_gci(v)}; peak at position {v['peak']}"))
    holds = d["peak"] == L - 1 and d["ci95"][0] > 0
    refuted = d["ci95"][1] < 0
    return attach_power(
        compare_holds(holds, rows, tolerance="peak at the final token and CI above 0",
                      inconclusive=not holds and not refuted),
        f"a final-token excess of {EFFECT_LAST} over the other positions",
        one_sided_power(EFFECT_LAST, d["stderr"], d["t_crit"]))
