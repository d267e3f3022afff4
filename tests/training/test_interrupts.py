"""Interrupts and concurrent runs: Ctrl-C / SIGTERM stop a process pool at once (no worker
keeps running), one process per training run directory, atomic checkpoints, and a run whose
data fail leaves no config behind."""

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch

from nstheory.errors import NSTheoryError
from nstheory.executor import ProcessExecutor, SerialExecutor, sigterm_as_interrupt
from nstheory.store import exclusive_lock
from nstheory.training import loop
from nstheory.training.config import preset
from nstheory.training.loop import train

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state != "Z"


@posix_only
def test_interrupt_in_the_parent_stops_the_pool_at_once():
    """Ctrl-C while ``ProcessExecutor.map`` waits: the queued tasks are cancelled and the
    workers terminated before the KeyboardInterrupt propagates (the stdlib's shutdown would
    have waited for every queued task: 4 x 20 s here)."""
    before = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
    t0 = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            ProcessExecutor(workers=2).map(time.sleep, [20] * 4)
    finally:
        timer.cancel()
    assert time.monotonic() - t0 < 10
    assert mp.active_children() == []
    assert signal.getsignal(signal.SIGTERM) is before  # restored


def test_a_failing_task_cancels_the_queue():
    """A task's exception is raised without running the rest of the queue (as the serial
    executor stops at the first failure); at most the calls already handed to the worker
    run."""
    t0 = time.monotonic()
    with pytest.raises(ValueError, match="non-negative"):
        ProcessExecutor(workers=1).map(time.sleep, [-1] + [2] * 6)
    assert time.monotonic() - t0 < 8  # not 12 s
    assert mp.active_children() == []


_JOB = textwrap.dedent("""
    import os, sys, time
    from nstheory.executor import ProcessExecutor

    def task(i):
        here = os.path.dirname(os.path.abspath(__file__))
        open(os.path.join(here, f"{os.getpid()}.pid"), "w").close()
        time.sleep(30)
        return i

    if __name__ == "__main__":
        try:
            ProcessExecutor(workers=2).map(task, range(6))
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
""")


@posix_only
@pytest.mark.parametrize("how", ["sigterm-to-parent", "sigint-to-group"])
def test_signalled_parent_leaves_no_worker_running(tmp_path, how):
    """``kill PID`` (SIGTERM to the parent alone) and Ctrl-C (SIGINT to the whole process
    group) both end the parent promptly through KeyboardInterrupt, and its workers with it:
    none is left orphaned, still running its task."""
    script = tmp_path / "job.py"
    script.write_text(_JOB)
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids = []
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("*.pid"))) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.05)
        pids = [int(p.stem) for p in tmp_path.glob("*.pid")]
        t0 = time.monotonic()
        if how == "sigterm-to-parent":
            os.kill(proc.pid, signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert time.monotonic() - t0 < 10
        assert proc.returncode == 130, err
        assert out.strip() == "interrupted" and "Traceback" not in err
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in pids if _alive(p)], "orphaned workers still running"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in pids:  # the workers this test started, should any be left
            if _alive(p):
                os.kill(p, signal.SIGKILL)


@posix_only
def test_sigterm_handler_is_scoped_and_respects_a_custom_one():
    outer = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        with pytest.raises(KeyboardInterrupt), sigterm_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises here
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        seen = []
        signal.signal(signal.SIGTERM, lambda s, f: seen.append(s))
        with sigterm_as_interrupt():  # a handler the caller installed is kept
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, outer)
    assert SerialExecutor().map(abs, [-2]) == [2]


def test_second_process_on_the_same_run_is_refused(tmp_path):
    """Two processes training into one run directory interleaved their log records and
    checkpoints; the second is now refused at once. A held lock in this process stands for
    the other process (flock locks of two open files conflict as between processes)."""
    run = tmp_path / "base_seed0"
    cfg = preset("tiny", steps=5)
    with exclusive_lock(run / "log.jsonl", "training run"), \
            pytest.raises(NSTheoryError, match=r"another process is writing the training run "
                                               r".*base_seed0"):
        train(cfg, run, progress_bar=False)
    assert not (run / "config.json").exists() and not (run / "log.jsonl").exists()
    assert train(cfg, run, progress_bar=False)["final_step"] == 5  # free again


def test_checkpoint_write_is_atomic_with_a_unique_temporary(tmp_path, monkeypatch):
    """A failed checkpoint write is an error naming the checkpoint, leaves the previous one
    intact and no temporary behind; the temporary's name is not fixed (a stray
    ``checkpoint.pt.tmp`` of another process is neither used nor removed)."""
    cfg = preset("tiny", steps=10)
    train(cfg, tmp_path, progress_bar=False)
    ckpt = tmp_path / "checkpoint.pt"
    before = ckpt.read_bytes()
    (tmp_path / "checkpoint.pt.tmp").mkdir()  # the old fixed name, taken
    loop._save_checkpoint(ckpt, {"step": 99})
    assert torch.load(ckpt, weights_only=False) == {"step": 99}
    ckpt.write_bytes(before)
    files = sorted(p.name for p in tmp_path.iterdir())

    def broken_save(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 8 vs 4")

    monkeypatch.setattr(loop.torch, "save", broken_save)
    with pytest.raises(NSTheoryError, match=r"cannot write .*checkpoint\.pt: torch\.save failed"):
        loop._save_checkpoint(ckpt, {"step": 100})
    assert ckpt.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == files


def _ntp(corpus_path, **kw):
    return preset("ntp", corpus="wikitext2", corpus_path=str(corpus_path), vocab=20, seq_len=4,
                  d_model=8, n_heads=2, d_mlp=16, n_layers=1, batch_size=8, steps=2,
                  eval_every=1, metrics_every=2, ckpt_every=2, metric_samples=8, warmup=1,
                  stop_val_loss=None, **kw)


def test_run_whose_data_fail_leaves_no_config(tmp_path):
    """``train ntp --corpus-path EMPTY`` fails on its data; the corrected retry into the same
    --out must not be refused as 'a run with a different config'."""
    empty, good = tmp_path / "wt_empty", tmp_path / "wt_small"
    for d, text in ((empty, ""), (good, "the cat sat on the mat and the dog ran " * 40)):
        d.mkdir()
        (d / "wiki.train.tokens").write_text(text)
        (d / "wiki.valid.tokens").write_text(text[: len(text) // 4])
    run = tmp_path / "trn" / "base_seed0"
    with pytest.raises(NSTheoryError, match="corpus too small"):
        train(_ntp(empty), run, progress_bar=False)
    assert not (run / "config.json").exists()
    s = train(_ntp(good), run, progress_bar=False)
    assert s["final_step"] == 2
    assert json.loads((run / "config.json").read_text())["corpus_path"] == str(good)


def test_config_of_a_run_that_never_started_is_replaced(tmp_path):
    """A run directory holding only config.json (left by older versions when the data
    failed) describes nothing trained: a new config replaces it."""
    run = tmp_path / "base_seed0"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(preset("tiny", lr=0.5).to_dict()))
    assert train(preset("tiny", steps=5), run, progress_bar=False)["final_step"] == 5
    assert json.loads((run / "config.json").read_text())["lr"] == 1e-3
    with pytest.raises(NSTheoryError, match="different config"):  # a started run is kept
        train(preset("tiny", steps=5, lr=0.5), run, progress_bar=False)
