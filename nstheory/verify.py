"""``nstheory verify``: run the registered claim checks and print the claim matrix.

The matrix has one row per claim and one column per route; a cell shows the status of that
route's checks (✓ verified, ✗ refuted, ? inconclusive, - skipped, E error) with the agreement
digits, z-score or "exact". The ``indep`` column gives the number of independent routes that
decided the claim (checks whose declared code paths are pairwise disjoint), marked ``*`` when
the claim is registered as single-evidence. The last column is the verdict against the
claim's expectation: a claim registered as expected-refuted passes when it is refuted; the
summary counts those by refutation kind (paper-as-printed, our-reading, not-reproduced,
notes).

Exit status: 0 when no check errors and no claim contradicts its expectation (inconclusive
and skipped claims included, unless ``--strict``), 1 otherwise.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
import time
from pathlib import Path

from nstheory.claims import (
    REFUTATION_KINDS,
    REGISTRY,
    ROUTES,
    Claim,
    ClaimOutcome,
    Status,
    run_claim,
)
from nstheory.errors import NSTheoryError
from nstheory.progress import progress
from nstheory.store import save_text


def load_claims():
    """Import every module of the ``proofs_check`` package so that its claims register.

    Examples
    --------
    Every claim of the ``proofs_check`` modules is registered, under a dotted id:

    >>> reg = load_claims()
    >>> "boolean.majority.maj3" in reg.claims, all("." in cid for cid in reg.claims)
    (True, True)
    """
    import proofs_check

    for info in pkgutil.iter_modules(proofs_check.__path__, "proofs_check."):
        importlib.import_module(info.name)
    return REGISTRY


def _group_results(task: tuple[list[Claim], bool]) -> list[list]:
    """Worker entry point: run a group of claims, return their check results (picklable)."""
    group, fast = task
    return [run_claim(c, fast=fast).results for c in group]


def run(patterns=None, fast=False, jobs=1, show_progress=None,
        timings: dict | None = None) -> list[ClaimOutcome]:
    """Run the claims whose id matches any glob in ``patterns`` (all when None; ``fast`` selects
    the quick subset) in ``jobs`` processes (an integer or ``"auto"``: one per core, or this
    process alone for a run expected to be short) and return their outcomes, in claim-id order
    whatever ``jobs``.

    With more than one job the heavy libraries are imported once here and the workers are
    forked after it; each worker runs whole topics (:mod:`nstheory.verify_pool`).
    ``timings``, when given, receives the seconds spent importing the claim modules
    (``"claims"``), each preloaded library (``"preload"``: name to seconds) and the number of
    workers (``"workers"``).

    Examples
    --------
    >>> [o] = run(["boolean.majority.maj3"], show_progress=False)
    >>> o.claim.id, o.as_expected, o.independent_routes >= 2
    ('boolean.majority.maj3', True, True)
    >>> run(["no.such.claim"])
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: no claim matches 'no.such.claim'
    """
    from nstheory import verify_pool
    from nstheory.store import git_answers_cached

    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    reg = load_claims()
    timings["claims"] = time.perf_counter() - t0
    claims = reg.select(patterns, fast=fast)
    if not claims:
        raise NSTheoryError(f"no claim matches {' '.join(patterns or [])!r}")
    costs = verify_pool.load_costs()
    groups = verify_pool.claim_groups(claims)
    workers = verify_pool.resolve_jobs(jobs, len(groups))
    if verify_pool.parse_jobs(jobs) == "auto" and sum(
            verify_pool.expected_seconds(c, costs) for c in claims) < verify_pool.AUTO_MIN_SECONDS:
        workers = 1  # a short run: forking and preloading would cost more than they save
    timings["workers"] = workers
    timings["preload"] = {}
    tasks = [([claims[j] for j in g], fast) for g in groups]
    order = verify_pool.schedule([t[0] for t in tasks], costs)
    early, light, torch = [], [], False
    if workers > 1:
        torch = any(k.route.value == "monte-carlo" or any("torch" in u for u in k.uses)
                    for c in claims for k in c.checks if not (fast and k.slow))
        if torch and "torch" not in sys.modules:
            early, light = verify_pool.early_tasks([t[0] for t in tasks], order, costs,
                                                   verify_pool.load_torch_free())

    def preload() -> None:
        if workers > 1:
            for name in verify_pool.preload_names(torch=torch):
                t1 = time.perf_counter()
                verify_pool.preload_one(name)
                timings["preload"][name] = time.perf_counter() - t1

    bar = progress(total=len(claims), desc="verify", enabled=show_progress)

    def done(i: int, seconds: float) -> None:
        bar.set_postfix_str(claims[groups[i][-1]].id[-40:])
        bar.update(len(groups[i]))

    try:
        with git_answers_cached():  # one git query per stored study, not one per check
            per_group = verify_pool.fork_map(_group_results, tasks, workers, order=order,
                                             on_done=done, preload=preload, early=early,
                                             light=light)
    finally:
        bar.close()
    results: list = [None] * len(claims)
    for g, res in zip(groups, per_group, strict=True):
        for j, r in zip(g, res, strict=True):
            results[j] = r
    return [ClaimOutcome(c, r) for c, r in zip(claims, results, strict=True)]


def _from_dict(c: Claim, d: dict) -> ClaimOutcome:
    from nstheory.claims import CheckResult

    res = []
    for r in d["checks"]:
        r = dict(r)
        r["status"] = Status(r["status"])
        r["quantities"] = [tuple(q) for q in r["quantities"]]
        r["ci"] = tuple(r["ci"]) if r["ci"] else None
        r["uses"] = tuple(r.get("uses") or ())
        if r.get("digits") is None and r.get("tolerance") == "exact" and r["status"] == "verified":
            r["digits"] = float("inf")
        res.append(CheckResult(**r))
    return ClaimOutcome(c, res)


def _cell(results) -> str:
    if not results:
        return ""
    order = [Status.ERROR, Status.REFUTED, Status.INCONCLUSIVE, Status.VERIFIED, Status.SKIPPED]
    worst = min(results, key=lambda r: order.index(r.status))
    more = f" (x{len(results)})" if len(results) > 1 else ""
    return worst.short + more


def matrix_rows(outcomes: list[ClaimOutcome]) -> list[list[str]]:
    """One row per outcome: claim id, provenance, one status cell per route, the ``indep`` cell and
    the verdict.

    Examples
    --------
    A claim checked by exact enumeration and symbolically:

    >>> outcome = demo_outcome()
    >>> matrix_rows([outcome])
    [['demo.sq', 'new', '✓ exact', '', '', '✓ exact', '', '2', 'verified']]
    """
    rows = []
    for o in outcomes:
        by_route = {r: [x for x in o.results if x.route == r] for r in ROUTES}
        rows.append(
            [o.claim.id, o.claim.provenance]
            + [_cell(by_route[r]) for r in ROUTES]
            + [indep_cell(o), _verdict_cell(o)]
        )
    return rows


def indep_cell(o: ClaimOutcome) -> str:
    """The ``indep`` cell: independent routes, ``*`` when registered single-evidence.

    Examples
    --------
    Two checks with disjoint ``uses`` are two independent routes; a claim registered as
    single-evidence is marked ``*``:

    >>> from nstheory.claims import Registry, compare_exact, run_claim
    >>> outcome = demo_outcome()
    >>> indep_cell(outcome)
    '2'
    >>> d = Registry().claim("demo.one", "1 = 1", latex="1 = 1", provenance="new",
    ...                      single_evidence="a single identity")
    >>> _ = d.check("exact-enumeration", uses=("python:int",))(
    ...     lambda: compare_exact("1", 1, "1", 1))
    >>> indep_cell(run_claim(d))
    '1*'
    """
    return f"{o.independent_routes}{'*' if o.claim.single_evidence else ''}"


def _verdict_cell(o: ClaimOutcome) -> str:
    if o.claim.refutation_kind and o.as_expected:
        return f"{o.verdict} [{o.claim.refutation_kind}]"
    return o.verdict


HEADER = ["claim", "provenance", *ROUTES, "indep", "verdict"]


def demo_outcome() -> ClaimOutcome:
    """A one-claim run for the examples: ``3^2 = 9`` checked by two independent routes.

    Examples
    --------
    >>> o = demo_outcome()
    >>> o.claim.id, o.verdict, o.independent_routes
    ('demo.sq', 'verified', 2)
    """
    from nstheory.claims import Registry, compare_exact

    c = Registry().claim("demo.sq", "3^2 = 9", latex="3^2 = 9", provenance="new")
    c.check("exact-enumeration", name="multiply", uses=("python:int",))(
        lambda: compare_exact("3*3", 3 * 3, "9", 9))
    c.check("symbolic", name="power", uses=("python:pow",))(
        lambda: compare_exact("3**2", 3**2, "9", 9))
    return run_claim(c)


def format_table(rows: list[list[str]], header=HEADER, max_prov: int = 34) -> str:
    """The rows of :func:`matrix_rows` as an aligned text table under ``header`` (the provenance
    column trimmed to ``max_prov`` characters).

    Examples
    --------
    >>> outcome = demo_outcome()
    >>> lines = format_table(matrix_rows([outcome])).splitlines()
    >>> lines[0].split()[:4]
    ['claim', 'provenance', 'symbolic', 'precise']
    >>> lines[2].split()
    ['demo.sq', 'new', '✓', 'exact', '✓', 'exact', '2', 'verified']
    """
    rows = [[*r[:1], _trim(r[1], max_prov), *r[2:]] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    return "\n".join(out)


def _trim(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def summary(outcomes: list[ClaimOutcome]) -> dict:
    """Counts of the run: claims as expected (and, of those, refuted as expected by kind),
    contradicted, inconclusive, skipped, claims with a check error and the check errors
    themselves (an error is never a contradiction), and claims with >= 2 independent routes.

    Examples
    --------
    >>> outcome = demo_outcome()
    >>> s = summary([outcome])
    >>> s["claims"], s["checks"], s["as_expected"], s["contradicted"], s["two_independent_routes"]
    (1, 2, 1, 0, 1)
    """
    checks = [r for o in outcomes for r in o.results]
    refuted = [o for o in outcomes if o.claim.expect == "refuted" and o.as_expected]
    return {
        "claims": len(outcomes),
        "checks": len(checks),
        "as_expected": sum(1 for o in outcomes if o.as_expected is True),
        "contradicted": sum(1 for o in outcomes if o.as_expected is False),
        "inconclusive": sum(1 for o in outcomes if o.status == Status.INCONCLUSIVE),
        "skipped": sum(1 for o in outcomes if o.status == Status.SKIPPED),
        "error_claims": sum(1 for o in outcomes if o.status == Status.ERROR),
        "errors": sum(1 for r in checks if r.status == Status.ERROR),
        "expected_refuted": len(refuted),
        "refuted_by_kind": {k: sum(1 for o in refuted if o.claim.refutation_kind == k)
                            for k in REFUTATION_KINDS},
        "two_independent_routes": sum(1 for o in outcomes if o.independent_routes >= 2),
        "single_evidence": sum(1 for o in outcomes if o.claim.single_evidence),
        "seconds": round(sum(r.seconds for r in checks), 2),
        "cpu_seconds": round(sum(r.cpu_seconds for r in checks), 2),
    }


def summary_line(s: dict) -> str:
    """One sentence with every count of :func:`summary`.

    Examples
    --------
    >>> outcome = demo_outcome()
    >>> summary_line(summary([outcome]))[:60]
    '1 claims, 2 checks: 1 as expected (of them 0 refuted as expe'
    """
    kinds = ", ".join(f"{n} {k}" for k, n in s["refuted_by_kind"].items())
    return (
        f"{s['claims']} claims, {s['checks']} checks: {s['as_expected']} as expected "
        f"(of them {s['expected_refuted']} refuted as expected: {kinds}), "
        f"{s['contradicted']} contradicted, {s['inconclusive']} inconclusive, "
        f"{s['skipped']} skipped, {s['errors']} check errors in {s['error_claims']} claims; "
        f"{s['two_independent_routes']} claims decided by >= 2 independent routes "
        f"({s['single_evidence']} registered single-evidence)"
    )


def _check_line(r) -> str:
    """Route, status, tolerance, digits/z, power and declared code paths of one check."""
    return (
        f"{r.route} / {r.check}: {r.status}"
        + (f", tolerance {r.tolerance}" if r.tolerance else "")
        + (f", {r.digits:.1f} digits" if r.digits not in (None, float("inf")) else "")
        + (f", z = {r.z:+.3f}" if r.z is not None else "")
        + (f", power {r.power:.3g} against: {r.alternative}" if r.power is not None else "")
        + (f", alternative: {r.alternative} (power not computed)"
           if r.power is None and r.alternative else "")
        + f"; uses {', '.join(r.uses) if r.uses else '(undeclared)'}"
        + f" ({r.seconds:.2f} s)"
    )


def to_markdown(outcomes: list[ClaimOutcome]) -> str:
    """The report as Markdown: the summary, the claim matrix as a table and, per claim, its
    statement, provenance and every check with its compared numbers.

    Examples
    --------
    >>> outcome = demo_outcome()
    >>> md = to_markdown([outcome]).splitlines()
    >>> md[0], "| demo.sq | new | ✓ exact |  |  | ✓ exact |  | 2 | verified |" in md
    ('# nstheory claim matrix', True)
    >>> [line for line in md if line.startswith("  - 3*3")]
    ['  - 3*3: `9`']
    """
    s = summary(outcomes)
    lines = [
        "# nstheory claim matrix",
        "",
        f"{summary_line(s)}; {s['seconds']} s of checks.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    for r in matrix_rows(outcomes):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    lines += ["", "## Details", ""]
    for o in outcomes:
        c = o.claim
        lines += [
            f"### `{c.id}` — {o.verdict}",
            "",
            f"*{c.statement}*  ",
            f"$${c.latex}$$  ",
            f"Provenance: `{c.provenance}`; expected: {c.expect}"
            + (f" (refutation kind: {c.refutation_kind})" if c.refutation_kind else "")
            + f"; independent routes: {o.independent_routes}.",
        ]
        if c.single_evidence:
            lines.append(f"Single evidence: {c.single_evidence}")
        if c.evidence:
            lines.append(f"Evidence: {c.evidence}")
        lines.append("")
        for r in o.results:
            lines.append(f"- {_check_line(r)}")
            for label, val in r.quantities:
                lines.append(f"  - {label}: `{val}`")
            if r.note:
                lines.append(f"  - note: {r.note.strip().splitlines()[0]}")
        lines.append("")
    return "\n".join(lines)


def import_times_text(timings: dict) -> str:
    """The import times of a run (see :func:`run`'s ``timings``): the process start-up up to
    the command (Python and ``nstheory``), the claim modules and each library preloaded before
    the workers were forked. Libraries a check imports itself count in that check's time.

    >>> print(import_times_text({"claims": 0.5, "preload": {"sympy": 1.25}, "workers": 2,
    ...                          "startup": 0.25}))
    imports (wall seconds): 2 s in all; start-up to the command 0.25 s, claim modules 0.5 s, \
preloaded before forking 2 workers 1.25 s (sympy 1.25 s)
    """
    pre = timings.get("preload", {})
    start = timings.get("startup")
    total = (start or 0.0) + timings.get("claims", 0.0) + sum(pre.values())
    parts = ([f"start-up to the command {start:.3g} s"] if start is not None else []) + [
        f"claim modules {timings.get('claims', 0.0):.3g} s"]
    if pre:
        parts.append(f"preloaded before forking {timings.get('workers', 1)} workers "
                     f"{sum(pre.values()):.3g} s ("
                     + ", ".join(f"{k} {v:.3g} s" for k, v in pre.items()) + ")")
    return f"imports (wall seconds): {total:.3g} s in all; " + ", ".join(parts)


def slowest_checks_text(outcomes, n: int = 10) -> str:
    """The ``n`` slowest checks, one line each (wall seconds, CPU seconds of the check's
    process, claim id, route/check), and their share of the total check time.

    >>> slowest_checks_text([]).splitlines()[0]
    'slowest 0 checks (wall seconds; 0 s wall, 0 s CPU in all checks):'
    """
    rows = sorted(((r.seconds, r.cpu_seconds, o.claim.id, f"{r.route}/{r.check}")
                   for o in outcomes for r in o.results), reverse=True)
    total = sum(t for t, _, _, _ in rows)
    cpu = sum(c for _, c, _, _ in rows)
    top = rows[:n]
    lines = [f"slowest {len(top)} checks (wall seconds; {total:.3g} s wall, {cpu:.3g} s CPU "
             "in all checks):"]
    for t, c, cid, name in top:
        lines.append(f"  {t:8.3f} s  {100 * t / total if total else 0:5.1f}%  (CPU {c:7.3f} s)  "
                     f"{cid}  {name}")
    return "\n".join(lines)


def _startup_seconds() -> float | None:
    """Seconds from the start of this process to now, when it runs as the ``nstheory`` command
    (Python start-up and the imports before the command; Linux ``/proc``), else None."""
    if Path(sys.argv[0] if sys.argv else "").name not in ("nstheory", "__main__.py"):
        return None
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def _jobs_arg(text: str):
    import argparse

    from nstheory.verify_pool import parse_jobs

    try:
        return parse_jobs(text)
    except NSTheoryError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register_cli(sub) -> None:
    """Add the ``verify`` subcommand and its options to the argparse ``sub`` parsers.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> register_cli(parser.add_subparsers())
    >>> args = parser.parse_args(["verify", "--claims", "boolean.*", "--fast", "--jobs", "2"])
    >>> args.claims, args.fast, args.jobs, args.func is run_cli
    (['boolean.*'], True, 2, True)
    >>> parser.parse_args(["verify"]).jobs
    'auto'
    """
    from nstheory.validate import arg_output_file

    p = sub.add_parser("verify", help="run every registered claim check; print the claim matrix")
    p.add_argument("--claims", nargs="+", metavar="GLOB",
                   help="only claims whose id matches one of the GLOBs (at least one)")
    p.add_argument("--fast", action="store_true", help="the quick subset (under a minute)")
    p.add_argument("--json", metavar="PATH", type=arg_output_file("json"),
                   help="write the full report as JSON (its directory must exist)")
    p.add_argument("--markdown", metavar="PATH", type=arg_output_file("markdown"),
                   help="write the report as Markdown (its directory must exist)")
    p.add_argument("--jobs", type=_jobs_arg, default="auto",
                   help="worker processes: 'auto' (one per core, the default) or 1 to 64; "
                        "workers are forked after the heavy imports")
    p.add_argument("--details", action="store_true", help="print every compared number")
    p.add_argument("--list", action="store_true", help="list the claims and exit")
    p.add_argument("--strict", action="store_true", help="inconclusive claims also fail")
    p.add_argument("--profile", action="store_true",
                   help="also print the import times and the ten slowest checks")
    p.set_defaults(func=run_cli)


def run_cli(args) -> int:
    """Run ``nstheory verify`` with parsed ``args``: print the claim matrix and the summary (and
    details, JSON, Markdown as asked); return the exit status (0 as expected, 1 otherwise).

    Examples
    --------
    With ``--list`` it lists the selected claims and their routes without running them:

    >>> import argparse
    >>> parser = argparse.ArgumentParser()
    >>> register_cli(parser.add_subparsers())
    >>> run_cli(parser.parse_args(["verify", "--list", "--claims", "boolean.majority.maj3"]))
    ... # doctest: +ELLIPSIS
    boolean.majority.maj3 ... expect holds routes: exact-enumeration, symbolic
    0
    """
    if args.json and args.markdown and Path(args.json).resolve() == Path(args.markdown).resolve():
        raise NSTheoryError("--json and --markdown name the same file; give two names")
    if args.list:
        for c in load_claims().select(args.claims, fast=args.fast):
            kind = f" ({c.refutation_kind})" if c.refutation_kind else ""
            print(f"{c.id:55s} {c.provenance:40s} expect {c.expect}{kind} "
                  f"routes: {', '.join(sorted({k.route.value for k in c.checks}))}"
                  + ("; single evidence" if c.single_evidence else ""))
        return 0
    t0 = time.perf_counter()
    timings: dict = {"startup": _startup_seconds()}
    outcomes = run(args.claims, fast=args.fast, jobs=getattr(args, "jobs", 1), timings=timings)
    print(format_table(matrix_rows(outcomes)))
    s = summary(outcomes)
    wall = time.perf_counter() - t0
    print(f"\n{summary_line(s)}; {wall:.1f} s wall with {timings.get('workers', 1)} "
          f"worker(s).")
    if getattr(args, "profile", False):
        print("\n" + import_times_text(timings) + "\n\n" + slowest_checks_text(outcomes))
    bad = [o for o in outcomes if o.as_expected is False or o.status == Status.ERROR]
    if args.details or bad:
        for o in outcomes if args.details else bad:
            print(f"\n[{o.verdict}] {o.claim.id}: {o.claim.statement}")
            print(f"  independent routes: {o.independent_routes}"
                  + (f"; refutation kind: {o.claim.refutation_kind}"
                     if o.claim.refutation_kind else "")
                  + (f"; single evidence: {o.claim.single_evidence}"
                     if o.claim.single_evidence else ""))
            for r in o.results:
                print(f"  {_check_line(r)}")
                for label, val in r.quantities:
                    print(f"      {label} = {val}")
                if r.note:
                    print("      " + r.note.strip().replace("\n", "\n      "))
    if args.json:
        save_text(json.dumps({"summary": s, "claims": [o.to_dict() for o in outcomes]},
                             indent=2, default=str), args.json)
        print(f"wrote {args.json}", file=sys.stderr)
    if args.markdown:
        save_text(to_markdown(outcomes), args.markdown)
        print(f"wrote {args.markdown}", file=sys.stderr)
    failed = bool(bad) or (args.strict and s["inconclusive"] > 0)
    return 1 if failed else 0
