"""Table 1 of the noise-stability paper (haris2026 §4.2) and this toolkit's rows beside it.

The paper reports, for n = 256 tokens, the weight at degree >= 15 bounded (a) from average
sensitivity and (b) from noise stability. Its rows are quoted as printed (secondary source:
paper-notes summaries); rho, sample sizes and the scalar output used are not stated there.

>>> [r[0] for r in PAPER_ROWS]
['GPT-2', 'BERT', 'RoBERTa', 'Gemma']
>>> PAPER_ROWS[0][1] > PAPER_ROWS[0][2]
True
"""

from __future__ import annotations

#: (model, average-sensitivity bound, noise-stability bound) as printed in Table 1.
PAPER_ROWS = (
    ("GPT-2", 0.003, 0.0005),
    ("BERT", 0.04, 0.02),
    ("RoBERTa", 0.19, 0.02),
    ("Gemma", 0.043, 0.0157),
)
PAPER_REF = "haris2026 Table 1 (n = 256, weight at degree >= 15)"


def rows_for(summary: dict, model_label: str) -> list[dict]:
    """Flat Table 1 rows of a :func:`nstheory.models.summary.summarise` result.

    One row per (functional, noise version, rho), centred view (weight fraction of
    ``Var f``), with the run's positions ``n`` (``None`` when the summary has no
    configuration) and degree ``T``. A bound or interval that does not exist is ``None``, with
    its reason in ``notes``.

    Examples
    --------
    >>> from nstheory.models.summary import table1_rows
    >>> t1 = table1_rows([4.0, 4.0], {0.5: [1.0, 1.0]}, [[1, -1], [-1, 1]], T=2)
    >>> rows = rows_for({"functionals": {"cls": {"table1": {"token": t1}}}}, "tiny")
    >>> len(rows), rows[0]["rho"], rows[0]["sensitivity_bound"], rows[0]["T"]
    (1, 0.5, 1.0, 2)
    >>> round(rows[0]["ratio"], 12)      # 1 / (2/3)
    1.5
    """
    out = []
    n = summary.get("config", {}).get("n")
    for spec, fr in summary["functionals"].items():
        for version, t in fr.get("table1", {}).items():
            sens = t["sensitivity_bound_centred"]
            for rho, row in t["rho"].items():
                parts = {"sensitivity": sens, "stability": row["stability_bound_centred"],
                         "ratio": row["ratio_sensitivity_over_stability"]}
                notes = {k: v["note"] for k, v in parts.items() if "note" in v}
                out.append({
                    "model": model_label, "functional": spec,
                    "version": "token-resampling (Efron-Stein degree)" if version == "token"
                    else "Gaussian embedding (Hermite degree)",
                    "rho": float(rho), "inputs": t["inputs"], "n": n, "T": t["T"],
                    "sensitivity_bound": sens["value"], "sensitivity_ci95": sens["ci95"],
                    "stability_bound": row["stability_bound_centred"]["value"],
                    "stability_ci95": row["stability_bound_centred"]["ci95"],
                    "ratio": row["ratio_sensitivity_over_stability"]["value"],
                    "ratio_ci95": row["ratio_sensitivity_over_stability"]["ci95"],
                    "stability_bound_uncentred": row["stability_bound_uncentred"],
                    "sensitivity_bound_uncentred": t["sensitivity_bound_uncentred"],
                    "delta_uncentred": row.get("delta_uncentred"),
                    **({"notes": notes} if notes else {}),
                })
    return out


def _cell(value, ci) -> str:
    """``value [lo, hi]``; ``undefined`` or ``(no CI)`` where they do not exist."""
    if value is None:
        return "undefined"
    return f"{value:.6g} " + (f"[{ci[0]:.6g}, {ci[1]:.6g}]" if ci is not None else "(no CI)")


def format_table(rows: list[dict]) -> str:
    """Text table: the paper's four rows, then ours (centred view, 95% jackknife-t CIs), with
    the positions ``n`` and degree ``T`` of our run (the paper's are n = 256, T = 15).

    >>> print(format_table([]).splitlines()[1])
    paper (as printed; n = 256 positions, degree >= 15; rho, output and sample size not stated):
    >>> from nstheory.models.summary import table1_rows
    >>> t1 = table1_rows([4.0, 4.0], {0.5: [1.0, 1.0]}, [[1, -1], [-1, 1]], T=15)
    >>> rows = rows_for({"config": {"n": 8}, "functionals": {"cls": {"table1": {"token": t1}}}},
    ...                 "tiny")
    >>> text = format_table(rows).splitlines()
    >>> print(text[7][:54])
    this toolkit (n = 8 positions, weight at degree >= 15;
    >>> print(text[8].split(": ")[1][:39])
    sensitivity 0.133333 (no CI)  stability
    >>> print(text[-1][:64])
    note: with n = 8 < 15 positions the Efron-Stein weight at degree
    """
    lines = [f"Table 1: weight at degree >= 15 — {PAPER_REF}",
             "paper (as printed; n = 256 positions, degree >= 15; rho, output and sample size not "
             "stated):",
             f"  {'model':10s} {'sensitivity bound':>18s} {'stability bound':>16s} {'ratio':>8s}"]
    for name, a, b in PAPER_ROWS:
        lines.append(f"  {name:10s} {a:18.6g} {b:16.6g} {a / b:8.6g}")
    notes: dict = {}
    for (n, T), group in _groups(rows).items():
        where = f"n = {n} positions, " if n is not None else ""
        lines.append(f"this toolkit ({where}weight at degree >= {T}; centred view: fraction of "
                     f"Var f; (a) I[f]/({T} Var f), (b) D_rho/((1-rho^{T}) Var f); 95% "
                     "jackknife-t CI over inputs):")
        for r in group:
            lines.append(
                f"  {r['model']} f={r['functional']} {r['version']} rho={r['rho']:g} "
                f"(inputs={r['inputs']}): sensitivity "
                f"{_cell(r['sensitivity_bound'], r['sensitivity_ci95'])}  "
                f"stability {_cell(r['stability_bound'], r['stability_ci95'])}  "
                f"ratio {_cell(r['ratio'], r['ratio_ci95'])}")
            for note in r.get("notes", {}).values():
                notes.setdefault(note)
        if n is not None and n < T and any(r["version"].startswith("token") for r in group):
            notes.setdefault(f"with n = {n} < {T} positions the Efron-Stein weight at degree "
                             f">= {T} is exactly 0: the token rows bound a quantity that is 0")
    lines += [f"note: {note}" for note in notes]
    return "\n".join(lines)


def _groups(rows: list[dict]) -> dict:
    """Rows grouped by their run's (positions, degree), in order of appearance."""
    out: dict = {}
    for r in rows:
        out.setdefault((r.get("n"), r.get("T", 15)), []).append(r)
    return out
