"""The Filters & feature maps page in Streamlit's AppTest: every CNN it offers renders, the
conv step-through shown on the page adds up to the network's own feature-map value (computed
here independently), switching models works, and bad uploads get a message, not a traceback."""

from __future__ import annotations

import io
import os
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from explorer.nn.checkpoints import ModelFileError
from explorer.nn.models import build_model
from explorer.data.preprocess import open_upload, preprocess_digit
from explorer.nn.pretrained import available, load_pretrained
from explorer.ui.app_setup import REPO_ROOT
from explorer.ui.resources import CNN_MODELS

PAGE = str(REPO_ROOT / "pages" / "filters.py")
TIMEOUT = 120


def digit_png(size=(120, 160), light_background=True) -> bytes:
    """A '7' drawn with PIL: a photo-like dark stroke on light paper (or the reverse)."""
    back, ink = (235, 20) if light_background else (0, 255)
    image = Image.new("L", size, back)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.line([(w * 0.2, h * 0.2), (w * 0.8, h * 0.2), (w * 0.4, h * 0.85)], fill=ink, width=max(6, w // 12))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def new_app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


def widget(elements, label):
    matches = [e for e in elements if e.label == label]
    assert matches, f"no widget labelled {label!r}; have {[e.label for e in elements]}"
    return matches[0]


def use_upload(at: AppTest, data: bytes, name="digit.png", mime="image/png") -> AppTest:
    widget(at.button_group, "Where the digit comes from").set_value("upload").run()
    assert not at.exception
    at.file_uploader[0].upload(name, data, mime).run()
    assert not at.exception
    return at


def model_select(at: AppTest):
    return widget(at.sidebar.selectbox, "CNN to look inside")


def page_network(at: AppTest):
    """The network the page is showing, rebuilt here independently of the page."""
    name = model_select(at).value
    random = at.sidebar.radio[0].value != "trained" or name not in available()
    if random:
        seed = int(widget(at.sidebar.number_input, "Random seed").value)
        return build_model(name, seed=seed)
    return load_pretrained(name)[0]


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info", "warning", "success", "subheader") for e in getattr(at, kind))


def sides(latex: str) -> tuple[list[float], list[float]]:
    """Signed numbers left and right of the last '=' in a LaTeX sum like '&0.1 - 0.2 \\\\ &= -0.1'."""
    body = re.sub(r"\\begin\{aligned\}|\\end\{aligned\}|\\\\|&|\$", " ", latex)
    body = body.replace(r"\text{bias}", "")
    left, right = body.rsplit("=", 1)
    numbers = lambda text: [float(sign + value) for sign, value in re.findall(r"([+-]?)\s*\(?\s*(-?\d+\.\d+)", text)]  # noqa: E731
    return numbers(left), numbers(right)


def check_step_through(at: AppTest, digit: np.ndarray):
    """Parse the page's sums and compare with the network's own feature map."""
    net = page_network(at)
    net_names = net.names
    layer = net_names.index(widget(at.selectbox, "Conv layer").value)  # the option is the layer's name
    channel = int(widget(at.slider, "Output channel").value) if any(s.label == "Output channel" for s in at.slider) else 0
    row, col = int(widget(at.slider, "Row").value), int(widget(at.slider, "Column").value)
    expected = float(net.trace(net.prepare(digit[None]))[layer][0, row, col, channel])

    latex = [e.value for e in at.latex]
    products, channel_sum = sides(latex[0])
    assert len(products) == net.layers[layer].kernel ** 2
    assert sum(products) == pytest.approx(channel_sum[0], abs=5e-4 * len(products))
    terms, (output,) = sides(latex[1])  # channel sums (or the window sum) + bias = output
    assert sum(terms) == pytest.approx(output, abs=5e-4 * len(terms))
    assert output == pytest.approx(expected, abs=1e-4)
    relu_lines = [line for line in latex if "ReLU" in line]
    if relu_lines:
        assert sides(relu_lines[0])[1][0] == pytest.approx(max(0.0, expected), abs=1e-4)
    assert at.success and f"{expected:.4f}" in at.success[0].value
    return net, layer, row, col, channel


@pytest.fixture(scope="module")
def upload_digit():
    data = digit_png()
    return data, preprocess_digit(open_upload(data)).digit


SHIPPED_CNNS = [name for name in CNN_MODELS if name in available()]


def test_page_offers_the_cnns_that_have_weights():
    at = new_app()
    offered = model_select(at).options  # the labels are the model names
    assert offered == (SHIPPED_CNNS or list(CNN_MODELS))
    assert not any("no trained weights" in text for text in offered + [texts(at)])


@pytest.mark.parametrize("name", SHIPPED_CNNS)
def test_every_cnn_renders_with_an_uploaded_digit(name, upload_digit):
    data, digit = upload_digit
    at = use_upload(new_app(), data)
    model_select(at).set_value(name).run()
    assert not at.exception
    net = page_network(at)
    headings = " ".join(h.value for h in at.subheader)
    for conv in [n for n in net.names if n.startswith("conv")]:
        assert conv in headings
    probabilities = net.predict_proba(digit[None])[0]
    assert f"as **{int(probabilities.argmax())}**" in texts(at)
    if name not in available():
        assert "random weights" in texts(at)
    check_step_through(at, digit)


def test_step_through_on_deeper_layer_and_padded_corner(upload_digit):
    data, digit = upload_digit
    at = use_upload(new_app(), data)
    model_select(at).set_value("lenet").run()
    conv = widget(at.selectbox, "Conv layer")
    conv.set_value("conv2").run()
    widget(at.slider, "Output channel").set_value(11).run()
    widget(at.slider, "Row").set_value(9).run()
    widget(at.slider, "Column").set_value(0).run()
    assert not at.exception
    net, layer, row, col, channel = check_step_through(at, digit)
    assert (net.names[layer], row, col, channel) == ("conv2", 9, 0, 11)
    # conv1 has padding 2: the top-left output reads zeros outside the image
    conv = widget(at.selectbox, "Conv layer")
    conv.set_value("conv1").run()
    widget(at.slider, "Row").set_value(0).run()
    widget(at.slider, "Column").set_value(0).run()
    check_step_through(at, digit)
    assert any("2 \\cdot 2" in e.value and "= 28" in e.value for e in at.latex)  # (28 - 5 + 2*2)/1 + 1


def test_switching_model_changes_the_layers(upload_digit):
    at = use_upload(new_app(), upload_digit[0])
    model_select(at).set_value("zhou-cnn").run()
    first = [h.value for h in at.subheader]
    model_select(at).set_value("deepconvnet").run()
    assert not at.exception
    second = [h.value for h in at.subheader]
    assert first != second
    assert any("conv6" in h for h in second) and not any("conv2" in h for h in first)


def test_random_weights_toggle_changes_filters(upload_digit):
    shipped = [m for m in CNN_MODELS if m in available()]
    if not shipped:
        pytest.skip("no pretrained CNN yet: every model already runs with random weights")
    name = shipped[0]
    try:
        load_pretrained(name)
    except ModelFileError as error:
        pytest.skip(f"{name} is not loadable: {error}")
    at = use_upload(new_app(), upload_digit[0])
    model_select(at).set_value(name).run()
    trained_latex = [e.value for e in at.latex]
    at.sidebar.radio[0].set_value("random").run()
    assert not at.exception
    assert "random weights" in texts(at)
    assert [e.value for e in at.latex] != trained_latex
    check_step_through(at, upload_digit[1])


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 50, "damaged"),
        ("notes.png", b"this is not an image at all" * 10, "not an image"),
        ("blank.png", None, "no visible digit"),
        ("tiny.png", "tiny", "too small"),
    ],
)
def test_bad_uploads_get_a_message(name, data, message):
    if data is None:
        buffer = io.BytesIO()
        Image.new("L", (64, 64), 255).save(buffer, format="PNG")
        data = buffer.getvalue()
    elif data == "tiny":
        buffer = io.BytesIO()
        Image.new("L", (1, 1), 0).save(buffer, format="PNG")
        data = buffer.getvalue()
    at = use_upload(new_app(), data, name)
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert message in warnings
    assert not at.latex  # the page stops before the network


def all_nodes(node):
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from all_nodes(child)


def step_captions(at: AppTest) -> list[str]:
    return [img.caption for node in all_nodes(at._tree) if node.type == "image" for img in node.proto.imgs]


def test_preprocessing_steps_shown_and_switchable(upload_digit):
    at = use_upload(new_app(), upload_digit[0])
    captions = step_captions(at)
    assert len(captions) == 6 and captions[1].startswith("2. Invert") and captions[4].startswith("5. Centre of mass")
    assert "inverted" in texts(at)  # the light paper was inverted
    widget(at.toggle, "Centre").set_value(False).run()
    assert not at.exception
    assert "Centre of mass is off" in texts(at)
    assert step_captions(at)[4].endswith("(off)")


def test_test_set_digit(require):
    require(os.environ.get("MNIST_DIR"), "env MNIST_DIR is not set (test-set digits need MNIST)")
    from explorer.data.mnist import load_mnist

    data = load_mnist(download=False)
    at = new_app()
    widget(at.number_input, "Index in the 10,000 test digits").set_value(42).run()
    assert not at.exception
    label = int(data.test_labels[42])
    assert f"labelled **{label}**" in texts(at)
    check_step_through(at, data.test_images[42])
    widget(at.radio, "Pick a test digit").set_value("class").run()
    widget(at.selectbox, "Digit").set_value(3).run()
    assert not at.exception
    first_three = int(np.flatnonzero(data.test_labels == 3)[0])
    assert f"Test digit #{first_three}, labelled **3**" in texts(at)
