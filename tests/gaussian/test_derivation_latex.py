"""The ``--derive`` LaTeX compiles with a real LaTeX engine, and the derived abs / leaky ReLU
maps equal the toolkit's closed forms."""

from __future__ import annotations

import os
import shutil
import subprocess

import mpmath
import pytest
import sympy as sp

from nstheory.gaussian import symbolic
from nstheory.gaussian.activations import get_activation
from nstheory.gaussian.cli import derivation_latex

NAMES = ("relu", "abs", "leaky_relu", "sign", "erf")

DOCUMENT = r"""\documentclass{article}
\usepackage{amsmath,amssymb}
\begin{document}
%s
\end{document}
"""


def _engine():
    exe = shutil.which("pdflatex")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install a LaTeX engine (texlive-latex-base) for this test")
        pytest.skip("no pdflatex on this machine (apt-get install texlive-latex-base)")
    return exe


@pytest.mark.parametrize("name", NAMES)
def test_derivation_compiles(name, tmp_path):
    exe = _engine()
    (tmp_path / "d.tex").write_text(DOCUMENT % derivation_latex(name))
    run = subprocess.run(
        [exe, "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "d.pdf").stat().st_size > 0


def test_text_outside_math_is_refused():
    with pytest.raises(ValueError, match="outside"):
        symbolic.Derivation("x", sp.S(0), [("r^2 inside text", "1")]).latex()


@pytest.mark.parametrize("a,b,name,params", [
    (-1, 1, "abs", {}),
    (None, 1, "leaky_relu", {"slope": sp.Rational(1, 10)}),
])
def test_derived_ab_relu_matches_closed_form(a, b, name, params):
    expr = symbolic.derive_ab_relu(a, b).result
    if a is None:
        expr = expr.subs(sp.Symbol("alpha", real=True), sp.Rational(1, 10))
    act = get_activation(name, **params)
    for r in ("-0.9", "-0.3", "0.2", "0.7"):
        derived = sp.N(expr.subs(symbolic.rho, sp.Rational(r)), 40)
        with mpmath.workdps(40):
            gap = abs(mpmath.mpf(str(derived)) - act.raw(r, dps=30))
        assert gap < mpmath.mpf(10) ** -25
