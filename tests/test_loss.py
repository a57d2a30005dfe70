import math

import pytest
import torch

from mets_core.loss import clip_loss, text_group_ids


def lse(*xs):
    return math.log(sum(math.exp(x) for x in xs))


def test_hand_checked_2x2():
    # ECGs e0=(1,0), e1=(0,1); texts t0=(2,0) (normalised to (1,0)), t1=(1,1)/sqrt2; scale 1.
    e = torch.tensor([[1.0, 0.0], [0.0, 3.0]])          # norms are irrelevant: normalised inside
    t = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    r = 1 / math.sqrt(2)
    # cosine logits: row = ECG, column = text:  [[1, r], [0, r]]
    ecg_to_text = ((lse(1, r) - 1) + (lse(0, r) - r)) / 2      # rows, targets on the diagonal
    text_to_ecg = ((lse(1, 0) - 1) + (lse(r, r) - r)) / 2      # columns
    expected = (ecg_to_text + text_to_ecg) / 2
    assert clip_loss(e, t, 1.0).item() == pytest.approx(expected, abs=1e-6)
    # with a temperature: scale 2 multiplies every logit
    ecg_to_text2 = ((lse(2, 2 * r) - 2) + (lse(0, 2 * r) - 2 * r)) / 2
    text_to_ecg2 = ((lse(2, 0) - 2) + (lse(2 * r, 2 * r) - 2 * r)) / 2
    assert clip_loss(e, t, torch.tensor(2.0)).item() == pytest.approx((ecg_to_text2 + text_to_ecg2) / 2, abs=1e-6)


def test_symmetric_in_its_two_modalities():
    g = torch.Generator().manual_seed(0)
    e, t = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
    assert clip_loss(e, t, 14.3).item() == pytest.approx(clip_loss(t, e, 14.3).item(), abs=1e-6)
    ids = torch.tensor([0, 1, 0, 2, 3, 3, 4, 5])
    assert clip_loss(e, t, 5.0, ids).item() == pytest.approx(clip_loss(t, e, 5.0, ids).item(), abs=1e-6)


def test_perfect_alignment_beats_chance():
    e = torch.eye(4)
    assert clip_loss(e, e, 100.0).item() < 1e-3
    assert clip_loss(e, torch.ones(4, 4), 1.0).item() == pytest.approx(math.log(4), abs=1e-6)


def test_distinct_text_ids_equal_the_plain_loss():
    g = torch.Generator().manual_seed(1)
    e, t = torch.randn(6, 8, generator=g), torch.randn(6, 8, generator=g)
    plain = clip_loss(e, t, 10.0)
    assert clip_loss(e, t, 10.0, text_ids=list("abcdef")).item() == pytest.approx(plain.item(), abs=1e-6)


def test_text_ids_hand_checked_when_duplicates_embed_differently():
    # One report ("sinus rhythm") embedded two ways in one batch (e.g. two sampled templates):
    # e = t = identity, so logits = [[1, 0], [0, 1]]; with equal ids every target row is [.5, .5].
    e = torch.eye(2)
    t = torch.eye(2)
    soft = ((lse(1, 0) - 0.5 * (1 + 0)) + (lse(0, 1) - 0.5 * (0 + 1))) / 2   # same in both directions
    assert clip_loss(e, t, 1.0, text_ids=["sinus rhythm", "sinus rhythm"]).item() == pytest.approx(soft, abs=1e-6)
    plain = lse(1, 0) - 1
    assert clip_loss(e, t, 1.0).item() == pytest.approx(plain, abs=1e-6)


def test_text_ids_change_nothing_when_duplicates_embed_identically():
    # A frozen text encoder gives identical texts identical embeddings; the duplicate columns are then
    # equal and cross-entropy is linear in its target, so soft and plain targets give the same loss
    # (documented in mets_core/loss.py). Hand-checked: logits = [[1, 1], [0, 0]].
    e = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    t = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    rows = ((lse(1, 1) - 1) + (lse(0, 0) - 0)) / 2
    cols = lse(1, 0) - 0.5
    for ids in (None, ["sinus rhythm", "sinus rhythm"]):
        assert clip_loss(e, t, 1.0, text_ids=ids).item() == pytest.approx((rows + cols) / 2, abs=1e-6)


def test_text_group_ids():
    assert text_group_ids(["a", "b", "a", "c", "b"]).tolist() == [0, 1, 0, 2, 1]


def test_gradients_reach_both_sides_and_the_temperature():
    e = torch.randn(4, 8, requires_grad=True)
    t = torch.randn(4, 8, requires_grad=True)
    log_scale = torch.tensor(math.log(1 / 0.07), requires_grad=True)
    clip_loss(e, t, log_scale.exp()).backward()
    assert e.grad.abs().sum() > 0 and t.grad.abs().sum() > 0 and log_scale.grad is not None


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match="must both be"):
        clip_loss(torch.randn(3, 4), torch.randn(2, 4), 1.0)
    with pytest.raises(ValueError, match="one id per pair"):
        clip_loss(torch.randn(3, 4), torch.randn(3, 4), 1.0, text_ids=torch.tensor([0, 1]))
