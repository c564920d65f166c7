"""The loss math against values worked out by hand (in the comments)."""

import math

import pytest

torch = pytest.importorskip("torch")

from whosthat.research import losses  # noqa: E402


def test_contrastive_loss_matches_hand_values():
    d = torch.tensor([0.5, 0.3, 1.5])
    same = torch.tensor([True, False, False])
    # same: 0.5 * 0.5^2 = 0.125; different within margin: 0.5 * (1 - 0.3)^2 = 0.245; beyond margin: 0
    assert torch.allclose(losses.contrastive_loss(d, same, margin=1.0), torch.tensor([0.125, 0.245, 0.0]))


def test_balanced_mean_weights_positives_and_negatives_equally():
    values = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0])
    same = torch.tensor([True, False, False, False, False])
    assert balanced(values, same) == pytest.approx(0.5)  # (1/1 + 0/4) / 2, not 1/5


def balanced(values, same):
    return float(losses.balanced_mean(values, same))


def test_all_pairs_lists_each_unordered_pair_once():
    i, j, same = losses.all_pairs(torch.tensor([3, 3, 7]))
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 2)]
    assert same.tolist() == [True, False, False]


def test_replicator_dynamics_one_step_by_hand():
    W = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.5], [0.0, 0.5, 0.0]])
    X = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    # W X = [[.5, .5], [1, .5], [.25, .25]]; X * WX = [[.5, 0], [.5, .25], [0, .25]]; rows normalised:
    expected = torch.tensor([[1.0, 0.0], [2 / 3, 1 / 3], [0.0, 1.0]])
    assert torch.allclose(losses.replicator_dynamics(W, X, 1), expected)


def test_replicator_dynamics_keeps_priors_of_unsupported_samples():
    W = torch.zeros(2, 2)
    X = torch.tensor([[0.3, 0.7], [0.9, 0.1]])
    assert torch.allclose(losses.replicator_dynamics(W, X, 3), X)


def test_pearson_similarity_of_shifted_and_scaled_rows_is_one():
    x = torch.tensor([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0], [3.0, 2.0, 1.0]])
    S = losses.pearson_similarity(x)
    assert S[0, 1] == pytest.approx(1.0, abs=1e-6)
    assert S[0, 2] == pytest.approx(-1.0, abs=1e-6)


def test_group_loss_by_hand():
    # cosine similarities: e0 = e1 = [1, 0], e2 = [0, 1] -> W = [[0,1,0],[1,0,0],[0,0,0]]
    e = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    logits = torch.zeros(3, 2)
    gl = losses.GroupLoss(
        temperature=1.0, iterations=1, anchors_per_class=1, similarity="cosine", ce_weight=1.0
    )
    # anchors: sample 0 (class 0) and sample 1 (class 1) are one-hot; sample 2 has prior softmax(0, 0) = [.5, .5]
    assert gl.anchor_mask(labels).tolist() == [True, True, False]
    out = gl(e, logits, labels)
    # sample 0: X0 * (W X)_0 = [1,0] * [0,1] = 0 -> keeps [1, 0]; sample 1 likewise keeps [0, 1];
    # sample 2 has no support -> keeps [.5, .5]. NLL = -(log 1 + log 1 + log .5) / 3 = ln 2 / 3
    assert float(out["group_loss"]) == pytest.approx(math.log(2) / 3, abs=1e-6)
    assert float(out["ce_loss"]) == pytest.approx(math.log(2), abs=1e-6)  # uniform logits
    assert float(out["loss"]) == pytest.approx(math.log(2) / 3 + math.log(2), abs=1e-6)


def test_group_loss_rewards_embeddings_that_agree_with_labels():
    labels = torch.tensor([0, 0, 1, 1])
    logits = torch.zeros(4, 2)
    gl = losses.GroupLoss(temperature=1.0, iterations=2, similarity="cosine")
    good = torch.tensor([[1.0, 0.1], [1.0, 0.0], [0.0, 1.0], [0.1, 1.0]])
    bad = torch.tensor([[1.0, 0.1], [0.0, 1.0], [1.0, 0.0], [0.1, 1.0]])
    assert float(gl(good, logits, labels)["group_loss"]) < float(gl(bad, logits, labels)["group_loss"])


def test_arcface_adds_the_margin_to_the_true_class_angle_only():
    arc = losses.ArcMarginProduct(dim=2, n_classes=2, scale=1.0, margin=0.5)
    with torch.no_grad():
        arc.weight.copy_(torch.eye(2))
    e = torch.tensor([[1.0, 0.0]])
    # theta_0 = 0 -> cos(0 + 0.5) = 0.87758 for the true class; class 1: cos(pi/2) = 0, untouched
    assert torch.allclose(arc(e, torch.tensor([0])), torch.tensor([[math.cos(0.5), 0.0]]), atol=1e-3)
    # as the true class, class 1 gets cos(pi/2 + 0.5) = -sin(0.5), but pi/2 + 0.5 < pi - 0.5 holds
    assert torch.allclose(arc(e, torch.tensor([1])), torch.tensor([[1.0, -math.sin(0.5)]]), atol=1e-3)
    # without labels (inference) the logits are plain scaled cosines
    assert torch.allclose(arc(e), torch.tensor([[1.0, 0.0]]), atol=1e-6)
