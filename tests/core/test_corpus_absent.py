"""Without the fortunes corpus, ``nstheory verify`` skips what needs it (exit 0), naming the
one command that installs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORTUNES_CLAIMS = "montecarlo.comparison.lstm_last_tokens"


def test_verify_skips_fortunes_checks_when_the_corpus_is_absent(tmp_path):
    out = tmp_path / "r.json"
    env = {**os.environ, "NSTHEORY_FORTUNES": str(tmp_path / "no-such-dir"),
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "nstheory", "verify", "--claims",
                           FORTUNES_CLAIMS, "--json", str(out)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    claims = report["claims"]
    (cl,) = [c for c in claims if c["id"] == FORTUNES_CLAIMS]
    checks = {r["check"]: r for r in cl["checks"]}
    skipped = checks["replicate_fortunes_seed100"]
    assert skipped["status"] == "skipped"
    assert "apt-get install fortunes" in json.dumps(skipped["quantities"])
    # the stored-study check still runs and is no error
    assert checks["saved_study_profile"]["status"] in ("verified", "refuted", "inconclusive")
    assert cl["status"] != "error"


def test_empty_variable_means_absent(monkeypatch):
    from nstheory.corpora import fortunes_available

    monkeypatch.setenv("NSTHEORY_FORTUNES", "")
    assert fortunes_available() is False
