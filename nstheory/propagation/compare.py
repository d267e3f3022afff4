"""Per-block comparison of the routes: certified interval, point recurrence, Monte Carlo.

:func:`layer_table` returns one :class:`LayerRow` per block with the interval ``[lo, hi]`` of
the raw stability ``C`` (decimal strings, outward rounded), the float point value, and, when
sampled, the Monte Carlo mean, standard error, the distance in standard errors from the
interval (``z``, 0 inside), containment and the tightness ``interval width / CI width``.

Containment test: the interval meets the Monte Carlo confidence interval at ``level``
(default 99.9%, ``|z| <= 3.29``). The Monte Carlo runs at finite width, whose deviation from
the mean-field value is ``O(depth / width)``: it is *not* added as slack, so a containment
failure would show a finite-width effect larger than the statistical error.

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
from nstheory.stats import normal_quantile


@dataclass
class LayerRow:
    """One block's results (raw view: ``C = E[h(X)_ij h(Y)_ij]``)."""

    layer: int
    lo: str
    hi: str
    point: float
    normalised_lo: str
    normalised_hi: str
    mc_mean: float | None = None
    mc_stderr: float | None = None
    mc_n: int | None = None
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
                show_progress: bool = False) -> list[LayerRow]:
    """Interval, point recurrence and (if ``mc_samples > 0``) Monte Carlo for every block.

    ``mc_samples`` input pairs are split over ``ceil(mc_samples / per_net)`` random networks.
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
                          device=device, show_progress=show_progress)
        zc = normal_quantile(level)
        for row, m in zip(rows, res, strict=True):
            row.mc_mean, row.mc_stderr, row.mc_n = m.mean, m.stderr, m.n * per_net
            row.z = distance_z(float(row.lo), float(row.hi), m.mean, m.stderr)
            row.contained = abs(row.z) <= zc
            width_ci = 2 * zc * m.stderr
            row.tightness = (float(row.hi) - float(row.lo)) / width_ci if width_ci else None
    return rows
