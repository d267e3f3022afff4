"""Runs that lose nothing: a run killed after step k resumes to exactly the uninterrupted log."""

import json
import subprocess
import sys
import time

import pytest

from nstheory.errors import NSTheoryError
from nstheory.store import JsonlLog
from nstheory.training.config import preset
from nstheory.training.loop import InjectedFailure, train


def _log(d):
    return JsonlLog(d / "log.jsonl").records()


@pytest.mark.parametrize("noise", ["token", "gaussian"])
def test_injected_failure_then_resume_gives_identical_log(tmp_path, noise):
    cfg = preset("tiny", steps=40, reg_gamma=0.75, reg_rho=0.25, reg_noise=noise)
    ref = train(cfg, tmp_path / "ref", progress_bar=False)
    for k in (13, 27):  # between checkpoints (ckpt every 10), killed twice
        with pytest.raises(InjectedFailure):
            train(cfg, tmp_path / "cut", fail_after=k, progress_bar=False)
    cut = train(cfg, tmp_path / "cut", progress_bar=False)
    a, b = _log(tmp_path / "ref"), _log(tmp_path / "cut")
    assert a == b
    steps = [r["step"] for r in b]
    assert steps == sorted(set(steps)) == list(range(0, 41, 5))
    assert {k: v for k, v in ref.items() if k != "wall_s"} == \
        {k: v for k, v in cut.items() if k != "wall_s"}


def test_torn_last_line_is_repaired_on_resume(tmp_path):
    cfg = preset("tiny", steps=20)
    with pytest.raises(InjectedFailure):
        train(cfg, tmp_path / "cut", fail_after=17, progress_bar=False)
    with open(tmp_path / "cut" / "log.jsonl", "a") as fh:
        fh.write('{"step": 20, "train_lo')  # a kill in the middle of a write
    train(cfg, tmp_path / "cut", progress_bar=False)
    train(cfg, tmp_path / "ref", progress_bar=False)
    assert _log(tmp_path / "cut") == _log(tmp_path / "ref")


def test_killed_subprocess_resumes(tmp_path):
    out = tmp_path / "run"
    code = ("import torch; torch.set_num_threads(1); from nstheory.training.config import preset; "
            "from nstheory.training.loop import train; "
            "train(preset('tiny', steps=150, eval_every=5, ckpt_every=10, metrics_every=50), "
            f"{str(out)!r}, progress_bar=False)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 60
    while time.time() < deadline:
        if (out / "log.jsonl").exists() and len(_log(out)) >= 8:
            break
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    n_before = len(_log(out))
    assert not (out / "summary.json").exists()
    cfg = preset("tiny", steps=150, eval_every=5, ckpt_every=10, metrics_every=50)
    train(cfg, out, progress_bar=False)
    recs = _log(out)
    assert len(recs) >= n_before
    assert [r["step"] for r in recs] == list(range(0, 151, 5))
    # the values agree with an uninterrupted run's
    train(cfg, tmp_path / "ref", progress_bar=False)
    assert recs == _log(tmp_path / "ref")


def test_config_mismatch_is_refused(tmp_path):
    train(preset("tiny", steps=10), tmp_path, progress_bar=False)
    with pytest.raises(NSTheoryError, match="different config"):
        train(preset("tiny", steps=10, lr=0.5), tmp_path, progress_bar=False)
    assert json.loads((tmp_path / "config.json").read_text())["lr"] == 1e-3


def test_larger_budget_continues_a_finished_run(tmp_path):
    # 20 is a multiple of metrics_every (10), so the step-20 record is the same in both runs
    first = train(preset("tiny", steps=20), tmp_path / "ext", progress_bar=False)
    assert first["final_step"] == 20 and first["stop_reason"] == "steps"
    ext = train(preset("tiny", steps=40), tmp_path / "ext", progress_bar=False)
    ref = train(preset("tiny", steps=40), tmp_path / "ref", progress_bar=False)
    assert _log(tmp_path / "ext") == _log(tmp_path / "ref")
    assert ext["final_step"] == 40 and ext["budget_steps"] == 40
    assert {k: v for k, v in ext.items() if k != "wall_s"} == \
        {k: v for k, v in ref.items() if k != "wall_s"}
    assert json.loads((tmp_path / "ext" / "config.json").read_text())["steps"] == 40
    with pytest.raises(NSTheoryError, match="larger step budget"):
        train(preset("tiny", steps=30), tmp_path / "ext", progress_bar=False)


def test_checkpoint_from_another_device_type_is_refused(tmp_path):
    """A run started with --device auto on a GPU machine and resumed on a CPU one (or the
    reverse) would load a CUDA generator state into a CPU generator (a size-mismatch
    RuntimeError): the checkpoint records its device type and a mismatch is refused."""
    import torch

    cfg = preset("tiny", steps=20)
    with pytest.raises(InjectedFailure):
        train(cfg, tmp_path / "cut", fail_after=13, progress_bar=False)
    ckpt = tmp_path / "cut" / "checkpoint.pt"
    st = torch.load(ckpt, weights_only=False)
    assert st["device_type"] == "cpu"
    st["device_type"] = "cuda"  # as if written on a GPU machine
    torch.save(st, ckpt)
    with pytest.raises(NSTheoryError, match="written on cuda"):
        train(cfg, tmp_path / "cut", progress_bar=False)
