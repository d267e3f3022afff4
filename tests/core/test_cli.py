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


def test_verify_report_files_are_not_clobbered(tmp_path, capsys):
    """--markdown replaces only a Markdown file (it replaced a .py file and a study JSON);
    --json and --markdown on one path are refused; --claims needs a GLOB (it ran every claim)."""
    from nstheory.cli import main

    code_file = tmp_path / "important.py"
    code_file.write_text("x = 1\n")
    args = ["verify", "--claims", "boolean.majority.maj3", "--fast", "--jobs", "1"]
    assert main([*args, "--markdown", str(code_file)]) == 2
    assert "not a Markdown" in capsys.readouterr().err and code_file.read_text() == "x = 1\n"
    same = tmp_path / "r.md"
    assert main([*args, "--json", str(same), "--markdown", str(same)]) == 2
    assert "same file" in capsys.readouterr().err
    report = tmp_path / "report.md"
    report.write_text("old report")
    assert main([*args, "--markdown", str(report)]) == 0
    assert report.read_text() != "old report"
    assert main(["verify", "--claims", "--fast"]) == 2
    assert "--claims" in capsys.readouterr().err


def test_error_messages_name_the_full_command(capsys):
    """Errors raised inside a sub-command named only its first word ('nstheory mc: error:')
    while argparse's name the whole command: both now say 'nstheory mc stab: error:'."""
    from nstheory.cli import main

    assert main(["mc", "stab", "--model", "relu", "--width", "3"]) == 2
    assert capsys.readouterr().err.startswith("nstheory mc stab: error: --width")
    assert main(["boolean", "majority", "3", "--rho", "2"]) == 2
    assert capsys.readouterr().err.startswith("nstheory boolean: error:")
