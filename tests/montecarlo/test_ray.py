"""Optional: a sweep on a local (loopback) Ray instance merges identically to the serial run."""

from __future__ import annotations

import pytest

from nstheory.executor import get_executor
from nstheory.montecarlo.chunks import run_chunked

pytestmark = pytest.mark.ray


def _relu_chunk(index: int, seed: int):
    from nstheory.montecarlo.chunks import chunk_generator
    from nstheory.montecarlo.variance import relu_map_mc

    return relu_map_mc(0.3, 4000, generator=chunk_generator(seed), antithetic=True, cv_degree=2)


def _sweep_point(rho: float):
    import torch

    from nstheory.montecarlo.variance import relu_map_mc

    return relu_map_mc(rho, 2000, generator=torch.Generator().manual_seed(1)).plain


def test_ray_sweep_matches_serial():
    pytest.importorskip("ray")
    ex = get_executor("ray", workers=2)
    try:
        merged = run_chunked(_relu_chunk, 5, 4, ex)
        sweep = ex.map(_sweep_point, [0.0, 0.5, 0.9])
    finally:
        ex.shutdown()
    serial = run_chunked(_relu_chunk, 5, 4, get_executor("serial"))
    assert merged.reduced == serial.reduced and merged.plain == serial.plain
    assert sweep == [_sweep_point(r) for r in (0.0, 0.5, 0.9)]


def test_ray_architecture_study_matches_serial():
    pytest.importorskip("ray")
    from nstheory.montecarlo.comparison import run_study

    grid = (["boolean"], ["mlp", "transformer"], [0])
    ex = get_executor("ray", workers=2)
    try:
        on_ray = run_study(*grid, executor=ex, overrides={"epochs": 2})
    finally:
        ex.shutdown()
    serial = run_study(*grid, overrides={"epochs": 2})
    assert len(on_ray["runs"]) == 2 and all("sensitivity" in r for r in on_ray["runs"])
    strip = ("seconds", "wall_s")
    assert [{k: v for k, v in r.items() if k not in strip} for r in on_ray["runs"]] == \
        [{k: v for k, v in r.items() if k not in strip} for r in serial["runs"]]
