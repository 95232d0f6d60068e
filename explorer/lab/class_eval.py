"""How the networks do on a class's own digits (explorer.data.class_rooms.ClassDigits).

Pure NumPy: the Class digits page shows these, and the Train page can use them (the class's
digits as an extra test set; fine-tuning on MNIST plus the class's digits, compared before and
after on a held-out part of the class's digits).

    probabilities = predict_in_batches(net, digits.images)         # (n, 10)
    accuracy(probabilities, digits.labels)                          # 0..1
    confusion_matrix(digits.labels, probabilities.argmax(1))       # (10, 10): rows true, columns read
    hardest(probabilities, digits.labels, 8)                        # positions, hardest first
    neighbours = NearestNeighbours(mnist.test_images, mnist.test_labels)
    neighbours.look_alikes(digits.images, digits.labels)            # digits nearer another class
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

NUM_CLASSES = 10
BATCH = 256


def predict_in_batches(net, images: np.ndarray, batch: int = BATCH) -> np.ndarray:
    """(n, 10) probabilities of `net` for uint8 (n, 28, 28) images, a batch at a time."""
    if len(images) == 0:
        return np.zeros((0, NUM_CLASSES))
    return np.concatenate([net.predict_proba(images[start:start + batch]) for start in range(0, len(images), batch)])


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of digits read as their label (nan when there are none)."""
    if len(labels) == 0:
        return float("nan")
    return float(np.mean(np.asarray(probabilities).argmax(axis=1) == np.asarray(labels)))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(10, 10) counts: row = the label the student meant, column = what the network read."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return matrix


def hardest(probabilities: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Positions of the `count` hardest digits: misread ones first (most confidently wrong first),
    then the least confident of the right ones."""
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return np.zeros(0, dtype=np.int64)
    on_label = probabilities[np.arange(len(labels)), labels]
    wrong = probabilities.argmax(axis=1) != labels
    # sort key: wrong digits before right ones, then by the probability the label got, lowest first
    order = np.lexsort((on_label, ~wrong))
    return order[:count]


@dataclass(frozen=True)
class LookAlike:
    position: int  # the digit's position in the images given to look_alikes
    looks_like: int  # the label most of its nearest MNIST test digits have
    votes: int  # how many of the k nearest have that label
    neighbour: int  # index of the nearest MNIST test digit with that label


class NearestNeighbours:
    """The nearest MNIST digits (Euclidean distance on the 28x28 pixels) of any digit.

    Built once per process from the 10,000 test digits (31 MB of float32); one query costs a
    (n, 784) x (784, 10000) product, about 10 ms per hundred digits."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.vectors = np.asarray(images, dtype=np.float32).reshape(len(images), -1) / 255.0
        self.squared_norms = (self.vectors**2).sum(axis=1)
        self.labels = np.asarray(labels, dtype=np.int64)

    def nearest(self, images: np.ndarray, k: int = 5) -> np.ndarray:
        """(n, k) indices of each image's k nearest reference digits, nearest first."""
        queries = np.asarray(images, dtype=np.float32).reshape(len(images), -1) / 255.0
        if len(queries) == 0:
            return np.zeros((0, k), dtype=np.int64)
        # |q - v|^2 = |q|^2 - 2 q.v + |v|^2; |q|^2 is the same along a row, so it can be left out
        distances = self.squared_norms[None, :] - 2.0 * queries @ self.vectors.T
        nearest = np.argpartition(distances, k - 1, axis=1)[:, :k]
        rows = np.arange(len(queries))[:, None]
        return nearest[rows, np.argsort(distances[rows, nearest], axis=1)]

    def look_alikes(self, images: np.ndarray, labels: np.ndarray, k: int = 5) -> list[LookAlike]:
        """The digits whose k nearest MNIST digits mostly (a strict majority) carry another label."""
        nearest = self.nearest(images, k)
        found = []
        for position, (row, label) in enumerate(zip(nearest, np.asarray(labels, dtype=np.int64))):
            votes = np.bincount(self.labels[row], minlength=NUM_CLASSES)
            winner = int(votes.argmax())
            if winner != label and votes[winner] * 2 > k:
                neighbour = int(next(index for index in row if self.labels[index] == winner))
                found.append(LookAlike(position, winner, int(votes[winner]), neighbour))
        return found


# --- the class's digits as an extra test set while a network trains ------------------------------

MIN_DIGITS = 10  # fewer class digits than this make no test set worth a curve


class ClassCurve:
    """Accuracy on the class's digits along a training run, measured at the moments the
    validation accuracy is (each epoch's end). The digits are fixed when the run starts, so the
    curve compares like with like while more digits arrive."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images = np.asarray(images, dtype=np.uint8)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.epochs: list[int] = []
        self.values: list[float] = []

    def __len__(self) -> int:
        return len(self.labels)

    def measure(self, net, epoch: int) -> float:
        value = accuracy(predict_in_batches(net, self.images), self.labels)
        self.epochs.append(epoch)
        self.values.append(value)
        return value

    @property
    def last(self) -> float | None:
        return self.values[-1] if self.values else None


# --- fine-tuning on MNIST plus the class's digits -----------------------------------------------


@dataclass(frozen=True)
class FineTuneResult:
    before: float  # accuracy on the held-out class digits before fine-tuning
    after: float  # ... and after
    mnist_before: float  # accuracy on (a sample of) MNIST's test set, to see nothing was forgotten
    mnist_after: float
    used: int  # class digits trained on
    held_out: int  # class digits kept for the comparison


class FineTuning:
    """fine_tune, a slice at a time: `advance(seconds)` trains for about that long, so a page can
    share the processor with other sessions (the Train page's scheduler gives the slices).

        job = FineTuning(net, images, labels, ids, mnist)
        while not job.done:                                 # the first slice measures "before"
            job.advance(0.3)
        job.result()                                        # FineTuneResult

    The same arguments as fine_tune, and the same numbers for the same seed."""

    def __init__(self, net, class_images, class_labels, ids, mnist, *, held_out_fraction: float = 0.3, epochs: int = 2,
                 learning_rate: float = 0.001, batch_size: int = 32, class_weight: int = 4, mnist_per_epoch: int = 2000,
                 mnist_test: int = 2000, seed: int = 0):  # fmt: skip
        from explorer.data.class_rooms import ClassDigits
        from explorer.nn.optimizers import Adam

        digits = ClassDigits(np.asarray(ids, dtype=np.int64), np.asarray(class_labels, dtype=np.uint8),
                             np.asarray(class_images, dtype=np.uint8), np.zeros(len(ids)))  # fmt: skip
        self.net, self.mnist, self.epochs, self.batch_size = net, mnist, epochs, batch_size
        self.class_weight, self.mnist_per_epoch = class_weight, mnist_per_epoch
        self.used, self.held = digits.split(held_out_fraction, seed=seed)
        self.rng = np.random.default_rng(seed)
        test_pick = self.rng.choice(len(mnist.test_labels), size=min(mnist_test, len(mnist.test_labels)), replace=False)
        self.mnist_images, self.mnist_labels = mnist.test_images[test_pick], mnist.test_labels[test_pick]
        self.before = self.mnist_before = None  # measured in the first slice of advance()
        self.optimizer = Adam(list(net.parameters().values()), lr=learning_rate)
        self.epoch = 0  # epochs begun
        self.batches: list[np.ndarray] = []  # the current epoch's batches still to train
        self.images = self.labels = None
        self.steps_done, self.total_steps = 0, epochs * self._steps_per_epoch()
        self._result: FineTuneResult | None = None

    def _steps_per_epoch(self) -> int:
        size = min(self.mnist_per_epoch, len(self.mnist.train_labels)) + self.class_weight * len(self.used)
        return -(-size // self.batch_size)

    def scores(self) -> tuple[float, float]:
        """(accuracy on the held-out class digits, accuracy on the MNIST test sample) of the network now."""
        return (accuracy(predict_in_batches(self.net, self.held.images), self.held.labels),
                accuracy(predict_in_batches(self.net, self.mnist_images), self.mnist_labels))  # fmt: skip

    def _begin_epoch(self) -> None:
        """MNIST training digits (a new sample each epoch) mixed with the class's digits, shuffled."""
        pick = self.rng.choice(len(self.mnist.train_labels), size=min(self.mnist_per_epoch, len(self.mnist.train_labels)), replace=False)
        self.images = np.concatenate([self.mnist.train_images[pick], *[self.used.images] * self.class_weight])
        self.labels = np.concatenate([self.mnist.train_labels[pick], *[self.used.labels] * self.class_weight])
        order = self.rng.permutation(len(self.labels))
        self.batches = [order[start:start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        self.epoch += 1

    @property
    def done(self) -> bool:
        return self._result is not None

    @property
    def progress(self) -> float:
        return 1.0 if self.done else self.steps_done / max(self.total_steps, 1)

    def advance(self, seconds: float | None = None) -> None:
        """Train for about `seconds` (None: to the end), at least one step whatever the machine's
        speed; after the last step, measure "after"."""
        start = time.perf_counter()
        if self.before is None:
            self.before, self.mnist_before = self.scores()
        while not self.done:
            if not self.batches and self.epoch == self.epochs:
                after, mnist_after = self.scores()
                self._result = FineTuneResult(self.before, after, self.mnist_before, mnist_after, len(self.used), len(self.held))
                break
            if not self.batches:
                self._begin_epoch()
            batch = self.batches.pop(0)
            self.net.train_step_gradients(self.net.prepare(self.images[batch]), self.labels[batch])
            self.optimizer.step()
            self.steps_done += 1
            if seconds is not None and time.perf_counter() - start >= seconds:
                break

    def result(self) -> FineTuneResult | None:
        return self._result


def fine_tune(net, class_images, class_labels, ids, mnist, **settings) -> FineTuneResult:
    """Train `net` (in place) a little on MNIST training digits mixed with the class's digits not
    held out (each repeated `class_weight` times, so a few dozen digits count), with Adam; report
    accuracy on the held-out class digits and on MNIST test digits, before and after.

    `ids` decide the held-out part like ClassDigits.split (a digit stays on its side). The
    settings are FineTuning's (held_out_fraction, epochs, learning_rate, batch_size, class_weight,
    mnist_per_epoch, mnist_test, seed)."""
    job = FineTuning(net, class_images, class_labels, ids, mnist, **settings)
    job.advance()
    return job.result()
