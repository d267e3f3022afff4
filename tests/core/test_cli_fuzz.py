"""A fuzzer of the whole command line, generated from the parser itself.

Every sub-command (walked from ``nstheory.cli.build_parser()``, so commands added later are
fuzzed too) gets argument vectors mixing valid, boundary and hostile values (NaN, infinities,
empty strings, negative and huge numbers, fractions, missing/corrupt/wrong-kind files, a
directory where a file is expected). Each vector runs in-process through
``nstheory.cli.main(argv)`` in a temporary working directory with a wall-clock budget, and
must end with exit code 0 or 2, print no traceback, and write nothing outside that directory.

A run still going when its budget ends is accepted only for commands whose valid runs are
long by nature (training, the claim registry, figures, Monte Carlo at the default sample
size): their input checks all happen up front, before the budget. Any other command must
finish within the budget.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import pkgutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nstheory
from nstheory.cli import build_parser, main

REPO = Path(nstheory.__file__).resolve().parents[1]

#: Commands whose *valid* runs may legitimately outlast the budget (they are cut there).
LONG_BY_NATURE = ("verify", "figures", "train", "sensitivity compare", "sensitivity model",
                  "finite-width-study",
                  "mc stab", "attention stab", "boolean", "model influence", "model table1",
                  "model layers", "spectrum")
#: Exit codes beyond 0 and 2 that carry a result: ``verify`` exits 1 when a claim misses its
#: expected outcome (a verification result, not an input error).
RESULT_CODES = {"verify": (1,)}
#: Options not fuzzed: ``--record`` writes into the repository by design.
NOT_FUZZED = {"--record"}
#: Options restricted to values that keep the run in this process and on the CPU.
RESTRICTED = {"--executor": ["serial"], "--jobs": ["1"], "--device": ["cpu"],
              "--workers": ["1"], "--threads": ["1"]}

VALID = ["0", "1", "2", "3", "5", "0.5", "-0.5", "1/2", "-1", "0.9999999", "1e-3", "3,3",
         "1,2", "0-1", "1,8,8", "relu", "majority", "digits", "float64", "out.json", "mlp"]
HOSTILE = ["", " ", "nan", "NaN", "inf", "-inf", "1e309", "-1e309", "1/0", "abc", "-1", "-0",
           "0", "-7", "1e-320", "99999999999999999999", "1e12", "2.5", "0x10", ",", "1,", "--",
           "\u00e9", "missing.pt", "adir", "text.txt", "corrupt.pt", "module.pt", "sd.pt",
           "adir/x.json", "nodir/x.json", "text.txt/x"]


def _leaf_parsers():
    out = []

    def walk(p, path):
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if path:
            out.append((" ".join(path), p))
        for a in subs:
            for name, sp in a.choices.items():
                if sp not in [q for _, q in out]:
                    walk(sp, [*path, name])

    walk(build_parser(), [])
    return out


COMMANDS = _leaf_parsers()


def _restricted(action):
    for opt in action.option_strings:
        if opt in RESTRICTED:
            return RESTRICTED[opt]
    return None


#: Plausible values by the name of an argument's ``type`` (unknown types use VALID).
BY_TYPE = {"int": ["1", "2", "3", "10"], "real": ["0", "0.5", "1/2", "-0.5", "1", "2"],
           "float": ["0", "0.5", "-0.5", "1", "2"], "seeds": ["0", "0-1", "3"],
           "file": ["sd.pt", "module.pt"], "path": ["out.json", "new.json"],
           "dir": ["outdir", "adir"]}
#: Plausible values of positionals by destination (commands added later use VALID).
BY_DEST = {"function": ["majority", "parity", "tribes", "dictator", "and", "threshold",
                        "noisy-parity", "random"],
           "fargs": ["3", "5", "3,3", "5:1,3", "1,1", "2"],
           "name": ["relu", "tanh", "erf", "gelu", "leaky_relu", "sin"]}


def _valid_strategy(action):
    """Values a user would plausibly give: the choices, the default, small numbers."""
    if action.choices:
        return st.sampled_from([str(c) for c in action.choices])
    if _restricted(action):
        return st.sampled_from(_restricted(action))
    pool = list(BY_DEST.get(action.dest, [])) or list(
        BY_TYPE.get(getattr(action.type, "__name__", ""), VALID))
    if action.default is not None and not isinstance(action.default, bool):
        pool += [str(action.default)] * 2
    return st.sampled_from(pool)


def _hostile_strategy(action):
    if action.choices:
        return st.sampled_from(["", "bogus", "nan"])
    return st.one_of(st.sampled_from(HOSTILE),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr),
                     st.integers(-(2**70), 2**70).map(str))


@st.composite
def argvs(draw):
    """``[command..., options...]``: all plausible, one hostile value, or anything goes."""
    path, parser = draw(st.sampled_from(COMMANDS))
    argv = path.split()
    actions = [a for a in parser._actions
               if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
               and not (set(a.option_strings) & NOT_FUZZED)]
    mode = draw(st.sampled_from(["valid", "one-hostile", "random"]))
    chosen = [a for a in actions
              if not a.option_strings or a.required or draw(st.booleans())]
    takes_value = [a for a in chosen if a.nargs != 0]
    bad = draw(st.sampled_from(takes_value)) if takes_value and mode == "one-hostile" else None
    for a in chosen:
        if a.nargs == 0:
            argv.append(a.option_strings[0])
            continue
        if a is bad or (mode == "random" and draw(st.booleans())):
            value = draw(_hostile_strategy(a))
        else:
            value = draw(_valid_strategy(a))
        argv += [a.option_strings[0], value] if a.option_strings else [value]
    return argv


def _snapshot(root: Path) -> dict:
    skip = {".git", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache"}
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for f in filenames:
            p = os.path.join(dirpath, f)
            with contextlib.suppress(OSError):
                s = os.stat(p)
                out[p] = (s.st_mtime_ns, s.st_size)
    return out


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A working directory with hostile files, heavy modules imported, the repo snapshotted."""
    import torch

    torch.set_num_threads(1)  # no OpenMP pool in the parent: forked children stay safe
    for info in pkgutil.walk_packages(nstheory.__path__, "nstheory."):
        if "ray" not in info.name and not info.name.endswith("__main__"):
            with contextlib.suppress(ImportError):
                importlib.import_module(info.name)
    d = tmp_path_factory.mktemp("fuzz")
    (d / "adir").mkdir()
    (d / "text.txt").write_text("not a checkpoint\n")
    (d / "corrupt.pt").write_bytes(b"PK\x03\x04 truncated zip")
    torch.save(torch.nn.Linear(2, 2), d / "module.pt")
    torch.save({"0.weight": torch.ones(2, 2)}, d / "sd.pt")
    before = _snapshot(REPO)
    old = os.getcwd()
    os.chdir(d)
    yield d
    os.chdir(old)
    after = _snapshot(REPO)
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    assert not changed, f"the fuzzer's commands wrote outside their directory: {changed[:5]}"


def _run(argv, budget_s: float):
    """Run ``main(argv)`` in a forked child (heavy modules already imported by the parent);
    returns ``(rc, stdout, stderr)``, ``rc`` None if it was killed at the budget. An exception
    escaping ``main`` exits the child with code 99 after printing its traceback."""
    out_f, err_f = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        code = 99
        try:
            os.dup2(out_f.fileno(), 1)
            os.dup2(err_f.fileno(), 2)
            sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), write_through=True)
            sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), write_through=True)
            code = main(argv)
        except SystemExit as exc:
            code = 98 if exc.code not in (0, 2) else exc.code
        except BaseException:  # reported to the parent through stderr
            traceback.print_exc()
            code = 99
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code if isinstance(code, int) else 97)
    t_end = time.monotonic() + budget_s
    rc = None
    while time.monotonic() < t_end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            rc = os.waitstatus_to_exitcode(status)
            break
        time.sleep(0.01)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    out_f.seek(0)
    err_f.seek(0)
    return rc, out_f.read().decode(errors="replace"), err_f.read().decode(errors="replace")


def _check(argv, budget_s):
    rc, out, err = _run(argv, budget_s)
    where = f"nstheory {' '.join(map(repr, argv))}"
    assert "Traceback" not in err + out, f"{where} printed a traceback:\n{err[-2000:]}"
    if rc is None:
        cmd = " ".join(argv[:2])
        assert cmd.startswith(LONG_BY_NATURE), f"{where} ran past its {budget_s} s budget"
        return
    assert rc in (0, 2, *RESULT_CODES.get(argv[0], ())), f"{where} exited {rc}:\n{err[-2000:]}"
    if rc == 2 and err.strip():
        assert "error" in err.lower(), f"{where} exited 2 without an error message: {err!r}"


def test_every_subcommand_is_walked():
    names = {n for n, _ in COMMANDS}
    assert {"boolean", "propagate", "mc stab", "train"} <= names


@pytest.mark.parametrize("path", [n for n, _ in COMMANDS])
def test_every_help_prints(path, capsys):
    assert main([*path.split(), "--help"]) == 0
    assert "usage:" in capsys.readouterr().out


def test_harness_detects_a_traceback_and_a_hang(monkeypatch):
    def broken(argv):
        if argv == ["hang"]:
            time.sleep(60)
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(sys.modules[__name__], "main", broken)
    with pytest.raises(AssertionError, match="traceback"):
        _check(["boolean"], 2.0)
    with pytest.raises(AssertionError, match="budget"):
        _check(["hang"], 0.5)


@settings(max_examples=50, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(argv=argvs())
def test_cli_fuzz(sandbox, argv):
    _check(argv, budget_s=2.0)


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(argv=argvs())
def test_cli_fuzz_many(sandbox, argv):
    _check(argv, budget_s=10.0)
