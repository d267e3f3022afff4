"""Multi-seed studies, their analysis, and the ``nstheory train`` command."""

import json

import pytest

from nstheory.cli import main
from nstheory.errors import NSTheoryError
from nstheory.training.metrics import steps_to_threshold
from nstheory.training.study import analyze_study, parse_seeds, permutation_pvalue


def _run(arm, seed, t, budget=5000):
    return {"arm": arm, "seed": seed,
            "summary": {"steps_to_val99": t, "final_step": t or budget, "wall_s": 1.0}}


def test_analysis_reports_censoring_and_no_ratio():
    runs = [_run("base", 0, 100), _run("base", 1, 120), _run("reg", 0, None), _run("reg", 1, 90)]
    an = analyze_study(runs, metrics=("steps_to_val99",))
    assert an["arms"]["reg"]["steps_to_val99_censored"] == 1
    assert an["speedup"]["steps_to_val99"]["ratio"] is None


def test_permutation_test_is_exact():
    # 3 vs 3 with complete separation: 1 of the C(6,3) = 20 splits is as extreme
    assert permutation_pvalue([10, 11, 12], [1, 2, 3]) == (0.05, 1.0)
    p_hi, p_lo = permutation_pvalue([1, 2], [1, 2])
    assert p_hi == p_lo == 5 / 6  # ties count on both sides


def test_seed_parsing_and_thresholds():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    with pytest.raises(NSTheoryError, match="--seeds"):
        parse_seeds("a-b")
    assert steps_to_threshold([{"step": 5, "val_loss": 2.0}], "val_loss", 1.0, above=False) is None


def test_cli_two_arms_two_seeds(tmp_path, capsys):
    out = tmp_path / "study"
    rc = main(["train", "modadd", "--preset", "tiny", "--seeds", "0-1", "--steps", "10",
               "--out", str(out), "--reg-noise", "token-excl"])
    assert rc == 0
    res = json.loads((out / "study.json").read_text())
    assert sorted((r["arm"], r["seed"]) for r in res["runs"]) == \
        [("base", 0), ("base", 1), ("reg", 0), ("reg", 1)]
    reg = next(r for r in res["runs"] if r["arm"] == "reg")["config"]
    assert (reg["reg_gamma"], reg["reg_rho"], reg["reg_noise"]) == (0.75, 0.25, "token-excl")
    assert json.loads((out / "reg_seed1" / "config.json").read_text())["seed"] == 1
    # the base arm has gamma = 0 but measures its trajectories under the reg arm's noise
    base = next(r for r in res["runs"] if r["arm"] == "base")["config"]
    assert (base["reg_gamma"], base["reg_rho"], base["reg_noise"]) == (0.0, 0.25, "token-excl")
    assert all("steps_to_val90" in r["summary"] for r in res["runs"])
    assert "stab_token_norm" in res["runs"][0]["trajectory"][-1]
    assert "speed-up" in capsys.readouterr().out
    # re-running the finished study retrains nothing and gives the same analysis
    rc = main(["train", "modadd", "--preset", "tiny", "--seeds", "0-1", "--steps", "10",
               "--out", str(out), "--reg-noise", "token-excl"])
    assert json.loads((out / "study.json").read_text())["analysis"] == res["analysis"]


def test_cli_errors_are_clear(tmp_path, capsys):
    assert main(["train", "modadd", "--preset", "parity", "--out", str(tmp_path)]) == 2
    assert "is for task 'parity'" in capsys.readouterr().err
    assert main(["train", "ntp", "--corpus", "wikitext2", "--out", str(tmp_path)]) == 2
    assert "--corpus-path" in capsys.readouterr().err
    assert main(["train", "ntp", "--corpus", "wikitext2", "--corpus-path", str(tmp_path)]) == 2
    assert "WikiText-2 not found" in capsys.readouterr().err


def test_ntp_runs_on_a_local_corpus(tmp_path, monkeypatch):
    fdir = tmp_path / "fortunes"
    fdir.mkdir()
    text = "\n%\n".join(f"the quick brown fox number {i % 7} jumps over the lazy dog ."
                        for i in range(400))
    (fdir / "science").write_text(text)
    monkeypatch.setenv("NSTHEORY_FORTUNES", str(fdir))
    out = tmp_path / "ntp"
    rc = main(["train", "ntp", "--seeds", "0", "--steps", "3", "--out", str(out),
               "--reg-gamma", "0.1", "--reg-rho", "0.5"])
    assert rc == 0
    log = [json.loads(x) for x in (out / "reg_seed0" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [0, 3] and "stab_token" in log[-1]


def test_parity_preset_trains_with_the_papers_regularizer(tmp_path):
    from nstheory.training.config import preset
    from nstheory.training.loop import train

    cfg = preset("parity", regularized=True, steps=4, n_bits=12, n_train=64, n_val=64,
                 d_model=16, n_heads=2, d_mlp=32, eval_every=2, metrics_every=2, ckpt_every=2)
    assert (cfg.reg_gamma, cfg.reg_rho) == (0.05, 0.05)
    s = train(cfg, tmp_path, progress_bar=False)
    assert s["final_step"] == 4 and s["task_info"]["k"] == 3


def test_parity_grokking_preset_measures_both_arms_under_one_noise():
    from nstheory.training.config import PRESETS, preset
    from nstheory.training.study import study_configs

    base = preset("parity-grokking")
    pairs = study_configs(base, [3], reg=PRESETS["parity-grokking"][1])
    (_, b), (_, r) = pairs
    assert (b.reg_gamma, r.reg_gamma) == (0.0, 0.05)
    assert b.reg_rho == r.reg_rho == 0.05 and b.reg_noise == r.reg_noise == "token"
    assert b.seed == r.seed == 3 and b.n_bits == 40


def test_ray_studies_on_cuda_request_a_gpu_share(monkeypatch):
    """Ray sets CUDA_VISIBLE_DEVICES="" for tasks that request no GPU: a CUDA study under Ray
    must request a share (it requested none, so every worker failed or fell back to the CPU);
    CPU studies and machines without CUDA request nothing."""
    import torch

    from nstheory.training.study import _ray_gpu_options

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert _ray_gpu_options("ray", "cuda", 4) == {"num_gpus_per_task": 0.25}
    assert _ray_gpu_options("ray", "auto", None) == {"num_gpus_per_task": 1.0}
    assert _ray_gpu_options("ray", "cpu", 4) == {}
    assert _ray_gpu_options("process", "cuda", 4) == {}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _ray_gpu_options("ray", "auto", 4) == {}
