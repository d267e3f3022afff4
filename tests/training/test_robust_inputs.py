"""Training inputs: NaN/inf/out-of-range arguments refused; a NaN loss stops the run."""

import json

import pytest
import torch

from nstheory.cli import main
from nstheory.errors import NSTheoryError
from nstheory.training.config import preset
from nstheory.training.loop import train


@pytest.mark.parametrize("argv", [
    ["--reg-gamma", "nan"], ["--reg-gamma", "inf"], ["--reg-gamma", "-1"],
    ["--reg-rho", "nan"], ["--reg-rho", "1.5"], ["--steps", "-1"], ["--steps", "0"],
    ["--steps", "1.5"], ["--seeds", "-1"], ["--seeds", ""], ["--workers", "0"],
    ["--threads", "-2"],
])
def test_bad_training_arguments_exit_2(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "parity", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and argv[0] in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing trained, nothing written


def test_config_refuses_nan_gamma():
    with pytest.raises(NSTheoryError, match="reg_gamma"):
        preset("tiny", reg_gamma=float("nan")).validate()


def test_nan_loss_stops_naming_the_step_and_keeps_log_and_checkpoint(tmp_path):
    # lr = 1e38 overflows the float32 weights after the first Adam update: the loss of the
    # second step is NaN, the run must stop there (not train on for 10 steps and exit 0)
    with pytest.raises(NSTheoryError, match=r"loss became nan at step 2\b"):
        train(preset("tiny", steps=10, lr=1e38), tmp_path, progress_bar=False)
    log = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert log[0]["step"] == 0
    ck = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert ck["step"] == 1
    assert all(torch.isfinite(v).all() for v in ck["model"].values())
    assert not (tmp_path / "summary.json").exists()


def test_config_fields_are_validated_before_training():
    """sens_sigma = nan logged sensitivity 1 at every step, warmup = -5 and residual = 'no'
    trained silently, d_model = 0 and n_heads = 0 divided by zero, steps = 1e400 ran on."""
    import pytest

    from nstheory.errors import NSTheoryError
    from nstheory.training.config import PRESETS, preset

    for name in PRESETS:
        preset(name)  # every shipped preset passes
    for kw in (dict(sens_sigma=float("nan")), dict(sens_sigma=-1.0), dict(warmup=-5),
               dict(stop_val_acc=1.5), dict(residual="no"), dict(n_heads=0), dict(d_model=0),
               dict(d_model=10, n_heads=4), dict(steps=10**400), dict(beta1=1.5),
               dict(weight_decay=float("nan")), dict(metric_samples=0), dict(batch_size=-3),
               dict(n_bits=10**6)):
        with pytest.raises(NSTheoryError):
            preset("tiny", **kw)


def test_next_token_splits_are_never_empty():
    """val_frac = 0 or 1 (or seq_len = 0) returned an empty train or validation set."""
    import pytest

    from nstheory.errors import NSTheoryError
    from nstheory.training.tasks import next_token

    text = "a b c d e f g h i j " * 20
    for kw in (dict(val_frac=0), dict(val_frac=1.0), dict(seq_len=0), dict(vocab=10**400)):
        args = {"vocab": 10, "seq_len": 4, "max_tokens": 1000, **kw}
        with pytest.raises(NSTheoryError):
            next_token(text, **args)
    d = next_token(text, vocab=10, seq_len=4, max_tokens=1000, val_frac=0.99)
    assert d.train_x.shape[0] >= 1 and d.val_x.shape[0] >= 1
