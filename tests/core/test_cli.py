"""The command line: verify runs and reports; bad input gives a clear error and exit 2."""

from __future__ import annotations

import json

from nstheory.cli import main


def test_verify_conventions_json_and_markdown(tmp_path, capsys):
    j, m = tmp_path / "r.json", tmp_path / "r.md"
    rc = main(["verify", "--claims", "conventions.*", "--json", str(j), "--markdown", str(m)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "conventions.token_noise.regularizer_rho_eff" in out and "verified" in out
    data = json.loads(j.read_text())
    assert data["summary"]["claims"] == 1 and data["summary"]["contradicted"] == 0
    checks = data["claims"][0]["checks"]
    assert {c["route"] for c in checks} >= {"exact-enumeration", "monte-carlo"}
    assert "| claim |" in m.read_text()


def test_verify_unknown_claim_is_clear_error(capsys):
    rc = main(["verify", "--claims", "no.such.claim*"])
    assert rc == 2
    assert "no claim matches" in capsys.readouterr().err


def test_verify_list(capsys):
    assert main(["verify", "--list"]) == 0
    assert "conventions.token_noise" in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
