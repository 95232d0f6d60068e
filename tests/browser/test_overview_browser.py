"""The network overview on the Filters page, in a real browser: a click on a map's thumbnail opens
that map below (its panel appears) and puts it in the link."""

from __future__ import annotations

import re

SLOW = 90_000  # ms: the page runs a CNN and draws many charts on two shared cores
WHERE_IS_MAP_2_OF_COLUMN_2 = """(g) => {
    const t = g.data.find(t => t.customdata && t.mode === 'markers');
    const i = t.customdata.findIndex(d => d[0] === 2 && d[1] === 1);
    const xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis, r = g.getBoundingClientRect();
    return {x: r.left + xa._offset + xa.d2p(t.x[i]), y: r.top + ya._offset + ya.d2p(t.y[i]),
            name: t.text[i].split(',')[0]}; }"""
OPENED = "() => location.href.includes('ov_column=2') && location.href.includes('ov_channel=1')"


def test_clicking_a_map_in_the_overview_opens_it(app_server, page, wait_for_app):
    page.goto(f"{app_server}/filters?filters_model=lenet")
    wait_for_app(page, SLOW)
    index = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .findIndex(g => (g.data || []).some(t => t.customdata && t.mode === 'markers'))""")
    assert index >= 0, "no overview with clickable maps"
    plot = page.locator(".js-plotly-plot").nth(index)
    plot.scroll_into_view_if_needed()
    for attempt in range(3):  # the page may still move (charts above it drawing) as we aim
        target = plot.evaluate(WHERE_IS_MAP_2_OF_COLUMN_2)
        page.mouse.move(target["x"], target["y"])
        page.mouse.click(target["x"], target["y"])
        try:
            page.wait_for_function(OPENED, timeout=20_000)
            break
        except Exception:  # noqa: BLE001 - aim again
            if attempt == 2:
                raise
    wait_for_app(page, SLOW)
    page.locator("svg text").filter(has_text=re.compile(rf"^{re.escape(target['name'])}, map 2$")).first.wait_for(timeout=SLOW)
    assert page.locator("[data-testid='stException']").count() == 0


# The animation's state in the browser: its frames, and the window's position and sum as drawn now.
ANIMATION_NOW = """(g) => ({frames: (g._transitionData._frames || []).length,
    window: JSON.stringify(g.layout.shapes[0]), sum: g._fullLayout.xaxis2.title.text})"""


def test_the_kernel_animation_plays_in_the_browser(app_server, page, wait_for_app):
    """Its frames are sent unchecked by plotly (explorer.figures.conv_animation.AnimatedFigure):
    plotly.js takes them all, and Play moves the window and its sum from frame to frame."""
    page.goto(f"{app_server}/filters?filters_model=lenet")
    wait_for_app(page, SLOW)
    plot = page.locator(".st-key-ov_animation .js-plotly-plot")
    plot.scroll_into_view_if_needed()
    before = plot.evaluate(ANIMATION_NOW)
    assert before["frames"] >= 100 and "=" in before["sum"], before
    plot.locator("g.updatemenu-button").filter(has_text="▶▶ fast").click()
    handle = plot.element_handle()
    page.wait_for_function("([g, sum]) => g._fullLayout.xaxis2.title.text !== sum", arg=[handle, before["sum"]], timeout=20_000)
    after = plot.evaluate(ANIMATION_NOW)  # the window reached the ink: a new sum, further on
    assert after["window"] != before["window"], (before, after)
    assert page.locator("[data-testid='stException']").count() == 0
