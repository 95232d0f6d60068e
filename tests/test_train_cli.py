"""`python -m explorer.train`: options checked before training, the file it writes named
truthfully, and Ctrl-C saving the last finished epoch. Runs on a tiny generated MNIST."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from explorer.cli import train
from explorer.nn import training
from explorer.nn.checkpoints import load_model
from explorer.data.idx import write_idx

N_TRAIN, N_TEST, BATCH = 300, 50, 50
STEPS_PER_EPOCH = (N_TRAIN - 50) // BATCH  # 50 images are the validation split


@pytest.fixture
def mnist_dir(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }
    for name, array in arrays.items():
        write_idx(folder / name, array)
    return folder


def run(mnist_dir, out, *options, epochs=2):
    argv = ["--model", "nielsen", "--epochs", str(epochs), "--batch-size", str(BATCH), "--val-size", "50",
            "--data-dir", str(mnist_dir), "--out", str(out), *options]  # fmt: skip
    return train.main(argv)


@pytest.fixture
def no_data(monkeypatch):
    """Fail the test if the run gets as far as loading MNIST."""

    def load_mnist(*args, **kwargs):
        raise AssertionError("MNIST was loaded before the options were checked")

    monkeypatch.setattr(train, "load_mnist", load_mnist)


def interrupt_at_step(monkeypatch, step):
    """Ctrl-C right after training step `step` (1-based) has changed the weights."""
    original = training.Trainer.train_step

    def train_step(self):
        loss = original(self)
        if self.step == step:
            raise KeyboardInterrupt
        return loss

    monkeypatch.setattr(training.Trainer, "train_step", train_step)


def weights_of(path):
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


# --- checked before training ------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        (["--weight-decay", "nan"], "--weight-decay must be a number from 0 to below 1, not nan"),
        (["--weight-decay", "-0.1"], "--weight-decay must be a number from 0"),
        (["--optimizer", "momentum", "--momentum", "nan"], "--momentum must be a number from 0 to below 1, not nan"),
        (["--optimizer", "momentum", "--momentum", "1"], "--momentum must be a number from 0 to below 1"),
        (["--optimizer", "adam", "--eps", "0"], "--eps must be a small positive number such as 1e-8, not 0.0"),
        (["--optimizer", "adam", "--beta2", "inf"], "--beta2 must be a number from 0 to below 1"),
        (["--optimizer", "rmsprop", "--rho", "-1"], "--rho must be a number from 0"),
        (["--optimizer", "adam", "--momentum", "0.9"], "--momentum does not apply to the adam optimizer"),
        (["--optimizer", "sgd", "--eps", "1e-8"], "--eps does not apply to the sgd optimizer (it has nothing but --lr)"),
        (["--lr", "nan"], "learning rate must be a positive number"),
        (["--lr-decay", "nan"], "learning-rate decay"),
        (["--seed", "-1"], "--seed must be 0 or more"),
        (["--activation", "softsign"], "does not offer activation 'softsign'"),
    ],
)
def test_bad_options_are_refused_before_loading_data(tmp_path, capsys, no_data, options, message):
    assert run(tmp_path / "never-loaded", tmp_path / "model.npz", *options) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "model.npz").exists()


def test_out_in_a_file_instead_of_a_folder_is_refused_before_loading_data(tmp_path, capsys, no_data):
    (tmp_path / "notes.txt").write_text("not a folder")
    assert run(tmp_path, tmp_path / "notes.txt" / "models" / "model.npz") == 2
    assert f"{tmp_path / 'notes.txt'} is a file, not a folder" in capsys.readouterr().err


def test_out_naming_a_folder_is_refused(tmp_path, capsys, no_data):
    (tmp_path / "models").mkdir()
    assert run(tmp_path, tmp_path / "models") == 2
    assert "is a folder; give a file name such as" in capsys.readouterr().err


def test_out_in_a_folder_that_cannot_be_written_is_refused(tmp_path, capsys, monkeypatch, no_data):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(train.tempfile, "mkstemp", refuse)  # chmod cannot stop root, who runs CI
    assert run(tmp_path, tmp_path / "model.npz") == 2
    assert f"cannot write in the folder {tmp_path} (Permission denied)" in capsys.readouterr().err


def test_missing_output_folders_are_created_when_saving(tmp_path, mnist_dir):
    out = tmp_path / "new" / "deeper" / "model.npz"
    assert run(mnist_dir, out, epochs=1) == 0
    load_model(out)


# --- what is written, and what is said ----------------------------------------------------------


def test_a_run_writes_the_model_and_says_so(tmp_path, capsys, mnist_dir):
    out = tmp_path / "nielsen.npz"
    assert run(mnist_dir, out) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"wrote {out} and its model card nielsen.json"
    net, card = load_model(out)
    assert card["epochs_trained"] == 2 and len(card["history"]) == 2
    assert "interrupted_after_epoch" not in card


def test_another_suffix_is_replaced_and_reported_truthfully(tmp_path, capsys, mnist_dir):
    assert run(mnist_dir, tmp_path / "model.pt", epochs=1) == 0
    out = capsys.readouterr().out
    written = tmp_path / "model.npz"
    assert f"writing {written}" in out.splitlines()[0]
    assert out.splitlines()[-1] == f"wrote {written} and its model card model.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist", "model.json", "model.npz"]
    load_model(written)


# --- Ctrl-C ------------------------------------------------------------------------------------


def test_ctrl_c_saves_the_last_finished_epoch(tmp_path, capsys, monkeypatch, mnist_dir):
    one_epoch = tmp_path / "one-epoch.npz"
    assert run(mnist_dir, one_epoch, epochs=1) == 0

    # Ctrl-C two steps into the second epoch, just after an update changed the weights.
    interrupt_at_step(monkeypatch, STEPS_PER_EPOCH + 2)
    out = tmp_path / "interrupted.npz"
    capsys.readouterr()
    assert run(mnist_dir, out, epochs=3) == train.EXIT_INTERRUPTED
    captured = capsys.readouterr()
    assert "interrupted: saving epoch 1 of 3" in captured.err and "Traceback" not in captured.err
    assert captured.out.splitlines()[-1] == f"wrote {out} and its model card interrupted.json"

    _, card = load_model(out)
    assert card["epochs_trained"] == 1 and card["kept_epoch"] == 1 and card["interrupted_after_epoch"] == 1
    assert len(card["history"]) == 1
    # The same weights as a run of one epoch: the half-done second epoch is not in them.
    saved, reference = weights_of(out), weights_of(one_epoch)
    for name in reference:
        np.testing.assert_array_equal(saved[name], reference[name])


def test_ctrl_c_with_keep_best_saves_the_best_finished_epoch(tmp_path, capsys, monkeypatch, mnist_dir):
    interrupt_at_step(monkeypatch, 2 * STEPS_PER_EPOCH + 1)
    out = tmp_path / "best.npz"
    assert run(mnist_dir, out, "--keep-best", epochs=4) == train.EXIT_INTERRUPTED
    _, card = load_model(out)
    accuracies = [record["val_accuracy"] for record in card["history"]]
    assert len(accuracies) == 2 == card["epochs_trained"]
    assert card["kept_epoch"] == 1 + accuracies.index(max(accuracies))


def test_ctrl_c_before_the_first_epoch_ends_saves_nothing(tmp_path, capsys, monkeypatch, mnist_dir):
    interrupt_at_step(monkeypatch, 1)
    assert run(mnist_dir, tmp_path / "model.npz") == train.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "interrupted before the first epoch ended: nothing saved" in err and "Traceback" not in err
    assert not list(tmp_path.glob("model*"))


def test_second_ctrl_c_while_saving_quits_without_saving(tmp_path, capsys, monkeypatch, mnist_dir):
    interrupt_at_step(monkeypatch, STEPS_PER_EPOCH + 1)

    def evaluation_report(*args, **kwargs):
        raise KeyboardInterrupt  # the second Ctrl-C, during the test-set evaluation

    monkeypatch.setattr(train, "evaluation_report", evaluation_report)
    assert run(mnist_dir, tmp_path / "model.npz") == train.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err.rstrip().endswith("interrupted: nothing saved") and "Traceback" not in err
    assert not list(tmp_path.glob("model*"))
    assert not list(tmp_path.glob(".model*"))  # no temporary file either


def test_the_card_records_the_command(tmp_path, mnist_dir):
    out = tmp_path / "m.npz"
    assert run(mnist_dir, out, "--seed", "2", epochs=1) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["command"].startswith("python -m explorer.train --model nielsen")
    assert "--seed 2" in card["command"] and card["config"]["seed"] == 2


def test_a_real_ctrl_c_saves_a_model_that_loads(tmp_path, mnist_dir):
    """The whole path in a child process: SIGINT (what Ctrl-C sends) once epoch lines appear."""
    out = tmp_path / "model.npz"
    command = [sys.executable, "-m", "explorer.cli.train", "--model", "nielsen", "--epochs", "100000",
               "--batch-size", str(BATCH), "--val-size", "50", "--data-dir", str(mnist_dir), "--out", str(out)]  # fmt: skip
    root = Path(train.__file__).parents[2]
    child = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in child.stdout:
            if line.startswith("epoch 2/"):
                break
        child.send_signal(signal.SIGINT)
        rest, err = child.communicate(timeout=60)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == train.EXIT_INTERRUPTED, err
    assert "interrupted: saving epoch" in err and "Traceback" not in err
    assert rest.splitlines()[-1] == f"wrote {out} and its model card model.json"
    _, card = load_model(out)
    assert card["epochs_trained"] >= 2 and card["interrupted_after_epoch"] == card["epochs_trained"]
