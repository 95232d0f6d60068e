"""The app cannot be made to run code or crash by its inputs or its environment:

* no unpickling or eval anywhere in explorer/ and pages/ (a weights file is data, never code);
* missing or corrupt pretrained weights give a clear message on Home, not a traceback;
* Home works without MNIST (it says so and offers the download), and an offline download
  gives the clear DataError message;
* a user's picture or drawing is never written to disk.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.data import mnist as mnist_data
from explorer.nn import pretrained
from explorer.lab.results import ARTICLES, HERO_MODELS, UNREADABLE
from explorer.ui.app_setup import REPO_ROOT
from tests.home_app import fresh_caches, run_home  # noqa: F401 (fresh_caches is an autouse fixture)

SOURCES = sorted([*(REPO_ROOT / "explorer").rglob("*.py"), *(REPO_ROOT / "pages").rglob("*.py")])

UNSAFE_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal", "torch"}


# --- source scan -------------------------------------------------------------------------------


def _name(node: ast.AST) -> str:
    """Dotted name of a call's function: np.load, pickle.loads, eval..."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def unsafe_calls(source: str) -> list[str]:
    """Every construct that could run code from data, as 'line: what'."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] in UNSAFE_MODULES:
                    problems.append(f"{node.lineno}: import {module}")
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        keywords = {k.arg: k.value for k in node.keywords}
        if name in ("eval", "exec", "builtins.eval", "builtins.exec", "__import__"):
            problems.append(f"{node.lineno}: {name}()")
        elif name.split(".")[-1] in ("load", "loads") and name.split(".")[0] in UNSAFE_MODULES:
            problems.append(f"{node.lineno}: {name}()")
        elif name in ("np.load", "numpy.load"):
            flag = keywords.get("allow_pickle")
            if not (isinstance(flag, ast.Constant) and flag.value is False):
                problems.append(f"{node.lineno}: {name}() without allow_pickle=False")
        elif "allow_pickle" in keywords and not (isinstance(keywords["allow_pickle"], ast.Constant)
                                               and keywords["allow_pickle"].value is False):  # fmt: skip
            problems.append(f"{node.lineno}: {name}(allow_pickle=...) not False")
    return problems


def test_scanner_catches_the_dangerous_patterns():
    bad = ("import pickle\nfrom torch import load\npickle.loads(b'')\neval('1')\nexec('x=1')\n"
           "np.load('w.npz')\nnp.load('w.npz', allow_pickle=True)\nnumpy.load(f, allow_pickle=flag)\n")  # fmt: skip
    assert [int(p.split(":")[0]) for p in unsafe_calls(bad)] == list(range(1, 9))
    assert unsafe_calls("np.load(path, allow_pickle=False)\nmodel.eval()\n") == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_code_from_data(path):
    assert unsafe_calls(path.read_text()) == []


def test_np_load_is_used_somewhere_safely():
    """The scan is not vacuous: the weights loader does call np.load, with allow_pickle=False."""
    text = (REPO_ROOT / "explorer" / "nn" / "checkpoints.py").read_text()
    assert "np.load(" in text and "allow_pickle=False" in text


WRITERS = {"open", "save", "savez", "savez_compressed", "tofile", "write_bytes", "write_text", "imsave",
           "mkstemp", "NamedTemporaryFile", "TemporaryFile", "copyfile", "shutil.copy", "shutil.copy2", "shutil.move"}  # fmt: skip


def disk_writes(source: str) -> list[str]:
    """Calls that could put bytes on disk (Image.open is fine on an in-memory BytesIO)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name == "Image.open" and node.args and isinstance(node.args[0], ast.Call) \
                and _name(node.args[0].func).endswith("BytesIO"):  # fmt: skip
            continue
        if name in WRITERS or name.split(".")[-1] in WRITERS:  # (an array's .copy() stays in memory)
            found.append(f"{node.lineno}: {name}")
    return found


def test_disk_write_scanner():
    assert disk_writes("Image.open(io.BytesIO(data))\nnp.asarray(x)") == []
    assert len(disk_writes("Image.open(path)\nimage.save('x.png')\nopen('f', 'wb')\np.write_bytes(b'')")) == 4


@pytest.mark.parametrize("module", ["explorer/data/preprocess.py", "explorer/ui/digit_input.py"])
def test_uploads_and_drawings_never_touch_the_disk(module):
    assert disk_writes((REPO_ROOT / module).read_text()) == []


# --- the app with broken or missing files ------------------------------------------------------




def texts(at: AppTest, kinds=("markdown", "caption", "info", "warning", "success", "error")) -> str:
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


@pytest.fixture
def weights_copy(tmp_path, monkeypatch):
    """A private copy of pretrained/ that the app reads instead (so it can be damaged)."""
    folder = tmp_path / "pretrained"
    folder.mkdir()
    for path in pretrained.PRETRAINED_DIR.glob("*.*"):
        if path.suffix in (".npz", ".json"):
            shutil.copy(path, folder / path.name)
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", folder)
    return folder


def hero_candidates(folder: Path) -> list[str]:
    return [m for m in HERO_MODELS if (folder / f"{m}.npz").is_file() and (folder / f"{m}.json").is_file()]


def test_corrupt_best_weights_fall_back_with_a_message(weights_copy):
    from explorer.nn.checkpoints import save_model
    from explorer.nn.models import build_model

    for name in HERO_MODELS[:2]:  # make sure there are two candidates: add untrained ones if needed
        if len(hero_candidates(weights_copy)) < 2 and name not in hero_candidates(weights_copy):
            save_model(build_model(name, seed=1), weights_copy / f"{name}.npz", test_accuracy=0.1)
    candidates = hero_candidates(weights_copy)
    assert len(candidates) >= 2
    best = weights_copy / f"{candidates[0]}.npz"
    best.write_bytes(best.read_bytes()[: best.stat().st_size // 2])  # truncated
    at = run_home()
    warning = "\n".join(w.value for w in at.warning)
    assert candidates[0] in warning and "SHA-256" in warning
    assert f"Using **{candidates[1]}** instead" in warning
    assert f"(`{candidates[1]}`" in texts(at)


def test_every_cnn_broken_or_missing_still_renders(weights_copy):
    candidates = hero_candidates(weights_copy)
    for name in candidates[1:]:
        (weights_copy / f"{name}.npz").unlink()  # missing
    if candidates:
        (weights_copy / f"{candidates[0]}.npz").write_bytes(b"PK\x03\x04 not a zip at all")  # corrupt
        (weights_copy / f"{candidates[0]}.json").write_text('{"model": "lenet"')  # and its card too
    at = run_home()
    assert any("No pretrained CNN is available" in e.value for e in at.error)
    assert "Draw a digit: the network answers" in [h.value for h in at.header]
    table = next(m.value for m in at.markdown if m.value.startswith("| Article"))
    assert len([line for line in table.splitlines() if line.startswith("| ")]) == 1 + len(ARTICLES)
    if candidates and candidates[0] in {a.model for a in ARTICLES}:
        assert f"*{UNREADABLE}*" in table


def test_home_without_mnist(tmp_path, monkeypatch):
    empty_dir, empty_cache = tmp_path / "mnist", tmp_path / "cache"
    empty_dir.mkdir()
    empty_cache.mkdir()
    monkeypatch.setenv("MNIST_DIR", str(empty_dir))
    monkeypatch.setenv("MNIST_CACHE_DIR", str(empty_cache))
    at = run_home()
    status = "\n".join(w.value for w in at.warning)
    assert "MNIST is not available yet" in status and "lacks" in status
    assert at.button(key="home_data_download").label == "Download MNIST (11 MB)"
    assert not at.success
    # the hero still works for drawings; test digits explain what is missing
    next(b for b in at.button_group if b.key == "home_source").set_value("test").run()
    assert not at.exception
    assert "Test digits need the MNIST data" in texts(at)


def test_offline_download_shows_how_to_provide_the_files(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("MNIST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(mnist_data, "MIRRORS", ("http://127.0.0.1:9/",))  # nothing listens: refused at once
    at = run_home()
    at.button(key="home_data_download").click().run()
    assert not at.exception, at.exception
    error = "\n".join(e.value for e in at.error)
    assert "The download did not work" in error and "Could not download MNIST file" in error
    assert "MNIST_DIR" in error and "python -m explorer.data download" in error
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []  # no partial files left behind
