"""The 1/width recursion through transformer blocks (identity attention pattern)."""

from __future__ import annotations

import pytest

from nstheory.errors import NSTheoryError
from nstheory.propagation.finite_width import IDX, finite_width_recursion, kernel_states
from nstheory.propagation.finite_width_study import BLOCK_RUNS, run_model
from nstheory.propagation.model import Attention, Model, Residual, transformer
from nstheory.propagation.recurrence import point_recurrence


@pytest.mark.parametrize("kw", [{}, {"post_ln": True}, {"residual": False},
                                {"residual": False, "layernorm": False}])
def test_mean_field_matches_the_mean_field_recurrence(kw):
    """The recursion's infinite-width part against the propagation area's own recurrence (a
    separate implementation of the mean-field rules)."""
    model = transformer(3, **kw)
    rows = finite_width_recursion(model, 0.8, per_net=5)
    ref = point_recurrence(model, 0.8)[1:]
    for r, s in zip(rows, ref, strict=True):
        assert r.mean_field_normalised == pytest.approx(s.C / s.Q, rel=1e-12, abs=1e-12)


def test_linear_residual_vertex_exact():
    """h -> h + W h (an attention sub-block with the identity pattern, no LN), W ~ N(0, s/N):
    given h, K' = K + 2 h.Wh/N + |Wh|^2/N with Var = (4 s + 2 s^2) K^2 / N, so
    N Var K_l = (1 + s)^(2l) (2 + l (4 s + 2 s^2) / (1 + s)^2) to leading order, and E K has
    no 1/N shift (a linear map)."""
    s, depth = 0.5, 4
    model = Model(((Residual((Attention("identity", s),)),),) * depth, n_tokens=2)
    for li, st in enumerate(kernel_states(model, 0.3), start=1):
        expect = (1 + s) ** (2 * li) * (2 + li * (4 * s + 2 * s * s) / (1 + s) ** 2)
        assert float(st.V[IDX[(0, 0)], IDX[(0, 0)]]) == pytest.approx(expect, rel=1e-12)
        assert float(st.g[IDX[(0, 0)]]) == pytest.approx((1 + s) ** li, rel=1e-12)
        assert abs(float(st.mu[IDX[(0, 0)]])) < 1e-12


def test_tokens_count_as_pairs():
    """With the identity pattern the n tokens of an input are n independent pairs."""
    a = finite_width_recursion(transformer(2, n_tokens=4), 0.9, per_net=5)
    b = finite_width_recursion(transformer(2, n_tokens=2), 0.9, per_net=10)
    c = finite_width_recursion(transformer(2, n_tokens=2), 0.9, per_net=5)
    assert a[-1].coef_normalised == pytest.approx(b[-1].coef_normalised, rel=1e-12)
    assert a[-1].coef_normalised != pytest.approx(c[-1].coef_normalised, rel=1e-6)


@pytest.mark.parametrize("att", [Attention("random"), Attention("lowrank"),
                                 Attention("identity", scale="linear")])
def test_uncovered_attention_is_a_clear_error(att):
    model = Model(((att,),), n_tokens=3)
    with pytest.raises(NSTheoryError, match="identity query-key pattern"):
        finite_width_recursion(model, 0.5)


def test_study_entries_build():
    names = {run_model(r).name for r in BLOCK_RUNS}
    assert {"transformer (pre-LN, residual)", "transformer (post-LN, residual)",
            "transformer (pre-LN, no residual)", "mlp"} <= names
    assert len({r["key"] for r in BLOCK_RUNS}) == len(BLOCK_RUNS)
    assert len({r["seed"] for r in BLOCK_RUNS}) == len(BLOCK_RUNS)
