"""The parallel verify runner: forked workers, order, scheduling, --jobs validation, and the
same report from one process and from the pool."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from nstheory.claims import Registry, Status, compare_exact
from nstheory.cli import main
from nstheory.errors import NSTheoryError
from nstheory.verify_pool import (
    claim_groups,
    fork_map,
    load_costs,
    parse_jobs,
    resolve_jobs,
    schedule,
)


def _pid_and_square(k):
    return os.getpid(), k * k


def test_fork_map_keeps_task_order_and_uses_other_processes():
    out = fork_map(_pid_and_square, list(range(12)), workers=2, order=list(range(11, -1, -1)))
    assert [v for _, v in out] == [k * k for k in range(12)]
    assert os.getpid() not in {p for p, _ in out}


def test_fork_map_accepts_unpicklable_tasks_and_reports_each_task_once():
    done = []
    tasks = [lambda k=k: k + 1 for k in range(5)]   # lambdas: inherited by fork, not pickled
    out = fork_map(lambda f: f(), tasks, workers=2, on_done=lambda i, s: done.append(i))
    assert out == [1, 2, 3, 4, 5] and sorted(done) == [0, 1, 2, 3, 4]


def test_fork_map_rejects_an_order_that_is_not_a_permutation():
    with pytest.raises(NSTheoryError, match="permutation"):
        fork_map(abs, [1, 2], workers=2, order=[0, 0])


@pytest.mark.parametrize("bad", ["0", "65", "-1", "nan", "inf", "", "1.5", "two"])
def test_parse_jobs_rejects_bad_values(bad):
    with pytest.raises(NSTheoryError, match="--jobs must be 'auto' or an integer in"):
        parse_jobs(bad)


def test_resolve_jobs_never_exceeds_tasks_or_cores():
    assert resolve_jobs("auto", 1) == 1
    assert resolve_jobs("64", 3) == 3
    assert 1 <= resolve_jobs("auto", 1000) <= os.cpu_count()


def test_cli_rejects_bad_jobs_with_exit_2(capsys):
    assert main(["verify", "--jobs", "0", "--claims", "boolean.majority.maj3"]) == 2
    assert "--jobs must be 'auto'" in capsys.readouterr().err


def test_schedule_puts_recorded_long_claims_first_then_unrecorded_by_weight():
    reg = Registry()
    cs = [reg.claim(f"t.c{i}", "s", latex="s", provenance="new", fast=i != 2) for i in range(4)]
    groups = [[c] for c in cs]
    order = schedule(groups, {"t.c0": 0.1, "t.c3": 50.0})
    assert order[0] == 3 and order[1] == 2          # 50 s recorded, then the non-fast guess
    assert sorted(order) == [0, 1, 2, 3]
    assert schedule(groups, {}) == schedule(groups, {})     # deterministic
    assert schedule([cs[:2], cs[2:]], {"t.c0": 9.0, "t.c3": 1.0}) == [0, 1]  # sums per group


def test_claims_of_a_topic_share_a_worker():
    from nstheory.verify import load_claims

    claims = load_claims().select()
    groups = claim_groups(claims)
    assert sorted(i for g in groups for i in g) == list(range(len(claims)))
    for g in groups:
        assert len({".".join(claims[i].id.split(".")[:2]) for i in g}) == 1


def test_load_costs_ignores_corrupt_files(tmp_path):
    p = tmp_path / "c.json"
    p.write_text("{not json")
    assert load_costs(p) == {}
    p.write_text(json.dumps({"a.b": 1.5, "c.d": "x"}))
    assert load_costs(p) == {"a.b": 1.5}


def test_committed_costs_name_registered_claims():
    from nstheory.verify import load_claims

    costs = load_costs()
    reg = load_claims()
    assert costs and set(costs) <= set(reg.claims) | set(costs)  # hints, never required
    assert all(v >= 0 for v in costs.values())


def test_pool_and_one_process_give_the_same_report(tmp_path):
    pats = ["boolean.majority.maj3", "boolean.majority.total_influence", "boolean.lemma1.*",
            "boolean.parity.*", "boolean.dictator.*"]
    reports = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"r{jobs}.json"
        assert main(["verify", "--jobs", jobs, "--json", str(out), "--claims", *pats]) == 0
        reports[jobs] = json.loads(out.read_text())

    def strip(report):  # timings differ; a z-score may move in its last bits (thread count)
        return [{**c, "checks": [{k: (round(v, 9) if k == "z" and v is not None else v)
                                  for k, v in r.items() if k not in ("seconds", "cpu_seconds")}
                                 for r in c["checks"]]}
                for c in report["claims"]]

    assert strip(reports["1"]) == strip(reports["2"])
    assert len(reports["1"]["claims"]) >= 5


def test_a_check_error_in_a_worker_is_reported_not_raised():
    from nstheory.verify_pool import fork_map as fm

    reg = Registry()
    c = reg.claim("t.err", "s", latex="s", provenance="new")
    c.check("exact-enumeration", uses=("x",))(lambda: 1 / 0)
    d = reg.claim("t.ok", "s", latex="s", provenance="new")
    d.check("exact-enumeration", uses=("x",))(lambda: compare_exact("1", 1, "1", 1))
    from nstheory.claims import run_claim

    res = fm(lambda cl: run_claim(cl).results, [c, d], workers=2)
    assert res[0][0].status == Status.ERROR and "ZeroDivisionError" in res[0][0].note
    assert res[1][0].status == Status.VERIFIED


def _pid_then_wait(task):
    path, delay = task
    Path(path).write_text(str(os.getpid()))
    time.sleep(delay)
    return delay


def test_no_worker_outlives_an_interrupted_map(tmp_path):
    """An exception in the parent mid-map (as a signal's would be) leaves no worker running:
    a leaked worker holds the caller's stdout open and keeps a CI pipeline waiting."""
    tasks = [(tmp_path / "fast", 0.0), (tmp_path / "slow", 30.0)]

    def stop(i, secs):
        raise KeyboardInterrupt("stop after the first result")

    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        fork_map(_pid_then_wait, tasks, workers=2, order=[0, 1], on_done=stop)
    assert time.perf_counter() - t0 < 20  # did not wait for the 30 s task
    for name in ("fast", "slow"):
        pid = int((tmp_path / name).read_text())
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"worker {pid} still alive after the map was interrupted")
