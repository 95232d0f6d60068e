"""Everything a page imports, imported once per server process before any page runs.

Streamlit runs each session's script in its own thread. On a freshly started server, the first
sessions all import numpy, pandas and plotly at the same moment, and plotly looks some modules
up in `sys.modules` without importing them (`get_module(name, should_load=False)`): it can get
a module another thread is still importing, and fails with "partially initialized module
'pandas' has no attribute 'Series'" or "module 'numpy' has no attribute 'isscalar'".

`prepare_process()` does all those imports, and the lazy ones a first figure pulls in while it is
validated and serialised, in one thread under a lock, while every other session waits. After the
first call it only reads a flag. It first starts reading MNIST in a thread of its own.

`prepared_server`, the lifespan of explorer/Home.py's `app`, does it before the server opens its
port, loads what every first page view needs (MNIST, the shipped networks' weights), and then
opens the pages as a teacher would before the class, in a session of its own: the figures and
measurements every student's first view shares (explorer/ui/figure_cache.py) are built. A class
arriving together on a server started a moment before finds the process ready. Each session's
run calls `prepare_process()` too (at the top of Home.py), for a process without that lifespan:
AppTest in the tests, or a Streamlit older than st.App.
"""
from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import threading
from contextlib import asynccontextmanager

# Heavy third-party modules the pages use, plus the ones plotly and Streamlit import on demand
# (pandas and pyarrow for tables, PIL for images and the canvas).
THIRD_PARTY = (
    "numpy",
    "pandas",
    "pyarrow",
    "PIL.Image",
    "PIL.ImageDraw",
    "PIL.ImageFilter",
    "PIL.ImageFont",
    "PIL.ImageOps",
    "plotly.graph_objects",
    "plotly.io",
    "plotly.subplots",
    "plotly.tools",
    "orjson",  # plotly serialises with it when it is installed
    "streamlit_drawable_canvas",
)

# Our own modules behind the pages: importing them here keeps their module-level work (and any
# import they make) inside the lock too.
OURS = (
    "explorer.figures.theme",
    "explorer.figures.common",
    "explorer.figures.filters",
    "explorer.figures.receptive",
    "explorer.figures.training",
    "explorer.nn.models",
    "explorer.nn.network",
    "explorer.data.preprocess",
    "explorer.lab.dissect",
    "explorer.lab.compare",
    "explorer.nn.training",
    "explorer.lab.optim_paths",
    "explorer.lab.receptive",
    "explorer.lab.receptive_measure",
    "explorer.lab.results",
)

_lock = threading.Lock()
_prepared = False


def prepare_process() -> None:
    """Import the heavy modules and serialise one figure of each kind, once per process.

    Every caller returns only after the first caller has finished, so no session ever sees a
    half-imported module."""
    global _prepared
    if _prepared:  # the usual case: one read, no lock
        return
    with _lock:
        if _prepared:  # another session finished the work while this one waited
            return
        from explorer.ui.resources import start_loading_mnist

        start_loading_mnist()
        _import_all()
        _serialise_sample_figures()
        _convert_sample_table()
        _prepared = True


# The pages whose first view builds what every student's view shares (in each language).
PAGES_TO_OPEN = ("", "filters", "receptive_fields")
PAGE_TIMEOUT = 30.0  # seconds: a page that takes longer is left to its first visitor


@asynccontextmanager
async def prepared_server(app):  # noqa: ARG001 - st.App hands itself to its lifespan
    """st.App's lifespan: the process is prepared before the server accepts its first session."""
    await asyncio.to_thread(prepare_server)
    await open_pages_in_every_language()
    freeze_what_lives_on()
    yield


def freeze_what_lives_on() -> None:
    """Move every object the preparation made (modules, plotly's validators, caches: they live
    as long as the process) out of the garbage collector's sight. A full collection walks every
    object it sees: it held the interpreter for 80-170 ms at a time while a class trained."""
    gc.collect()  # first what is garbage already: frozen garbage would never be freed
    gc.freeze()


def prepare_server() -> None:
    """prepare_process(), then the shared resources every page's first view reads. A missing or
    damaged file is only logged: the page that needs it tells its user what is wrong."""
    prepare_process()
    from explorer.ui.resources import load_shared_resources

    try:
        load_shared_resources()
    except Exception:  # noqa: BLE001 - never keep the server from starting
        logging.getLogger(__name__).exception("preparing the shared resources failed")


async def open_pages_in_every_language() -> None:
    """PAGES_TO_OPEN once in each language (a class gets the app in its browser's language)."""
    from streamlit.runtime import Runtime

    from explorer.i18n import LANGUAGES
    from explorer.ui.scheduler import scheduler

    try:
        for language in LANGUAGES:
            await open_pages(Runtime.instance(), PAGES_TO_OPEN, f"lang={language}")
    except Exception:  # noqa: BLE001 - only a head start: the first visitors build what is missing
        logging.getLogger(__name__).exception("opening the pages before the class failed")
    scheduler().forget_visits()  # the warm-up is nobody: a first student training alone trains flat out


class _Teacher:
    """The client of the warm-up's session: it reads nothing, only notes when a run has finished."""

    client_context = None

    def __init__(self):
        self.finished = asyncio.Event()
        self.exceptions: list[str] = []

    def write_forward_msg(self, message) -> None:
        kind = message.WhichOneof("type")
        if kind == "delta" and message.delta.new_element.WhichOneof("type") == "exception":
            self.exceptions.append(message.delta.new_element.exception.message)
        elif kind == "script_finished" and message.script_finished != message.FINISHED_EARLY_FOR_RERUN:
            self.finished.set()


async def open_pages(runtime, url_paths, query_string: str = "") -> None:
    """Run each page once, with the link's `query_string`, in one session of the server's own
    (on the server's event loop, as its websocket handler does), then close it; an exception a
    page showed is logged."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    teacher = _Teacher()
    session_id = runtime.connect_session(client=teacher, user_info={})
    try:
        for url_path in url_paths:
            message = BackMsg()
            message.rerun_script.page_name = url_path
            message.rerun_script.query_string = query_string
            teacher.finished.clear()
            runtime.handle_backmsg(session_id, message)
            await asyncio.wait_for(teacher.finished.wait(), PAGE_TIMEOUT)
    finally:
        runtime.close_session(session_id)
    for problem in teacher.exceptions:
        logging.getLogger(__name__).warning("a page showed an exception while the server prepared: %s", problem)


def _import_all() -> None:
    for name in (*THIRD_PARTY, *OURS):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing optional part: the page that needs it says so
            pass


def sample_figures() -> list:
    """One small figure of each kind the app draws (traces, subplots, template, numpy data)."""
    import numpy as np
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    import explorer.figures.theme  # noqa: F401 - registers the template, plotly's default

    image = np.arange(16, dtype=np.float32).reshape(4, 4)
    line = np.linspace(0, 1, 5, dtype=np.float32)
    single = [
        go.Figure(go.Scatter(x=line, y=line * line, mode="lines+markers", name="a")),
        go.Figure(go.Bar(x=list(range(4)), y=line[:4], text=["1", "2", "3", "4"])),
        go.Figure(go.Heatmap(z=image, colorscale="Cividis")),
        go.Figure(go.Heatmap(z=image.astype(np.uint8), colorscale=[[0, "black"], [1, "white"]])),
        go.Figure(go.Contour(z=image, x=line[:4], y=line[:4])),
    ]
    grid = make_subplots(rows=1, cols=2, subplot_titles=("a", "b"))
    grid.add_trace(go.Heatmap(z=image, zmid=0, colorscale="RdBu_r"), row=1, col=1)
    grid.add_trace(go.Scatter(x=line, y=line), row=1, col=2)
    figures = [*single, grid]
    for figure in figures:
        figure.update_layout(title="warm-up", legend=dict(orientation="h"))
        figure.add_annotation(x=0, y=0, text="note", showarrow=False)
    return figures


def _serialise_sample_figures() -> None:
    """What st.plotly_chart does with a figure: validate it, then serialise it to JSON."""
    import plotly.io
    import plotly.tools

    for figure in sample_figures():
        checked = plotly.tools.return_figure_from_figure_or_data(figure, validate_figure=True)
        plotly.io.to_json(checked, validate=False)
        figure.to_dict()


def _convert_sample_table() -> None:
    """What st.dataframe / st.data_editor do with a table: convert it to Arrow."""
    try:
        import pandas as pd
        from streamlit import dataframe_util
    except Exception:  # noqa: BLE001
        return
    table = pd.DataFrame({"layer": ["conv", "pool"], "size": [3, 2], "share": [0.5, 0.25]})
    for data in (table, {"a": [1, 2], "b": [0.5, 1.5]}):
        try:
            dataframe_util.convert_anything_to_arrow_bytes(data)
        except Exception:  # noqa: BLE001 - only a warm-up: the real call reports its own errors
            pass
