"""``nstheory train TASK``: multi-seed training with and without the noise-stability regularizer.

Examples::

    nstheory train modadd --seeds 0-4                      # the paper setting, both arms
    nstheory train modadd --preset modadd-reduced --seeds 0-2 --executor process --workers 2
    nstheory train parity --seeds 0-4 --reg-gamma 0.05 --reg-rho 0.05
    nstheory train ntp --corpus wikitext2 --corpus-path ~/data/wikitext-2 --device cuda
    nstheory train modadd --seeds 0-4 --device cuda --record modadd113   # store for verify

Re-running a command resumes its unfinished runs (same ``--out``).
"""

from __future__ import annotations

from nstheory.validate import arg_int, arg_output_dir, arg_real, arg_rho, arg_seeds

DEFAULT_PRESET = {"modadd": "modadd113", "parity": "parity", "ntp": "ntp"}


def register_cli(sub) -> None:
    """Add the ``train`` sub-command to ``sub`` (an ``add_subparsers`` object).

    Examples
    --------
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> register_cli(sub)
    >>> args = sub.choices["train"].parse_args(["modadd", "--preset", "tiny", "--seeds", "0,2"])
    >>> args.task, args.preset, args.seeds, args.arms, args.device, args.func is run
    ('modadd', 'tiny', [0, 2], 'both', 'cpu', True)
    """
    p = sub.add_parser("train", help="training experiments with the noise-stability regularizer",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("task", choices=sorted(DEFAULT_PRESET), help="modadd, parity or ntp")
    p.add_argument("--preset", help="named preset (default: modadd113 / parity / ntp); "
                   "see nstheory.training.config.PRESETS")
    p.add_argument("--seeds", type=arg_seeds(1000), default="0-4",
                   help="seeds, e.g. 0-4 or 0,2 (default 0-4)")
    p.add_argument("--arms", choices=("both", "base", "reg"), default="both",
                   help="train without (base), with (reg) the regularizer, or both (default)")
    p.add_argument("--reg-gamma", type=arg_real(0, 1e6),
                   help="regularizer strength of the reg arm, in [0, 1e6]")
    p.add_argument("--reg-rho", type=arg_rho(),
                   help="regularizer rho in [-1, 1] (keep prob (1+rho)/2)")
    p.add_argument("--reg-noise", choices=("token", "token-excl", "gaussian"))
    p.add_argument("--steps", type=arg_int(1, 10_000_000),
                   help="step budget per run, 1 to 1e7")
    p.add_argument("--device", default="cpu", help="auto, cpu or cuda (default cpu)")
    p.add_argument("--out", type=arg_output_dir(),
                   help="output directory (default runs/<preset>; its parent must exist)")
    p.add_argument("--executor", default="serial", choices=("serial", "process", "ray"))
    p.add_argument("--workers", type=arg_int(1, 256),
                   help="worker processes for --executor process/ray, 1 to 256")
    p.add_argument("--threads", type=arg_int(1, 1024), help="torch threads per run, 1 to 1024")
    p.add_argument("--residual", choices=("yes", "no"),
                   help="grokking model: Nanda residual stream (yes) or Vasudeva's none (no)")
    p.add_argument("--corpus", choices=("fortunes", "wikitext2"), help="ntp corpus")
    p.add_argument("--corpus-path", help="directory of WikiText-2 (wiki.train.tokens)")
    p.add_argument("--record", metavar="NAME",
                   help="also store the study as proofs_check/data/training_NAME.json, which "
                   "`nstheory verify` re-analyses (modadd113, ntp, modadd_reduced); "
                   "refuses to replace a stored study unless --force")
    p.add_argument("--force", action="store_true",
                   help="with --record: overwrite an existing stored study")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``nstheory train``: train the preset's arms over the seeds and print the analysis.

    Returns the exit code; bad input (e.g. a preset of another task) raises
    :class:`~nstheory.errors.NSTheoryError` (exit code 2 from the command line).

    Examples
    --------
    >>> import contextlib, io, os, tempfile
    >>> from nstheory.cli import main
    >>> out = os.path.join(tempfile.mkdtemp(), "study")
    >>> buf = io.StringIO()
    >>> with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
    ...     code = main(["train", "modadd", "--preset", "tiny", "--seeds", "0", "--steps", "2",
    ...                  "--arms", "base", "--out", out])
    >>> code, buf.getvalue().splitlines()[0]
    (0, 'preset tiny  seeds [0]')
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     code = main(["train", "modadd", "--preset", "parity", "--out", out])
    >>> code, "is for task 'parity'" in err.getvalue()
    (2, True)
    """
    from pathlib import Path

    from nstheory.errors import NSTheoryError, check_choice
    from nstheory.training.config import PRESETS, preset, regularized_arm
    from nstheory.training.study import run_study

    name = args.preset or DEFAULT_PRESET[args.task]
    check_choice(name, PRESETS, "--preset")
    record_path = record_target(args.record, args.force) if args.record is not None else None
    overrides = {}
    if args.steps is not None:
        overrides["steps"] = args.steps
    if args.residual:
        overrides["residual"] = args.residual == "yes"
    if args.corpus:
        overrides["corpus"] = args.corpus
    if args.corpus_path:
        overrides["corpus_path"] = args.corpus_path
    from nstheory.device import resolve_device

    resolve_device(args.device)  # a clear error now if CUDA was asked for and is absent
    overrides["device"] = args.device
    base = preset(name, **overrides)
    if base.task != args.task:
        raise NSTheoryError(f"preset {name!r} is for task {base.task!r}, not {args.task!r}")
    if base.task == "ntp":
        from nstheory.training.tasks import load_corpus

        load_corpus(base.corpus, base.corpus_path)  # fails early with the install hint
    g, r, noise = regularized_arm(name)
    reg = (args.reg_gamma if args.reg_gamma is not None else g,
           args.reg_rho if args.reg_rho is not None else r, args.reg_noise or noise)
    arms = ("base", "reg") if args.arms == "both" else (args.arms,)
    if args.arms == "both" and reg[0] == 0:
        arms = ("base",)
    seeds = args.seeds
    out = args.out or f"runs/{name}"
    if not args.out:
        from nstheory.validate import check_output_dir

        Path("runs").mkdir(exist_ok=True)
        check_output_dir(out, "--out")
    from nstheory.store import cli_command

    res = run_study(base, seeds, out, arms=arms, reg=reg, executor=args.executor,
                    workers=args.workers, threads=args.threads, command=cli_command(args))
    print(format_analysis(res))
    print(f"wrote {out}/study.json")
    if record_path is not None:
        from nstheory.training.study import write_study

        write_study(out, record_path, force=args.force, command=cli_command(args),
                    threads={"torch": args.threads or "torch default",
                             "executor": args.executor, "workers": args.workers})
        print(f"recorded {record_path}")
    return 0


def record_target(name: str, force: bool = False, data_dir=None):
    """The stored-study path of ``--record NAME``, checked before any training starts.

    ``NAME`` must be letters, digits and underscores (at most 64); an existing study is
    refused unless ``force``.

    >>> record_target("modadd113", force=True).name
    'training_modadd113.json'
    >>> try:
    ...     record_target("../x")
    ... except Exception as e:
    ...     print(e)
    --record must be letters, digits and underscores (1 to 64), got '../x'
    """
    import re
    from pathlib import Path

    from nstheory.errors import NSTheoryError
    from nstheory.store import REPO_ROOT

    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,64}", name):
        raise NSTheoryError(f"--record must be letters, digits and underscores (1 to 64), "
                            f"got {name!r}")
    base = Path(data_dir) if data_dir is not None else REPO_ROOT / "proofs_check" / "data"
    path = base / f"training_{name}.json"
    if path.exists() and not force:
        raise NSTheoryError(f"--record {name}: {path.name} is already stored; pass --force to "
                            "overwrite it")
    return path


def format_analysis(res: dict) -> str:
    """A short text table of a study's analysis.

    Examples
    --------
    >>> res = {"preset": "tiny", "seeds": [0, 1], "analysis": {
    ...     "arms": {"base": {"wall_per_step_s": 0.0021, "steps_to_val95": 30,
    ...                       "steps_to_val99": None}},
    ...     "speedup": {"steps_to_val95": {"note": "one arm only: no ratio"}}}}
    >>> print(format_analysis(res))
    preset tiny  seeds [0, 1]
      base steps_to_val95=30  steps_to_val99=None  wall/step=2.1 ms
      speed-up steps_to_val95: one arm only: no ratio
    """
    an = res["analysis"]
    lines = [f"preset {res['preset']}  seeds {res['seeds']}"]
    for arm, a in an["arms"].items():
        w = a["wall_per_step_s"]
        lines.append(f"  {arm:4s} steps_to_val95={a['steps_to_val95']}  "
                     f"steps_to_val99={a['steps_to_val99']}  "
                     f"wall/step={w and round(w * 1e3, 1)} ms")
    for m, s in an["speedup"].items():
        if isinstance(s, dict) and s.get("ratio") is not None:
            ci = (f"[{s['ci'][0]:.4g}, {s['ci'][1]:.4g}] ({s.get('level', 0.95):.0%} Welch-t "
                  "interval of the log ratio)" if s["ci"] is not None else
                  "(no interval: one seed in an arm)")
            lines.append(f"  speed-up {m}: T_base/T_reg = {s['ratio']:.4g} {ci}")
        elif isinstance(s, dict):
            lines.append(f"  speed-up {m}: {s['note']}")
        else:
            lines.append(f"  {m}: {s:.4g}")
    return "\n".join(lines)
