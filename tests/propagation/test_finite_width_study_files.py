"""``nstheory finite-width-study`` on damaged or mismatched study files: a one-line refusal
before any work, never a traceback after it or a silent mix of smoke and full runs."""

import json

import pytest

from nstheory.cli import main
from nstheory.propagation.finite_width_study import MAX_PREDICT_SAMPLES, RANDOM_RUNS


def _study(tmp_path, **extra):
    out = tmp_path / "s.json"
    out.write_text(json.dumps({"runs": {r["key"]: {} for r in RANDOM_RUNS}, **extra}))
    return out


@pytest.mark.parametrize("extra", [{"provenance": "hand-edited"}, {"provenance": [5]},
                                   {"predictions": []}, {"predictions": "x"},
                                   {"predictions_provenance": 3}])
def test_corrupt_blocks_are_refused_before_any_work(tmp_path, capsys, extra):
    out = _study(tmp_path, **extra)
    assert main(["finite-width-study", str(out), "--set", "random", "--quick"]) == 2
    err = capsys.readouterr().err
    assert "is not a finite-width study file" in err and "Traceback" not in err


def test_quick_and_full_studies_do_not_mix(tmp_path, capsys):
    out = _study(tmp_path, provenance={"config": {"set": "random", "quick": True}})
    assert main(["finite-width-study", str(out), "--set", "random"]) == 2
    assert "holds a --quick (smoke) study" in capsys.readouterr().err
    out = _study(tmp_path, provenance={"config": {"set": "random", "quick": False}})
    assert main(["finite-width-study", str(out), "--set", "random", "--quick"]) == 2
    assert "holds a full study" in capsys.readouterr().err
    # the matching flag resumes (every run is stored: nothing to do)
    assert main(["finite-width-study", str(out), "--set", "random"]) == 0


def test_predict_has_an_upper_bound(tmp_path, capsys):
    out = _study(tmp_path)
    assert main(["finite-width-study", str(out), "--set", "random-c", "--predict",
                 str(10 * MAX_PREDICT_SAMPLES)]) == 2
    assert "--predict" in capsys.readouterr().err


def test_a_second_writer_is_refused_and_a_fifo_is_not_opened(tmp_path, capsys):
    """Two processes on one study file: each rewrote the whole file from its own copy, so the
    last writer silently erased the other's runs; a FIFO as OUT blocked forever."""
    import os

    from nstheory.store import exclusive_lock

    out = _study(tmp_path)
    with exclusive_lock(out, "study file"):  # another process holds the study
        assert main(["finite-width-study", str(out), "--set", "random", "--quick"]) == 2
    assert "another process is writing the study file" in capsys.readouterr().err
    assert main(["finite-width-study", str(out), "--set", "random", "--quick"]) == 0
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    assert main(["finite-width-study", str(fifo), "--quick"]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_a_failed_write_keeps_the_stored_runs(tmp_path, capsys, monkeypatch):
    """The study was rewritten in place: a full disk cut it and lost every stored run."""
    import nstheory.propagation.finite_width_study as fws

    out = tmp_path / "s.json"
    keep = {r["key"]: {"mean": [1.0]} for r in RANDOM_RUNS[1:]}
    out.write_text(json.dumps({"runs": keep}))
    monkeypatch.setattr(fws, "measure", lambda run, n_nets=None: {"seconds": 0.0})

    write = type(out).write_text

    def full_disk(self, text, *a, **k):  # as the disk fills: part written, then an error
        write(self, text[:10], *a, **k)
        raise OSError(27, "File too large")

    monkeypatch.setattr(type(out), "write_text", full_disk)
    assert main(["finite-width-study", str(out), "--set", "random", "--quick"]) == 2
    assert f"cannot write {out}: File too large" in capsys.readouterr().err
    monkeypatch.undo()
    assert json.loads(out.read_text())["runs"] == keep
    assert sorted(p.name for p in tmp_path.iterdir()) == [".s.json.lock", "s.json"]
