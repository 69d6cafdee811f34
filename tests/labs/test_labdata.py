"""labdata: the labs' data sets are what their docstrings say, and seeded."""

from __future__ import annotations

import sys

import numpy as np

from tests.labs.runlab import LABS

sys.path.insert(0, str(LABS))
import labdata


def test_noisy_xor_points_sit_near_corners_labelled_by_xor():
    X, y = labdata.noisy_xor(500, noise=0.1, seed=3)
    assert X.shape == (500, 2) and y.shape == (500,) and set(np.unique(y)) == {0, 1}
    corner = np.rint(np.clip(X, 0, 1)).astype(int)
    assert np.mean((corner[:, 0] ^ corner[:, 1]) == y) > 0.99
    assert np.array_equal(labdata.noisy_xor(500, noise=0.1, seed=3)[0], X)


def test_digits_are_split_in_three_disjoint_parts_scaled_to_unit_range():
    d = labdata.digits(seed=0)
    assert [len(d[f"y_{p}"]) for p in ("train", "val", "test")] == [1197, 300, 300]
    X = np.concatenate([d["X_train"], d["X_val"], d["X_test"]])
    assert X.shape[1] == 64 and X.min() == 0 and X.max() == 1
    assert len({row.tobytes() for row in X}) > 1700  # no image copied between parts
    assert set(np.unique(d["y_test"])) == set(range(10))


def test_minibatches_cover_every_index_once():
    batches = labdata.minibatches(10, 4, np.random.default_rng(0))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches)) == list(range(10))


def test_memory_task_label_is_the_first_steps_bit_and_the_marker_is_there_only():
    x, y = labdata.memory_task(64, 7, seed=1)
    assert x.shape == (64, 7, 2)
    assert np.array_equal(x[:, 0, 0], 2.0 * y - 1.0)
    assert np.all(x[:, 0, 1] == 1) and np.all(x[:, 1:, 1] == 0)


def test_reverse_task_targets_are_the_reversed_inputs():
    tokens, targets = labdata.reverse_task(5, 6, 10, seed=2)
    assert tokens.shape == (5, 6) and tokens.max() < 10
    assert np.array_equal(targets, tokens[:, ::-1])


def test_accuracy_counts_rows_whose_argmax_is_the_label():
    assert labdata.accuracy(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), np.array([1, 1, 1])) == 2 / 3
