"""Resumable measurement runs on a real model: configuration, provenance, append-only log.

A run directory holds ``config.json`` (the configuration, its hash and the provenance: command
line, git commit, library versions, machine, torch threads, device) and ``log.jsonl`` (one
record per finished unit of work, keyed). A killed run restarted with the same configuration
skips every logged unit and loses nothing; a different configuration in the same directory is
refused. :func:`nstheory.models.summary.summarise` turns the log into results.

>>> cfg = RunConfig(model="tiny-bert", n=8, inputs=2, measures=("token",))
>>> len(cfg.hash()) == 16
True
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nstheory.errors import NSTheoryError, check_choice, check_int, check_positive, check_rho

MEASURES = ("gradient", "token", "gaussian", "stability")
NOISES = ("token", "gaussian")
#: Positions per logged unit of a per-position run (a kill loses at most one unit).
CHUNK = 64


@dataclass
class RunConfig:
    """What a run measures.

    Parameters
    ----------
    model : str
        Model alias or path (``tiny-bert`` and ``tiny-gpt2`` are built in memory).
    arm : str
        ``pretrained`` or ``random-init`` (same architecture, the model's own
        initialiser, seed ``seed``).
    n, inputs, seed : int
        Tokens per input, number of inputs, run seed.
    text : str or None
        Corpus (see :func:`nstheory.models.texts.corpus_text`).
    functionals : str
        Comma-separated functional specs, or ``default``.
    measures : tuple of str
        Influence measures to run.
    positions : int
        0 means every position; k > 0 samples k positions per input uniformly
        without replacement (enough for totals, not for per-position profiles).
    resamples, probes, draws, batch : int
        Resampled tokens per position, Hutchinson probes, noisy copies, batch size.
    sigma_rel : float
        The Gaussian influence's noise standard deviation in units of the embedding scale s.
    rhos : tuple of float
        Noise parameters of the whole-sequence stability, in ``(0, 1)``.
    noises : tuple of str
        ``token`` and/or ``gaussian``.
    extra : dict
        Free-form additions recorded with the configuration.

    Examples
    --------
    >>> cfg = RunConfig(model="tiny-bert", n=6, inputs=2)
    >>> cfg.validate() is cfg, cfg.hash() == RunConfig(model="tiny-bert", n=6, inputs=2).hash()
    (True, True)
    >>> cfg.hash() == RunConfig(model="tiny-bert", n=7, inputs=2).hash()
    False
    >>> RunConfig(rhos=(1.0,)).validate()
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --rhos must lie in (0, 1), got 1.0
    """

    model: str = "minilm"
    arm: str = "pretrained"
    n: int = 256
    inputs: int = 8
    seed: int = 0
    text: str | None = None
    functionals: str = "default"
    measures: tuple[str, ...] = MEASURES
    positions: int = 0
    resamples: int = 2
    sigma_rel: float = 1.0
    probes: int = 8
    rhos: tuple[float, ...] = (0.5, 0.9, 0.99)
    noises: tuple[str, ...] = NOISES
    draws: int = 8
    batch: int = 32
    extra: dict = field(default_factory=dict)

    def validate(self) -> RunConfig:
        check_int(self.n, "n", lo=3)
        check_int(self.inputs, "inputs", lo=2)
        check_int(self.seed, "seed", lo=0)
        check_int(self.positions, "positions", lo=0, hi=self.n)
        check_int(self.resamples, "resamples", lo=2)
        check_positive(self.sigma_rel, "sigma")
        check_int(self.probes, "probes", lo=2)
        check_int(self.draws, "draws", lo=1)
        check_int(self.batch, "batch", lo=1)
        check_choice(self.arm, ("pretrained", "random-init"), "arm")
        if not self.measures:
            raise NSTheoryError(f"--measures is empty (accepted: {', '.join(MEASURES)})")
        for m in self.measures:
            check_choice(m, MEASURES, "measures")
        for nz in self.noises:
            check_choice(nz, NOISES, "noises")
        for r in self.rhos:
            check_rho(r, "rhos")
            if not 0 < float(r) < 1:
                raise NSTheoryError(f"--rhos must lie in (0, 1), got {r}")
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["measures"], d["rhos"], d["noises"] = list(self.measures), list(self.rhos), \
            list(self.noises)
        return d

    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


#: The modules whose code computes a stored model run (watched by ``verify``'s code-changed
#: check).
PRODUCERS = tuple(f"nstheory/models/{m}.py" for m in (
    "functionals", "influence", "layers", "loading", "run", "stability", "summary", "texts"))


def provenance(config: dict, device=None, command: str | None = None) -> dict:
    """The study provenance block (:func:`nstheory.store.provenance_block`: command line,
    commit, versions, machine, threads, configuration hash) of a model run, plus the
    transformers version and the device.

    >>> p = provenance({"model": "tiny-bert"}, command="nstheory model influence")
    >>> p["command"], sorted(p)[:3]
    ('nstheory model influence', ['command', 'commit', 'config'])
    """
    from nstheory.device import describe_device
    from nstheory.store import provenance_block

    block = provenance_block(config, PRODUCERS, command=command)
    try:
        import transformers

        block["versions"]["transformers"] = transformers.__version__
    except ModuleNotFoundError:  # pragma: no cover
        block["versions"]["transformers"] = None
    block["device"] = describe_device(device) if device is not None else None
    return block


def task_seed(seed: int, key: str) -> int:
    """A per-unit seed derived from the run seed and the unit's key (stable across resumes).

    Examples
    --------
    >>> task_seed(0, "token:3") == task_seed(0, "token:3")
    True
    >>> len({task_seed(0, "token:3"), task_seed(1, "token:3"), task_seed(0, "token:4")})
    3
    """
    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:12], 16)


def open_run(out, cfg: RunConfig, device=None, command: str | None = None) -> Path:
    """Create or reopen the run directory ``out`` for ``cfg`` (refusing another config).

    Returns
    -------
    pathlib.Path
        The run directory, holding ``config.json``.

    Raises
    ------
    NSTheoryError
        If ``out`` holds a run with another configuration or a corrupt ``config.json``.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> (open_run(d, RunConfig(model="tiny-bert")) / "config.json").exists()
    True
    >>> open_run(d, RunConfig(model="tiny-gpt2"))             # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: --out ... holds a run with another configuration ...
    """
    from nstheory.store import load_json, save_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "config.json"
    if path.exists():
        try:
            old = load_json(path)
        except (OSError, ValueError) as exc:
            raise NSTheoryError(f"--out {out}: corrupt config.json ({exc})") from None
        if not isinstance(old, dict):
            raise NSTheoryError(f"--out {out}: config.json is not a run configuration (a JSON "
                                f"{type(old).__name__}): use another --out directory")
        if old.get("hash") != cfg.hash():
            raise NSTheoryError(
                f"--out {out} holds a run with another configuration (hash {old.get('hash')}, "
                f"now {cfg.hash()}): use another --out directory")
        return out
    save_json({"config": cfg.to_dict(), "hash": cfg.hash(),
               "provenance": provenance(cfg.to_dict(), device, command)}, path)
    return out


def load_for(cfg: RunConfig, device: str = "auto"):
    """The model of ``cfg`` (its arm), and the functionals.

    Examples
    --------
    >>> lm, fs = load_for(RunConfig(model="tiny-gpt2", functionals="mean,logprobs"))
    >>> lm.kind, [f.spec for f in fs]
    ('causal-lm', ['mean', 'logprobs'])
    """
    from nstheory.models.functionals import default_functionals, parse_functionals
    from nstheory.models.loading import load_model, random_init_like, tiny_model

    if cfg.model in ("tiny-bert", "tiny-gpt2"):
        lm = tiny_model(cfg.model.split("-")[1], seed=cfg.seed)
    else:
        lm = load_model(cfg.model, device=device)
    if cfg.arm == "random-init":
        lm = random_init_like(lm, seed=cfg.seed)
    fs = (default_functionals(lm.kind) if cfg.functionals == "default"
          else parse_functionals(cfg.functionals, lm.kind))
    return lm, fs


def execute(cfg: RunConfig, out, device: str = "auto", progress_bar: bool | None = None,
            lm=None, functionals=None, command: str | None = None) -> Path:
    """Run (or resume) every unit of ``cfg`` into ``out``; returns the run directory.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> cfg = RunConfig(model="tiny-bert", n=6, inputs=2, measures=("token",), batch=8)
    >>> _ = execute(cfg, d, progress_bar=False)
    >>> from nstheory.store import JsonlLog
    >>> len(JsonlLog(Path(d) / "log.jsonl", key="key").records())   # gram + 2 inputs
    3
    """
    import numpy as np
    import torch

    from nstheory.models import influence, stability
    from nstheory.models.functionals import evaluate
    from nstheory.models.texts import text_windows
    from nstheory.progress import progress
    from nstheory.store import JsonlLog

    cfg.validate()
    if lm is None:
        lm, functionals = load_for(cfg, device)
    out = open_run(out, cfg, lm.device, command)
    log = JsonlLog(out / "log.jsonl", key="key")
    done = {r["key"] for r in log.records()}
    ids, desc = text_windows(lm, cfg.n, cfg.inputs, cfg.seed, cfg.text)
    s = lm.embedding_scale()
    units = ["gram"]
    for x in range(cfg.inputs):
        if "gradient" in cfg.measures:
            units.append(f"gradient:{x}")
        for m in ("token", "gaussian"):
            if m in cfg.measures:
                starts = range(0, cfg.n, CHUNK) if not cfg.positions else (0,)
                units += [f"{m}:{x}:{c}" for c in starts]
        if "stability" in cfg.measures:
            units += [f"stab:{nz}:{r}:{x}" for nz in cfg.noises for r in cfg.rhos]
    todo = [u for u in units if u not in done]
    specs = [f.spec for f in functionals]
    for key in progress(todo, desc=f"{cfg.model} {cfg.arm}", enabled=progress_bar, unit="unit"):
        t0 = time.perf_counter()
        sd = task_seed(cfg.seed, key)
        rec: dict = {"key": key}
        kind, *rest = key.split(":")
        if kind == "gram":
            with torch.no_grad():
                f = evaluate(lm, lm.embed(ids), functionals)
            rec.update(gram={k: (v.double() @ v.double().T).cpu().numpy().tolist()
                             for k, v in f.items()},
                       text=desc, ids=ids.tolist(), embedding_scale=s, kind=lm.kind,
                       n_layers=lm.n_layers, hidden=lm.hidden_size,
                       resample_vocab=len(lm.resample_ids), functionals=specs)
        else:
            x = int(rest[-1] if kind != "token" and kind != "gaussian" else rest[0])
            if cfg.positions:
                g = np.random.default_rng(sd)
                pos = sorted(g.choice(cfg.n, size=cfg.positions, replace=False).tolist())
            else:
                c = int(rest[-1]) if kind in ("token", "gaussian") else 0
                pos = list(range(c, min(c + CHUNK, cfg.n)))
            if kind == "gradient":
                r = influence.jacobian_sq(lm, ids[x], functionals, cfg.probes, sd)
                rec.update(jsq={k: v[0].tolist() for k, v in r.items()},
                           jsq_se={k: v[1].tolist() for k, v in r.items()})
            elif kind == "token":
                r = influence.token_influence(lm, ids[x], functionals, pos, cfg.resamples,
                                              cfg.batch, sd)
                rec.update(positions=pos, est={k: v.tolist() for k, v in r.items()})
            elif kind == "gaussian":
                r = influence.gaussian_influence(lm, ids[x], functionals, cfg.sigma_rel * s,
                                                 pos, cfg.resamples, cfg.batch, sd)
                rec.update(positions=pos, est={k: v.tolist() for k, v in r.items()},
                           sigma=cfg.sigma_rel * s)
            else:
                nz, rho = rest[0], float(rest[1])
                rec.update(d=stability.noise_distance(lm, ids[x], functionals, rho, nz,
                                                      cfg.draws, cfg.batch, sd))
        rec["seconds"] = time.perf_counter() - t0
        log.append(rec)
    return out


def export_run(run_dir, path, note: str = "") -> Path:
    """Write a run (configuration, provenance, every logged record) as one JSON file.

    This is the form stored under ``proofs_check/data/models_*.json``; it reads
    back with :func:`nstheory.models.summary.load_run`.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from nstheory.models.summary import load_run
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> cfg = RunConfig(model="tiny-bert")
    >>> _ = open_run(d / "run", cfg)
    >>> p = export_run(d / "run", d / "run.json", note="empty run")
    >>> meta, recs = load_run(p)
    >>> meta["hash"] == cfg.hash(), meta["note"], recs
    (True, 'empty run', {})
    """
    from nstheory.store import JsonlLog, load_json, save_json

    run_dir = Path(run_dir)
    meta = load_json(run_dir / "config.json")
    meta["records"] = JsonlLog(run_dir / "log.jsonl", key="key").records()
    if note:
        meta["note"] = note
    return save_json(meta, path)
