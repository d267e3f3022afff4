"""The architecture comparison: are transformers less sensitive than MLPs, CNNs and LSTMs?

For each task and seed, train an MLP, a CNN, an LSTM and a transformer with matched parameter
budgets (:func:`nstheory.montecarlo.models.build_model`), then measure the sensitivity paper's
metric **on the training data** (as its code does):

* ``boolean`` -- average sensitivity by bit flips, as(f)/n (exact over positions);
* ``sparse-token`` -- uniform token replacement, exact average over positions;
* ``digits`` -- Gaussian noise (std ``sigma`` in [-1, 1] pixel units) on one 2x2 patch, exact
  average over all patches (the scattered-pixel variant of the released code is recorded too);
* ``fortunes`` -- Gaussian noise (std ``sigma``) on one token embedding (after the shared
  Embedding + LayerNorm), exact average over positions, with the per-position profile.

Token tasks also record the embedding-noise profile, to test "the LSTM is most sensitive to
the last tokens". Across seeds each architecture gets a mean and a t-interval; each
comparison with the transformer gets the seed-paired difference and its t-interval.

Examples
--------
>>> r = run_one({"task": "boolean", "arch": "mlp", "seed": 0, "epochs": 1, "budget": 2000})
>>> r["task"], r["arch"], r["params"] < 2500, 0 <= r["sensitivity"]["rate"] <= 1
('boolean', 'mlp', True, True)
"""

from __future__ import annotations

import math
import time

from nstheory.errors import NSTheoryError
from nstheory.validate import check_real

#: Default study: budgets, epochs and noise per task (small: minutes on 2 CPU cores).
DEFAULTS = {
    "boolean": {"budget": 6000, "epochs": 40, "lr": 3e-3, "sigma": 1.0},
    "sparse-token": {"budget": 6000, "epochs": 25, "lr": 3e-3, "sigma": 1.0},
    "digits": {"budget": 12000, "epochs": 30, "lr": 3e-3, "sigma": 0.5},
    "fortunes": {"budget": 80000, "epochs": 12, "lr": 3e-3, "sigma": 1.0},
}
METRIC = {
    "boolean": "bit-flip as(f)/n",
    "sparse-token": "uniform token replacement, exact positions",
    "digits": "gaussian on one 2x2 patch (pixel space), exact average over patches",
    "fortunes": "gaussian on one token embedding, exact average over positions",
}

#: Threads per run: a stored study reproduces bit for bit only with the same count.
THREADS = 1
#: Files whose code computes a comparison study's numbers (watched by the provenance check).
PRODUCERS = ("nstheory/montecarlo/comparison.py", "nstheory/montecarlo/datasets.py",
             "nstheory/montecarlo/models.py", "nstheory/montecarlo/estimators.py",
             "nstheory/reproducible.py")


def producers(tasks) -> tuple[str, ...]:
    """The producing files of a study of ``tasks`` (the corpus reader only for fortunes).

    >>> "nstheory/corpora.py" in producers(["digits"])
    False
    """
    return PRODUCERS + (("nstheory/corpora.py",) if "fortunes" in tasks else ())
#: The stored studies under ``proofs_check/data/`` that ``nstheory verify`` re-analyses: every
#: file matching this pattern (one per command that wrote it).
STORED_STUDIES = "montecarlo_comparison*.json"


def _accuracy(model, x, y, batch=1024) -> float:
    import torch

    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, x.shape[0], batch):
            correct += int((model(x[s:s + batch]).argmax(-1) == y[s:s + batch]).sum())
    return correct / x.shape[0]


def train(model, task, epochs: int, lr: float, seed: int, batch_size: int = 64) -> dict:
    """Adam on cross-entropy, minibatches shuffled by ``seed``; returns accuracies.

    Parameters
    ----------
    model : torch.nn.Module
        A classifier returning logits.
    task : object
        Has ``x_train``, ``y_train``, ``x_test``, ``y_test`` tensors.
    epochs : int
        Passes over the training data.
    lr : float
        Adam learning rate.
    seed : int
        Seed of the minibatch order.
    batch_size : int, optional
        Minibatch size.

    Returns
    -------
    dict
        ``train_acc`` and ``test_acc`` in ``[0, 1]``.

    Examples
    --------
    A linear classifier learns the sign of the first coordinate:

    >>> import torch
    >>> from types import SimpleNamespace
    >>> x = torch.randn(256, 3, generator=torch.Generator().manual_seed(0))
    >>> y = (x[:, 0] > 0).long()
    >>> task = SimpleNamespace(x_train=x[:200], y_train=y[:200], x_test=x[200:], y_test=y[200:])
    >>> _ = torch.manual_seed(0)
    >>> acc = train(torch.nn.Linear(3, 2), task, epochs=30, lr=0.05, seed=0)
    >>> acc["train_acc"] > 0.95, acc["test_acc"] > 0.9
    (True, True)
    """
    import torch

    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    N = task.x_train.shape[0]
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(N, generator=g)
        for s in range(0, N, batch_size):
            idx = perm[s:s + batch_size]
            loss = torch.nn.functional.cross_entropy(model(task.x_train[idx]), task.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return {"train_acc": _accuracy(model, task.x_train, task.y_train),
            "test_acc": _accuracy(model, task.x_test, task.y_test)}


def measure(model, task, sigma: float, seed: int, reps: int = 2) -> dict:
    """The task's sensitivity metric (+ embedding profile / scattered variant) on train data.

    Parameters
    ----------
    model : torch.nn.Module
        A trained model of :func:`nstheory.montecarlo.models.build_model`.
    task : Task
        The task (:func:`nstheory.montecarlo.datasets.get_task`).
    sigma : float
        Gaussian noise standard deviation (image and embedding noise).
    seed : int
        Seed of the noise draws.
    reps : int, optional
        Noise draws per position.

    Returns
    -------
    dict
        ``sensitivity`` (count ``k`` of flips out of ``n`` trials, ``rate`` and a
        Clopper-Pearson interval) and, for token tasks, the embedding-noise profile.

    Examples
    --------
    >>> from nstheory.montecarlo.datasets import get_task
    >>> from nstheory.montecarlo.models import build_model
    >>> task = get_task("boolean", seed=0)
    >>> model = build_model("mlp", task.kind, task.n_classes, 2000, seed=0, **task.model_kwargs())
    >>> s = measure(model, task, sigma=1.0, seed=0)
    >>> r = s["sensitivity"]
    >>> r["rate"] == r["k"] / r["n"], r["ci95"][0] <= r["rate"] <= r["ci95"][1]
    (True, True)
    >>> len(s["embedding_profile"]) == task.x_train.shape[1]
    True
    """
    import torch

    from nstheory.montecarlo.estimators import (
        boolean_sensitivity,
        patch_sensitivity,
        token_replacement_sensitivity,
        tokenwise_sensitivity,
    )

    g = torch.Generator().manual_seed(seed + 10_000)
    x = task.x_train
    out = {}
    if task.name == "boolean":
        r = boolean_sensitivity(lambda b: model((b > 0).long()), x.float() * 2 - 1)
        out["sensitivity"] = r.overall.to_dict() | {"as": r.meta["as"]}
    elif task.name in ("sparse-token",):
        r = token_replacement_sensitivity(model, x, task.meta["vocab"], reps=reps, generator=g)
        out["sensitivity"] = r.overall.to_dict()
        out["replacement_profile"] = r.profile
    elif task.name == "digits":
        r = patch_sensitivity(model, x, sigma, patch=2, variant="exact", reps=reps, generator=g)
        s = patch_sensitivity(model, x, sigma, patch=2, variant="scattered", reps=5, generator=g)
        out["sensitivity"] = r.overall.to_dict()
        out["scattered_variant"] = s.overall.to_dict()
    elif task.name == "fortunes":
        r = tokenwise_sensitivity(model.forward_embedded, model.embed(x).detach(), sigma,
                                  reps=reps, generator=g)
        out["sensitivity"] = r.overall.to_dict()
    else:
        raise NSTheoryError(f"unknown task {task.name!r}")
    if task.kind == "tokens":
        with torch.no_grad():
            e = model.embed(x)
        prof = tokenwise_sensitivity(model.forward_embedded, e, sigma, reps=reps, generator=g)
        out["embedding_profile"] = prof.profile
        out["embedding_sensitivity"] = prof.overall.to_dict()
    return out


_TASK_CACHE: dict = {}


def _run_config(spec: dict) -> dict:
    """The settings that determine a run's numbers besides (task, arch, seed): the task's
    ``DEFAULTS`` with the spec's overrides, the data seed and the thread count.

    :func:`run_study` stores it in every log record and refuses to resume from records made
    with another one.

    Examples
    --------
    >>> cfg = _run_config({"task": "boolean", "arch": "mlp", "seed": 0, "epochs": 1})
    >>> cfg["epochs"], cfg["budget"], cfg["data_seed"], cfg["threads"]
    (1, 6000, 0, 1)
    """
    name = spec["task"]
    return {**DEFAULTS[name], **{k: v for k, v in spec.items() if k in DEFAULTS[name]},
            "data_seed": int(spec.get("data_seed", 0)), "threads": THREADS}


def run_one(spec: dict) -> dict:
    """Train and measure one (task, arch, seed); ``spec`` may override ``DEFAULTS[task]``.

    Picklable and seeded by its spec, and run with ``THREADS`` torch/BLAS threads
    and deterministic kernels (:func:`nstheory.reproducible.deterministic`), so any
    executor gives the same result, bit for bit, on the same machine class
    (``seconds`` aside).

    Examples
    --------
    >>> spec = {"task": "boolean", "arch": "mlp", "seed": 0, "epochs": 1, "budget": 2000}
    >>> a, b = run_one(spec), run_one(spec)
    >>> a["sensitivity"] == b["sensitivity"], a["test_acc"] == b["test_acc"]
    (True, True)
    """

    from nstheory.montecarlo.datasets import get_task
    from nstheory.montecarlo.models import build_model, count_params
    from nstheory.reproducible import deterministic

    name, arch, seed = spec["task"], spec["arch"], int(spec["seed"])
    cfg = _run_config(spec)
    data_seed = cfg["data_seed"]
    key = (name, data_seed)
    if key not in _TASK_CACHE:
        _TASK_CACHE[key] = get_task(name, seed=data_seed)
    task = _TASK_CACHE[key]
    t0 = time.perf_counter()
    with deterministic(threads=THREADS):
        model = build_model(arch, task.kind, task.n_classes, cfg["budget"], seed=seed,
                            **task.model_kwargs())
        acc = train(model, task, cfg["epochs"], cfg["lr"], seed)
        res = measure(model, task, cfg["sigma"], seed)
    return {"task": name, "arch": arch, "seed": seed, "params": count_params(model),
            "width": model.width, "epochs": cfg["epochs"], "sigma": cfg["sigma"],
            "metric": METRIC[name], **acc, **res, "threads": THREADS,
            "seconds": time.perf_counter() - t0}


def t_interval(values, level: float = 0.95) -> dict:
    """Mean and Student-t interval over seeds; one seed has none (``ci95`` and ``stderr`` None).

    Examples
    --------
    For ``1, 2, 3``: mean 2, standard error ``1 / sqrt(3)`` and the two-sided 95%
    quantile of t with 2 degrees of freedom, 4.303 (statistical tables):

    >>> r = t_interval([1.0, 2.0, 3.0])
    >>> r["mean"], r["n"], [round(c, 3) for c in r["ci95"]]
    (2.0, 3, [-0.484, 4.484])
    >>> t_interval([5.0])["ci95"] is None
    True
    """
    from scipy.special import stdtrit

    check_real(level, "level", lo=0, hi=1, lo_open=True, hi_open=True)
    v = [float(a) for a in values]
    if not v or not all(math.isfinite(a) for a in v):
        raise NSTheoryError(f"t_interval needs at least one value, all finite; got {values!r}")
    n = len(v)
    m = sum(v) / n
    if n < 2:
        return {"mean": m, "n": n, "ci95": None, "stderr": None,
                "note": "one seed: no interval (it needs >= 2 seeds)"}
    sd = math.sqrt(sum((a - m) ** 2 for a in v) / (n - 1))
    se = sd / math.sqrt(n)
    h = float(stdtrit(n - 1, 0.5 + level / 2)) * se
    return {"mean": m, "n": n, "stderr": se, "ci95": [m - h, m + h]}


def summarize(runs: list[dict]) -> dict:
    """Per task: each arch's mean sensitivity with a t-interval over seeds.

    Also the seed-paired difference (arch - transformer) with its t-interval, and
    the LSTM profile shape when the runs carry embedding profiles.

    Examples
    --------
    >>> def run(arch, seed, rate):
    ...     return {"task": "boolean", "arch": arch, "seed": seed, "metric": "m", "params": 10,
    ...             "sensitivity": {"rate": rate}, "train_acc": 1.0, "test_acc": 0.5}
    >>> runs = [run("mlp", 0, 0.3), run("mlp", 1, 0.5),
    ...         run("transformer", 0, 0.1), run("transformer", 1, 0.2)]
    >>> s = summarize(runs)["boolean"]
    >>> s["archs"]["mlp"]["mean"], s["archs"]["mlp"]["per_seed"]
    (0.4, [0.3, 0.5])
    >>> round(s["vs_transformer"]["mlp"]["mean"], 12)      # paired: (0.2 + 0.3) / 2
    0.25
    """
    out = {}
    for task in sorted({r["task"] for r in runs}):
        rs = [r for r in runs if r["task"] == task]
        archs = sorted({r["arch"] for r in rs})
        by = {a: {r["seed"]: r for r in rs if r["arch"] == a} for a in archs}
        t = {"metric": rs[0]["metric"], "archs": {}, "vs_transformer": {}}
        for a in archs:
            vals = [by[a][s]["sensitivity"]["rate"] for s in sorted(by[a])]
            tr = [by[a][s]["train_acc"] for s in by[a]]
            te = [by[a][s]["test_acc"] for s in by[a]]
            t["archs"][a] = {**t_interval(vals), "per_seed": vals,
                             "train_acc": sum(tr) / len(tr), "test_acc": sum(te) / len(te),
                             "params": by[a][min(by[a])]["params"]}
            if "embedding_profile" in by[a][min(by[a])]:
                profs = [by[a][s]["embedding_profile"] for s in sorted(by[a])]
                mean_prof = [sum(p[i] for p in profs) / len(profs) for i in range(len(profs[0]))]
                last = [p[-1] for p in profs]
                rest = [sum(p[:-1]) / (len(p) - 1) for p in profs]
                t["archs"][a]["embedding_profile"] = mean_prof
                t["archs"][a]["last_minus_rest"] = t_interval(
                    [x - y for x, y in zip(last, rest, strict=True)])
        if "transformer" in by:
            for a in archs:
                if a == "transformer":
                    continue
                seeds = sorted(set(by[a]) & set(by["transformer"]))
                d = [by[a][s]["sensitivity"]["rate"] - by["transformer"][s]["sensitivity"]["rate"]
                     for s in seeds]
                t["vs_transformer"][a] = t_interval(d)
        out[task] = t
    return out


def study_specs(tasks, archs, seeds, overrides: dict | None = None) -> list[dict]:
    """The list of (task, arch, seed) specs of a study, in a fixed order.

    Examples
    --------
    >>> specs = study_specs(["boolean", "digits"], ["mlp"], [0, 1], {"epochs": 1})
    >>> len(specs), specs[1]
    (4, {'task': 'boolean', 'arch': 'mlp', 'seed': 1, 'epochs': 1})
    """
    return [{"task": t, "arch": a, "seed": s, **(overrides or {})}
            for t in tasks for a in archs for s in seeds]


def study_config(tasks, archs, seeds, overrides: dict | None = None) -> dict:
    """Everything that determines a study's numbers (hashed into its provenance block).

    >>> study_config(["digits"], ["mlp"], [0])["defaults"]["digits"]["sigma"]
    0.5
    """
    return {"tasks": list(tasks), "archs": list(archs), "seeds": list(seeds),
            "overrides": overrides or {}, "defaults": {t: DEFAULTS[t] for t in tasks},
            "threads": THREADS}


def load_stored_runs(data_dir=None) -> list[dict]:
    """The per-seed runs of every stored comparison study (the files matching
    :data:`STORED_STUDIES` in ``data_dir``, default ``proofs_check/data``), merged; a run key
    stored twice is an error.

    >>> runs = load_stored_runs()
    >>> len({r["key"] for r in runs}) == len(runs)
    True
    """
    from pathlib import Path

    from nstheory.store import REPO_ROOT, load_json

    base = Path(data_dir) if data_dir else REPO_ROOT / "proofs_check" / "data"
    runs: dict[str, dict] = {}
    for path in sorted(base.glob(STORED_STUDIES)):
        name = path.name
        for r in load_json(path)["runs"]:
            k = r.get("key") or f"{r['task']}/{r['arch']}/{r['seed']}"
            if k in runs:
                raise NSTheoryError(f"comparison run {k} is stored twice (second in {name})")
            runs[k] = r
    return list(runs.values())


def _numbered_records(log) -> list[tuple[int, dict]]:
    """The records of a :class:`nstheory.store.JsonlLog` with their line numbers (blank lines
    are skipped, as the log reader does)."""
    recs = log.records()
    lines = ([i for i, ln in enumerate(log.path.read_bytes().split(b"\n"), 1) if ln.strip()]
             if recs else [])
    return list(zip(lines, recs, strict=True))


def _check_log_record(r: dict, where: str, overrides: dict | None) -> None:
    """Refuse a log record that is not a complete run of a comparison study, or one made with
    another run configuration (:func:`_run_config`) than ``overrides`` give now."""
    from nstheory.montecarlo.models import ARCHS

    def bad(what):
        return NSTheoryError(f"{where} is not a run record of a comparison study ({what}): "
                             "use a new --log file")

    def real(v, lo=-math.inf, hi=math.inf):
        return (isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                and lo <= v <= hi)

    if "key" not in r:
        raise bad(f"no 'key' field: {str(r)[:80]}")
    if r.get("task") not in DEFAULTS:
        raise bad(f"task {r.get('task')!r} is not one of {', '.join(DEFAULTS)}")
    if r.get("arch") not in ARCHS:
        raise bad(f"arch {r.get('arch')!r} is not one of {', '.join(ARCHS)}")
    if not isinstance(r.get("seed"), int) or isinstance(r.get("seed"), bool):
        raise bad(f"seed {r.get('seed')!r} is not an integer")
    if r["key"] != f"{r['task']}/{r['arch']}/{r['seed']}":
        raise bad(f"key {r['key']!r} does not match its task/arch/seed")
    if not isinstance(r.get("metric"), str):
        raise bad("no 'metric' text")
    if not isinstance(r.get("params"), int) or isinstance(r.get("params"), bool):
        raise bad("no integer 'params'")
    if not isinstance(r.get("sensitivity"), dict) or not real(r["sensitivity"].get("rate"), 0, 1):
        raise bad("no 'sensitivity' with a 'rate' in [0, 1]")
    for f in ("train_acc", "test_acc"):
        if not real(r.get(f), 0, 1):
            raise bad(f"no {f!r} in [0, 1]")
    prof = r.get("embedding_profile")
    if prof is not None and (not isinstance(prof, list) or len(prof) < 2
                             or not all(real(v, 0, 1) for v in prof)):
        raise bad("'embedding_profile' is not a list of >= 2 rates in [0, 1]")
    cfg = r.get("config")
    if not isinstance(cfg, dict):
        raise NSTheoryError(f"{where} ({r['key']}) does not record its run configuration (a log "
                            "written before nstheory stored it), so it cannot be checked "
                            "against this run's options: use a new --log file")
    want = _run_config({"task": r["task"], **(overrides or {})})
    diff = [f"{k}={cfg.get(k, 'not recorded')!r} there, {v!r} now" for k, v in want.items()
            if cfg.get(k) != v]
    if diff:
        raise NSTheoryError(f"{where} ({r['key']}) was made with another configuration "
                            f"({'; '.join(diff)}): use another --log file, or the options that "
                            "made that log")


def run_study(tasks, archs, seeds, executor=None, overrides: dict | None = None,
              log_path=None) -> dict:
    """Run (or resume from ``log_path``, a JSONL log) a study and summarize it.

    Parameters
    ----------
    tasks, archs, seeds : sequence
        The grid of runs (see :func:`study_specs`).
    executor : object, optional
        An executor of :mod:`nstheory.executor` (default serial).
    overrides : dict, optional
        Settings overriding ``DEFAULTS`` for every run.
    log_path : str or pathlib.Path, optional
        JSONL log; runs already logged are not repeated. Every record stores its run
        configuration (:func:`_run_config`); a log whose records were made with another
        configuration (e.g. other ``epochs``), or that does not record it, is refused.

    Returns
    -------
    dict
        ``runs`` (in spec order) and their :func:`summarize` ``summary``.

    Examples
    --------
    A resumed study reads its runs back from the log instead of repeating them:

    >>> import pathlib, tempfile
    >>> log = pathlib.Path(tempfile.mkdtemp()) / "log.jsonl"
    >>> tiny = {"epochs": 1, "budget": 2000}
    >>> first = run_study(["boolean"], ["mlp"], [0], overrides=tiny, log_path=log)
    >>> again = run_study(["boolean"], ["mlp"], [0], overrides=tiny, log_path=log)
    >>> again["runs"][0]["seconds"] == first["runs"][0]["seconds"], list(again["summary"])
    (True, ['boolean'])

    The same log with other options is refused, naming what differs:

    >>> try:
    ...     run_study(["boolean"], ["mlp"], [0], overrides={**tiny, "epochs": 2}, log_path=log)
    ... except NSTheoryError as exc:
    ...     print(str(exc).split("(", 2)[2].split(")")[0])
    epochs=1 there, 2 now
    """
    from nstheory.executor import get_executor
    from nstheory.store import JsonlLog

    specs = study_specs(tasks, archs, seeds, overrides)
    log = JsonlLog(log_path, key="key") if log_path else None
    done = {}
    for line, r in (_numbered_records(log) if log else []):
        _check_log_record(r, f"--log {log_path}: line {line}", overrides)
        done[r["key"]] = r

    def key(s):
        return f"{s['task']}/{s['arch']}/{s['seed']}"

    todo = [s for s in specs if key(s) not in done]
    ex = executor or get_executor("serial")
    # hand the executor one wave at a time so every finished run is logged (resumable)
    wave = max(1, getattr(ex, "workers", None) or 1)
    for w in range(0, len(todo), wave):
        part = todo[w:w + wave]
        for s, r in zip(part, ex.map(run_one, part, desc=f"comparison {w + 1}/{len(todo)}"),
                        strict=True):
            r["key"], r["config"] = key(s), _run_config(s)
            done[r["key"]] = r
            if log:
                log.append(r)
    runs = [done[key(s)] for s in specs]
    return {"runs": runs, "summary": summarize(runs)}


__all__ = ["DEFAULTS", "PRODUCERS", "STORED_STUDIES", "THREADS", "load_stored_runs", "producers",
           "run_one",
           "run_study", "study_config", "study_specs", "summarize", "t_interval", "train"]
