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
