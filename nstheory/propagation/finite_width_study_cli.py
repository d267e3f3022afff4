"""``nstheory finite-width-study OUT.json [--set SET] [--quick]`` (SET: mlp, blocks, random,
one-pair, smooth, pairs, leakage, leakage-b, random-b, random-c, random-d, random-e,
random-f, random-g or random-h) [--predict
SAMPLES]: run or resume a stored finite-width
Monte Carlo study (:mod:`~nstheory.propagation.finite_width_study`).

Kept apart from the study module so that the command is cheap to register (torch loads only
when a study runs).
"""

from __future__ import annotations

SETS = ("mlp", "blocks", "random", "one-pair", "smooth", "pairs", "leakage", "leakage-b",
        "random-b", "random-c", "random-d", "random-e", "random-f", "random-g", "random-h")


def register_cli(sub) -> None:
    """Add the ``finite-width-study`` sub-command to ``sub`` (an ``add_subparsers`` object).

    Examples
    --------
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers(dest="command")
    >>> register_cli(sub)
    >>> args = sub.choices["finite-width-study"].parse_args(["out.json", "--set", "random"])
    >>> args.out, args.set, args.quick, args.predict, args.func is run
    ('out.json', 'random', False, None, True)
    """
    p = sub.add_parser(
        "finite-width-study",
        help="run or resume a stored finite-width Monte Carlo study (normalised view)",
        description="Run (or resume: stored runs are skipped) one set of the finite-width "
        "Monte Carlo study into OUT.json, with a provenance block: 'mlp' (He ReLU MLPs, "
        "widths 16-256, LayerNorm, residual, smooth activations), 'blocks' (transformer blocks "
        "with the identity attention pattern, widths 512/1024, depth 64), 'random' "
        "(random-W attention), 'one-pair' (one input pair per network: residual and "
        "LayerNorm ReLU MLPs and tanh, GELU and erf MLPs for the arb enclosure of the "
        "1/width-corrected value), 'smooth' (GELU, tanh and erf MLPs at widths 32-1024, "
        "projected sampler), 'pairs' (one ReLU MLP with 1, 20 and 100 input pairs per "
        "network) or 'leakage' (identity-pattern transformer blocks at widths 32-256, fresh "
        "seeds: the held-out test of the identity pattern's leakage correction) and "
        "'leakage-b' (the same models with other fresh seeds, for its refined form) or "
        "'random-b' (random-W transformer blocks at depth 4, fresh seeds: the held-out test "
        "of the pattern-resolved mean field at d = width) or 'random-c' (random-W transformer "
        "blocks with one input pair per network, fresh seeds: the held-out test of that mean "
        "field's 1/width correction; --predict stores the predictions beside the runs) or "
        "'random-d' (pre- and post-LN at widths 16-64, 400 000 networks: that correction's "
        "remainder) or 'random-e' (post-LN, depth 12, width 256, one pair per network: that "
        "correction at a large width, by its combined estimator; predictions beyond the "
        "route's work cap are pooled from parts) or 'random-f' (the random-d models at widths "
        "24 and 48: the remainder's exponent) or 'random-g' (pre-LN at widths 24 and 32 with "
        "20 input pairs per network: the correction's normalised view with several pairs) or "
        "'random-h' (the random-d pre-LN model at width 32 with 800 000 networks and a "
        "prediction from 14 000 000 samples: the width-32 residual resolved).")
    p.add_argument("out", help="the study's JSON file (created or resumed)")
    p.add_argument("--set", default="mlp", choices=SETS, help="which set of runs (default mlp)")
    p.add_argument("--quick", action="store_true", help="1/50 of the networks (a smoke run)")
    p.add_argument("--predict", type=int, default=None, metavar="SAMPLES",
                   help="with --set random-c to random-h: also store the "
                   "1/width-corrected "
                   "pattern-resolved "
                   "predictions from SAMPLES samples per run")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run the study named by ``args`` (see :func:`register_cli`).

    Parameters
    ----------
    args : argparse.Namespace
        ``out``, ``set``, ``quick`` and, from :func:`nstheory.cli.main`, ``argv``.

    Returns
    -------
    int
        The exit code, 0.

    Examples
    --------
    Resuming a file that lacks only the cheapest run (``--quick``: 8 networks) records the
    ``nstheory`` command in the provenance:

    >>> import argparse, json, pathlib, tempfile
    >>> from nstheory.propagation.finite_width_study import RANDOM_RUNS
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "s.json"
    >>> _ = out.write_text(json.dumps({"runs": {r["key"]: {} for r in RANDOM_RUNS[1:]}}))
    >>> run(argparse.Namespace(out=str(out), set="random", quick=True,
    ...                        argv=["finite-width-study", str(out), "--quick"]))
    ... # doctest: +ELLIPSIS
    tf_random_preln_w32 ... s
    0
    >>> d = json.loads(out.read_text())
    >>> d["provenance"]["command"].split()[:2], d["runs"][RANDOM_RUNS[0]["key"]]["n_nets"]
    (['nstheory', 'finite-width-study'], 8)

    A corrupt file or a missing directory is a one-line error (exit code 2 from the CLI):

    >>> _ = out.write_text("not json")
    >>> run(argparse.Namespace(out=str(out), set="random", quick=True, argv=[]))
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: OUT: ... exists and is not a JSON file; refusing to read ...
    """
    from nstheory.propagation.finite_width_study import main
    from nstheory.store import cli_command

    argv = [args.out, "--set", args.set] + (["--quick"] if args.quick else [])
    if getattr(args, "predict", None) is not None:
        argv += ["--predict", str(args.predict)]
    return main(argv, command=cli_command(args))


__all__ = ["register_cli", "run"]
