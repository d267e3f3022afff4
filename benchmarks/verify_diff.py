"""Compare two ``nstheory verify --json`` reports: the same verdicts, check by check.

Usage::

    python benchmarks/verify_diff.py BEFORE.json AFTER.json [--only-common]

For every claim: its status, verdict, ``as_expected`` and number of independent routes; for
every check (keyed by claim id, route and check name): its status. Any difference is printed
and the exit status is 1; identical verdicts exit 0. Claims present in only one report are
listed (and count as a difference unless ``--only-common``, for comparing a subset run: then
only the claims and checks present in both are compared).
Numbers that may legitimately move in their last bits (z-scores, agreement digits: e.g. a
reduction summed by a different number of threads) are not compared for equality; the largest
change of each is printed for information.
"""

from __future__ import annotations

import argparse
import json
import math
import sys


def _load(path: str) -> dict:
    with open(path) as fh:
        data = json.load(fh)
    return {c["id"]: c for c in data["claims"]}


def _num(x):
    return x if isinstance(x, int | float) and math.isfinite(x) else None


def diff_reports(before: dict, after: dict, only_common: bool = False):
    """Differences between two reports (``{claim id: claim dict}``) and the largest changes of
    the z-scores and agreement digits, as ``(differences, {"z": dz, "digits": dd})``.

    >>> chk = {"route": "precise", "check": "a", "status": "verified", "z": 1.0, "digits": 9}
    >>> c = {"id": "x.y", "status": "verified", "verdict": "verified", "as_expected": True,
    ...      "independent_routes": 2, "checks": [chk]}
    >>> diff_reports({"x.y": c}, {"x.y": c})
    ([], {'z': 0.0, 'digits': 0.0})
    >>> d = dict(c, checks=[dict(chk, status="refuted")])
    >>> diff_reports({"x.y": c}, {"x.y": d})[0]
    ["x.y precise/a: status 'verified' -> 'refuted'"]
    """
    out, dz, dd = [], 0.0, 0.0
    for cid in sorted(set(before) | set(after)):
        if cid not in after or cid not in before:
            if not only_common:
                out.append(f"{cid}: only in {'before' if cid in before else 'after'}")
            continue
        b, a = before[cid], after[cid]
        bc = {(k["route"], k["check"]): k for k in b["checks"]}
        ac = {(k["route"], k["check"]): k for k in a["checks"]}
        # the count of independent routes depends on which checks ran: compared only when the
        # two runs ran the same checks of the claim (a --fast subset may run fewer)
        keys = ("status", "verdict", "as_expected") + (
            ("independent_routes",) if set(bc) == set(ac) else ())
        for key in keys:
            if b.get(key) != a.get(key):
                out.append(f"{cid}: {key} {b.get(key)!r} -> {a.get(key)!r}")
        for key in sorted(set(bc) | set(ac)):
            name = f"{cid} {key[0]}/{key[1]}"
            if key not in bc or key not in ac:
                if not only_common:
                    out.append(f"{name}: only in {'before' if key in bc else 'after'}")
                continue
            if bc[key]["status"] != ac[key]["status"]:
                out.append(f"{name}: status {bc[key]['status']!r} -> {ac[key]['status']!r}")
            zb, za = _num(bc[key].get("z")), _num(ac[key].get("z"))
            if zb is not None and za is not None:
                dz = max(dz, abs(zb - za))
            db, da = _num(bc[key].get("digits")), _num(ac[key].get("digits"))
            if db is not None and da is not None:
                dd = max(dd, abs(db - da))
    return out, {"z": dz, "digits": dd}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--only-common", action="store_true",
                   help="compare only the claims present in both reports")
    args = p.parse_args(argv)
    before, after = _load(args.before), _load(args.after)
    diffs, moved = diff_reports(before, after, args.only_common)
    common = set(before) & set(after)
    n_checks = sum(len(before[c]["checks"]) for c in common)
    print(f"compared {len(common)} claims ({n_checks} checks in BEFORE); "
          f"{len(diffs)} differences in status/verdict/as_expected/independent routes")
    print(f"largest change (information only): |z| {moved['z']:.3g}, "
          f"agreement digits {moved['digits']:.3g}")
    for line in diffs:
        print("  " + line)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
