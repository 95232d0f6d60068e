"""explorer.lab.class_eval: accuracy, confusion matrix, hardest digits and nearest MNIST
neighbours of a class's digits, each checked against a plain computation; fine-tuning on MNIST
plus the class's digits helps on the held-out class digits."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.lab import class_eval


def test_accuracy_and_confusion_matrix_count_each_digit_once():
    labels = np.array([0, 1, 1, 2, 7, 7, 7])
    predicted = np.array([0, 1, 7, 2, 7, 1, 7])
    probabilities = np.eye(10)[predicted]
    assert class_eval.accuracy(probabilities, labels) == pytest.approx(5 / 7)
    matrix = class_eval.confusion_matrix(labels, predicted)
    assert matrix.sum() == len(labels) and np.trace(matrix) == 5
    for label, read in zip(labels, predicted):
        assert matrix[label, read] == np.sum((labels == label) & (predicted == read))
    assert np.isnan(class_eval.accuracy(np.zeros((0, 10)), np.zeros(0)))


def test_hardest_puts_confident_mistakes_first_then_unsure_right_answers():
    labels = np.array([3, 3, 3, 3])
    probabilities = np.full((4, 10), 0.0)
    probabilities[0, 3] = 0.99  # right and sure
    probabilities[1, [3, 5]] = [0.4, 0.6]  # wrong
    probabilities[2, [3, 8]] = [0.05, 0.95]  # wrong, and more sure of it
    probabilities[3, [3, 2]] = [0.55, 0.45]  # right but unsure
    assert class_eval.hardest(probabilities, labels, 4).tolist() == [2, 1, 3, 0]
    assert class_eval.hardest(probabilities, labels, 2).tolist() == [2, 1]


def test_nearest_neighbours_match_a_brute_force_search():
    rng = np.random.default_rng(0)
    references = rng.integers(0, 256, (300, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, 300)
    queries = rng.integers(0, 256, (7, 28, 28)).astype(np.uint8)
    found = class_eval.NearestNeighbours(references, labels).nearest(queries, k=4)
    for query, row in zip(queries, found):
        distances = ((references.astype(float) - query.astype(float)) ** 2).sum(axis=(1, 2))
        assert row.tolist() == np.argsort(distances)[:4].tolist()


def test_look_alikes_are_digits_nearer_another_class():
    blank = np.zeros((28, 28), np.uint8)
    bar, cross = blank.copy(), blank.copy()
    bar[4:24, 12:16] = 255  # a "1"
    cross[12:16, 4:24] = 255
    cross[4:24, 12:16] = 255  # a "+", call it a "4"
    references = np.stack([bar] * 5 + [cross] * 5)
    labels = np.array([1] * 5 + [4] * 5)
    class_digits = np.stack([bar, bar, cross])
    meant = np.array([1, 7, 4])  # the second was meant as a 7 but looks like MNIST's 1s
    found = class_eval.NearestNeighbours(references, labels).look_alikes(class_digits, meant)
    assert [(a.position, a.looks_like, a.votes) for a in found] == [(1, 1, 5)]
    assert labels[found[0].neighbour] == 1


def test_fine_tuning_on_the_class_digits_helps_on_held_out_class_digits(mnist_dir):
    """A class that writes every digit with a thick frame around it: lenet reads such digits
    badly; after a little training on MNIST plus the class's other framed digits it reads the
    held-out ones better, and still reads MNIST."""
    from explorer.data.mnist import load_mnist
    from explorer.nn.pretrained import load_pretrained

    data = load_mnist(mnist_dir)
    framed = data.test_images[:300].copy()
    framed[:, :3, :] = framed[:, -3:, :] = framed[:, :, :3] = framed[:, :, -3:] = 255
    net, _ = load_pretrained("lenet")
    result = class_eval.fine_tune(net, framed, data.test_labels[:300], np.arange(1, 301), data, held_out_fraction=0.3,
                                  epochs=2, mnist_per_epoch=1000, mnist_test=500)  # fmt: skip
    assert result.used + result.held_out == 300 and 60 <= result.held_out <= 120
    assert result.after > result.before + 0.1
    assert result.mnist_after > 0.9
