"""Models (fast answer-position path) and task data."""

import torch

from nstheory.training.models import AnswerTransformer, TinyLM
from nstheory.training.tasks import WordTokenizer, modular_addition, next_token, sparse_parity


def test_gather_path_equals_embedding_path_with_gradients():
    torch.manual_seed(0)
    for residual in (True, False):
        m = AnswerTransformer(12, 11, 3, 16, 4, 32, residual=residual).double()
        t = torch.randint(0, 12, (40, 3))
        a = m(t)
        b = m.forward_embeddings(m.embed(t))
        assert torch.allclose(a, b, atol=1e-12)
        ga = torch.autograd.grad(a.square().sum(), list(m.parameters()))
        gb = torch.autograd.grad(b.square().sum(), list(m.parameters()))
        for x, y in zip(ga, gb, strict=True):
            assert torch.allclose(x, y, atol=1e-10)


def test_tinylm_is_causal():
    torch.manual_seed(0)
    m = TinyLM(vocab=20, seq_len=8, d_model=12, n_heads=6, n_layers=2)
    t = torch.randint(0, 20, (2, 8))
    t2 = t.clone()
    t2[:, 5] = (t2[:, 5] + 1) % 20
    a, b = m(t), m(t2)
    assert torch.allclose(a[:, :5], b[:, :5], atol=1e-6)
    assert not torch.allclose(a[:, 5], b[:, 5])


def test_modular_addition_split_and_labels():
    d = modular_addition(113, 0.3, seed=0)
    assert d.train_x.shape == (3830, 3) and d.val_x.shape == (12769 - 3830, 3)
    assert torch.equal(d.train_y, (d.train_x[:, 0] + d.train_x[:, 1]) % 113)
    assert (d.train_x[:, 2] == 113).all()
    allpairs = torch.cat([d.train_x, d.val_x])[:, :2]
    assert len({tuple(r) for r in allpairs.tolist()}) == 12769
    assert not torch.equal(modular_addition(113, 0.3, seed=1).train_x, d.train_x)


def test_parity_labels_clean_on_validation():
    d = sparse_parity(30, 4, 500, 500, 0.2, seed=3)
    s = d.info["support"]
    assert torch.equal(d.val_y, d.val_x[:, s].sum(1) % 2)
    wrong = (d.train_y != d.train_x[:, s].sum(1) % 2).sum().item()
    assert wrong == d.info["flipped_train_labels"] and 50 < wrong < 150


def test_next_token_windows_and_tokenizer():
    text = "the cat sat on the mat . " * 50 + "zebra"
    d = next_token(text, vocab=5, seq_len=6, max_tokens=10**6)
    assert torch.equal(d.train_x[:, 1:], d.train_y[:, :-1])
    tok = WordTokenizer.train(text, 5)
    assert tok.words[0] == "<unk>" and tok.encode("zebra") == [0]


def test_regularized_loss_matches_two_full_forward_passes():
    """The changed-rows-only shortcut has the value and gradient of the plain definition."""
    import torch.nn.functional as F

    from nstheory.training.config import preset
    from nstheory.training.loop import build_data, build_model, regularized_loss
    from nstheory.training.regularizer import perturb_tokens, stability_term

    for noise in ("token", "token-excl"):
        cfg = preset("tiny", reg_gamma=0.75, reg_rho=0.25, reg_noise=noise)
        data = build_data(cfg)
        model = build_model(cfg, data).double()
        x, y = data.train_x, data.train_y
        loss, _, _ = regularized_loss(model, x, y, cfg, data, torch.Generator().manual_seed(5))
        g1 = torch.autograd.grad(loss, list(model.parameters()))
        xn = perturb_tokens(x, 0.25, noise, data.noise_vocab, data.noise_positions,
                            torch.Generator().manual_seed(5))
        assert (xn == x).all(1).any() and (xn != x).any()
        lx, ly = model(x), model(xn)
        ref = F.cross_entropy(lx, y) + 0.75 * stability_term(lx.softmax(-1), ly.softmax(-1))
        g2 = torch.autograd.grad(ref, list(model.parameters()))
        assert torch.allclose(loss, ref, atol=1e-12)
        for a, b in zip(g1, g2, strict=True):
            assert torch.allclose(a, b, atol=1e-10)


def test_modular_addition_train_size_is_the_rounded_down_decimal_fraction():
    # int(0.47 * 10 * 10) = 46 (0.47 * 100 = 46.99999... in floats); the docstring promises
    # floor(frac p^2) = 47. 323 (p, frac) pairs with p < 300 and two-digit fractions were off.
    from nstheory.training.tasks import modular_addition

    assert len(modular_addition(10, 0.47, 0).train_x) == 47
    assert len(modular_addition(15, 0.12, 0).train_x) == 27
    assert len(modular_addition(113, 0.3, 0).train_x) == 3830   # the presets are unchanged
