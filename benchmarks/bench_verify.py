"""Time of the main job, ``nstheory verify``: full and ``--fast``, one process vs the forked
worker pool, each measured as a fresh command in the same run.

Usage::

    python benchmarks/bench_verify.py [--repeat 2] [--subsets fast,full] [--jobs auto]
                                      [--write-costs PATH] [--markdown]

For each subset it runs ``nstheory verify [--fast] --jobs 1`` (the baseline) and then
``--jobs auto`` (or the ``--jobs`` given), alternating, ``--repeat`` times each, and prints
per configuration the best wall time, the CPU time (user + system of the command and its
workers, the less noisy figure on a shared machine), the exit status, the summary counts, and
the ratio to the baseline measured in this run. Each parallel run's verdicts are compared
check by check with the baseline's (``verify_diff.py``): the "verdict diffs" column must be 0.

There is no disk cache: every run computes every reference from scratch (cold and warm runs
differ only by the operating system's file cache, which the first repeat warms).
``--write-costs PATH`` writes the per-claim seconds of the baseline full run, the order hints
of the worker pool (``proofs_check/verify_costs.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from verify_diff import diff_reports  # noqa: E402


def run_verify(fast: bool, jobs: str, out: Path) -> dict:
    """One fresh ``nstheory verify`` command: wall and CPU seconds, exit status, report."""
    cmd = [sys.executable, "-m", "nstheory", "verify", "--jobs", jobs, "--json", str(out)]
    if fast:
        cmd.append("--fast")
    env = dict(os.environ, NSTHEORY_PROGRESS="0")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=HERE.parent)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report = json.loads(out.read_text()) if out.exists() else None
    line = next((ln for ln in proc.stdout.splitlines() if " claims, " in ln), "")
    return {"wall": wall, "cpu": cpu, "rc": proc.returncode, "report": report,
            "summary_line": line, "stderr": proc.stderr[-2000:]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=2, help="runs per configuration (best kept)")
    p.add_argument("--subsets", default="fast,full", help="comma list of fast, full")
    p.add_argument("--jobs", default="auto", help="the parallel configuration (default auto)")
    p.add_argument("--write-costs", metavar="PATH", help="write per-claim seconds (full, jobs 1)")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = p.parse_args(argv)
    subsets = [s.strip() for s in args.subsets.split(",") if s.strip()]
    if not subsets or any(s not in ("fast", "full") for s in subsets) or args.repeat < 1:
        p.error("--subsets must list fast and/or full; --repeat must be >= 1")
    print(f"machine: {os.cpu_count()} logical CPUs, {len(os.sched_getaffinity(0))} usable; "
          f"load average at start {os.getloadavg()[0]:.2f}; Python {sys.version.split()[0]}")
    rows, bad = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for subset in subsets:
            fast = subset == "fast"
            runs: dict[str, list] = {"1": [], args.jobs: []}
            for rep in range(args.repeat):
                for jobs in ("1", args.jobs):
                    out = Path(tmp) / f"{subset}_{jobs}_{rep}.json"
                    r = run_verify(fast, jobs, out)
                    runs[jobs].append(r)
                    print(f"  {subset:4s} --jobs {jobs:4s} run {rep + 1}: wall {r['wall']:.3g} s, "
                          f"CPU {r['cpu']:.3g} s, exit {r['rc']}", flush=True)
                    if r["report"] is None:
                        print(r["stderr"])
            base_report = runs["1"][0]["report"]
            base_wall = min(r["wall"] for r in runs["1"])
            base_cpu = min(r["cpu"] for r in runs["1"])
            for jobs in ("1", args.jobs):
                rs = runs[jobs]
                diffs = 0
                if base_report is not None:
                    for r in rs:
                        if r["report"] is None:
                            diffs += 1
                            continue
                        d, _ = diff_reports({c["id"]: c for c in base_report["claims"]},
                                            {c["id"]: c for c in r["report"]["claims"]})
                        diffs += len(d)
                bad += diffs + sum(r["rc"] != 0 for r in rs)
                wall = min(r["wall"] for r in rs)
                cpu = min(r["cpu"] for r in rs)
                s = rs[0]["report"]["summary"] if rs[0]["report"] else {}
                rows.append([subset, jobs, f"{wall:.3g}", f"{cpu:.3g}",
                             f"{base_wall / wall:.2f}x", f"{base_cpu / cpu:.2f}x",
                             ",".join(str(r["rc"]) for r in rs),
                             f"{s.get('claims', '?')}/{s.get('checks', '?')}",
                             f"{s.get('as_expected', '?')}/{s.get('contradicted', '?')}/"
                             f"{s.get('inconclusive', '?')}/{s.get('errors', '?')}",
                             str(diffs)])
            if args.write_costs and subset == "full" and base_report is not None:
                costs = {c["id"]: round(sum(k["seconds"] for k in c["checks"]), 3)
                         for c in base_report["claims"]}
                Path(args.write_costs).write_text(json.dumps(costs, indent=1, sort_keys=True)
                                                  + "\n")
                print(f"wrote {args.write_costs}")
    head = ["subset", "jobs", "best wall s", "best CPU s (user+sys)", "wall speed-up vs jobs 1",
            "CPU ratio (jobs 1 / this)", "exit codes", "claims/checks",
            "as expected/contradicted/inconclusive/errors", "verdict diffs vs jobs 1"]
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
        print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
