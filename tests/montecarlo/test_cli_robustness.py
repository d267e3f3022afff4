"""Refusals of ``mc stab`` / ``sensitivity`` on careless input and models (probe2 findings):
resume logs, output dtype and batch size, non-finite scores, options that do not apply."""

from __future__ import annotations

import json

import pytest
import torch

from nstheory.cli import main
from nstheory.errors import NSTheoryError
from nstheory.montecarlo import comparison
from nstheory.montecarlo.comparison import _run_config, run_study

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ----------------------------------------------------------------------------- resume logs


def _record(epochs=1, seed=0, config=True):
    spec = {"task": "boolean", "arch": "mlp", "seed": seed, "epochs": epochs}
    r = {"task": "boolean", "arch": "mlp", "seed": seed, "params": 10, "width": 4,
         "epochs": epochs, "sigma": 1.0, "metric": "bit-flip as(f)/n",
         "train_acc": 1.0, "test_acc": 0.5, "sensitivity": {"rate": 0.25, "k": 1, "n": 4},
         "threads": 1, "seconds": 0.5, "key": f"boolean/mlp/{seed}"}
    if config:
        r["config"] = _run_config(spec)
    return r


def _write_log(path, *records, blank_first=False):
    lines = ([""] if blank_first else []) + [json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")


def test_log_record_with_missing_fields_is_refused_naming_file_and_line(tmp_path):
    log = tmp_path / "l1.jsonl"
    _write_log(log, {"key": "boolean/mlp/0"}, blank_first=True)
    with pytest.raises(NSTheoryError, match=r"l1\.jsonl: line 2 is not a run record.*task None"):
        run_study(["boolean"], ["mlp"], [0], overrides={"epochs": 1}, log_path=log)
    bad = {k: v for k, v in _record().items() if k != "train_acc"}
    _write_log(log, bad)
    with pytest.raises(NSTheoryError, match=r"line 1 .*'train_acc'"):
        run_study(["boolean"], ["mlp"], [0], overrides={"epochs": 1}, log_path=log)
    _write_log(log, {**_record(), "key": "boolean/mlp/7"})
    with pytest.raises(NSTheoryError, match="does not match its task/arch/seed"):
        run_study(["boolean"], ["mlp"], [0], overrides={"epochs": 1}, log_path=log)


def test_log_made_with_other_epochs_is_refused_not_reused(tmp_path, monkeypatch):
    """A log of an --epochs 1 run is refused for --epochs 7 (it was silently reused, and the
    provenance then claimed 7 epochs); the same options reuse it without training."""
    log = tmp_path / "good.jsonl"
    _write_log(log, _record(epochs=1))
    with pytest.raises(NSTheoryError, match=r"line 1 \(boolean/mlp/0\) was made with another "
                                            r"configuration \(epochs=1 there, 7 now\)"):
        run_study(["boolean"], ["mlp"], [0], overrides={"epochs": 7}, log_path=log)
    with pytest.raises(NSTheoryError, match="epochs=1 there, 40 now"):  # the task's default
        run_study(["boolean"], ["mlp"], [0], log_path=log)

    def no_training(spec):
        raise AssertionError("a matching logged run must be reused")

    monkeypatch.setattr(comparison, "run_one", no_training)
    res = run_study(["boolean"], ["mlp"], [0], overrides={"epochs": 1}, log_path=log)
    assert res["runs"][0]["seconds"] == 0.5


def test_log_without_stored_configuration_is_refused(tmp_path):
    log = tmp_path / "old.jsonl"
    _write_log(log, _record(config=False))
    with pytest.raises(NSTheoryError, match="does not record its run configuration"):
        run_study(["boolean"], ["mlp"], [0], overrides={"epochs": 1}, log_path=log)


def test_new_log_records_store_the_configuration(tmp_path, monkeypatch):
    calls = []

    def fake_run_one(spec):
        calls.append(spec)
        return {k: v for k, v in _record(epochs=spec.get("epochs", 40), seed=spec["seed"]).items()
                if k not in ("key", "config")}

    monkeypatch.setattr(comparison, "run_one", fake_run_one)
    log = tmp_path / "new.jsonl"
    run_study(["boolean"], ["mlp"], [0, 1], overrides={"epochs": 3}, log_path=log)
    recs = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["config"]["epochs"] for r in recs] == [3, 3] and len(calls) == 2
    with pytest.raises(NSTheoryError, match="epochs=3 there, 4 now"):
        run_study(["boolean"], ["mlp"], [0, 1], overrides={"epochs": 4}, log_path=log)
    run_study(["boolean"], ["mlp"], [0, 1], overrides={"epochs": 3}, log_path=log)
    assert len(calls) == 2  # resumed, nothing retrained


# ----------------------------------------------------------------------------- saved models


class _IntOut(torch.nn.Module):
    def forward(self, x):
        return (x.flatten(1) > 0).long()


class _NaNOut(torch.nn.Module):
    def forward(self, x):
        return torch.full((x.shape[0], 10), float("nan"), dtype=x.dtype)


class _FirstRowOnly(torch.nn.Module):
    """One output row per input only when B = 2 (the old forward check's probe)."""

    def forward(self, x):
        y = x.flatten(1)[:, :10]
        return y if x.shape[0] == 2 else y[:1]


def _script(tmp_path, module) -> str:
    p = tmp_path / f"{type(module).__name__}.ts"
    torch.jit.script(module).save(str(p))
    return str(p)


def _err(capsys, *args):
    code = main(list(args))
    return code, capsys.readouterr().err


def test_stab_refuses_non_floating_outputs(tmp_path, capsys):
    code, err = _err(capsys, "mc", "stab", "--model-file", _script(tmp_path, _IntOut()),
                     "--input-shape", "4", "--n", "100", "--device", "cpu")
    assert code == 2 and "int64 outputs" in err and "floating-point" in err


def test_model_output_batch_checked_on_every_batch(tmp_path, capsys):
    path = _script(tmp_path, _FirstRowOnly())
    code, err = _err(capsys, "mc", "stab", "--model-file", path, "--input-shape", "16",
                     "--n", "100", "--device", "cpu")
    assert code == 2 and "1 output rows for a batch of 100 inputs" in err
    code, err = _err(capsys, "sensitivity", "model", "--model-file", path, "--task", "digits",
                     "--max-points", "20", "--device", "cpu")
    assert code == 2 and "1 output rows for a batch of 20 inputs" in err


def test_sensitivity_model_refuses_non_finite_scores(tmp_path, capsys):
    code, err = _err(capsys, "sensitivity", "model", "--model-file",
                     _script(tmp_path, _NaNOut()), "--task", "digits", "--max-points", "20",
                     "--device", "cpu")
    assert code == 2 and "non-finite scores" in err


def test_stab_batch_sizes_and_ordinary_shapes_unchanged(tmp_path, capsys):
    from nstheory.montecarlo.cli import MAX_BATCH_VALUES, STAB_BATCH, _stab_batch
    from nstheory.montecarlo.estimators import gaussian_stability

    assert _stab_batch((1, 8, 8)) == _stab_batch((16384,)) == STAB_BATCH == 4096
    assert _stab_batch((100_000,)) == MAX_BATCH_VALUES // 100_000 < STAB_BATCH
    assert _stab_batch((10_000_000,)) == 6 and _stab_batch((10**6, 10**3)) == 1
    # an ordinary shape keeps the batch of 4096, hence the random stream: the CLI's estimate is
    # the one of gaussian_stability with batch 4096 (n = 5000 spans two batches)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    p = tmp_path / "net.ts"
    torch.jit.script(net).save(str(p))
    assert main(["mc", "stab", "--model-file", str(p), "--input-shape", "1,8,8", "--n", "5000",
                 "--seed", "3", "--device", "cpu", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    r = gaussian_stability(lambda x: torch.softmax(net(x), -1), (1, 8, 8), 0.5, 5000,
                           generator=torch.Generator().manual_seed(3), batch_size=4096)
    assert out["raw"]["mean"] == r.raw.mean and out["centred"]["mean"] == r.centred.mean


# ----------------------------------------------------------------------------- options


@pytest.mark.parametrize(("args", "message"), [
    (["mc", "stab", "--model", "nope"], "'relu-mlp'"),
    (["mc", "stab", "--model", "mlp", "--cv-degree", "3"], "--cv-degree applies to --model relu"),
    (["mc", "stab", "--model", "mlp", "--antithetic"], "--antithetic applies to --model relu"),
    (["mc", "stab", "--model", "relu", "--width", "7"], "--width applies to --model relu-mlp"),
    (["mc", "stab", "--model", "relu", "--task", "nope"], "--task applies to --model mlp"),
    (["mc", "stab", "--model", "relu", "--input-shape", "3"], "--input-shape applies to "
                                                              "--model-file"),
    (["mc", "stab", "--model-file", __file__, "--input-shape", "1,,2"], "empty entry"),
    (["sensitivity", "compare", "--tasks", ""], "--tasks names nothing"),
    (["sensitivity", "compare", "--archs", ","], "--archs names nothing"),
    (["sensitivity", "model", "--model-file", __file__, "--max-points", "1"], "[2, 1000000]"),
])
def test_options_that_cannot_apply_are_refused(capsys, args, message):
    code, err = _err(capsys, *args, "--device", "cpu")
    assert code == 2 and message in err, err


def test_relu_mlp_reports_the_device_and_dtype_it_ran_on(capsys):
    """The random ReLU layer runs on the CPU in float64 whatever --device/--dtype say; the
    report said the requested ones (a GPU name on a GPU machine)."""
    assert main(["mc", "stab", "--model", "relu-mlp", "--n", "1000", "--dtype", "float32",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dtype"] == "float64" and out["device"].startswith("cpu")


def test_compare_log_and_out_must_differ(tmp_path, capsys):
    """A one-line log is also valid JSON, so --out could name the log: the result replaced
    the resume log."""
    log = tmp_path / "one.jsonl"
    log.write_text('{"key": "boolean/mlp/0"}\n')
    assert main(["sensitivity", "compare", "--tasks", "boolean", "--archs", "mlp", "--seeds",
                 "0", "--epochs", "1", "--log", str(log), "--out", str(log)]) == 2
    assert "--log and --out name the same file" in capsys.readouterr().err
    assert log.read_text() == '{"key": "boolean/mlp/0"}\n'


def test_compare_log_has_one_writer(tmp_path, capsys):
    """Two comparisons on one --log interleaved records of different configurations and
    neither could be resumed afterwards."""
    from nstheory.store import exclusive_lock

    log = tmp_path / "c.jsonl"
    with exclusive_lock(log, "comparison log"):  # as another process would
        assert main(["sensitivity", "compare", "--tasks", "boolean", "--archs", "mlp",
                     "--seeds", "0", "--epochs", "1", "--log", str(log)]) == 2
    assert "another process is writing the comparison log" in capsys.readouterr().err
    assert not log.exists()


@pytest.mark.parametrize("args", [["compare", "--dtype", "float64"],
                                  ["model", "--model-file", "M", "--dtype", "float64"]])
def test_options_that_change_nothing_are_not_accepted(args, capsys, tmp_path):
    """compare ignored --seed and --dtype (results bit-identical, the seed not recorded) while
    --help said they applied; sensitivity model ignored --dtype. (``compare --seed 5`` is now
    argparse's abbreviation of ``--seeds 5``: it trains seed 5.)"""
    (tmp_path / "M").write_bytes(b"x")
    args = [str(tmp_path / "M") if a == "M" else a for a in args]
    assert main(["sensitivity", *args]) == 2
    assert "unrecognized arguments: --dtype" in capsys.readouterr().err
