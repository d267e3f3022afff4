"""Saving and reloading results: atomic JSON files and append-only JSONL logs.

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
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from nstheory.errors import NSTheoryError


def _default(o):
    try:
        import numpy as np

        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return float(o)
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def dumps(obj, indent: int | None = 2) -> str:
    """JSON text; numpy scalars and arrays, Paths and objects with ``to_dict`` are handled,
    anything else (Fractions, mpf, arb) is written as its string."""
    return json.dumps(_clean(obj), indent=indent, default=_default, allow_nan=False)


def _clean(o):
    if isinstance(o, float) and not math.isfinite(o):
        return None if math.isnan(o) else ("inf" if o > 0 else "-inf")
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    return o


def save_json(obj, path) -> Path:
    """Write ``obj`` as JSON atomically (temporary file + rename); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(dumps(obj))
        fh.write("\n")
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are for sharing
    os.replace(tmp, path)
    return path


def load_json(path):
    """Read a JSON file written by :func:`save_json`."""
    path = Path(path)
    if not path.exists():
        raise NSTheoryError(f"no such results file: {path}")
    return json.loads(path.read_text())


class JsonlLog:
    """Append-only JSON-lines log, safe to resume.

    ``key`` names the field that identifies a record (e.g. ``"step"``); appending a record
    whose key was already logged is a no-op returning False.
    """

    def __init__(self, path, key: str | None = None) -> None:
        self.path = Path(path)
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
