"""Every page on a 1280x720 projector window and on a 390x844 phone: nothing the user must read is cut off.

Text: a button, metric label, widget label, selectbox value, tab label or page link whose content is wider than
its box (scrollWidth > clientWidth + 1) shows "Re…" or loses its end. Charts: in every plotly chart
the title, the legend, the axis titles and the plot areas must not overlap, and the title must fit
in the chart.
On Home on the phone, the answer ("It's a …") must be on screen right after the digit is chosen.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from explorer.ui.app_setup import PAGES
from tests.browser.drawing import SLOW, canvas_locator, draw_seven

pytestmark = pytest.mark.browser

PAGE_PATHS = ["", *(page.url_path for page in PAGES)]  # "" is Home; a page added to PAGES is checked too
# Views a link opens that the default one hides (the Train page's other modes, another tab).
OTHER_VIEWS = ["train?tr_mode=compare", "train?tr_mode=paths", "receptive_fields?rf_tab=erf"]
VIEWPORT_NAMES = ["1280x720", "390x844"]
VIEWPORT_OPTIONS_FOR_SELF_TEST = {"viewport": {"width": 390, "height": 844}}

# Elements whose text must fit, by kind. An element counts as cut when it, or any element inside
# it, is visible and its content is wider than its box.
_TRUNCATED_JS = """() => {
    const kinds = {
        "button": "button",
        "metric label": "[data-testid='stMetricLabel']",
        "widget label": "label, [data-testid='stWidgetLabel']",
        "selectbox value": "[data-testid='stSelectbox'] input[role='combobox'], [data-baseweb='select']",
        "tab label": "[role='tab']",
        "page link": "[data-testid='stPageLink']",
    };
    // A collapsed sidebar (a phone's) is parked off screen, squeezed: what is in it is not shown.
    const visible = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden"
        && !e.closest("[data-testid='stSidebar'][data-collapsed='true']");
    // A radio's or checkbox's own input is a hidden 1 px box, drawn by other elements: no text.
    const drawnElsewhere = e => e.tagName === "INPUT" && ["radio", "checkbox", "range"].includes(e.type);
    const cut = e => visible(e) && !drawnElsewhere(e) && e.clientWidth > 1 && e.scrollWidth > e.clientWidth + 1
        && getComputedStyle(e).overflowX !== "auto" && getComputedStyle(e).overflowX !== "scroll";
    const found = [];
    const seen = new Set();
    for (const [kind, selector] of Object.entries(kinds)) {
        for (const element of document.querySelectorAll(selector)) {
            if (!visible(element)) continue;
            const culprit = [element, ...element.querySelectorAll("*")].find(cut);
            if (!culprit || seen.has(culprit)) continue;
            seen.add(culprit);
            found.push({kind, text: (element.innerText || element.value || "").trim().slice(0, 80),
                        scrollWidth: culprit.scrollWidth, clientWidth: culprit.clientWidth,
                        culprit: culprit.tagName.toLowerCase() + (culprit.dataset.testid ? `[${culprit.dataset.testid}]` : "")});
        }
    }
    return found;
}"""

# For each visible plotly chart: the boxes of its title, legend and axis titles, and of the chart.
_CHART_BOXES_JS = """() => {
    const box = e => { const r = e.getBoundingClientRect(); return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
    const shown = e => e.getClientRects().length > 0 && e.getBoundingClientRect().width > 0;
    const text = e => (e.textContent || "").trim().slice(0, 60);
    return [...document.querySelectorAll("[data-testid='stPlotlyChart'] .js-plotly-plot")].filter(shown).map(plot => {
        const parts = [];
        const add = (kind, e) => { if (shown(e) && text(e)) parts.push({kind, text: text(e), box: box(e)}); };
        plot.querySelectorAll(".gtitle").forEach(e => add("title", e));
        plot.querySelectorAll("g.legend").forEach(e => parts.push({kind: "legend", text: text(e), box: box(e)}));
        plot.querySelectorAll(".nsewdrag").forEach(e => parts.push({kind: "plot area", text: "", box: box(e)}));
        plot.querySelectorAll("text[class$='title']:not(.gtitle)").forEach(e => {
            if (/^[xy]\\d*title$/.test(e.getAttribute("class"))) add("axis title", e);
        });
        const keyed = plot.closest("[class*='st-key-']");
        const key = keyed ? [...keyed.classList].find(c => c.startsWith("st-key-")).slice(7) : "";
        const title = plot.querySelector(".gtitle");
        return {title: title ? text(title) : `(untitled${key ? ", key " + key : ""})`,
                chart: box(plot.querySelector(".main-svg") || plot), parts};
    });
}"""

_CHARTS_DRAWN_JS = """() => [...document.querySelectorAll("[data-testid='stPlotlyChart']")]
    .filter(c => c.getClientRects().length > 0)
    .every(c => c.querySelector(".main-svg"))"""

OVERLAP_PX = 1  # boxes that share less than this in either direction only touch


def _overlap(a: dict, b: dict) -> bool:
    width = min(a["right"], b["right"]) - max(a["left"], b["left"])
    height = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
    return width > OVERLAP_PX and height > OVERLAP_PX


def truncated_texts(page) -> list[str]:
    return [f"{item['kind']} {item['text']!r} is cut off (content {item['scrollWidth']} px in a "
            f"{item['clientWidth']} px {item['culprit']})" for item in page.evaluate(_TRUNCATED_JS)]


def _named(part: dict) -> str:
    return f"{part['kind']} {part['text']!r}" if part["text"] else f"the {part['kind']}"


def chart_problems(page) -> list[str]:
    problems = []
    for chart in page.evaluate(_CHART_BOXES_JS):
        name = f"chart {chart['title']!r}"
        parts, frame = chart["parts"], chart["chart"]
        for i, first in enumerate(parts):
            for second in parts[i + 1:]:
                if first["kind"] != second["kind"] and _overlap(first["box"], second["box"]):
                    problems.append(f"{name}: {_named(first)} overlaps {_named(second)}")
            if first["kind"] == "title" and (first["box"]["left"] < frame["left"] - 1
                                             or first["box"]["right"] > frame["right"] + 1):
                problems.append(f"{name}: the title is wider than the chart "
                                f"({first['box']['right'] - first['box']['left']:.0f} px in "
                                f"{frame['right'] - frame['left']:.0f} px)")
    return problems


def open_page(new_page, viewports, wait_for_app, base_url: str, path: str, viewport: str):
    page = new_page(**viewports[viewport])
    page.goto(f"{base_url}/{path}")
    wait_for_app(page, SLOW)
    page.wait_for_function(_CHARTS_DRAWN_JS, polling=250, timeout=SLOW)
    page.wait_for_timeout(500)  # plotly places titles and legends after its first draw
    return page


@pytest.mark.parametrize("viewport", VIEWPORT_NAMES)
@pytest.mark.parametrize("path", PAGE_PATHS + OTHER_VIEWS)
def test_nothing_is_cut_off_and_chart_labels_do_not_collide(app_server, new_page, viewports, wait_for_app,
                                                           exception_texts, screenshot, path, viewport):
    page = open_page(new_page, viewports, wait_for_app, app_server, path, viewport)
    name = re.sub(r"\W+", "_", path) or "home"
    screenshot(page, f"layout_{name}_{viewport}", full_page=True)
    assert exception_texts(page) == []
    problems = truncated_texts(page) + chart_problems(page)
    where = f"/{path} at {viewport}"
    assert not problems, f"{where}: {len(problems)} layout problem(s):\n  " + "\n  ".join(problems)


def _in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] and box["x"] >= 0 \
        and box["x"] + box["width"] <= size["width"]


def _pick_a_test_digit(page) -> None:
    source = page.get_by_role("radio", name="Test digit")  # a segmented control's button
    source.scroll_into_view_if_needed()  # where the student's thumb is when choosing
    source.tap()


def _draw_a_seven(page) -> None:
    canvas = canvas_locator(page)
    canvas.scroll_into_view_if_needed()
    draw_seven(page, canvas)


@pytest.mark.parametrize("choose", [_pick_a_test_digit, _draw_a_seven], ids=["test digit", "drawing"])
def test_the_answer_on_home_is_on_screen_on_a_phone(app_server, new_page, viewports, wait_for_app, mnist_dir, choose):
    page = open_page(new_page, viewports, wait_for_app, app_server, "", "390x844")
    choose(page)
    verdict = page.get_by_text(re.compile(r"It's an? \d"))
    verdict.first.wait_for(timeout=SLOW)
    wait_for_app(page, SLOW)
    assert _in_viewport(page, verdict.first), (
        f"/ at 390x844: the answer {verdict.first.inner_text()!r} is outside the screen after choosing the digit "
        f"(its box {verdict.first.bounding_box()}, screen 390x844): the student must scroll to see it")


# --- the checks themselves, on pages made up for them (no app server) ------------------------

def test_the_text_check_finds_a_cut_label_and_passes_one_that_fits(new_page):
    page = new_page(**VIEWPORT_OPTIONS_FOR_SELF_TEST)
    page.set_content("""
        <div data-testid='stMetricLabel' style='width:60px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis'>
          Validation accuracy</div>
        <button style='width:300px'>Reset</button>
        <label><input type='radio' style='width:1px;height:1px'>by index</label>
        <div data-testid='stSelectbox'><input role='combobox' style='width:60px' value='Keras 512-ReLU MLP'></div>""")
    problems = truncated_texts(page)
    assert len(problems) == 2, problems
    assert "metric label 'Validation accuracy'" in problems[0] and "selectbox value 'Keras 512-ReLU MLP'" in problems[1]


def _plotly_page(new_page, fig):
    import plotly
    import plotly.io as pio

    page = new_page(viewport={"width": 390, "height": 844})
    page.set_content("<div data-testid='stPlotlyChart' style='width:318px'><div id='chart'></div></div>")
    page.add_script_tag(path=str(Path(plotly.__file__).parent / "package_data" / "plotly.min.js"))
    page.evaluate("spec => Plotly.newPlot('chart', spec.data, spec.layout)", json.loads(pio.to_json(fig)))
    page.wait_for_function(_CHARTS_DRAWN_JS)
    return page


def _crowded_figure():
    import plotly.graph_objects as go

    from explorer.figures.theme import TEMPLATE_NAME

    fig = go.Figure([go.Scatter(y=[1, 3, 2], name=f"optimizer {i}") for i in range(4)])
    fig.update_layout(template=TEMPLATE_NAME, title="Validation accuracy of every run, per epoch", height=400,
                      xaxis_title="epoch", legend=dict(orientation="h", y=-0.1, yanchor="top"))
    return fig


def test_the_chart_check_finds_a_cut_title_and_a_legend_on_an_axis_title(new_page):
    problems = chart_problems(_plotly_page(new_page, _crowded_figure()))
    assert any("wider than the chart" in p for p in problems), problems
    assert any("legend" in p and "axis title 'epoch'" in p for p in problems), problems


def test_fitted_charts_pass_the_chart_check_on_a_phone(new_page):
    from explorer.figures.theme import fit_layout

    assert chart_problems(_plotly_page(new_page, fit_layout(_crowded_figure()))) == []
