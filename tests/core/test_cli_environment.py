"""The command line in careless environments: an ASCII-only stdout, a reader that closes the
pipe early, a missing package, an interrupt while the sub-commands load."""

import os
import subprocess
import sys

import pytest

from nstheory.cli import main


def _nstheory(*args, **env):
    return subprocess.run([sys.executable, "-m", "nstheory", *args], capture_output=True,
                          env={**os.environ, "NSTHEORY_PROGRESS": "0", **env}, timeout=120)


def test_an_ascii_stdout_gets_ascii_symbols():
    """The +- of every estimate raised UnicodeEncodeError after the work was done."""
    r = _nstheory("mc", "stab", "--n", "100", PYTHONIOENCODING="ascii")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode("ascii")  # every byte is ASCII
    assert "+-" in out and "Traceback" not in r.stderr.decode("ascii", "replace")


def test_a_closed_pipe_ends_quietly():
    """`nstheory ... | head -1` printed 'error: Broken pipe' and exited 2."""
    p = subprocess.Popen([sys.executable, "-m", "nstheory", "boolean", "majority", "25",
                          "--sampling", "--samples", "1000"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env={**os.environ, "NSTHEORY_PROGRESS": "0"})
    p.stdout.close()  # the reader has gone before the first line
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141
    assert err == ""


@pytest.mark.parametrize("module, package, args", [
    ("flint", "python-flint", ["activation", "relu", "--rho", "0.5"]),
    ("matplotlib", "matplotlib", ["figures", "--only", "boolean_fourier_weights"]),
])
def test_a_missing_package_is_named_with_its_install_command(module, package, args, capsys,
                                                            monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    if module == "matplotlib":
        args = [*args, "--out", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"needs the Python package '{module}'" in err and f"pip install {package}" in err


def test_an_interrupt_while_loading_is_one_line(monkeypatch, capsys):
    """Ctrl-C in the first ~0.15 s (the sub-commands' imports) gave a 29-line traceback."""
    import nstheory.cli as cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["boolean", "majority", "3"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_progress_bars_only_on_a_terminal(monkeypatch):
    """Bars (carriage returns and block characters) filled log files and pipes."""
    import io

    from nstheory.progress import progress_enabled

    monkeypatch.delenv("NSTHEORY_PROGRESS", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_enabled() is False
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert progress_enabled() is True
    monkeypatch.setenv("NSTHEORY_PROGRESS", "0")
    assert progress_enabled() is False
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.setenv("NSTHEORY_PROGRESS", "1")
    assert progress_enabled() is True
