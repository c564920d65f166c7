"""The n classes x m images batch sampler."""

from collections import Counter

import numpy as np
import pytest

from whosthat.research.sampler import ClassBalancedBatchSampler


def labels_with_counts(counts):
    return np.concatenate([np.full(c, k) for k, c in enumerate(counts)])


def test_every_batch_has_n_distinct_classes_with_m_images_each():
    labels = labels_with_counts([2, 3, 5, 8, 2, 4, 6, 1, 9, 2, 3, 7] * 5)
    sampler = ClassBalancedBatchSampler(labels, n_classes=24, m_per_class=2, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) > 0
    for batch in batches:
        per_class = Counter(labels[batch].tolist())
        assert len(per_class) == 24 and set(per_class.values()) == {2}


def test_no_image_repeats_within_an_epoch_and_singletons_are_never_drawn():
    labels = labels_with_counts([1, 3, 3, 4, 5, 6, 2, 2, 7, 1])
    sampler = ClassBalancedBatchSampler(labels, n_classes=3, m_per_class=3, seed=0)
    seen = [i for b in sampler for i in b]
    assert len(seen) == len(set(seen))
    assert all(labels[i] not in (0, 9) for i in seen)  # classes with fewer than m images


def test_epochs_differ_but_are_reproducible():
    labels = labels_with_counts([4] * 30)
    a = ClassBalancedBatchSampler(labels, 8, 2, seed=3)
    b = ClassBalancedBatchSampler(labels, 8, 2, seed=3)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)


def test_ddp_ranks_get_disjoint_batches_of_equal_count():
    labels = labels_with_counts([3] * 40)
    ranks = [list(ClassBalancedBatchSampler(labels, 4, 3, seed=0, rank=r, world_size=2)) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) > 0
    flat = [tuple(b) for r in ranks for b in r]
    assert len(set(flat)) == len(flat)
    assert not set(i for b in ranks[0] for i in b) & set(i for b in ranks[1] for i in b)


def test_too_few_classes_is_a_clear_error():
    with pytest.raises(ValueError, match="only 2 classes"):
        ClassBalancedBatchSampler(labels_with_counts([2, 2, 1]), n_classes=3, m_per_class=2)
