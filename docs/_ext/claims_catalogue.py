"""Sphinx extension: generate ``claims.md``, the catalogue of every registered claim.

For each claim: its statement, the formula (rendered LaTeX), provenance, expectation and
refutation kind, and its checks (route, name, the code paths each computes from). When a
``verify-report.json`` written by ``nstheory verify --json`` lies at the repository root, the
catalogue adds the last run's status, verdict, number of independent routes and every compared
number; otherwise it says that no run was found.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _report(root: Path) -> dict:
    path = root / "verify-report.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {"_summary": data.get("summary", {}),
            **{c["id"]: c for c in data.get("claims", [])}}


def _escape(text: str) -> str:
    for ch in "\\|*_[]<>`$":
        text = text.replace(ch, "\\" + ch)
    return text


def render(registry, report: dict) -> str:
    """The catalogue as MyST Markdown."""
    lines = ["# Claims catalogue", ""]
    summ = report.get("_summary")
    if summ:
        lines += ["Numbers from the last `nstheory verify --json verify-report.json`: "
                  + ", ".join(f"{k} {v}" for k, v in summ.items() if not isinstance(v, dict))
                  + ".", ""]
    else:
        lines += ["No `verify-report.json` was found at build time: the catalogue lists the "
                  "claims and their checks; run `nstheory verify --json verify-report.json` "
                  "before building for the numbers.", ""]
    by_section: dict[str, list] = {}
    for cid in sorted(registry.claims):
        by_section.setdefault(cid.split(".", 1)[0], []).append(registry.claims[cid])
    for section, claims in by_section.items():
        lines += [f"## {section}", ""]
        for c in claims:
            lines += [f"### `{c.id}`", "", _escape(c.statement), ""]
            if c.latex:
                lines += ["$$", c.latex, "$$", ""]
            meta = [f"provenance `{c.provenance}`", f"expected: {c.expect}"]
            kind = getattr(c, "refutation_kind", None)
            if kind:
                meta.append(f"refutation kind: {kind}")
            single = getattr(c, "single_evidence", "")
            if single:
                meta.append(f"single evidence: {_escape(single)}")
            lines += ["; ".join(meta) + ".", ""]
            run = report.get(c.id)
            if run:
                indep = run.get("independent_routes")
                lines += [f"Last run: **{run.get('verdict')}** (status {run.get('status')}"
                          + (f", {indep} independent routes" if indep is not None else "")
                          + ").", ""]
            results = {(r.get("route"), r.get("check")): r for r in (run or {}).get("checks", [])}
            lines += ["| route | check | computes from | status | numbers |",
                      "|---|---|---|---|---|"]
            for k in c.checks:
                r = results.get((k.route.value, k.name), {})
                uses = ", ".join(f"`{u}`" for u in getattr(k, "uses", ())) or "—"
                nums = "; ".join(f"{_escape(lab)}: `{val}`" for lab, val in r.get("quantities", []))
                lines.append(f"| {k.route.value} | {_escape(k.name)} | {uses} | "
                             f"{r.get('status', '—')} | {nums or '—'} |")
            lines.append("")
    return "\n".join(lines) + "\n"


def _generate(app) -> None:
    from nstheory.verify import load_claims

    text = render(load_claims(), _report(HERE.parent))
    out = Path(app.srcdir) / "claims.md"
    if not out.exists() or out.read_text() != text:
        out.write_text(text)


def setup(app):
    app.connect("builder-inited", _generate)
    return {"version": "1", "parallel_read_safe": True}
