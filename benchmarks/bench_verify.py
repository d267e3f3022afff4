"""Time of the main job, ``nstheory verify``: full and ``--fast``, one process vs the forked
worker pool, each measured as a fresh command in the same run.

Usage::

    python benchmarks/bench_verify.py [--repeat 2] [--subsets fast,full] [--jobs auto]
                                      [--write-costs PATH] [--markdown]

For each subset it runs, alternating, ``--repeat`` times each: optionally the previous code
(``--baseline-tree DIR``, a checkout such as ``git worktree add DIR <commit>``, with
``--jobs 1``), then this checkout with ``--jobs 1`` and with ``--jobs auto`` (or the
``--jobs`` given). It prints per configuration the best wall time, the CPU time (user +
system of the command and its workers, the less noisy figure on a shared machine), the exit
status, the summary counts, and the ratios to the previous configuration and to the first one
measured in this run. Every run's verdicts are compared check by check with the first
configuration's (``verify_diff.py``, on the claims and checks both runs have: ``--fast``
subsets may differ): the "verdict diffs" column must be 0.

There is no disk cache: every run computes every reference from scratch (cold and warm runs
differ only by the operating system's file cache, which the first repeat warms).
``--write-costs PATH`` writes the per-claim CPU seconds of the pool's full run, the order
hints of the worker pool (``proofs_check/verify_costs.json``), and beside it
``verify_torch_free.json``, the claims that run without importing torch (the pool's first
worker starts on them while the parent imports torch).
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

#: run in a fresh interpreter (torch not imported): which claims never import torch
TORCH_FREE_SCRIPT = """
import json, sys
from nstheory.verify import load_claims
from nstheory.verify_pool import torch_free_claims
ids = torch_free_claims(load_claims().select(None))
open(sys.argv[1], "w").write(json.dumps(sorted(ids), indent=1) + "\\n")
"""


def run_verify(fast: bool, jobs: str, out: Path, tree: Path = HERE.parent,
               claims: list[str] | None = None) -> dict:
    """One fresh ``nstheory verify`` command of the checkout ``tree``: wall and CPU seconds,
    exit status, report."""
    cmd = [sys.executable, "-m", "nstheory", "verify", "--jobs", jobs, "--json", str(out)]
    if fast:
        cmd.append("--fast")
    if claims:
        cmd += ["--claims", *claims]
    env = dict(os.environ, NSTHEORY_PROGRESS="0", PYTHONPATH=str(tree))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tree)
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
    p.add_argument("--baseline-tree", metavar="DIR",
                   help="also time this checkout (e.g. a git worktree of the previous commit) "
                        "with --jobs 1, as the first configuration")
    p.add_argument("--claims", nargs="*", metavar="GLOB", help="only these claims (a quick try)")
    p.add_argument("--write-costs", metavar="PATH",
                   help="write per-claim CPU seconds of the pool's full run")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = p.parse_args(argv)
    subsets = [s.strip() for s in args.subsets.split(",") if s.strip()]
    if not subsets or any(s not in ("fast", "full") for s in subsets) or args.repeat < 1:
        p.error("--subsets must list fast and/or full; --repeat must be >= 1")
    configs = [("this checkout, --jobs 1", HERE.parent, "1"),
               (f"this checkout, --jobs {args.jobs}", HERE.parent, args.jobs)]
    if args.baseline_tree:
        tree = Path(args.baseline_tree).resolve()
        if not (tree / "nstheory" / "verify.py").is_file():
            p.error(f"--baseline-tree {tree} is not an nstheory checkout")
        configs.insert(0, (f"baseline {tree.name}, --jobs 1", tree, "1"))
    print(f"machine: {os.cpu_count()} logical CPUs, {len(os.sched_getaffinity(0))} usable; "
          f"load average at start {os.getloadavg()[0]:.2f}; Python {sys.version.split()[0]}")
    rows, bad, notes = [], 0, []
    with tempfile.TemporaryDirectory() as tmp:
        for subset in subsets:
            fast = subset == "fast"
            runs: list[list] = [[] for _ in configs]
            for rep in range(args.repeat):
                for ci, (label, tree, jobs) in enumerate(configs):
                    out = Path(tmp) / f"{subset}_{ci}_{rep}.json"
                    r = run_verify(fast, jobs, out, tree, args.claims)
                    runs[ci].append(r)
                    print(f"  {subset:4s} {label}, run {rep + 1}: wall {r['wall']:.3g} s, "
                          f"CPU {r['cpu']:.3g} s, exit {r['rc']}", flush=True)
                    if r["report"] is None:
                        print(r["stderr"])
            first = runs[0][0]["report"]
            prev_wall = None
            first_wall, first_cpu = min(r["wall"] for r in runs[0]), min(r["cpu"] for r in runs[0])
            for ci, (label, _, _jobs) in enumerate(configs):
                rs = runs[ci]
                diffs = 0
                for r in rs:
                    if r["report"] is None or first is None:
                        diffs += 1
                        continue
                    d, _ = diff_reports({c["id"]: c for c in first["claims"]},
                                        {c["id"]: c for c in r["report"]["claims"]},
                                        only_common=True)
                    diffs += len(d)
                    notes += [f"{subset} {label}: {line}" for line in d]
                bad += diffs + sum(r["rc"] != 0 for r in rs)
                wall = min(r["wall"] for r in rs)
                cpu = min(r["cpu"] for r in rs)
                s = rs[0]["report"]["summary"] if rs[0]["report"] else {}
                rows.append([subset, label, f"{wall:.3g}", f"{cpu:.3g}",
                             f"{prev_wall / wall:.2f}x" if prev_wall else "-",
                             f"{first_wall / wall:.2f}x", f"{first_cpu / cpu:.2f}x",
                             ",".join(str(r["rc"]) for r in rs),
                             f"{s.get('claims', '?')}/{s.get('checks', '?')}",
                             f"{s.get('as_expected', '?')}/{s.get('contradicted', '?')}/"
                             f"{s.get('inconclusive', '?')}/{s.get('errors', '?')}",
                             str(diffs)])
                prev_wall = wall
            if args.write_costs and subset == "full":
                rep = runs[-1][0]["report"]  # this checkout, the pool
                if rep is not None:
                    costs = {c["id"]: round(sum(k.get("cpu_seconds", k["seconds"])
                                                for k in c["checks"]), 3)
                             for c in rep["claims"]}
                    Path(args.write_costs).write_text(json.dumps(costs, indent=1, sort_keys=True)
                                                      + "\n")
                    print(f"wrote {args.write_costs}")
                    free = Path(args.write_costs).with_name("verify_torch_free.json")
                    subprocess.run([sys.executable, "-c", TORCH_FREE_SCRIPT, str(free)],
                                   check=True)
                    print(f"wrote {free}")
    head = ["subset", "configuration", "best wall s", "best CPU s (user+sys)",
            "wall speed-up vs previous row", "wall speed-up vs first row",
            "CPU ratio (first row / this)", "exit codes", "claims/checks",
            "as expected/contradicted/inconclusive/errors", "verdict diffs vs first row"]
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    for line in notes:
        print("  verdict diff: " + line)
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
