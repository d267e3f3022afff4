"""Optional: a training study on a local (loopback) Ray instance gives exactly the serial runs."""

from __future__ import annotations

import pytest

from nstheory.training.config import preset
from nstheory.training.study import run_study

pytestmark = pytest.mark.ray


def _comparable(res):
    drop = {"wall_s", "device"}
    return sorted(((r["arm"], r["seed"], r["trajectory"],
                    {k: v for k, v in r["summary"].items() if k not in drop})
                   for r in res["runs"]), key=lambda t: (t[0], t[1]))


def test_ray_study_matches_serial(tmp_path):
    pytest.importorskip("ray")
    base = preset("tiny", steps=12)
    ray_res = run_study(base, [0, 1], tmp_path / "ray", executor="ray", workers=2, threads=1)
    serial = run_study(base, [0, 1], tmp_path / "serial", executor="serial", threads=1)
    assert len(ray_res["runs"]) == 4
    assert _comparable(ray_res) == _comparable(serial)
