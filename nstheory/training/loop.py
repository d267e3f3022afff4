"""One training run that loses nothing: config file, checkpoints, append-only JSONL log, resume.

Layout of a run directory::

    config.json      every hyperparameter and the seed (a resumed run must match it; only a
                     larger step budget is accepted, and the run continues to it); written
                     once the data are built, so a run whose data fail leaves none behind
    log.jsonl        one record per evaluated step (keyed by "step"; deterministic values)
    timing.jsonl     wall-clock per evaluated step (kept apart: it differs between runs)
    checkpoint.pt    model, optimiser, noise-generator state and step (written atomically)
    summary.json     written at the end: steps to thresholds, wall-clock, stop reason
    .log.jsonl.lock  held (``flock``) while a process trains the run: a second process
                     training into the same directory is refused at once

A record at step ``s`` describes the model after ``s`` optimiser updates. The log is appended
*before* the checkpoint of the same step is written, so a kill at any point resumes from the
last checkpoint, recomputes the same records bit for bit (the noise generator's state is in
the checkpoint; metric noise is seeded by (seed, step)), and :class:`~nstheory.store.JsonlLog`
drops the already-logged ones: nothing lost, nothing duplicated.

>>> import tempfile
>>> from nstheory.training.config import preset
>>> s = train(preset("tiny", steps=10), tempfile.mkdtemp(), progress_bar=False)
>>> s["final_step"], s["stop_reason"]
(10, 'steps')
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from nstheory.errors import NSTheoryError
from nstheory.store import JsonlLog, atomic_output, dumps, exclusive_lock, load_json, save_json
from nstheory.training.config import TrainConfig


class InjectedFailure(RuntimeError):
    """Raised by ``train(..., fail_after=k)`` to simulate a kill after step ``k``.

    Examples
    --------
    >>> import tempfile
    >>> from nstheory.training.config import preset
    >>> try:
    ...     train(preset("tiny", steps=10), tempfile.mkdtemp(), fail_after=1, progress_bar=False)
    ... except InjectedFailure as exc:
    ...     print(exc)
    injected failure after step 1
    """


def build_data(cfg: TrainConfig):
    """The task data of ``cfg``: modular addition, sparse parity or next-token prediction.

    Examples
    --------
    The tiny preset is modular addition mod 11 with half of the 121 pairs for training; each
    input row is ``(a, b, =)`` and the label is ``(a + b) mod 11``:

    >>> from nstheory.training.config import preset
    >>> data = build_data(preset("tiny"))
    >>> tuple(data.train_x.shape), tuple(data.val_x.shape), data.n_out
    ((60, 3), (61, 3), 11)
    >>> bool(((data.train_x[:, 0] + data.train_x[:, 1]) % 11 == data.train_y).all())
    True
    """
    from nstheory.training import tasks

    seed = cfg.seed if cfg.data_seed is None else cfg.data_seed
    if cfg.task == "modadd":
        return tasks.modular_addition(cfg.p, cfg.frac, seed)
    if cfg.task == "parity":
        return tasks.sparse_parity(cfg.n_bits, cfg.k, cfg.n_train, cfg.n_val, cfg.label_noise,
                                   seed)
    text = tasks.load_corpus(cfg.corpus, cfg.corpus_path)
    return tasks.next_token(text, cfg.vocab, cfg.seq_len, cfg.max_tokens, seed=seed)


def build_model(cfg: TrainConfig, data):
    """The (seeded) model of ``cfg`` for ``data``: ``TinyLM`` for ``ntp``, else an
    ``AnswerTransformer`` that reads the answer at the last position.

    Examples
    --------
    >>> from nstheory.training.config import preset
    >>> cfg = preset("tiny")
    >>> data = build_data(cfg)
    >>> model = build_model(cfg, data)
    >>> type(model).__name__, tuple(model(data.train_x[:4]).shape)
    ('AnswerTransformer', (4, 11))
    """
    from nstheory.training.models import AnswerTransformer, TinyLM

    torch.manual_seed(cfg.seed)
    if cfg.task == "ntp":
        return TinyLM(cfg.vocab, cfg.seq_len, cfg.d_model, cfg.n_heads, cfg.n_layers, cfg.d_mlp)
    return AnswerTransformer(data.vocab, data.n_out, data.train_x.shape[1], cfg.d_model,
                             cfg.n_heads, cfg.d_mlp, cfg.residual)


def regularized_loss(model, x, y, cfg: TrainConfig, data, generator):
    """Task cross-entropy plus ``gamma * R``; gradients flow through both branches.

    Returns ``(loss, ce, R)`` (tensors; R is None when gamma = 0).

    Examples
    --------
    >>> import torch
    >>> from nstheory.training.config import preset
    >>> cfg = preset("tiny")
    >>> data = build_data(cfg)
    >>> model = build_model(cfg, data)
    >>> x, y = data.train_x[:8], data.train_y[:8]
    >>> loss, ce, R = regularized_loss(model, x, y, cfg, data, torch.Generator().manual_seed(0))
    >>> R is None, bool(loss == ce)
    (True, True)
    >>> reg = preset("tiny", regularized=True)
    >>> loss, ce, R = regularized_loss(model, x, y, reg, data, torch.Generator().manual_seed(0))
    >>> reg.reg_gamma, bool(torch.isclose(loss, ce + 0.75 * R))
    (0.75, True)
    """
    from nstheory.training.regularizer import (
        gaussian_embedding_noise,
        perturb_tokens,
        stability_term,
    )

    if cfg.reg_gamma == 0:
        logits = model(x)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        return ce, ce, None
    B = x.shape[0]
    if cfg.reg_noise == "gaussian":
        # clean inputs take the fast token path; the noisy copy must go through embeddings
        T = x.shape[1]
        pos = data.noise_positions
        mask = [True] * T if pos is None else [i in pos for i in range(T)]
        scale = model.W_E.detach().pow(2).mean().sqrt()
        en = gaussian_embedding_noise(model.embed(x), cfg.reg_rho, scale, mask, generator)
        lx, ly = model(x), model.forward_embeddings(en)
    else:
        xn = perturb_tokens(x, cfg.reg_rho, cfg.reg_noise, data.noise_vocab,
                            data.noise_positions, generator)
        # Inputs the noise left unchanged have M(Y) = M(X) exactly: reuse those rows of the
        # clean forward pass (value and gradient are those of a second forward pass) and run
        # only the changed inputs -- a fraction 1 - q^2 for two noisy operands.
        changed = (xn != x).reshape(B, -1).any(1).nonzero().squeeze(1)
        logits = model(torch.cat([x, xn[changed]]))
        lx = logits[:B]
        ly = lx.index_put((changed,), logits[B:])
    ce = F.cross_entropy(lx.reshape(-1, lx.shape[-1]), y.reshape(-1))
    R = stability_term(torch.softmax(lx, -1), torch.softmax(ly, -1), cfg.reg_sign)
    return ce + cfg.reg_gamma * R, ce, R


@torch.no_grad()
def evaluate(model, data, cfg: TrainConfig, cap: int | None = None) -> dict:
    """Cross-entropy loss and accuracy on the train and validation sets (float64 sums).

    Examples
    --------
    Checked against a direct computation of the training accuracy:

    >>> from nstheory.training.config import preset
    >>> cfg = preset("tiny")
    >>> data = build_data(cfg)
    >>> model = build_model(cfg, data)
    >>> m = evaluate(model, data, cfg)
    >>> sorted(m)
    ['train_acc', 'train_loss', 'val_acc', 'val_loss']
    >>> direct = (model(data.train_x).argmax(-1) == data.train_y).double().mean().item()
    >>> abs(m["train_acc"] - direct) < 1e-12
    True
    """
    model.eval()
    out = {}
    for name, x, y in (("train", data.train_x, data.train_y), ("val", data.val_x, data.val_y)):
        if cap:
            x, y = x[:cap], y[:cap]
        loss, correct, count = 0.0, 0, 0
        for i in range(0, x.shape[0], 8192):
            lg = model(x[i:i + 8192]).float()
            yy = y[i:i + 8192]
            loss += float(F.cross_entropy(lg.reshape(-1, lg.shape[-1]), yy.reshape(-1),
                                          reduction="sum").double())
            correct += int((lg.argmax(-1) == yy).sum())
            count += yy.numel()
        out[f"{name}_loss"] = loss / count
        out[f"{name}_acc"] = correct / count
    model.train()
    return out


def _save_checkpoint(path: Path, state: dict) -> None:
    """Write ``state`` to ``path`` atomically (a uniquely named temporary beside it, then
    ``os.replace``): a kill or a full disk leaves the previous checkpoint intact, and a failed
    write is an error naming ``path``."""
    with atomic_output(path) as tmp:
        try:
            torch.save(state, tmp)
        except RuntimeError as exc:  # torch's own writer: no errno (e.g. the disk is full)
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise OSError(f"torch.save failed (is the disk full?): {why}") from None


def _extend_budget(old: dict, new: dict, out: Path) -> None:
    """Accept a config that differs from the stored one only by a *larger* step budget.

    The run then continues from its checkpoint to the new budget: a run that had stopped on
    its budget loses its summary (it is not finished any more); a run that had stopped on a
    threshold keeps it. Any other difference is refused.
    """
    diff = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if diff != ["steps"] or new["steps"] < old["steps"]:
        raise NSTheoryError(f"{out} holds a run with a different config ({', '.join(diff)}); "
                            "use another --out (only a larger step budget can be resumed)")
    summary_path = out / "summary.json"
    if summary_path.exists() and load_json(summary_path).get("stop_reason") == "steps":
        summary_path.unlink()
    save_json(new, out / "config.json")


def train(cfg: TrainConfig, out, fail_after: int | None = None, progress_bar: bool = True,
          threads: int | None = None) -> dict:
    """Train (or resume) the run described by ``cfg`` in directory ``out``; returns the summary.

    ``fail_after=k`` raises :class:`InjectedFailure` right after optimiser step ``k`` (a test
    hook simulating a kill). A loss that is not finite (NaN or inf) stops the run with an
    :class:`~nstheory.errors.NSTheoryError` naming the step, after checkpointing the last
    finite state; the log is kept.

    Examples
    --------
    >>> import tempfile
    >>> from nstheory.training.config import preset
    >>> cfg = preset("tiny", steps=2, eval_every=1, metrics_every=2, ckpt_every=2)
    >>> s = train(cfg, tempfile.mkdtemp(), progress_bar=False)
    >>> s["final_step"], s["stop_reason"], s["budget_steps"], s["task_info"]["n_train"]
    (2, 'steps', 2, 60)
    """
    cfg = cfg.validate()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if threads:
        torch.set_num_threads(threads)
    # one process per run directory: a second one is refused at once, naming the run
    with exclusive_lock(out / "log.jsonl", "training run"):
        return _train_locked(cfg, out, fail_after, progress_bar)


def _train_locked(cfg: TrainConfig, out: Path, fail_after: int | None,
                  progress_bar: bool) -> dict:
    """:func:`train`'s body, run while holding the run directory's lock."""
    from nstheory.device import resolve_device
    from nstheory.progress import progress
    from nstheory.training.metrics import trajectory_metrics

    cfg_path = out / "config.json"
    summary_path = out / "summary.json"
    # a config without a log or a checkpoint is a run that never started (older versions
    # saved the config before building the data): it is replaced, not compared
    started = (out / "log.jsonl").exists() or (out / "checkpoint.pt").exists()
    new_run = not cfg_path.exists() or not started
    if not new_run:
        old = load_json(cfg_path)
        new = json.loads(dumps(cfg.to_dict()))  # as stored: a JSON round trip
        if old != new:
            _extend_budget(old, new, out)
        if summary_path.exists():
            return load_json(summary_path)

    device = resolve_device(cfg.device)
    data = build_data(cfg).to(device)
    model = build_model(cfg, data).to(device)
    if new_run:  # only once the data are built: a run that cannot start leaves no config
        save_json(cfg.to_dict(), cfg_path)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                            betas=(cfg.beta1, cfg.beta2))
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    log = JsonlLog(out / "log.jsonl", key="step")
    tlog = JsonlLog(out / "timing.jsonl", key="step")
    ckpt = out / "checkpoint.pt"
    step, wall_before = 0, 0.0
    if ckpt.exists():
        st = torch.load(ckpt, map_location=device, weights_only=False)
        saved = st.get("device_type", "cpu")
        if saved != device.type:  # a CPU and a CUDA generator state are not interchangeable
            raise NSTheoryError(f"{out}: the checkpoint was written on {saved} and this run "
                                f"resolves --device {cfg.device} to {device.type}; resume it on "
                                f"{saved} (pass --device {saved}) or use another --out")
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        gen.set_state(st["gen"].cpu())  # generator states are CPU byte tensors on every device
        step, wall_before = st["step"], st["wall"]
    cap = 2048 if cfg.task == "ntp" else None
    n_train = data.train_x.shape[0]
    t0 = time.perf_counter()
    stop_reason = "steps"
    bar = progress(range(cfg.steps), total=cfg.steps, desc=f"train {cfg.preset} seed {cfg.seed}") \
        if progress_bar else None
    if bar is not None:
        bar.update(step)
    while True:
        if step % cfg.eval_every == 0 or step == cfg.steps:
            rec = {"step": step, **evaluate(model, data, cfg, cap)}
            if step % cfg.metrics_every == 0 or step == cfg.steps:
                rec.update(trajectory_metrics(model, data, cfg, step))
            log.append(rec)
            wall = wall_before + time.perf_counter() - t0
            tlog.append({"step": step, "wall_s": wall})
            if cfg.stop_val_acc is not None and rec["val_acc"] >= cfg.stop_val_acc:
                stop_reason = f"val_acc >= {cfg.stop_val_acc}"
            if cfg.stop_val_loss is not None and rec["val_loss"] <= cfg.stop_val_loss:
                stop_reason = f"val_loss <= {cfg.stop_val_loss}"
            if step % cfg.ckpt_every == 0 or step == cfg.steps or stop_reason != "steps":
                _save_checkpoint(ckpt, {"step": step, "model": model.state_dict(),
                                        "opt": opt.state_dict(), "gen": gen.get_state(),
                                        "device_type": device.type,
                                        "wall": wall})
        if stop_reason != "steps" or step >= cfg.steps:
            break
        for grp in opt.param_groups:
            grp["lr"] = cfg.lr * min(1.0, (step + 1) / max(1, cfg.warmup))
        if cfg.batch_size is None or cfg.batch_size >= n_train:
            x, y = data.train_x, data.train_y
        else:
            idx = torch.randint(0, n_train, (cfg.batch_size,), generator=gen, device=device)
            x, y = data.train_x[idx], data.train_y[idx]
        loss, _, _ = regularized_loss(model, x, y, cfg, data, gen)
        if not torch.isfinite(loss.detach()).item():
            wall = wall_before + time.perf_counter() - t0
            _save_checkpoint(ckpt, {"step": step, "model": model.state_dict(),
                                    "opt": opt.state_dict(), "gen": gen.get_state(),
                                    "device_type": device.type,
                                    "wall": wall})
            if bar is not None:
                bar.close()
            raise NSTheoryError(
                f"training loss became {float(loss.detach())} at step {step + 1} of run {out} "
                f"(seed {cfg.seed}); stopped: its log and the checkpoint of step {step} are "
                "kept (lower the learning rate or the regularizer strength)")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if bar is not None:
            bar.update(1)
        if fail_after is not None and step == fail_after:
            raise InjectedFailure(f"injected failure after step {step}")
    if bar is not None:
        bar.close()
    summary = summarize_run(log.records(), cfg)
    summary.update({"final_step": step, "stop_reason": stop_reason,
                    "wall_s": wall_before + time.perf_counter() - t0,
                    "device": str(device), "task_info": data.info})
    save_json(summary, summary_path)
    return summary


#: Validation-loss thresholds whose first crossing is reported, by task.
LOSS_THRESHOLDS = {"modadd": 0.1, "parity": 0.3, "ntp": 3.5}


def summarize_run(records: list[dict], cfg: TrainConfig) -> dict:
    """Steps to >= 90% / 95% / 99% validation accuracy and to the validation-loss threshold
    (a pure function of the log: re-reading a run's log reproduces its summary).

    Examples
    --------
    >>> from nstheory.training.config import preset
    >>> records = [{"step": 5, "val_acc": 0.5, "val_loss": 1.0},
    ...            {"step": 10, "val_acc": 0.96, "val_loss": 0.05}]
    >>> s = summarize_run(records, preset("tiny"))
    >>> s["steps_to_val90"], s["steps_to_val95"], s["steps_to_val99"], s["steps_to_val_loss"]
    (10, 10, None, 10)
    """
    from nstheory.training.metrics import steps_to_threshold

    thr = LOSS_THRESHOLDS[cfg.task]
    return {
        "seed": cfg.seed,
        "reg_gamma": cfg.reg_gamma,
        "steps_to_val90": steps_to_threshold(records, "val_acc", 0.90),
        "steps_to_val95": steps_to_threshold(records, "val_acc", 0.95),
        "steps_to_val99": steps_to_threshold(records, "val_acc", 0.99),
        "val_loss_threshold": thr,
        "steps_to_val_loss": steps_to_threshold(records, "val_loss", thr, above=False),
        "budget_steps": cfg.steps,
    }


__all__ = [
    "LOSS_THRESHOLDS",
    "InjectedFailure",
    "build_data",
    "build_model",
    "evaluate",
    "regularized_loss",
    "summarize_run",
    "train",
]
