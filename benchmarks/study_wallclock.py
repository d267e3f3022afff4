"""Wall-clock of every stored study, read from the per-run timings the studies record.

Not a timed benchmark: the numbers are what each stored study cost when it was made (device,
threads and the load on the machine are in each file's provenance block). Run from the
repository root::

    python benchmarks/study_wallclock.py
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from nstheory.store import load_json

DATA = Path(__file__).resolve().parents[1] / "proofs_check" / "data"


def rows():
    """(study, group, runs, steps or epochs, run-seconds, device) per stored study and arm."""
    for path in sorted(DATA.glob("training_*.json")):
        study = load_json(path)
        per = defaultdict(lambda: [0, 0, 0.0, set()])
        for r in study["runs"]:
            s = r["summary"]
            g = per[r["arm"]]
            g[0] += 1
            g[1] += s.get("final_step") or 0
            g[2] += s.get("wall_s") or 0.0
            g[3].add(s.get("device", "?"))
        for arm, (n, steps, secs, dev) in per.items():
            yield path.name, f"arm {arm}", n, f"{steps} steps", secs, ",".join(sorted(dev))
    for path in sorted(DATA.glob("montecarlo_comparison*.json")):
        study = load_json(path)
        per = defaultdict(lambda: [0, 0.0])
        for r in study["runs"]:
            per[r["task"]][0] += 1
            per[r["task"]][1] += r.get("seconds") or 0.0
        for task, (n, secs) in per.items():
            yield path.name, f"task {task}", n, "-", secs, "cpu"


def main() -> None:
    print(f"{'study':40s} {'group':22s} {'runs':>4s} {'steps':>14s} {'run-hours':>9s} device")
    for name, group, n, steps, secs, dev in rows():
        print(f"{name:40s} {group:22s} {n:4d} {steps:>14s} {secs / 3600:9.3f} {dev}")


if __name__ == "__main__":
    main()
