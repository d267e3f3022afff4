"""Torch models from the description, Monte Carlo per block, and the CLI."""

import json

import pytest
import torch

from nstheory.cli import main
from nstheory.errors import NSTheoryError
from nstheory.propagation.compare import distance_z, layer_table
from nstheory.propagation.model import (
    Act,
    Dense,
    LayerNorm,
    Model,
    attention_stack,
    mlp,
    transformer,
)
from nstheory.propagation.recurrence import point_recurrence
from nstheory.propagation.torch_model import RandomStack, monte_carlo

torch.set_num_threads(1)


def test_random_stack_weight_statistics_and_shapes():
    g = torch.Generator().manual_seed(0)
    m = transformer(2, n_tokens=3)
    st = RandomStack(m, 32, 2, g, "cpu", torch.float64)
    h = torch.randn(2, 5, 3, 32, generator=g, dtype=torch.float64)
    outs = list(st.run_blocks(h))
    assert len(outs) == 2 and outs[-1].shape == (2, 5, 3, 32)
    w = RandomStack(mlp(1, sigma2=2.0), 512, 1, g, "cpu", torch.float64).params[(0, 0)]
    # column norm^2 of N(0, 2/width) weights concentrates on sigma2 = 2
    assert float((w**2).sum(-2).mean()) == pytest.approx(2.0, rel=0.02)


def test_layernorm_torch_matches_rule_definition():
    g = torch.Generator().manual_seed(1)
    st = RandomStack(Model(((Dense(1.0), Act("relu"), LayerNorm()),)), 64, 1, g, "cpu",
                     torch.float64)
    h = next(st.run_blocks(torch.randn(1, 4, 1, 64, generator=g, dtype=torch.float64)))
    assert torch.allclose(h.mean(-1), torch.zeros(1, 4, 1, dtype=torch.float64), atol=1e-12)
    assert torch.allclose((h**2).mean(-1), torch.ones(1, 4, 1, dtype=torch.float64), atol=1e-10)


def test_monte_carlo_is_seeded_and_matches_mean_field_at_depth_1():
    a = monte_carlo(mlp(1), 0.5, width=128, n_nets=8, per_net=100, seed=3)
    b = monte_carlo(mlp(1), 0.5, width=128, n_nets=8, per_net=100, seed=3)
    assert a[0].mean == b[0].mean
    theory = point_recurrence(mlp(1), 0.5)[1].C
    assert abs(a[0].mean - theory) <= 4 * a[0].stderr


@pytest.mark.parametrize("model", [
    transformer(2, "random", n_tokens=4, residual=True, layernorm=True),
    attention_stack(2, "lowrank", gamma2=0.9, n_tokens=4),
    mlp(3, act="tanh", sigma2=1.5),
], ids=["transformer-random", "attention-lowrank", "tanh-mlp"])
def test_projected_sampler_has_the_law_of_drawn_weights(model):
    # independent networks from each sampler (width 16; 8 rows per network: projected path;
    # the width-6 run takes the fallback that draws the weights): per block the means of C and
    # Q agree within 4.5 two-sample standard errors. Power: the standard error is below 3% of
    # Q, so a 10% error in a weight's scale (21% in Q at its layer) would sit >= 7 errors off
    # (detected with probability >= 0.99).
    for width in (16, 6):
        kw = dict(width=width, n_nets=8000, per_net=1, seed=5, chunk=500, with_q=True,
                  dtype="float64")
        a = monte_carlo(model, 0.6, **kw)
        b = monte_carlo(model, 0.6, sampler="projected", **{**kw, "seed": 6})
        for (ca, qa), (cb, qb) in zip(a, b, strict=True):
            for x, y in ((ca, cb), (qa, qb)):
                se = (x.stderr**2 + y.stderr**2) ** 0.5
                assert abs(x.mean - y.mean) < 4.5 * se, (width, x.mean, y.mean, se)
            assert se < 0.03 * qa.mean


def test_cli_projected_sampler(capsys):
    # the option reaches both Monte Carlo routes and is reported; the certified interval still
    # meets the projected sampler's CI at every layer
    rc = main(["propagate", "--arch", "mlp", "--depth", "3", "--rho", "0.9", "--mc-samples",
               "2000", "--per-net", "20", "--width", "128", "--json", "--device", "cpu",
               "--sampler", "projected"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["mc_sampler"] == "projected" and out["all_contained"]
    assert out["mc_device"].startswith("cpu")  # seeded streams differ by device: reported
    rc = main(["propagate", "--arch", "mlp", "--depth", "3", "--rho", "0.9", "--mc-samples",
               "2000", "--per-net", "20", "--width", "128", "--device", "cpu", "--sampler",
               "projected", "--finite-width"])
    assert rc == 0 and "projected sampler" in capsys.readouterr().out


def test_cli_work_limit_counts_the_sampler(capsys):
    big = ["propagate", "--depth", "1000", "--width", "4096", "--mc-samples", "1000000",
           "--per-net", "20"]
    assert main(big) == 2
    assert "width 4096 x 4096" in capsys.readouterr().err
    assert main([*big, "--sampler", "projected"]) == 2  # 40 rows per network: still too much
    assert "width 4096 x 40 " in capsys.readouterr().err


def test_projected_sampler_errors():
    with pytest.raises(NSTheoryError, match="sampler"):
        monte_carlo(mlp(1), 0.5, width=8, n_nets=2, sampler="gram")


def test_layer_table_contains_mc_small_models():
    for model in (mlp(4), attention_stack(3, gamma2=0.9, pattern_slack=0.05),
                  transformer(2, pattern_slack=0.02)):
        rows = layer_table(model, 0.7, mc_samples=1200, width=128, per_net=60, seed=2)
        assert all(r.contained for r in rows), [(r.layer, r.z) for r in rows]
        assert all(r.tightness is not None and r.tightness >= 0 for r in rows)


def test_distance_z():
    assert distance_z(0.0, 1.0, 0.5, 0.1) == 0.0
    assert distance_z(0.0, 1.0, -0.2, 0.1) == pytest.approx(-2.0)


def test_cli_json(capsys):
    rc = main(["propagate", "--arch", "mlp", "--depth", "3", "--rho", "0.9", "--mc-samples", "400",
               "--per-net", "50", "--width", "64", "--json", "--device", "cpu"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["layers"]) == 3
    for row in out["layers"]:
        assert isinstance(row["lo"], str) and isinstance(row["hi"], str)
        assert float(row["lo"]) <= float(row["hi"])
        assert row["mc_stderr"] > 0 and "mc_mean" in row


def test_cli_table_and_errors(capsys):
    assert main(["propagate", "--arch", "transformer", "--depth", "2", "--residual",
                 "--layernorm"]) == 0
    assert "interval" in capsys.readouterr().out
    assert main(["propagate", "--depth", "0"]) == 2
    assert main(["propagate", "--rho", "1.5"]) == 2
    assert main(["propagate", "--mc-samples", "10"]) == 2


@pytest.mark.slow
def test_cli_done_criterion(capsys):
    """The issue's acceptance command: every layer's MC estimate inside its interval."""
    rc = main(["propagate", "--arch", "mlp", "--depth", "20", "--rho", "0.9", "--mc-samples",
               "20000", "--json", "--device", "cpu"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["all_contained"] is True
    assert all(r["contained"] for r in out["layers"])


def test_statedict_readers():
    from nstheory.errors import NSTheoryError
    from nstheory.propagation.statedict import attention_stats, mlp_from_state_dict

    g = torch.Generator().manual_seed(0)
    d = 64
    net = torch.nn.Sequential(torch.nn.Linear(d, d, bias=False), torch.nn.ReLU(),
                              torch.nn.Linear(d, d, bias=False))
    with torch.no_grad():
        for lin in (net[0], net[2]):
            lin.weight.copy_(torch.randn(d, d, generator=g) * (2 / d) ** 0.5)
    m = mlp_from_state_dict(net.state_dict())
    assert m.depth == 2 and m.blocks[0][0].sigma2 == pytest.approx(2.0, rel=0.1)
    rnd = attention_stats(torch.randn(d, d, generator=g), torch.eye(d), torch.randn(d, d) / 8)
    assert rnd["mode"] == "random" and rnd["gamma2_mean"] == pytest.approx(1.0, rel=0.2)
    U = torch.randn(d, 4, generator=g)
    assert attention_stats(U, U, torch.eye(d))["mode"] == "lowrank"
    with pytest.raises(NSTheoryError, match="non-zero biases"):
        mlp_from_state_dict({"0.weight": torch.eye(3), "0.bias": torch.ones(3)})


def test_cli_state_dict_intervals(tmp_path, capsys):
    # a trained-weights MLP: intervals from its weight statistics, which for rows rescaled to
    # squared norm 2 (up to float32 rounding) must match the --sigma2 2 description's intervals
    import json

    import torch

    from nstheory.cli import main

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(16, 16, bias=False), torch.nn.ReLU(),
                              torch.nn.Linear(16, 16, bias=False), torch.nn.ReLU())
    with torch.no_grad():
        for lin in (net[0], net[2]):
            lin.weight.mul_((2.0 / (lin.weight**2).sum(dim=1, keepdim=True)).sqrt())
    path = tmp_path / "mlp.pt"
    torch.save(net.state_dict(), path)
    assert main(["propagate", "--state-dict", str(path), "--rho", "0.5", "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)["layers"]
    assert main(["propagate", "--depth", "2", "--rho", "0.5", "--sigma2", "2", "--json"]) == 0
    random = json.loads(capsys.readouterr().out)["layers"]
    assert len(trained) == 2
    for a, b in zip(trained, random, strict=True):
        assert abs(float(a["lo"]) - float(b["lo"])) < 1e-6 * abs(float(b["lo"]))
        assert float(a["lo"]) <= float(a["hi"])
    assert main(["propagate", "--state-dict", str(path), "--mc-samples", "400"]) == 2


def test_monte_carlo_memory_guard():
    # 4096 tokens x 100 inputs per network: ~45 GB of scores (was: an allocator traceback or
    # the kernel's OOM killer); the stored studies' configurations keep their chunking
    from nstheory.errors import NSTheoryError
    from nstheory.propagation import torch_model
    from nstheory.propagation.model import attention_stack, transformer

    with pytest.raises(NSTheoryError, match="lower the inputs per network"):
        torch_model.monte_carlo(attention_stack(1, "random", n_tokens=4096, d=256), 0.5,
                                per_net=100)
    assert torch_model._memory_chunk(transformer(2, n_tokens=4), 1024, 500, 8) == 8
    assert torch_model._memory_chunk(attention_stack(1, n_tokens=4096), 16, 2, 8) == 4
    # width 16384: two 1 GB weight matrices per network with the weights sampler, none with the
    # projected one (was: an allocator traceback)
    from nstheory.propagation.model import mlp

    with pytest.raises(NSTheoryError, match="projected sampler"):
        torch_model._memory_chunk(mlp(3), 16384, 100, 8)  # three 1 GB matrices and a temporary
    assert torch_model._memory_chunk(mlp(3), 16384, 100, 8, projected=True) == 3
    assert torch_model._memory_chunk(mlp(3), 4096, 100, 8) == 8


def test_text_legend_says_whether_monte_carlo_ran(capsys):
    # the "no Monte Carlo run" legend appeared under a table that had Monte Carlo columns
    from nstheory.cli import main

    assert main(["propagate", "--depth", "1", "--mc-samples", "400", "--width", "16"]) == 0
    text = capsys.readouterr().out
    assert "MC mean ± SE" in text and "no Monte Carlo run" not in text
    assert main(["propagate", "--depth", "1"]) == 0
    assert "no Monte Carlo run" in capsys.readouterr().out


def test_state_dict_refuses_what_the_rules_do_not_model(tmp_path, capsys):
    # a LayerNorm's 1-D weight was skipped silently (layer 1 27x off the network's Monte
    # Carlo) and an embedding table read as a Dense layer; --finite-width used --width, not the
    # network's widths
    from nstheory.cli import main
    from nstheory.errors import NSTheoryError
    from nstheory.propagation.statedict import mlp_from_state_dict

    ln = torch.nn.Sequential(torch.nn.Linear(8, 16, bias=False), torch.nn.LayerNorm(16),
                             torch.nn.ReLU(), torch.nn.Linear(16, 4, bias=False))
    with pytest.raises(NSTheoryError, match="only Linear layers"):
        mlp_from_state_dict(ln.state_dict())
    emb = torch.nn.Sequential(torch.nn.Embedding(100, 8), torch.nn.Linear(8, 8, bias=False))
    with pytest.raises(NSTheoryError, match="does not follow"):
        mlp_from_state_dict(emb.state_dict())
    ok = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    with torch.no_grad():
        ok[0].bias.zero_()
        ok[2].bias.zero_()
    assert mlp_from_state_dict(ok.state_dict()).depth == 2
    path = tmp_path / "ok.pt"
    torch.save(ok.state_dict(), path)
    assert main(["propagate", "--state-dict", str(path), "--finite-width"]) == 2
    assert "--finite-width" in capsys.readouterr().err
    assert main(["propagate", "--state-dict", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert "not the trained network's own value" in out
