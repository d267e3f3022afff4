"""Sphinx extension: one API page per module of ``nstheory`` (the claims of ``proofs_check``
are in the generated catalogue instead).

At ``builder-inited`` it walks the ``nstheory`` package and writes ``_api/<module>.rst`` (an
``automodule`` directive each) and ``_api/index.rst`` (their table of contents), so the API
reference always lists every module without a hand-kept list. Docstrings are written in plain
text with mathematics such as ``|x|``; the ``autodoc-process-docstring`` hook escapes the bars
outside literals so that reStructuredText does not read them as substitutions.
"""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

_LITERAL = re.compile(r"(``.*?``)")


def _escape_bars(line: str) -> str:
    parts = _LITERAL.split(line)
    return "".join(p if p.startswith("``") else re.sub(r"(?<!\\)\|", r"\\|", p) for p in parts)


def escape_docstring(app, what, name, obj, options, lines) -> None:
    """Escape ``|`` outside inline literals, doctest lines and literal blocks (in place)."""
    literal_indent = None
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if literal_indent is not None:
            if stripped and indent <= literal_indent:
                literal_indent = None
            else:
                continue
        if stripped.startswith((">>>", "...")):
            continue
        lines[i] = _escape_bars(line)
        if stripped.endswith("::"):
            literal_indent = indent


def _modules() -> list[str]:
    import nstheory

    names = ["nstheory"]
    for info in pkgutil.walk_packages(nstheory.__path__, "nstheory."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return sorted(names)


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _generate(app) -> None:
    out = Path(app.srcdir) / "_api"
    out.mkdir(exist_ok=True)
    mods = _modules()
    for m in mods:
        _write(out / f"{m}.rst", f"{m}\n{'=' * len(m)}\n\n.. automodule:: {m}\n")
    toc = "\n".join(f"   {m}" for m in mods)
    _write(out / "index.rst", f"Modules\n=======\n\n.. toctree::\n   :maxdepth: 1\n\n{toc}\n")


def setup(app):
    app.connect("builder-inited", _generate)
    app.connect("autodoc-process-docstring", escape_docstring)
    return {"version": "1", "parallel_read_safe": True}
