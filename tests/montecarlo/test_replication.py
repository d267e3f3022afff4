"""The separately written architecture-sensitivity replication (proofs_check.replication)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from nstheory.claims import compare_z
from nstheory.errors import NSTheoryError
from proofs_check.replication import arch_models as M
from proofs_check.replication import arch_sensitivity as A

STUDY = Path(__file__).resolve().parents[2] / "proofs_check" / "data" / \
    "replication_arch_sensitivity.json"


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@pytest.mark.parametrize("kind,shape", [("tokens", (4, 3)), ("image", (1, 4, 4))])
def test_antithetic_estimator_matches_closed_form_of_a_linear_rule(kind, shape):
    # label = [w.z + b > 0]; Gaussian noise sigma*eps on site k moves the margin m by
    # sigma * w_k.eps ~ N(0, sigma^2 |w_k|^2), so it flips with probability
    # Phi(-|m| / (sigma |w_k|)) -- averaged over inputs and sites in closed form.
    g = torch.Generator().manual_seed(3)
    B, sigma = 2000, 0.7
    z = torch.randn((B, *shape), generator=g, dtype=torch.float64)
    w = torch.randn(shape, generator=g, dtype=torch.float64)
    b = 0.3
    masks = M.site_masks(kind, shape, patch=2).double()

    def predict(v):
        m = (v * w).flatten(1).sum(1) + b
        return torch.stack([torch.zeros_like(m), m], 1)

    margin = (z * w).flatten(1).sum(1) + b
    exact = sum(_phi(-abs(float(mi)) / (sigma * float((w * mk).norm())))
                for mk in masks for mi in margin) / (B * masks.shape[0])
    r = M.antithetic_flips(predict, z, masks, sigma, torch.Generator().manual_seed(11))
    res = compare_z("antithetic flip rate", r["rate"], r["stderr"], B * masks.shape[0],
                    "closed form", exact, alternative="an estimator bias of 0.02",
                    effect=0.02)
    assert str(res.status) == "verified", res.quantities
    assert res.power >= 0.9
    # a linear margin moves by +d and -d on the two draws of a pair: never both flip
    assert r["both_flipped"] == 0
    assert sum(r["flips"]) == round(r["rate"] * 2 * B * masks.shape[0])


def test_estimator_sees_only_the_noised_site():
    # a rule reading only site 2: the other sites never flip, exactly
    z = torch.zeros(50, 4, 2)

    def predict(v):
        return torch.stack([torch.zeros(v.shape[0]), v[:, 2, 0]], 1)

    r = M.antithetic_flips(predict, z, M.site_masks("tokens", (4, 2)), 1.0,
                           torch.Generator().manual_seed(0))
    assert r["flips"][0] == r["flips"][1] == r["flips"][3] == 0
    assert r["flips"][2] == r["pairs"]  # at margin 0 exactly one draw of each pair flips


def test_gate_by_gate_lstm_matches_torch_lstm():
    torch.manual_seed(0)
    mine = M.LSTMReader(5, 7, 2).double()
    ref = torch.nn.LSTM(5, 7, batch_first=True).double()
    with torch.no_grad():
        ref.weight_ih_l0.copy_(mine.gates_x.weight)
        ref.bias_ih_l0.copy_(mine.gates_x.bias)
        ref.weight_hh_l0.copy_(mine.gates_h.weight)
        ref.bias_hh_l0.zero_()
        x = torch.randn(4, 9, 5, dtype=torch.float64)
        _, (h, _) = ref(x)
        assert torch.allclose(mine.final_state(x), h[0], atol=1e-12)


def test_attention_matches_torch_multihead_attention():
    torch.manual_seed(1)
    blk = M.AttentionBlock(8, 2).double()
    ref = torch.nn.MultiheadAttention(8, 2, batch_first=True).double()
    with torch.no_grad():
        ref.in_proj_weight.copy_(blk.qkv.weight)
        ref.in_proj_bias.copy_(blk.qkv.bias)
        ref.out_proj.weight.copy_(blk.out.weight)
        ref.out_proj.bias.copy_(blk.out.bias)
        x = torch.randn(3, 6, 8, dtype=torch.float64)
        assert torch.allclose(blk.attend(x), ref(x, x, x, need_weights=False)[0], atol=1e-12)


@pytest.mark.parametrize("task", A.TASKS)
def test_parameter_budgets_are_matched(task):
    # the claim compares architectures at matched budgets: within 15 % of the budget
    kind, shape, classes = (("image", {"image_hw": 8}, 10) if task == "digits" else
                            ("tokens", {"vocab": 2000, "seq_len": 16}, 6))
    budget = A.CONFIG[task]["budget"]
    for arch in A.ARCHS:
        w, p = M.matched_width(arch, kind, budget, classes, **shape)
        assert p == M.n_params(M.build(arch, kind, w, classes, **shape))
        assert abs(p - budget) <= 0.15 * budget, (arch, p)


def test_seed_power_against_the_exact_noncentral_t_power():
    # exact power of the one-sided t-test: P(T > t_crit), T ~ noncentral t(n-1, effect
    # sqrt(n)/sd); the normal approximation used for planning must be within 0.03
    from scipy.stats import nct
    from scipy.stats import t as student_t

    for n, ratio in ((5, 1.5), (13, 1.0), (40, 0.5)):
        exact = float(nct.sf(student_t.ppf(0.975, n - 1), n - 1, ratio * math.sqrt(n)))
        assert abs(A.seed_power(ratio, 1.0, n) - exact) < 0.03, (n, exact)


def test_t_summary_against_table_quantile():
    s = A.t_summary([0.0, 1.0, 2.0])
    assert abs(s["t_crit"] - 4.302653) < 1e-6  # t_{2, 0.975} from statistical tables
    assert s["sd"] == 1.0 and abs(s["ci95"][1] - (1 + 4.302653 / math.sqrt(3))) < 1e-6
    with pytest.raises(NSTheoryError, match="2 seeds"):
        A.t_summary([1.0])


@pytest.mark.parametrize("argv,match", [
    (["--tasks", ""], "--tasks is empty"),
    (["--archs", "rnn"], "--archs must be one of"),
    (["--seeds", "x"], "--seeds"),
    (["--forget-bias-variant-seeds", "1-"], "--forget-bias-variant-seeds"),
])
def test_command_validates_arguments(argv, match):
    with pytest.raises(NSTheoryError, match=match):
        A.main(argv)


def test_command_refuses_to_overwrite(tmp_path):
    out = tmp_path / "s.json"
    out.write_text("{}")
    with pytest.raises(NSTheoryError, match="--force"):
        A.main(["--tasks", "digits", "--seeds", "0", "--out", str(out)])


def test_stored_seed_reproduces_bit_for_bit():
    # rerun one stored run (digits, MLP, seed 0) with the stored configuration
    stored = {r["key"]: r for r in json.loads(STUDY.read_text())["runs"]}["digits/mlp/0"]
    r = A.run_one("digits", "mlp", 0, stored["config"])
    assert r["flips"] == stored["flips"]
    assert (r["train_acc"], r["params"]) == (stored["train_acc"], stored["params"])


def test_replication_modules_doctests():
    import doctest

    for mod in (M, A):
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert res.failed == 0 and res.attempted > 5, (mod.__name__, res)
