"""``nstheory train --record``: the name is checked and a stored study is protected before any
training starts; a recorded study carries its provenance."""

import json

import pytest

from nstheory.cli import main
from nstheory.training import study as study_mod


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if any training starts."""
    def boom(*a, **k):
        raise AssertionError("training started")

    monkeypatch.setattr(study_mod, "run_study", boom)


@pytest.mark.parametrize("name", ["../evil", "a b", "", "x" * 65, "mod-add", "é"])
def test_bad_record_name_rejected_before_training(no_training, capsys, name):
    rc = main(["train", "modadd", "--preset", "tiny", "--seeds", "0", "--steps", "5",
               "--record", name])
    assert rc == 2
    assert "--record" in capsys.readouterr().err


def test_committed_study_not_overwritten_without_force(no_training, capsys):
    # training_modadd113.json is a committed study
    rc = main(["train", "modadd", "--preset", "tiny", "--seeds", "0", "--steps", "5",
               "--record", "modadd113"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--force" in err and "training_modadd113.json" in err


def test_record_with_force_overwrites_and_writes_provenance(tmp_path, monkeypatch, capsys):
    import nstheory.store

    data = tmp_path / "proofs_check" / "data"
    data.mkdir(parents=True)
    monkeypatch.setattr(nstheory.store, "REPO_ROOT", tmp_path)  # not a git repository
    target = data / "training_mine.json"
    target.write_text('{"old": true}\n')
    args = ["train", "modadd", "--preset", "tiny", "--seeds", "0", "--steps", "5", "--arms",
            "base", "--out", str(tmp_path / "runs"), "--record", "mine"]
    assert main(args) == 2  # exists, no --force
    assert json.loads(target.read_text()) == {"old": True}
    assert main([*args, "--force", "--threads", "1"]) == 0
    d = json.loads(target.read_text())
    prov = d["provenance"]
    assert [r["arm"] for r in d["runs"]] == ["base"]
    assert prov["commit"] == "not recorded"  # no git repository at the monkeypatched root
    assert "nstheory.training.study" not in prov["producers"]
    assert "nstheory/training/loop.py" in prov["producers"]
    assert prov["threads"]["torch"] == 1
    assert prov["command"].endswith("--record mine --force --threads 1")
    assert prov["config_sha256"] == nstheory.store.config_hash([r["config"] for r in d["runs"]])


def test_study_json_of_a_training_run_has_provenance(tmp_path):
    out = tmp_path / "runs"
    assert main(["train", "modadd", "--preset", "tiny", "--seeds", "0", "--steps", "5",
                 "--arms", "base", "--out", str(out), "--threads", "1"]) == 0
    prov = json.loads((out / "study.json").read_text())["provenance"]
    assert prov["command"].startswith("nstheory train modadd --preset tiny --seeds 0 ")
    assert prov["threads"]["torch"] == 1 and len(prov["config_sha256"]) == 64
