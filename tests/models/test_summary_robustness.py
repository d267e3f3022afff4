"""Summaries of degenerate runs (probe2 findings): Var f = 0, two inputs, a run of n < 15
positions in Table 1, malformed --from files, and the tokenizer's spurious length warning."""

from __future__ import annotations

import json
import logging
import warnings

import numpy as np
import pytest

from nstheory.errors import NSTheoryError
from nstheory.models.cli import format_influence
from nstheory.models.summary import (
    NO_JACK,
    VAR0,
    influence_summary,
    load_run,
    table1_rows,
)
from nstheory.models.table1 import format_table, rows_for
from nstheory.store import dumps

#: per-input, per-position estimates of 3 positions
MAT2 = [[2.0, 1.0, 1.0], [3.0, 1.0, 0.5]]
MAT3 = [[2.0, 1.0, 1.0], [3.0, 1.0, 0.5], [1.0, 2.0, 0.5]]


def _res(fr):
    return {"config": {"model": "tiny-bert", "arm": "pretrained", "n": 3, "inputs": 2,
                       "resamples": 2},
            "kind": "encoder", "text": "t", "resample_vocab": 4, "embedding_scale": 1.0,
            "functionals": {"cls": {"token": fr, "stability": {}}}}


def test_zero_variance_gives_undefined_not_nan_without_warnings():
    gram = np.ones((2, 2))  # identical windows: f(x_0) = f(x_1), Var f = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = influence_summary(MAT2, gram)
        t1 = table1_rows([4.0, 5.0], {0.5: [1.0, 2.0]}, gram)
    assert r["var_f"] == 0 and r["total_centred"] is None and r["total_centred_note"] == VAR0
    assert r["friedgut_size_bound"] is None and r["friedgut_note"] == VAR0
    text = format_influence(_res(r))
    assert f"(centred): {VAR0};" in text and "nan" not in text.lower()
    assert f"I = centred total): {VAR0}" in text
    js = json.loads(dumps(r))
    assert js["total_centred"] is None and js["total_centred_ci95"] is None
    s = t1["sensitivity_bound_centred"]
    assert s == {"value": None, "ci95": None, "note": VAR0}
    assert t1["rho"]["0.5"]["stability_bound_centred"]["value"] is None
    assert t1["rho"]["0.5"]["ratio_sensitivity_over_stability"]["value"] == pytest.approx(
        (4.5 / 15) / (1.5 / (1 - 0.5**15)))
    table = format_table(rows_for({"functionals": {"cls": {"table1": {"token": t1}}}}, "m"))
    assert "sensitivity undefined" in table and "nan" not in table.lower()


def test_two_inputs_have_no_jackknife_interval_three_do():
    gram2 = [[1.0, -1.0], [-1.0, 1.0]]
    r = influence_summary(MAT2, gram2)
    assert r["total_centred"] == pytest.approx(r["total_raw"]["mean"] / 2)
    assert r["total_centred_ci95"] is None and r["total_centred_ci95_note"] == NO_JACK
    assert all(v["ci95"] is None for v in r["junta"].values()) and r["junta_ci95_note"] == NO_JACK
    text = format_influence(_res(r))
    assert f"({NO_JACK})" in text and "nan" not in text.lower()
    assert json.loads(dumps(r))["total_centred_ci95"] is None
    t1 = table1_rows([4.0, 5.0], {0.5: [1.0, 2.0]}, gram2)
    assert t1["sensitivity_bound_centred"]["ci95"] is None
    assert t1["sensitivity_bound_centred"]["note"] == NO_JACK
    # three distinct inputs: a real interval of positive width
    gram3 = np.array([[1.0, 0.2, -0.5], [0.2, 2.0, 0.1], [-0.5, 0.1, 1.5]])
    r3 = influence_summary(MAT3, gram3)
    lo, hi = r3["total_centred_ci95"]
    assert lo < hi and "total_centred_ci95_note" not in r3
    t3 = table1_rows([4.0, 5.0, 3.0], {0.5: [1.0, 2.0, 1.5]}, gram3)
    lo, hi = t3["sensitivity_bound_centred"]["ci95"]
    assert lo < hi


def test_table1_header_takes_n_and_degree_from_the_run(tmp_path, monkeypatch, capsys):
    from argparse import Namespace

    import nstheory.models.summary as summary
    from nstheory.models.cli import run_cli

    t1 = table1_rows([4.0, 5.0, 3.0], {0.5: [1.0, 2.0, 1.5]},
                     [[1.0, 0.2, -0.5], [0.2, 2.0, 0.1], [-0.5, 0.1, 1.5]])
    res = {"config": {"model": "tiny-bert", "arm": "pretrained", "n": 8}, "provenance": {},
           "functionals": {"cls": {"table1": {"token": t1}}}}
    monkeypatch.setattr(summary, "summarise", lambda source: res)
    assert run_cli(Namespace(source=str(tmp_path), model_command="table1", json=False)) == 0
    text = capsys.readouterr().out
    ours = text.split("this toolkit", 1)[1]
    assert "n = 8 positions, weight at degree >= 15" in ours and "n = 256" not in ours
    assert "n = 8 < 15 positions the Efron-Stein weight at degree >= 15 is exactly 0" in ours
    assert run_cli(Namespace(source=str(tmp_path), model_command="table1", json=True)) == 0
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert (row["n"], row["T"]) == (8, 15)


@pytest.mark.parametrize("content", ["[1]", "{}", '{"config": [1], "records": []}',
                                     '{"config": {"n": 8}, "records": []}',
                                     '{"config": {"model": "m", "arm": "pretrained", "n": 8, '
                                     '"inputs": 2, "rhos": [0.5], "noises": ["token"]}, '
                                     '"records": [1]}'])
def test_from_a_file_that_is_not_a_run_is_a_clear_error(tmp_path, content):
    p = tmp_path / "x.json"
    p.write_text(content)
    with pytest.raises(NSTheoryError, match=r"cannot read run .*x\.json: .*give a run "
                                            r"directory"):
        load_run(p)
    d = tmp_path / "run"
    d.mkdir()
    (d / "config.json").write_text("[1]")
    with pytest.raises(NSTheoryError, match=r"config\.json is not a model run's configuration"):
        load_run(d)


def test_corpus_tokenised_without_the_length_warning():
    """The whole corpus is tokenised once, then cut into windows: the tokenizer's "longer than
    the specified maximum sequence length" warning is spurious and silenced; the limit is
    restored afterwards."""
    pytest.importorskip("tokenizers")
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import PreTrainedTokenizerFast
    from transformers.utils import logging as hf_logging

    from nstheory.models.texts import _tokenise_corpus

    words = ["a", "b", "c", "d"]
    core = Tokenizer(WordLevel({w: i for i, w in enumerate(["[UNK]", *words])}, "[UNK]"))
    core.pre_tokenizer = Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, model_max_length=4, unk_token="[UNK]")
    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger = hf_logging.get_logger("transformers")
    logger.addHandler(handler)
    try:
        ids = _tokenise_corpus(tok, " ".join(words * 5))
    finally:
        logger.removeHandler(handler)
    assert ids == [1, 2, 3, 4] * 5 and tok.model_max_length == 4
    assert not [m for m in seen if "sequence length is longer" in m], seen


def test_intervals_over_few_inputs_cover_at_their_level():
    # Four inputs (as in a typical run): the interval mean +- q * stderr over inputs must cover
    # the true mean 95% of the time. A normal quantile (1.96) covers ~0.88 here; 2000 replicates
    # put the coverage's standard error at 0.005, so that alternative lies ~10 standard errors
    # below the band checked.
    from nstheory.models.summary import influence_summary

    rng = np.random.default_rng(7)
    reps, k, n, truth = 2000, 4, 3, 2.0
    cover_total = cover_pos = 0
    for _ in range(reps):
        r = influence_summary(truth / n + rng.standard_normal((k, n)), np.eye(k))
        lo, hi = r["total_raw"]["ci95"]
        cover_total += lo <= truth <= hi
        pos = r["per_position"]
        cover_pos += pos["ci95_lo"][0] <= truth / n <= pos["ci95_hi"][0]
    for c in (cover_total, cover_pos):
        assert 0.93 <= c / reps <= 0.97, c / reps


def test_gaussian_influence_refuses_sigma_below_the_rounding_floor():
    # float32 rounding of the forward pass (~eps |f|) dominated the variance at small sigma
    # (on MiniLM 20x too large at sigma = 1e-6 s, silently); float64 moves the floor down
    import torch

    from nstheory.errors import NSTheoryError
    from nstheory.models.functionals import parse_functionals
    from nstheory.models.influence import gaussian_influence
    from nstheory.models.loading import tiny_model

    lm = tiny_model("bert")
    ids = torch.randint(4, 64, (6,), generator=torch.Generator().manual_seed(0))
    fs = parse_functionals("mean", lm.kind)
    s = lm.embedding_scale()
    with pytest.raises(NSTheoryError, match="rounding floor"):
        gaussian_influence(lm, ids, fs, sigma=1e-6 * s)
    assert gaussian_influence(lm, ids, fs, sigma=1e-3 * s, positions=[0])["mean"][0] > 0


def test_centred_total_interval_covers_at_its_level_with_few_inputs():
    # total / Var f with 4 inputs: the percentile bootstrap covered the truth ~69% of the time
    # (resampled duplicates shrink Var f; the interval sat above the truth). 800 replicates put
    # the coverage's standard error at 0.008, so that alternative lies ~28 standard errors
    # below the band checked. f of rank 3 in 64 dimensions (Var f random), gamma totals.
    from nstheory.models.summary import influence_summary

    rng = np.random.default_rng(11)
    reps, k, n, truth = 800, 4, 3, 100.0 / 24.0
    cover = below = 0
    for _ in range(reps):
        basis = rng.standard_normal((64, 3))
        basis *= np.sqrt(24.0 / np.sum(basis**2))
        f = (basis @ rng.standard_normal((3, k))).T
        totals = rng.gamma(4.0, 25.0, size=k)
        lo, hi = influence_summary(np.tile(totals[:, None] / n, (1, n)), f @ f.T,
                                   complete=False)["total_centred_ci95"]
        cover += lo <= truth <= hi
        below += truth < lo
    assert 0.92 <= cover / reps <= 0.98, cover / reps
    assert below / reps <= 0.06, below / reps  # not one-sided


def test_table1_intervals_cover_at_their_level_with_few_inputs():
    # 4 inputs: the paired percentile bootstrap covered (a) I / (T Var f) 65% and the ratio
    # (a)/(b) 80% of the time; 500 replicates put the coverage's standard error at 0.01, so
    # those alternatives lie >= 12 standard errors below the band checked
    from nstheory.models.summary import table1_rows

    rng = np.random.default_rng(5)
    reps, k, T, den = 500, 4, 15, 1 - 0.5**15
    truth = {"a": 100 / (T * 24), "r": (100 / T) / (30 / den)}
    cover = {"a": 0, "r": 0}
    for _ in range(reps):
        basis = rng.standard_normal((64, 3))
        basis *= np.sqrt(24.0 / np.sum(basis**2))
        f = (basis @ rng.standard_normal((3, k))).T
        z = rng.standard_normal(k)
        tot = 100 * np.exp(0.4 * z - 0.08)  # mean 100, correlated with D_rho
        d = 30 * np.exp(0.3 * z + 0.3 * rng.standard_normal(k) - 0.09)  # mean 30
        t = table1_rows(tot, {0.5: d}, f @ f.T, T=T)
        got = {"a": t["sensitivity_bound_centred"]["ci95"],
               "r": t["rho"]["0.5"]["ratio_sensitivity_over_stability"]["ci95"]}
        for key, (lo, hi) in got.items():
            cover[key] += lo <= truth[key] <= hi
    for key, c in cover.items():
        assert 0.92 <= c / reps <= 0.98, (key, c / reps)


def _junta_runs(rng, reps, k, spread):
    """Simulated runs whose inputs share one ranking of 256 positions (the case where the
    junta interval's bounds are least conservative): input x has profile base**g_x, scaled."""
    base = np.sort(rng.gamma(1.0, size=256))[::-1]

    def draw(m):
        g = rng.lognormal(0.0, spread, size=(m, 1))
        p = base[None, :] ** g
        return p / p.sum(axis=1, keepdims=True) * rng.lognormal(0.0, 0.5, size=(m, 1))

    from nstheory.models.summary import shares_to_junta

    truth = shares_to_junta(draw(200_000).mean(axis=0))
    return truth, [draw(k) for _ in range(reps)]


def test_junta_interval_covers_the_population_size_with_few_inputs():
    # The percentile bootstrap it replaces had its upper end at the point estimate and covered
    # the population's junta size 0-24% of the time (an average of 4 noisy profiles
    # overweights its largest entries). 600 runs put a coverage's standard error at <= 0.012:
    # that alternative lies > 50 standard errors below the 0.9 checked. Each end is checked
    # one-sided too: an end that ignored the spread over inputs (a point estimate) misses
    # ~50%.
    from nstheory.models.summary import junta_interval

    rng = np.random.default_rng(7)
    for k in (3, 4):
        truth, runs = _junta_runs(rng, 600, k, 0.6)
        cis = np.array([junta_interval(m) for m in runs])           # (runs, level, 2)
        below = (cis[:, :, 1] < np.array(truth)).mean(axis=0)      # upper end below the truth
        above = (cis[:, :, 0] > np.array(truth)).mean(axis=0)      # lower end above it
        cover = 1 - below - above
        assert np.all(cover >= 0.9), (k, truth, cover)
        assert np.all(below <= 0.08) and np.all(above <= 0.08), (k, below, above)


def test_junta_interval_brackets_the_point_size_and_needs_three_inputs():
    from nstheory.models.summary import junta_interval, shares_to_junta

    rng = np.random.default_rng(3)
    for _ in range(50):
        m = rng.gamma(0.5, size=(int(rng.integers(3, 9)), 40)) * rng.gamma(0.3, size=40)
        size = shares_to_junta(m.mean(axis=0))
        for s, (lo, hi) in zip(size, junta_interval(m), strict=True):
            assert 1 <= lo <= s <= hi <= 40
    with pytest.raises(NSTheoryError, match=">= 3 inputs"):
        junta_interval(np.ones((2, 5)))


def _layer_sums(hx, hy):
    """Per-input sums as ``measured_layers`` keeps them: hx (inputs, n, d), hy (draws, inputs,
    n, d)."""
    hx = np.broadcast_to(hx, hy.shape)
    return {"x": hx.sum(axis=(0, 2)), "y": hy.sum(axis=(0, 2)), "xy": (hx * hy).sum(axis=(0, 2)),
            "xx": (hx * hx).sum(axis=(0, 2)), "yy": (hy * hy).sum(axis=(0, 2)),
            "m": hy.shape[0] * hy.shape[2]}


def test_layer_correlations_from_sums_match_the_direct_formula():
    from nstheory.models.layers import _pooled_corr

    rng = np.random.default_rng(2)
    hx = rng.standard_normal((5, 7, 3)) + np.array([1.0, -2.0, 0.5])
    hy = 0.8 * hx + 0.6 * rng.standard_normal((2, 5, 7, 3))
    s = _layer_sums(hx, hy)
    for idx in (np.arange(5), np.array([0, 2, 4])):
        x, y = np.broadcast_to(hx[idx], hy[:, idx].shape), hy[:, idx]
        unc = (x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum())
        cx, cy = x - x.mean(axis=(0, 1, 2)), y - y.mean(axis=(0, 1, 2))
        cen = (cx * cy).sum() / np.sqrt((cx * cx).sum() * (cy * cy).sum())
        assert _pooled_corr(s, idx, False) == pytest.approx(unc, rel=1e-12)
        assert _pooled_corr(s, idx, True) == pytest.approx(cen, rel=1e-12)


def test_layer_correlation_intervals_cover_the_population_value():
    # Each input has its own correlation r_i ~ U(0.8, 0.95) (what the intervals must carry:
    # the spread over inputs, not over tokens); equal scales make the population value the
    # mean, 0.875. An interval from the token-level spread alone (the alternative) covers
    # < 30% here; 400 runs put the coverage's standard error at 0.011.
    from nstheory.models.layers import _with_intervals

    rng = np.random.default_rng(9)
    reps, k, cover = 400, 4, {"uncentred": 0, "centred": 0}
    for _ in range(reps):
        r = rng.uniform(0.8, 0.95, size=(k, 1, 1))
        hx = rng.standard_normal((k, 64, 8))
        hy = r * hx + np.sqrt(1 - r**2) * rng.standard_normal((2, k, 64, 8))
        out = _with_intervals([_layer_sums(hx, hy)], k)
        for view in cover:
            lo, hi = out[f"{view}_ci95"][0]
            cover[view] += lo <= 0.875 <= hi
    for view, c in cover.items():
        assert 0.9 <= c / reps <= 0.99, (view, c / reps)
