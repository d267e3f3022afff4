"""Study provenance: the block every stored study carries, and the code-changed check."""

import json
import subprocess
from pathlib import Path

import pytest

from nstheory.store import (
    NOT_RECORDED,
    PROVENANCE_FORMAT,
    code_changed_since,
    config_hash,
    provenance_block,
    save_study,
    study_provenance_quantity,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "proofs_check" / "data"
FIELDS = ("format", "command", "commit", "producers", "versions", "machine", "threads",
          "config_sha256")


def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """A throw-away git repository with a producing module and an unrelated file."""
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.email", "t@example.com")
    _git(tmp_path, "config", "user.name", "t")
    (tmp_path / "prod.py").write_text("x = 1\n")
    (tmp_path / "other.py").write_text("y = 1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "first")
    return tmp_path


def _commit(repo, name, text):
    (repo / name).write_text(text)
    _git(repo, "commit", "-qam", f"edit {name}")


def test_code_changed_since_follows_commits_to_the_producers_only(repo):
    prov = {"commit": _git(repo, "rev-parse", "HEAD"), "producers": ["prod.py"]}
    assert code_changed_since(prov, root=repo)["changed"] == "no"
    _commit(repo, "other.py", "y = 2\n")  # not a producer: still unchanged
    assert code_changed_since(prov, root=repo)["changed"] == "no"
    _commit(repo, "prod.py", "x = 2\n")
    res = code_changed_since(prov, root=repo)
    assert res["changed"] == "yes" and res["commits"] == [_git(repo, "rev-parse", "--short",
                                                               "HEAD")]
    # a study made from uncommitted edits of a producer is not what its commit says
    prov2 = {**prov, "commit": _git(repo, "rev-parse", "HEAD"),
             "uncommitted_changes": ["prod.py"]}
    assert code_changed_since(prov2, root=repo)["changed"] == "yes"


def test_code_changed_since_unknown_without_git_or_commit(tmp_path, repo):
    prov = {"commit": _git(repo, "rev-parse", "HEAD"), "producers": ["prod.py"]}
    assert code_changed_since(prov, root=tmp_path / "not-a-repo")["changed"] == "unknown"
    assert code_changed_since({**prov, "commit": "0" * 40}, root=repo)["changed"] == "unknown"
    assert code_changed_since({**prov, "commit": NOT_RECORDED}, root=repo)["changed"] == \
        "unknown"
    assert code_changed_since(None)["changed"] == "unknown"


def test_provenance_block_records_what_reproduces_a_study():
    cfg = {"tasks": ["digits"], "seeds": [0, 1]}
    b = provenance_block(cfg, ["nstheory/store.py"], command="nstheory x --y 1")
    assert b["format"] == PROVENANCE_FORMAT and b["command"] == "nstheory x --y 1"
    assert set(b["versions"]) == {"python", "numpy", "torch"}
    assert b["machine"]["cpu_count"] >= 1 and b["config"] == cfg
    # the hash is of the canonical JSON: key order does not matter, values do
    assert b["config_sha256"] == config_hash({"seeds": [0, 1], "tasks": ["digits"]})
    assert b["config_sha256"] != config_hash({"tasks": ["digits"], "seeds": [0, 2]})
    assert len(b["commit"]) == 40 or b["commit"] == NOT_RECORDED


def test_save_study_refuses_to_overwrite(tmp_path):
    p = tmp_path / "s.json"
    save_study({"runs": [1]}, p, {"format": PROVENANCE_FORMAT})
    with pytest.raises(Exception, match="--force"):
        save_study({"runs": [2]}, p, {})
    assert json.loads(p.read_text())["runs"] == [1]
    save_study({"runs": [2]}, p, {}, force=True)
    assert json.loads(p.read_text())["runs"] == [2]


@pytest.mark.parametrize("path", [*sorted(DATA.glob("*.json")),
                                  *sorted(DATA.glob("reproduction/*.json"))],
                         ids=lambda p: p.name)
def test_every_stored_study_has_a_provenance_block(path):
    prov = json.loads(path.read_text()).get("provenance")
    assert prov is not None, f"{path.name} has no provenance block"
    missing = [f for f in FIELDS if f not in prov]
    assert missing == []
    assert prov["format"] == PROVENANCE_FORMAT
    # a recorded commit is a full sha; a retroactive block says so
    assert len(prov["commit"]) == 40
    # the command is an nstheory CLI line, or a verification-suite module run with python -m
    assert "retroactive" in prov or prov["command"].startswith(
        ("nstheory ", "python -m proofs_check."))
    _label, value = study_provenance_quantity(path)
    assert value.startswith(f"{path.name}: recorded commit {prov['commit'][:10]}")
    assert "code changed since: " in value
