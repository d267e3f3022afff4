"""Saving and reloading results: atomic JSON files, append-only JSONL logs, study provenance.

Long runs append one JSON object per line with :class:`JsonlLog` and resume from it: the
log is read back, a torn last line (from a kill mid-write) is dropped, and records are keyed
so a resumed run never duplicates a logged point.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = save_json({"x": 1}, d / "r.json"); load_json(d / "r.json")
{'x': 1}
>>> log = JsonlLog(d / "log.jsonl", key="step")
>>> log.append({"step": 0, "loss": 1.0}); log.append({"step": 0, "loss": 9.9})
True
False
>>> [r["loss"] for r in log.records()]
[1.0]

A stored study (a file under ``proofs_check/data/``) carries a ``provenance`` block built by
:func:`provenance_block`: the command line, the code commit, package versions, machine, thread
counts and a SHA-256 of its configuration. :func:`code_changed_since` reads it back and says
whether git records commits to the producing modules after the recorded commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from datetime import UTC
from pathlib import Path

from nstheory.errors import NSTheoryError


def _default(o):
    try:
        import numpy as np

        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return _clean(float(o))
        if isinstance(o, np.ndarray):  # non-finite entries as for plain floats
            return _clean(o.tolist())
    except ImportError:  # pragma: no cover
        pass
    if hasattr(o, "to_dict"):
        return _clean(o.to_dict())
    if isinstance(o, Path):
        return str(o)
    return str(o)


def dumps(obj, indent: int | None = 2) -> str:
    """JSON text; numpy scalars and arrays, Paths and objects with ``to_dict`` are handled,
    anything else (Fractions, mpf, arb) is written as its string.

    Examples
    --------
    NumPy values, paths and non-finite floats become plain JSON:

    >>> import numpy as np
    >>> dumps({"a": np.float64(0.5), "b": np.arange(3), "c": float("inf"), "p": Path("x/y")},
    ...       indent=None)
    '{"a": 0.5, "b": [0, 1, 2], "c": "inf", "p": "x/y"}'
    """
    return json.dumps(_clean(obj), indent=indent, default=_default, allow_nan=False)


def _clean(o):
    if isinstance(o, float) and not math.isfinite(o):
        return None if math.isnan(o) else ("inf" if o > 0 else "-inf")
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    return o


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path`` to write into; on success it replaces ``path``
    (``os.replace``: the file is complete or as it was, never half-written), on failure it is
    removed and an OS error names ``path``. The temporary name keeps ``path``'s extension
    (writers such as matplotlib's ``savefig`` pick their format from it).

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "fig.txt"
    >>> with atomic_output(out) as tmp:
    ...     _ = tmp.write_text("done")
    >>> out.read_text(), sorted(p.name for p in out.parent.iterdir())
    ('done', ['fig.txt'])
    >>> with atomic_output(out) as tmp:  # a failed write leaves the old file intact
    ...     raise OSError(27, "File too large")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: cannot write .../fig.txt: File too large
    >>> out.read_text()
    'done'
    """
    path = Path(path)
    if path.is_dir():
        raise NSTheoryError(f"{path} is a directory; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                   suffix=f".tmp{path.suffix}")
        os.close(fd)
    except OSError as exc:
        raise NSTheoryError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are for sharing
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise NSTheoryError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_text(text: str, path) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_output`); returns the path.

    >>> import tempfile
    >>> p = save_text("# report", Path(tempfile.mkdtemp()) / "r.md")
    >>> p.read_text()
    '# report'
    """
    path = Path(path)
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def save_json(obj, path) -> Path:
    """Write ``obj`` as JSON atomically (temporary file + rename); returns the path.

    Examples
    --------
    The file is complete or absent, never half-written; it reads back equal:

    >>> import tempfile
    >>> path = save_json({"rho": 0.5, "n": [1, 2]}, Path(tempfile.mkdtemp()) / "sub" / "r.json")
    >>> path.name, load_json(path) == {"rho": 0.5, "n": [1, 2]}
    ('r.json', True)
    """
    text = dumps(obj)  # before any file exists: an unserialisable object leaves nothing behind
    return save_text(text + "\n", path)


@contextlib.contextmanager
def exclusive_lock(path, what: str = "file"):
    """Hold an exclusive lock on ``path`` for the block (a hidden ``.NAME.lock`` file beside
    it; POSIX ``flock``, released when the process ends however it ends). A second process
    asking for the same lock is refused at once with an error naming ``path``, instead of two
    runs interleaving or overwriting each other's records.

    Examples
    --------
    >>> import tempfile
    >>> study = Path(tempfile.mkdtemp()) / "study.json"
    >>> with exclusive_lock(study, "study file"):  # doctest: +ELLIPSIS
    ...     with exclusive_lock(study, "study file"):  # as a second process would
    ...         pass
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: another process is writing the study file .../study.json; ...
    """
    try:
        import fcntl
    except ImportError:  # no flock (Windows): no protection, as before
        yield
        return
    path = Path(path)
    lock = path.with_name(f".{path.name}.lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fh = open(lock, "a")  # held across the yield
    except OSError as exc:
        raise NSTheoryError(f"cannot lock {path}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise NSTheoryError(f"another process is writing the {what} {path}; wait for it "
                                "to finish or use another path") from None
        yield
    finally:
        fh.close()


def load_json(path):
    """Read a JSON file written by :func:`save_json`.

    Examples
    --------
    Missing and corrupt files give one-line errors:

    >>> import tempfile
    >>> bad = Path(tempfile.mkdtemp()) / "bad.json"
    >>> _ = bad.write_text("{not json")
    >>> load_json(bad)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: results file .../bad.json is not valid JSON (...)
    >>> load_json(bad.with_name("missing.json"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: no such results file: .../missing.json
    """
    path = Path(path)
    if not path.exists():
        raise NSTheoryError(f"no such results file: {path}")
    if not path.is_file():
        raise NSTheoryError(f"results file {path} is not a regular file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NSTheoryError(f"results file {path} is not valid JSON ({exc})") from None


class JsonlLog:
    """Append-only JSON-lines log, safe to resume.

    ``key`` names the field that identifies a record (e.g. ``"step"``); appending a record
    whose key was already logged is a no-op returning False.

    Examples
    --------
    A torn last line (a process killed mid-write) is dropped when the log is reopened:

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "log.jsonl"
    >>> log = JsonlLog(path, key="step")
    >>> log.append({"step": 0, "loss": 1.0}), log.append({"step": 1, "loss": 0.5})
    (True, True)
    >>> with open(path, "a") as fh:
    ...     _ = fh.write('{"step": 2, "lo')
    >>> resumed = JsonlLog(path, key="step")
    >>> resumed.last(), resumed.append({"step": 1, "loss": 9.0})
    ({'step': 1, 'loss': 0.5}, False)
    """

    def __init__(self, path, key: str | None = None) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise NSTheoryError(f"{self.path} is a directory; a log needs a file name")
        self.key = key
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._seen: set = set()
        self._repair()
        if key is not None:
            self._seen = {r.get(key) for r in self.records()}

    def _repair(self) -> None:
        """Drop a torn final line left by a process killed mid-write."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            self._parse(data[:cut])  # refuse (never truncate) a file that is not a JSONL log
            tail = data[cut:].strip()
            try:
                whole = isinstance(json.loads(tail.decode("utf-8")), dict)
            except (UnicodeDecodeError, ValueError):
                whole = False
            if whole:  # a complete record without its newline: keep it
                with open(self.path, "ab") as fh:
                    fh.write(b"\n")
                return
            if not tail.startswith(b"{"):  # not a torn record: never cut someone's file
                raise NSTheoryError(f"{self.path}: its last line is not a JSON record; not a "
                                    "log written by nstheory (corrupt, or another kind of "
                                    "file)")
            with open(self.path, "r+b") as fh:
                fh.truncate(cut)

    def append(self, record: dict) -> bool:
        if self.key is not None:
            k = record.get(self.key)
            if k in self._seen:
                return False
            self._seen.add(k)
        with open(self.path, "a") as fh:
            fh.write(dumps(record, indent=None) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return True

    def records(self) -> list[dict]:
        if not self.path.exists():
            return []
        return self._parse(self.path.read_bytes())

    def _parse(self, data: bytes) -> list[dict]:
        out = []
        for i, line in enumerate(data.split(b"\n"), 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                rec = None
            if not isinstance(rec, dict):
                raise NSTheoryError(f"{self.path}: line {i} is not a JSON record; not a log "
                                    "written by nstheory (corrupt, or another kind of file)")
            out.append(rec)
        return out

    def last(self) -> dict | None:
        recs = self.records()
        return recs[-1] if recs else None


# --------------------------------------------------------------------------------------------
# Study provenance
# --------------------------------------------------------------------------------------------

#: Version tag of the provenance block (bump when its fields change meaning).
PROVENANCE_FORMAT = "nstheory-study-provenance/1"
#: The value of a field that was not recorded when the study was made.
NOT_RECORDED = "not recorded"
#: The repository root (the directory holding ``nstheory/`` and ``proofs_check/``).
REPO_ROOT = Path(__file__).resolve().parents[1]


def _git(args: list[str], root=None) -> str | None:
    """Output of ``git <args>`` in ``root`` (stripped), or None when git or the repo is absent."""
    try:
        out = subprocess.run(["git", "-C", str(root or REPO_ROOT), *args], capture_output=True,
                             text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _porcelain_paths(status: str) -> list[str]:
    r"""The paths of ``git status --porcelain`` output, sorted; each line is a two-letter
    status, a space and the path (``_git`` strips the output, so the first line may have
    lost the status's leading space: split on whitespace instead of slicing).

    >>> _porcelain_paths("M nstheory/a.py\n M nstheory/b.py\n?? new.py")
    ['new.py', 'nstheory/a.py', 'nstheory/b.py']
    """
    return sorted(line.split(None, 1)[1] for line in status.splitlines() if line.strip())


def config_hash(config) -> str:
    """SHA-256 (hex) of a configuration's canonical JSON (sorted keys, no spaces).

    >>> config_hash({"b": 1, "a": [1, 2]}) == config_hash({"a": [1, 2], "b": 1})
    True
    >>> len(config_hash({}))
    64
    """
    text = json.dumps(_clean(config), sort_keys=True, separators=(",", ":"), default=_default)
    return hashlib.sha256(text.encode()).hexdigest()


def package_versions() -> dict:
    """Versions of python, numpy and torch (``"not installed"`` for a missing package).

    >>> sorted(package_versions())
    ['numpy', 'python', 'torch']
    """
    out = {"python": platform.python_version()}
    for name in ("numpy", "torch"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            out[name] = "not installed"
    return out


def machine_info() -> dict:
    """The machine: OS, architecture, processor model and logical CPU count.

    >>> machine_info()["cpu_count"] >= 1
    True
    """
    proc = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                proc = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"system": f"{platform.system()} {platform.release()}", "arch": platform.machine(),
            "processor": proc, "cpu_count": os.cpu_count() or 1}


def same_machine_class(recorded: dict) -> bool:
    """Whether this machine is of the class a study's provenance records (its ``machine``
    block): the same architecture and processor model. Bit-for-bit reproduction of a torch
    run is promised only there: the CPU's instruction set selects the BLAS and vector kernels,
    and so the floating-point summation order (a study made on an AMD EPYC re-trains to other
    last bits on an Intel Xeon with AVX-512, and a long training run amplifies them).

    >>> same_machine_class({"machine": machine_info()})
    True
    >>> same_machine_class({"machine": {"arch": "x86_64", "processor": "another CPU"}})
    False
    """
    here, there = machine_info(), recorded.get("machine") or {}
    return all(here[k] == there.get(k) for k in ("arch", "processor"))


def thread_info() -> dict:
    """Thread counts that can change floating-point results: torch's and the BLAS variables.

    >>> "torch" in thread_info()
    True
    """
    out: dict = {}
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        out["torch"] = torch.get_num_threads()
        out["torch_interop"] = torch.get_num_interop_threads()
        out["deterministic_algorithms"] = torch.are_deterministic_algorithms_enabled()
    else:
        out["torch"] = NOT_RECORDED
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        out[var] = os.environ.get(var, "unset")
    return out


def _rel(path) -> str:
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


def cli_command(args) -> str:
    """The ``nstheory ...`` command line of parsed CLI ``args`` (``NOT_RECORDED`` if unknown).

    >>> import argparse
    >>> cli_command(argparse.Namespace(argv=["train", "modadd", "--out", "a b"]))
    "nstheory train modadd --out 'a b'"
    """
    argv = getattr(args, "argv", None)
    return shlex.join(["nstheory", *argv]) if argv is not None else NOT_RECORDED


def provenance_block(config, producers, command=None, threads: dict | None = None) -> dict:
    """The provenance block of a stored study.

    Parameters
    ----------
    config : dict
        Everything that determines the result (tasks, seeds, hyper-parameters); stored with
        its SHA-256 (:func:`config_hash`).
    producers : sequence of str
        Files (relative to the repository root, e.g. ``"nstheory/montecarlo/comparison.py"``)
        whose code computes the stored numbers; :func:`code_changed_since` watches them.
    command : str, optional
        The command line (:func:`cli_command`; default: this process's ``sys.argv``).
    threads : dict, optional
        Thread counts (default: :func:`thread_info` now).

    Examples
    --------
    >>> b = provenance_block({"seeds": [0]}, ["nstheory/store.py"], command="nstheory x")
    >>> b["format"], b["command"], b["config_sha256"] == config_hash({"seeds": [0]})
    ('nstheory-study-provenance/1', 'nstheory x', True)
    """
    from datetime import datetime

    if command is None:
        command = shlex.join(sys.argv) if sys.argv else NOT_RECORDED
    producers = sorted(str(p) for p in producers)
    commit = _git(["rev-parse", "HEAD"]) or NOT_RECORDED
    dirty = _git(["status", "--porcelain", "--", *producers]) if commit != NOT_RECORDED else None
    return {
        "format": PROVENANCE_FORMAT,
        "command": command,
        "commit": commit,
        "uncommitted_changes": NOT_RECORDED if dirty is None else _porcelain_paths(dirty),
        "producers": producers,
        "versions": package_versions(),
        "machine": machine_info(),
        "threads": threads if threads is not None else thread_info(),
        "config": _clean(config),
        "config_sha256": config_hash(config),
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def code_changed_since(provenance: dict | None, root=None) -> dict:
    """Has the code that produced a study changed since it was recorded?

    Returns ``{"changed": "yes" | "no" | "unknown", "commits": [...], "why": str}``: "yes"
    when git shows commits touching the producing modules after the recorded commit (or the
    study was made from uncommitted changes to them), "no" when it shows none, "unknown"
    without git, without a recorded commit, or when the commit is not in this repository.

    >>> code_changed_since(None)["changed"]
    'unknown'
    >>> code_changed_since({"commit": "not recorded", "producers": ["x.py"]})["why"]
    'no commit recorded'
    """
    if not provenance:
        return {"changed": "unknown", "commits": [], "why": "no provenance block"}
    commit, producers = provenance.get("commit", NOT_RECORDED), provenance.get("producers")
    if not commit or commit == NOT_RECORDED:
        return {"changed": "unknown", "commits": [], "why": "no commit recorded"}
    if not producers or producers == NOT_RECORDED:
        return {"changed": "unknown", "commits": [], "why": "no producing modules recorded"}
    commits = _commits_since(str(commit), tuple(producers), None if root is None else str(root))
    if isinstance(commits, str):
        return {"changed": "unknown", "commits": [], "why": commits}
    dirty = provenance.get("uncommitted_changes")
    if commits:
        return {"changed": "yes", "commits": commits,
                "why": f"{len(commits)} commit(s) to the producing modules since"}
    if isinstance(dirty, list) and dirty:
        return {"changed": "yes", "commits": [],
                "why": "made from uncommitted changes to " + ", ".join(dirty)}
    return {"changed": "no", "commits": [], "why": "no commits to the producing modules since"}


#: memo of :func:`_commits_since` while :func:`git_answers_cached` is active (else None)
_COMMITS_MEMO: dict | None = None


@contextlib.contextmanager
def git_answers_cached():
    """Within this context, :func:`code_changed_since` asks git once per (commit, producers):
    for a command such as ``nstheory verify`` that asks the same question for many checks and
    during which the repository does not change (forked workers inherit the memo).

    >>> with git_answers_cached():
    ...     code_changed_since(None)["changed"]
    'unknown'
    """
    global _COMMITS_MEMO
    outer, _COMMITS_MEMO = _COMMITS_MEMO, {} if _COMMITS_MEMO is None else _COMMITS_MEMO
    try:
        yield
    finally:
        _COMMITS_MEMO = outer


def _commits_since(commit: str, producers: tuple, root: str | None) -> list[str] | str:
    """Short hashes of the commits touching ``producers`` after ``commit``, or the reason why
    git cannot tell."""
    key = (commit, producers, root)
    if _COMMITS_MEMO is not None and key in _COMMITS_MEMO:
        return _COMMITS_MEMO[key]
    if _git(["cat-file", "-e", f"{commit}^{{commit}}"], root) is None:
        out = "git or the recorded commit is not available here"
    else:
        log = _git(["log", "--format=%h", f"{commit}..HEAD", "--", *producers], root)
        out = "git log failed" if log is None else log.split()
    if _COMMITS_MEMO is not None:
        _COMMITS_MEMO[key] = out
    return out


def study_provenance_quantity(path) -> tuple[str, str]:
    """One ``(label, value)`` line for a check that re-analyses the stored study ``path``:
    the file, its recorded commit and whether its producing code changed since.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.json"; _ = save_json({"runs": []}, p)
    >>> study_provenance_quantity(p)[1]
    's.json: recorded commit not recorded; code changed since: unknown (no provenance block)'
    """
    path = Path(path)
    try:
        prov = json.loads(path.read_text()).get("provenance")
    except (OSError, ValueError, AttributeError):
        prov = None
    commit = (prov or {}).get("commit", NOT_RECORDED)
    short = commit[:10] if commit != NOT_RECORDED else commit
    ch = code_changed_since(prov)
    extra = f" ({ch['why']})" if ch["changed"] != "no" else ""
    return ("stored study read (file; commit that produced it; producing code changed since)",
            f"{path.name}: recorded commit {short}; code changed since: {ch['changed']}{extra}")


def save_study(result: dict, path, provenance: dict, force: bool = False) -> Path:
    """Save a study with its provenance block; refuse to overwrite ``path`` unless ``force``.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.json"
    >>> _ = save_study({"runs": []}, p, {"format": PROVENANCE_FORMAT})
    >>> save_study({"runs": []}, p, {})
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: refusing to overwrite the stored study s.json: pass --force ...
    """
    path = Path(path)
    if path.exists() and not force:
        raise NSTheoryError(f"refusing to overwrite the stored study {path.name}: pass --force "
                            f"to replace it ({path})")
    return save_json({**result, "provenance": provenance}, path)


def reports_study(paths, which: str = "all"):
    """Decorator for a claim check that re-analyses stored studies: its result gains one
    :func:`study_provenance_quantity` line per study file read.

    Parameters
    ----------
    paths : path or sequence of paths
        The study files. Absent files are left out.
    which : {"all", "first"}
        ``"first"``: only the first existing file (a check that reads the first of several
        candidates).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nstheory.claims import compare_holds
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.json"; _ = save_json({"runs": []}, p)
    >>> @reports_study(p)
    ... def check():
    ...     return compare_holds(True, [("x", "1")])
    >>> check().quantities[-1][1].startswith("s.json: recorded commit")
    True
    """
    import functools

    if which not in ("all", "first"):
        raise NSTheoryError(f"which must be 'all' or 'first', got {which!r}")
    paths = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]

    def deco(fn):
        @functools.wraps(fn)
        def wrapped():
            result = fn()
            present = [p for p in paths if p.is_file()]
            if which == "first":
                present = present[:1]
            if hasattr(result, "quantities"):
                result.quantities.extend(study_provenance_quantity(p) for p in present)
            return result

        return wrapped

    return deco


def report_study_on(claims, paths, route: str = "monte-carlo") -> None:
    """Apply :func:`reports_study` to every ``route`` check of ``claims`` (for modules that
    register many checks of stored studies in loops).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nstheory.claims import Registry, compare_holds
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.json"; _ = save_json({"runs": []}, p)
    >>> c = Registry().claim("demo.study", "a stored study", latex="", provenance="new")
    >>> _ = c.check("monte-carlo", name="m")(lambda: compare_holds(True, [("x", "1")]))
    >>> report_study_on([c], p)
    >>> c.checks[0].fn().quantities[-1][1].startswith("s.json: recorded commit")
    True
    """
    for c in claims:
        for k in c.checks:
            if k.route.value == route:
                k.fn = reports_study(paths)(k.fn)
