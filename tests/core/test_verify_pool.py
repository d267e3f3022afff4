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
    tasks = [(tmp_path / "fast", 1.0), (tmp_path / "slow", 30.0)]  # both have started

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


def _import_state(k):
    import sys

    return os.getpid(), "json" in sys.modules, k


def test_staggered_start_runs_early_tasks_before_the_preload_and_each_task_once():
    # the early worker is forked before the preload: the marker the preload sets is absent
    # there and present in the workers forked after it; every task runs exactly once
    marker = {}
    done = []

    def preload():
        time.sleep(0.3)
        marker["loaded"] = True

    out = fork_map(lambda k: (os.getpid(), "loaded" in marker, k), list(range(8)), workers=2,
                   preload=preload, early=[0, 1], light=[0, 1, 2],
                   on_done=lambda i, s: done.append(i))
    assert [k for _, _, k in out] == list(range(8)) and sorted(done) == list(range(8))
    early_pids = {out[0][0], out[1][0]}
    assert not out[0][1] and not out[1][1]            # ran while the parent preloaded
    assert all(loaded for pid, loaded, k in out if pid not in early_pids)
    # the early worker only ever takes light tasks; the others run in preloaded workers
    assert all(k in (0, 1, 2) for pid, _, k in out if pid in early_pids)
    assert os.getpid() not in {pid for pid, _, _ in out}


def test_a_task_error_is_raised_in_the_parent_with_its_message():
    def boom(k):
        if k == 3:
            raise ValueError("bad task three")
        return k

    with pytest.raises(NSTheoryError, match="bad task three"):
        fork_map(boom, list(range(6)), workers=2)


def test_a_worker_that_dies_is_reported_not_waited_for():
    def die(k):
        if k == 1:
            os._exit(9)          # a killed worker: no result, no message
        return k

    t0 = time.perf_counter()
    with pytest.raises(NSTheoryError, match="exited before its work was done"):
        fork_map(die, list(range(4)), workers=2)
    assert time.perf_counter() - t0 < 30


def test_early_tasks_fill_the_preload_time_with_torch_free_topics():
    from nstheory.verify_pool import EARLY_SECONDS, early_tasks

    reg = Registry()
    cs = [reg.claim(f"t{i}.c", "s", latex="s", provenance="new") for i in range(5)]
    groups = [[c] for c in cs]
    costs = {c.id: 1.0 for c in cs}
    free = {"t1.c", "t2.c", "t3.c", "t4.c"}
    early, light = early_tasks(groups, [0, 1, 2, 3, 4], costs, free)
    assert light == [1, 2, 3, 4]
    assert early == light[:int(EARLY_SECONDS) + (EARLY_SECONDS % 1 > 0)]
    assert early_tasks(groups, [0, 1, 2, 3, 4], costs, set()) == ([], [])


def test_committed_torch_free_list_names_registered_claims():
    from nstheory.verify import load_claims
    from nstheory.verify_pool import load_torch_free

    free = load_torch_free()
    reg = load_claims()
    assert free and free <= set(reg.claims)


def test_workers_exit_when_the_parent_is_killed(tmp_path):
    """A parent killed outright (no clean-up runs) must not leave workers waiting for work:
    they hold no copy of the parent's pipe ends, so their next read ends."""
    import signal
    import subprocess
    import sys

    script = tmp_path / "run.py"
    pids = tmp_path / "pids"
    script.write_text(
        "import os, sys, time\n"
        "from nstheory.verify_pool import fork_map\n"
        f"def work(k):\n    open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n')\n"
        "    time.sleep(0.2 if k else 5)\n    return k\n"
        "fork_map(work, [0, 1, 2, 3], workers=2)\n")
    proc = subprocess.Popen([sys.executable, str(script)])
    for _ in range(100):
        if pids.exists() and len(set(pids.read_text().split())) >= 2:
            break
        time.sleep(0.1)
    time.sleep(0.5)  # the short tasks are done: one worker waits for more work
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    workers = {int(p) for p in pids.read_text().split()}
    deadline = time.perf_counter() + 90
    alive = set(workers)
    while alive and time.perf_counter() < deadline:
        for pid in list(alive):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                alive.discard(pid)
        time.sleep(0.2)
    for pid in alive:  # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert len(workers) == 2 and not alive
