"""Stored Monte Carlo study for the arb enclosure of the 1/width-corrected value: one input pair
per network (the setting in which the normalised view is enclosed), residual and LayerNorm
ReLU MLPs. ``python -m nstheory.propagation.finite_width_enclosure_study OUT.json [--quick]
[--force]``.

Each run is one model at one width, ``per_net = 1``: per block the mean and standard error over
random networks of the cosine ``h(X).h(Y) / (|h(X)| |h(Y)|)`` of one input pair (the statistic
of :func:`~nstheory.propagation.torch_model.monte_carlo`, ``view="normalised"``). The network
counts were fixed in advance from a pilot of 400 networks (seed 1, not stored): the per-network
standard deviation of the cosine (0.029-0.036 for the pre-LN model) against the mean-field gap
``|coef| / width`` gives the count at which a ``|z| <= 4`` test rejects mean field with power
>= 0.9 at every layer (the largest count needed, at layer 1, is about 11400; 16000 are used).
The stored runs use fresh seeds. The file is written once at the end (about a minute on one
core) with :func:`~nstheory.store.save_study` and its provenance; it is not overwritten unless
``--force``.

>>> [r["key"] for r in RUNS]
['relu_res_preln_d12_w128_p1', 'relu_res_d12_w128_p1', 'relu_ln_d10_w128_p1']
"""

from __future__ import annotations

import sys
from pathlib import Path

RHO = 0.9
_BASE = {"act": "relu", "sigma2": 2.0, "per_net": 1, "rho": RHO}
#: the runs: keys, models (``residual``, ``layernorm`` as in ``mlp``), widths, counts, seeds
RUNS = [
    {**_BASE, "key": "relu_res_preln_d12_w128_p1", "depth": 12, "width": 128,
     "residual": True, "layernorm": True, "n_nets": 16000, "seed": 501},
    {**_BASE, "key": "relu_res_d12_w128_p1", "depth": 12, "width": 128,
     "residual": True, "layernorm": False, "n_nets": 16000, "seed": 502},
    {**_BASE, "key": "relu_ln_d10_w128_p1", "depth": 10, "width": 128,
     "residual": False, "layernorm": True, "n_nets": 16000, "seed": 503},
]
#: The modules whose code computes the stored study.
PRODUCERS = ("nstheory/propagation/finite_width_enclosure_study.py",
             "nstheory/propagation/finite_width_study.py", "nstheory/propagation/model.py",
             "nstheory/propagation/torch_model.py")


def main(argv=None) -> int:
    """Run the study into ``argv[0]`` (``--quick``: 1/50 of the networks; ``--force``: replace
    an existing file).

    Parameters
    ----------
    argv : list of str, optional
        ``[OUT.json, ["--quick"], ["--force"]]`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code, 0.

    Examples
    --------
    >>> main([])
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: usage: python -m nstheory.propagation.finite_width_enclosure_study OUT.json [--quick] [--force]
    """  # noqa: E501
    from nstheory.errors import NSTheoryError
    from nstheory.propagation.finite_width_study import measure
    from nstheory.store import provenance_block, save_study

    argv = sys.argv[1:] if argv is None else list(argv)
    usage = ("usage: python -m nstheory.propagation.finite_width_enclosure_study OUT.json "
             "[--quick] [--force]")
    if not argv or argv[0].startswith("-") or any(
            a not in ("--quick", "--force") for a in argv[1:]):
        raise NSTheoryError(usage)
    out = Path(argv[0])
    if not out.parent.is_dir():
        raise NSTheoryError(f"OUT: directory {out.parent} does not exist")
    quick, force = "--quick" in argv, "--force" in argv
    if out.exists() and not force:
        raise NSTheoryError(f"OUT: {out} exists; pass --force to replace it")
    config = {"runs": RUNS, "quick": quick}
    prov = provenance_block(config, PRODUCERS, command=" ".join(
        ["python -m nstheory.propagation.finite_width_enclosure_study", *argv]))
    runs = {}
    for run in RUNS:
        r = measure(run, n_nets=max(2, run["n_nets"] // 50) if quick else None)
        runs[run["key"]] = r
        print(run["key"], f"{r['seconds']:.1f} s", flush=True)
    save_study({"view": "normalised, one input pair per network", "runs": runs}, out, prov,
               force=force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
