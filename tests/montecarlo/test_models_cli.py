"""Model builders, tasks, the comparison summary, and the CLI."""

from __future__ import annotations

import json

import pytest
import torch

from nstheory.cli import main
from nstheory.errors import NSTheoryError
from nstheory.montecarlo.comparison import run_one, summarize, t_interval
from nstheory.montecarlo.datasets import boolean_task, digits_task, sparse_token_task
from nstheory.montecarlo.models import ARCHS, build_model, count_params

torch.set_num_threads(1)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("kind", ["image", "tokens"])
def test_matched_budgets_and_shapes(arch, kind):
    kw = {"image_shape": (1, 8, 8)} if kind == "image" else {"vocab": 20, "seq_len": 16}
    m = build_model(arch, kind, 3, budget=12000, seed=0, **kw)
    assert abs(count_params(m) - 12000) / 12000 < 0.15
    x = torch.zeros(2, 1, 8, 8) if kind == "image" else torch.zeros(2, 16, dtype=torch.long)
    assert m(x).shape == (2, 3)
    e = m.tokens_of(x)
    assert torch.equal(m.forward_embedded(e), m(x))  # the perturbation point is faithful


def test_build_model_errors():
    with pytest.raises(NSTheoryError):
        build_model("rnn", "tokens", 2, vocab=3, seq_len=4)
    with pytest.raises(NSTheoryError):
        build_model("mlp", "tokens", 2)
    with pytest.raises(NSTheoryError):
        build_model("mlp", "image", 2, image_shape=(1, 7, 7))


def test_tasks_are_seeded_and_labelled():
    a, b = sparse_token_task(seed=1), sparse_token_task(seed=1)
    assert torch.equal(a.x_train, b.x_train)
    assert int(a.x_train.max()) < a.meta["vocab"]
    # every sequence holds exactly one sparse token of its class
    sparse = a.x_train >= a.meta["n_frequent"]
    assert bool((sparse.sum(1) == 1).all())
    cls = (a.x_train[sparse] - a.meta["n_frequent"]) // (a.meta["n_sparse"] // 2)
    assert torch.equal(cls, a.y_train)
    t = boolean_task(n=6, n_train=40)
    pm = t.x_train * 2 - 1
    assert torch.equal(t.y_train, (pm[:, :3].sum(1) > 0).long())
    d = digits_task()
    assert d.x_train.min() >= -1 and d.x_train.max() <= 1 and d.n_classes == 10


def test_run_one_and_summary():
    runs = [run_one({"task": "sparse-token", "arch": a, "seed": s, "epochs": 1, "budget": 3000})
            for a in ("mlp", "transformer") for s in (0, 1)]
    assert runs[0] == {**runs[0]}  # plain dict
    s = summarize(runs)["sparse-token"]
    assert set(s["archs"]) == {"mlp", "transformer"} and "mlp" in s["vs_transformer"]
    # the seed-paired difference, recomputed here from the per-run rates
    rate = {(r["arch"], r["seed"]): r["sensitivity"]["rate"] for r in runs}
    paired = [rate["mlp", k] - rate["transformer", k] for k in (0, 1)]
    assert s["vs_transformer"]["mlp"]["mean"] == pytest.approx(sum(paired) / 2, abs=1e-15)
    assert s["archs"]["mlp"]["per_seed"] == [rate["mlp", 0], rate["mlp", 1]]
    assert len(s["archs"]["mlp"]["embedding_profile"]) == 16
    ti = t_interval([1.0, 2.0, 3.0])
    assert ti["mean"] == 2.0 and ti["ci95"][0] < 2.0 < ti["ci95"][1]


def test_cli_stab_relu_json(capsys):
    rc = main(["mc", "stab", "--model", "relu", "--rho", "0.5", "--n", "200000", "--antithetic",
               "--cv-degree", "4", "--json", "--seed", "3"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seed"] == 3 and out["vrf"] > 10
    kappa = 0.30449889052211465
    assert abs(out["reduced"]["mean"] - kappa) < 4 * out["reduced"]["stderr"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_cli_user_model_and_sensitivity(tmp_path, capsys):
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    p = tmp_path / "net.pt"
    torch.save(net, p)
    assert main(["mc", "stab", "--model-file", str(p), "--input-shape", "1,8,8", "--n", "2000",
                 "--json", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["space"] == "input" and 0 < out["raw"]["mean"] <= 1
    ts = tmp_path / "net.ts"
    torch.jit.script(net).save(str(ts))
    assert main(["sensitivity", "model", "--model-file", str(ts), "--task", "digits",
                 "--variant", "scattered", "--max-points", "200", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["variant"] == "scattered" and out["overall"]["n"] == 200 * 2


def test_cli_bad_input_is_a_clear_error(capsys):
    assert main(["mc", "stab", "--rho", "1.5"]) == 2
    assert "rho" in capsys.readouterr().err
    assert main(["mc", "stab", "--model-file", "/nonexistent.pt", "--input-shape", "3"]) == 2
    assert main(["sensitivity", "compare", "--tasks", "cifar"]) == 2
