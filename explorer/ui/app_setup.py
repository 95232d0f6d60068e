"""The app's page list, in one place: explorer/Home.py builds the navigation from it and the tests
walk it, so a page added here is automatically navigable and smoke-tested."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import streamlit as st

from explorer import i18n
from explorer.i18n import t

APP_ICON = "🔢"
HOME_ICON = ":material/home:"

REPO_ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO_ROOT / "explorer" / "Home.py"


@dataclass(frozen=True)
class PageInfo:
    file: str  # path relative to the repository root, e.g. "pages/train.py"
    icon: str  # an emoji or a ":material/name:" icon
    url_path: str  # the page is served at http://HOST:PORT/<url_path>

    @property
    def title(self) -> str:
        return t(f"pages.{self.url_path}.title")

    @property
    def description(self) -> str:
        """One line, shown on the home page."""
        return t(f"pages.{self.url_path}.description")

    @property
    def path(self) -> Path:
        return REPO_ROOT / self.file

    @property
    def entrypoint_relative(self) -> str:
        """The path as st.Page wants it: relative to the entrypoint's folder (explorer/)."""
        return f"../{self.file}"


PAGES: tuple[PageInfo, ...] = (
    PageInfo(file="pages/train.py", icon=":material/model_training:", url_path="train"),
    PageInfo(file="pages/filters.py", icon=":material/filter:", url_path="filters"),
    PageInfo(file="pages/receptive_fields.py", icon=":material/center_focus_strong:", url_path="receptive_fields"),
    PageInfo(file="pages/robustness.py", icon=":material/shield:", url_path="robustness"),
    PageInfo(file="pages/lessons.py", icon=":material/school:", url_path="lessons"),
    PageInfo(file="pages/class_digits.py", icon=":material/groups:", url_path="class_digits"),
)


HOME_URL_PATH = "home"  # Home is the default page, served at "/": this names it for st.page_link


# On a phone a chart's toolbar floats over its title (plotly shows it always on touch screens):
# there it goes; pinch and drag still zoom and pan. A page link's label wraps instead of ending in
# "…" (Streamlit keeps it on one line: a sentence-long link lost its end on a phone). The Train
# page's hidden widget (SEEN in pages/train.py) is here rather than a message of its own per run.
_APP_CSS = """<style>
@media (max-width: 640px) { .js-plotly-plot .modebar-container { display: none; } }
[data-testid="stPageLink"] :is(span, p, [data-testid="stMarkdownContainer"]):not([data-testid="stIconMaterial"]) { white-space: normal; }
.st-key-tr_seen_reset { display: none; }
</style>"""


def use_app_style() -> None:
    """Called once per run by the entrypoint: the style every page shares."""
    st.html(_APP_CSS)


def _home_placeholder() -> None:
    """Stands in for the Home page's function in links (a link needs only the page's URL path)."""


def home_page(run: Callable[[], None] | None = None) -> st.Page:
    """Home as an st.Page: the entrypoint passes its page function; a page that links to Home passes nothing."""
    return st.Page(run or _home_placeholder, title=t("pages.home.title"), icon=HOME_ICON, url_path=HOME_URL_PATH, default=True)


def st_page(info: PageInfo) -> st.Page:
    """The st.Page of one entry of PAGES (for the navigation, and for st.page_link from any page)."""
    return st.Page(info.entrypoint_relative, title=info.title, icon=info.icon, url_path=info.url_path)


def page_for_link(url_path: str) -> st.Page:
    """The st.Page to hand st.page_link for a URL path ("" is Home)."""
    if not url_path:
        return home_page()
    return st_page(next(info for info in PAGES if info.url_path == url_path))


def make_st_pages() -> list[st.Page]:
    """One st.Page per entry of PAGES (must be called from the running entrypoint script)."""
    return [st_page(p) for p in PAGES]


# --- page thumbnails for the Home page's cards (drawn in code: no binary files to keep in sync) ---

THUMB_SIZE = (480, 240)  # px; shown at the card's width
_BLUE, _VERMILLION, _GREEN, _GREY, _INK = "#0072B2", "#D55E00", "#009E73", "#BBBBBB", "#1A1A1A"


# Where systems usually keep a font with Chinese characters (Pillow's own font has none).
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian, Ubuntu: fonts-noto-cjk
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora, Arch
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian's small one: packages.txt, deploy/Dockerfile
    "/System/Library/Fonts/PingFang.ttc",  # macOS
    "C:/Windows/Fonts/msyh.ttc",  # Windows: Microsoft YaHei
)


@functools.cache
def _cjk_font_file() -> str | None:
    return next((path for path in CJK_FONTS if Path(path).is_file()), None)


def _chinese_thumbnails() -> bool:
    """Thumbnails are drawn in Chinese when the session reads Chinese and a font can draw it."""
    return i18n.current() != i18n.DEFAULT and _cjk_font_file() is not None


def _label(name: str) -> str:
    """A thumbnail's words: in the session's language, or English where no font can draw Chinese."""
    if i18n.current() != i18n.DEFAULT and not _chinese_thumbnails():
        return i18n.catalog(i18n.DEFAULT)[f"home.thumb.{name}"]
    return t(f"home.thumb.{name}")


def _font(size: int):
    from PIL import ImageFont

    try:
        if _chinese_thumbnails():
            return ImageFont.truetype(_cjk_font_file(), size)
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: a small bitmap font
        return ImageFont.load_default()


def _seven() -> "np.ndarray":
    """A 28x28 MNIST-like '7' (white ink on black, floats 0..1), drawn with PIL."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    image = Image.new("L", (112, 112), 0)
    ImageDraw.Draw(image).line([(26, 28), (86, 28), (50, 92)], fill=255, width=13, joint="curve")
    small = image.filter(ImageFilter.GaussianBlur(2)).resize((28, 28), Image.Resampling.BILINEAR)
    array = np.asarray(small, dtype=np.float32)
    return array / array.max()


def _tile(values, size: int, diverging: bool = False):
    """A square PIL tile of a 2-D array: grey for images, blue-white-red for signed maps."""
    import numpy as np
    from PIL import Image

    if diverging:
        limit = float(np.abs(values).max()) or 1.0
        t = np.clip(values / limit, -1, 1)[..., None]
        blue, red, white = np.array([33, 102, 172]), np.array([178, 24, 43]), np.array([247, 247, 247])
        rgb = np.where(t < 0, white + (blue - white) * -t, white + (red - white) * t)
    else:
        rgb = np.repeat((np.clip(values, 0, 1) * 255)[..., None], 3, axis=2)
    return Image.fromarray(rgb.astype(np.uint8), "RGB").resize((size, size), Image.Resampling.NEAREST)


def _thumb_train(draw, image) -> None:
    import numpy as np

    w, h = THUMB_SIZE
    left, top, right, bottom = 70, 24, w - 24, h - 44
    draw.line([(left, top), (left, bottom), (right, bottom)], fill=_INK, width=3)
    steps = np.linspace(0, 1, 120)
    curves = [(_BLUE, _label("he_init"), 0.08 + 0.92 * np.exp(-7 * steps)),
              (_VERMILLION, "std 0.01", 0.55 + 0.45 / (1 + np.exp(30 * (steps - 0.55))))]  # fmt: skip
    for colour, label, loss in curves:
        points = [(left + s * (right - left), bottom - (1 - l) * 0 - l * (bottom - top)) for s, l in zip(steps, loss)]
        draw.line(points, fill=colour, width=6, joint="curve")
        x, y = points[-1]
        draw.text((x - 6, y - 12), label, fill=colour, font=_font(26), anchor="rb")
    draw.text((left - 14, (top + bottom) / 2), _label("loss"), fill=_INK, font=_font(24), anchor="rm")
    draw.text(((left + right) / 2, bottom + 8), _label("training_steps"), fill=_INK, font=_font(24), anchor="mt")


def _thumb_filters(draw, image) -> None:
    import numpy as np

    digit = _seven()
    kernels = [np.array([[-1, -1, -1], [0, 0, 0], [1, 1, 1]], float),  # horizontal edges
               np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], float),  # vertical edges
               np.array([[0, 1, 1], [-1, 0, 1], [-1, -1, 0]], float)]  # diagonal edges
    padded = np.pad(digit, 1)
    maps = [sum(k[i, j] * padded[i:i + 28, j:j + 28] for i in range(3) for j in range(3)) for k in kernels]
    side, small = 170, 110
    image.paste(_tile(digit, side), (18, 35))
    draw.text((18 + side / 2, 35 + side + 6), _label("digit"), fill=_INK, font=_font(22), anchor="mt")
    draw.line([(200, 120), (236, 120)], fill=_INK, width=4)
    draw.polygon([(236, 110), (250, 120), (236, 130)], fill=_INK)
    for index, feature_map in enumerate(maps):
        x = 262 + index * 48
        y = 20 + index * 30
        image.paste(_tile(feature_map, small, diverging=True), (x, y))
        draw.rectangle([x, y, x + small - 1, y + small - 1], outline=_INK, width=2)
    draw.text((262 + (2 * 48 + small) / 2, 20 + 2 * 30 + small + 8), _label("feature_maps"), fill=_INK, font=_font(22), anchor="mt")


def _thumb_receptive(draw, image) -> None:
    digit = _seven() * 0.55
    cell, x0, y0 = 7, 18, 22
    image.paste(_tile(digit, 28 * cell), (x0, y0))
    for i in range(29):  # the pixel grid
        draw.line([(x0 + i * cell, y0), (x0 + i * cell, y0 + 28 * cell)], fill="#444444", width=1)
        draw.line([(x0, y0 + i * cell), (x0 + 28 * cell, y0 + i * cell)], fill="#444444", width=1)
    centre = (14, 12)
    labels = [(3, _GREEN, _label("one_conv")), (5, _BLUE, _label("two_convs")), (7, _VERMILLION, _label("three_convs"))]
    for size, colour, _ in reversed(labels):
        r0, c0 = centre[0] - size // 2, centre[1] - size // 2
        draw.rectangle([x0 + c0 * cell, y0 + r0 * cell, x0 + (c0 + size) * cell, y0 + (r0 + size) * cell], outline=colour, width=4)
    for index, (_, colour, text) in enumerate(labels):
        y = 52 + index * 56
        draw.rectangle([238, y, 262, y + 24], outline=colour, width=5)
        draw.text((274, y + 12), text, fill=_INK, font=_font(24), anchor="lm")


def _thumb_lessons(draw, image) -> None:
    """A lesson card: a title bar, numbered steps and a folded answer."""
    w, h = THUMB_SIZE
    draw.rounded_rectangle([24, 20, w - 24, h - 20], radius=14, outline=_BLUE, width=4)
    draw.text((44, 36), _label("lesson"), fill=_INK, font=_font(28))
    for number, width in enumerate((300, 250, 330), start=1):
        y = 84 + (number - 1) * 36
        draw.text((48, y), f"{number}.", fill=_BLUE, font=_font(24))
        draw.rounded_rectangle([84, y + 6, 84 + width, y + 20], radius=6, fill=_GREY)
    draw.polygon([(50, 184), (64, 193), (50, 202)], fill=_VERMILLION)  # an expander's arrow
    draw.text((76, 180), _label("answer"), fill=_VERMILLION, font=_font(24))


def _thumb_robustness(draw, image) -> None:
    """The same 7 turned further and further, and an accuracy curve falling away from upright."""
    import numpy as np
    from PIL import Image

    digit = Image.fromarray((_seven() * 255).astype(np.uint8), "L")
    for index, angle in enumerate((0, 20, 40, 60)):
        turned = digit.rotate(-angle, resample=Image.Resampling.BILINEAR).convert("RGB").resize((84, 84))
        image.paste(turned, (22 + index * 96, 18))
    w, h = THUMB_SIZE
    left, top, right, bottom = 40, 118, w - 30, h - 34
    draw.line([(left, top), (left, bottom), (right, bottom)], fill=_INK, width=3)
    angles = np.linspace(-60, 60, 61)
    accuracy = 0.1 + 0.9 * np.exp(-((angles / 38) ** 4))
    points = [(left + (a + 60) / 120 * (right - left), bottom - v * (bottom - top)) for a, v in zip(angles, accuracy)]
    draw.line(points, fill=_VERMILLION, width=6, joint="curve")
    draw.text(((left + right) / 2, bottom + 6), _label("rotation"), fill=_INK, font=_font(22), anchor="mt")


def _thumb_class_digits(draw, image) -> None:
    """A class's hand-drawn digits, a few of each, with how many arrived."""
    w, h = THUMB_SIZE
    for row, digit in enumerate((3, 7)):
        for index in range(4):
            x, y = 24 + index * 70, 22 + row * 96
            draw.rounded_rectangle([x, y, x + 60, y + 80], radius=8, fill="#111111")
            draw.text((x + 30 + (index % 2) * 3, y + 40), str(digit), fill="white", font=_font(52), anchor="mm")
    for row, count in enumerate((12, 9)):
        draw.rectangle([320, 46 + row * 96, 320 + count * 10, 70 + row * 96], fill=_BLUE)
    draw.text((w / 2, h - 12), _label("class_digits"), fill=_INK, font=_font(22), anchor="ms")


_THUMBS = {"train": _thumb_train, "filters": _thumb_filters, "receptive_fields": _thumb_receptive,
           "lessons": _thumb_lessons, "robustness": _thumb_robustness, "class_digits": _thumb_class_digits}  # fmt: skip


def page_thumbnail(url_path: str):
    """A small PIL picture of what the page shows (a plain card if the page has no drawing), its words
    in the current language."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", THUMB_SIZE, "white")
    draw = ImageDraw.Draw(image)
    painter = _THUMBS.get(url_path)
    if painter is not None:
        painter(draw, image)
    draw.rectangle([0, 0, THUMB_SIZE[0] - 1, THUMB_SIZE[1] - 1], outline="#D9D9D9", width=2)
    return image
