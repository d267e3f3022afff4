"""Per-block comparison of the routes: certified interval, point recurrence, Monte Carlo.

:func:`layer_table` returns one :class:`LayerRow` per block with the interval ``[lo, hi]`` of
the raw stability ``C`` (decimal strings, outward rounded), the float point value, and, when
sampled, the Monte Carlo mean, standard error, the distance in standard errors from the
interval (``z``, 0 inside), containment and the tightness ``interval width / CI width``.

Containment test: the interval meets the Monte Carlo confidence interval at ``level``
(default 99.9%): Student-t over the networks whose averages give the standard error
(``|z| <= t_{N-1}``; 3.29 for many networks, 636.6 for 2). The Monte Carlo runs at finite
width, whose deviation from the mean-field value is ``O(depth / width)``: it is *not* added as
slack, so a containment failure would show a finite-width effect larger than the statistical
error.

>>> from nstheory.propagation.model import mlp
>>> rows = layer_table(mlp(2), 0.5, mc_samples=0)
>>> rows[0].lo, rows[0].hi
('0.60899778104422919', '0.60899778104422942')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from nstheory.propagation.intervals import bounds, interval_propagation
from nstheory.propagation.model import Model
from nstheory.propagation.recurrence import point_recurrence
from nstheory.stats import t_quantile


@dataclass
class LayerRow:
    """One block's results (raw view: ``C = E[h(X)_ij h(Y)_ij]``).

    Parameters
    ----------
    layer : int
        Block index, 1-based.
    lo, hi : str
        Outward-rounded interval of the raw stability.
    point : float
        Float point recurrence value.
    normalised_lo, normalised_hi : str
        Interval of the normalised stability ``C / Q``.
    mc_mean, mc_stderr, mc_n : float, float, int, optional
        Monte Carlo mean, standard error and number of input pairs.
    mc_networks : int, optional
        Number of random networks: the standard error is over their averages, and the
        confidence intervals are Student-t with ``mc_networks - 1`` degrees of freedom.
    z : float, optional
        Distance of the Monte Carlo mean from the interval in standard errors.
    contained : bool, optional
        Whether the interval meets the Monte Carlo confidence interval.
    tightness : float, optional
        Interval width over confidence-interval width.

    Examples
    --------
    >>> row = LayerRow(1, "0.5", "0.6", 0.55, "0.5", "0.6")
    >>> d = row.to_dict()
    >>> d["layer"], d["mc_mean"] is None
    (1, True)
    """

    layer: int
    lo: str
    hi: str
    point: float
    normalised_lo: str
    normalised_hi: str
    mc_mean: float | None = None
    mc_stderr: float | None = None
    mc_n: int | None = None
    mc_networks: int | None = None
    z: float | None = None
    contained: bool | None = None
    tightness: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def distance_z(lo: float, hi: float, mean: float, stderr: float) -> float:
    """Signed distance of ``mean`` from ``[lo, hi]`` in standard errors (0 inside).

    >>> distance_z(0.0, 1.0, 1.5, 0.25)
    2.0

    A zero standard error (every sample equal) gives 0 inside and an infinite distance outside.

    >>> distance_z(0.0, 1.0, 1.5, 0.0)
    inf
    """
    if stderr == 0:
        return 0.0 if lo <= mean <= hi else (float("inf") if mean > hi else float("-inf"))
    if mean < lo:
        return (mean - lo) / stderr
    if mean > hi:
        return (mean - hi) / stderr
    return 0.0


def layer_table(model: Model, rho: float, mc_samples: int = 0, width: int = 256,
                per_net: int = 100, seed: int = 0, device="cpu", bits: int = 53,
                level: float = 0.999, digits: int = 17,
                show_progress: bool = False, sampler: str = "weights") -> list[LayerRow]:
    """Interval, point recurrence and (if ``mc_samples > 0``) Monte Carlo for every block.

    ``mc_samples`` input pairs are split over ``ceil(mc_samples / per_net)`` random networks.

    Parameters
    ----------
    model : Model
        The stack to propagate.
    rho : float
        Input correlation.
    mc_samples : int, optional
        Number of Monte Carlo input pairs (0: no sampling).
    width, per_net, seed, device : optional
        Monte Carlo settings.
    bits : int, optional
        Working precision of the interval route.
    level : float, optional
        Confidence level of the containment test.
    digits : int, optional
        Significant digits of the printed bounds.
    show_progress : bool, optional
        Print a progress bar while sampling.
    sampler : str, optional
        The Monte Carlo sampler (``weights`` or ``projected``, see
        :func:`~nstheory.propagation.torch_model.monte_carlo`).

    Returns
    -------
    list of LayerRow

    Examples
    --------
    The first He-initialised ReLU layer reproduces the arc-cosine kernel
    ``(sqrt(1 - rho^2) + (pi - arccos rho) rho) / pi``:

    >>> import math
    >>> from nstheory.propagation.model import mlp
    >>> rows = layer_table(mlp(2), 0.5)
    >>> exact = (math.sqrt(0.75) + (math.pi - math.acos(0.5)) * 0.5) / math.pi
    >>> float(rows[0].lo) <= exact <= float(rows[0].hi)
    True
    >>> len(rows), rows[0].mc_mean is None
    (2, True)
    """
    iv = interval_propagation(model, rho, bits)
    pts = point_recurrence(model, rho)
    rows = []
    for i in range(1, model.depth + 1):
        lo, hi = bounds(iv[i].C, digits)
        nlo, nhi = bounds(iv[i].normalised(), digits)
        rows.append(LayerRow(i, lo, hi, float(pts[i].C), nlo, nhi))
    if mc_samples:
        from nstheory.propagation.torch_model import monte_carlo

        n_nets = max(2, -(-mc_samples // per_net))
        res = monte_carlo(model, rho, width=width, n_nets=n_nets, per_net=per_net, seed=seed,
                          device=device, show_progress=show_progress, sampler=sampler)
        for row, m in zip(rows, res, strict=True):
            zc = t_quantile(level, m.n - 1)   # m.n networks: their averages give the SE
            row.mc_mean, row.mc_stderr, row.mc_n = m.mean, m.stderr, m.n * per_net
            row.mc_networks = m.n
            row.z = distance_z(float(row.lo), float(row.hi), m.mean, m.stderr)
            row.contained = abs(row.z) <= zc
            width_ci = 2 * zc * m.stderr
            row.tightness = (float(row.hi) - float(row.lo)) / width_ci if width_ci else None
    return rows
