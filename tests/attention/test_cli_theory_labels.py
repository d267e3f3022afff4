"""What `attention stab` and `attention s --sigma` print beside their numbers: the d -> infinity
value of the scale asked for (1/d logits do not harden, so Theorems 5.2 / 5.3's hard limits
were printed for them by mistake), and which route a printed S_n(sigma, r) came from."""

from __future__ import annotations

import json
import math

from nstheory.cli import main


def _stab_json(capsys, *extra):
    assert main(["attention", "stab", "--n", "4", "--d", "64", "--rho", "0.5", "--samples",
                 "2000", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)["theory"]


def test_identity_linear_scale_prints_the_soft_limit(capsys):
    th = _stab_json(capsys, "--mode", "identity", "--scale", "linear")
    (key, value), = th.items()
    e = math.e   # row -> (e, 1, 1, 1)/(e + 3): rho * sum a_l^2, typed here
    assert "1/d logits" in key and math.isclose(value, 0.5 * (e * e + 3) / (e + 3) ** 2,
                                                rel_tol=1e-12)
    th = _stab_json(capsys, "--mode", "identity")           # 1/sqrt(d): the hard limit rho
    assert th == {"thm5.2_limit rho*||v||^2 (d->inf)": 0.5}


def test_random_linear_scale_prints_the_unit_spread_pattern_moment(capsys):
    th = _stab_json(capsys, "--mode", "random", "--scale", "linear", "--cq-points", "64",
                    "--cq-replicates", "2")
    assert not any(k.startswith("thm5.3") for k in th)
    key = next(k for k in th if "1/d logits" in k)
    # S_4(1, 1/4) = E sum_k softmax(G)_k softmax(G')_k by a Monte Carlo written here
    import numpy as np

    rng = np.random.default_rng(0)
    g = rng.standard_normal((400_000, 4))
    h = 0.25 * g + math.sqrt(1 - 0.0625) * rng.standard_normal((400_000, 4))
    p = np.exp(g) / np.exp(g).sum(1, keepdims=True)
    q = np.exp(h) / np.exp(h).sum(1, keepdims=True)
    s = (p * q).sum(1)
    assert abs(th[key] - 0.5 * s.mean()) < 5 * 0.5 * s.std() / math.sqrt(s.size)


def test_sigma_consistency_says_which_route_its_value_came_from(capsys):
    # the float lattice is refused here: the value printed was the Mehler bracket's midpoint,
    # 0.19 from the truth, labelled a lattice quadrature
    assert main(["attention", "s", "--n", "4", "--r", "0.999999", "--sigma", "64",
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    lo, hi = float(r["certified"]["lo"]), float(r["certified"]["hi"])
    assert lo <= r["value"] <= hi and r["method"].startswith("certified ball's midpoint")
