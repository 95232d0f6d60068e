"""`import explorer` works the ways the project runs: from the repo root, and under
`streamlit run explorer/Home.py`, which puts only explorer/ (not the root) on sys.path."""

import os
import subprocess
import sys
import urllib.request

# The environment of a fresh shell: no PYTHONPATH smuggling the repo root in.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def run_python(args, cwd):
    return subprocess.run([sys.executable, *args], cwd=cwd, env=CLEAN_ENV,
                          capture_output=True, text=True, timeout=120)


def test_import_explorer_from_repo_root(repo_root):
    result = run_python(["-c", "import explorer, explorer.figures.theme"], repo_root)
    assert result.returncode == 0, result.stderr


def test_home_puts_repo_root_on_sys_path(repo_root):
    # `-P`: the working directory is not on sys.path, as under `streamlit run`.
    control = run_python(["-P", "-c", "import explorer"], repo_root)
    assert control.returncode != 0 and "ModuleNotFoundError" in control.stderr

    script = (
        "from streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file('explorer/Home.py', default_timeout=30).run()\n"
        "assert not at.exception, [e.value for e in at.exception]\n"
        "import explorer, sys\n"
        "print(explorer.__file__)\n"
    )
    result = run_python(["-P", "-c", script], repo_root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(repo_root / "explorer" / "__init__.py")


def test_streamlit_run_serves_the_app(streamlit_server):
    with streamlit_server(timeout=60) as server:
        with urllib.request.urlopen(server.url + "/", timeout=10) as resp:
            html = resp.read().decode()
        assert resp.status == 200
        assert '<div id="root">' in html
        assert server.process.poll() is None  # still running after serving the page
    assert server.process.poll() is not None  # stopped


def test_every_session_waits_until_the_process_is_prepared(repo_root):
    # A fresh interpreter, as a freshly started server: eight "sessions" call prepare_process()
    # at once, and each must find pandas, numpy and plotly whole when its call returns.
    script = (
        "import sys, threading\n"
        "from explorer.ui.warmup import prepare_process\n"
        "ready = []\n"
        "def session():\n"
        "    prepare_process()\n"
        "    pd, np = sys.modules.get('pandas'), sys.modules.get('numpy')\n"
        "    ready.append(hasattr(pd, 'Series') and hasattr(np, 'isscalar')\n"
        "                 and 'plotly.graph_objects' in sys.modules and 'pyarrow' in sys.modules)\n"
        "threads = [threading.Thread(target=session) for _ in range(8)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print(ready)\n"
    )
    result = run_python(["-c", script], repo_root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str([True] * 8)


def test_prepare_process_serialises_a_figure_of_each_kind():
    from explorer.ui.warmup import sample_figures

    kinds = {trace.type for figure in sample_figures() for trace in figure.data}
    assert {"scatter", "bar", "heatmap", "contour"} <= kinds


def test_streamlit_run_finds_an_app_whose_lifespan_prepares_the_server(repo_root, mnist_dir):
    # What `streamlit run explorer/Home.py` does first: find an st.App in the file (by reading it),
    # then import the file as a module (not __main__), which must draw nothing, only define `app`.
    # The app's lifespan (run here as a framework that mounts it would) loads the shared
    # resources and opens the pages once: their shared figures are built, nobody counts as a visitor.
    # (With MNIST, as CI has it: the pages' default views then show test digits.)
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from streamlit.web.server.app_discovery import discover_asgi_app\n"
        "found = discover_asgi_app(Path('explorer/Home.py'))\n"
        "sys.path.insert(0, 'explorer')\n"
        "import Home, streamlit as st\n"
        "from explorer.ui import figure_cache, resources\n"
        "from explorer.ui.scheduler import scheduler\n"
        "assert not resources._loaded and not figure_cache._figures\n"
        "async def start():\n"
        "    async with Home.app.lifespan()(None):\n"
        "        pass\n"
        "asyncio.run(start())\n"
        "print(found.is_asgi_app, found.import_string, isinstance(Home.app, st.App),\n"
        "      (resources._load_shared_pretrained, ('lenet',)) in resources._loaded,\n"
        "      len(figure_cache._figures) > 20, scheduler().alone('a first student'))\n"
    )
    result = run_python(["-P", "-c", script], repo_root)
    assert result.returncode == 0, result.stderr
    assert "failed" not in result.stderr and "showed an exception" not in result.stderr, result.stderr
    assert result.stdout.split() == ["True", "Home:app", "True", "True", "True", "True"]


def test_the_warm_up_session_notes_a_page_exception_and_waits_for_the_run_that_counts():
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from explorer.ui.warmup import _Teacher

    teacher = _Teacher()
    shown, early, done = ForwardMsg(), ForwardMsg(), ForwardMsg()
    shown.delta.new_element.exception.message = "boom"
    early.script_finished = ForwardMsg.FINISHED_EARLY_FOR_RERUN  # st.rerun(): another run follows
    done.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    teacher.write_forward_msg(shown)
    teacher.write_forward_msg(early)
    assert teacher.exceptions == ["boom"] and not teacher.finished.is_set()
    teacher.write_forward_msg(done)
    assert teacher.finished.is_set()
