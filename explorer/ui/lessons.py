"""The lesson plan: each lesson is one link that opens its page preset, with a lesson card on top.

Plain data (no streamlit): the Lessons page lists these, the entrypoint shows the card of the
lesson named in the URL (`lesson=<id>`), README links to them and the tests play them.

    python -m explorer.lessons      # the lesson links, as README lists them
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

LESSON_PARAM = "lesson"
PRESENT_PARAM = "present"
LOCAL_SERVER = "http://localhost:8501/"


@dataclass(frozen=True)
class Lesson:
    id: str  # the URL value of `lesson=`
    page: str  # the url_path of the page it opens ("" is Home)
    params: dict[str, str] = field(default_factory=dict)  # the page's URL parameters: the preset
    title: str = ""
    minutes: int = 10
    goal: str = ""  # one sentence: what the class should take away
    steps: tuple[str, ...] = ()  # what to do, in order
    notice: str = ""  # what to point at on the screen
    question: str = ""  # for the class
    answer: str = ""  # folded away until asked


def lesson_query(lesson: Lesson, present: bool = True) -> dict[str, str]:
    """The URL parameters of the lesson's link: the lesson id, the page's preset, presenter mode."""
    query = {LESSON_PARAM: lesson.id, **lesson.params}
    if present:
        query[PRESENT_PARAM] = "1"
    return query


def lesson_link(lesson: Lesson, present: bool = True) -> str:
    """The link relative to the app's root, e.g. `train?lesson=inits&tr_mode=compare&cmp_preset=inits&present=1`
    (Home's lessons start with `?`)."""
    return f"{lesson.page}?{urlencode(lesson_query(lesson, present))}"


def lesson_url(lesson: Lesson, base: str = LOCAL_SERVER, present: bool = True) -> str:
    """The full link on a server, e.g. http://localhost:8501/train?lesson=inits&..."""
    return base.rstrip("/") + "/" + lesson_link(lesson, present)


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        id="draw",
        page="",
        params={"home_source": "draw"},
        title="What will the network say?",
        minutes=5,
        goal="A trained network reads a digit drawn a second ago, and says how sure it is.",
        steps=(
            "A student draws a digit on the projector. Before lifting the pen, the class guesses the answer.",
            "Then draw a sloppy 4 that could be a 9, or a 1 that could be a 7.",
            "Clear the canvas (bin icon) and try to fool the network.",
        ),
        notice="The probability bars: a clean digit gets one tall bar, an ambiguous one splits between two "
        "digits. The 28×28 input is smaller and blurrier than the drawing: that is all the network sees.",
        question="When the network is wrong, is it also unsure?",
        answer="Usually: a misread digit rarely gets 99%. The second-tallest bar is often the digit you meant. "
        "But a network can also be confidently wrong on a shape unlike any training digit.",
    ),
    Lesson(
        id="inits",
        page="train",
        params={"tr_mode": "compare", "cmp_preset": "inits"},
        title="Initialisation: why one network never starts learning",
        goal="The same network, the same batches, three starting weights: tiny weights stall, Xavier and He learn.",
        steps=(
            "Press **Start comparison**: three copies of a 5-layer ReLU network train side by side.",
            "Watch the loss curves for a minute.",
            "Ask the class the question (*For the class*) before the runs end.",
        ),
        notice="The std 0.01 curve stays flat near ln 10 ≈ 2.3 (a uniform guess over ten digits) while the "
        "Xavier and He curves fall.",
        question="Every run sees exactly the same images in the same order. Why does one not learn at all?",
        answer="With weights of std 0.01, each layer shrinks its input: after five layers the signal, and the "
        "gradient flowing back, is almost zero, so the weights barely move. Xavier and He scale the weights "
        "to the layer's width (He for ReLU: std √(2/n)), so the signal keeps its size through every layer.",
    ),
    Lesson(
        id="optimizers",
        page="train",
        params={"tr_mode": "compare", "cmp_preset": "optimizers"},
        title="Optimizers: SGD, Momentum, AdaGrad, Adam",
        goal="Four ways to follow the gradient, racing on the same network and the same batches.",
        steps=(
            "Press **Start comparison**.",
            "While it runs, ask the class which one they expect to win, and why.",
            "Then open the *Optimizer paths* lesson to see how each one moves.",
        ),
        notice="Which curve drops fastest in the first steps, and which ends lowest: they are not always the same.",
        question="SGD takes the gradient's step. What do the others add?",
        answer="Momentum keeps a velocity, so it speeds up along a consistent slope. AdaGrad divides each weight's "
        "step by its gradients so far, so rarely moved weights take bigger steps. Adam does both: a momentum "
        "of the gradient and a scale per weight.",
    ),
    Lesson(
        id="paths",
        page="train",
        params={"tr_mode": "paths", "path_surface": "bowl"},
        title="Optimizer paths: why they differ",
        goal="See each optimizer walk down a 2-D function, step by step, from the same start.",
        steps=(
            "Look at the elongated bowl: steep across, nearly flat along.",
            "Compare SGD's zig-zag with Momentum's overshoot, and with AdaGrad and Adam, which size each "
            "direction's step separately.",
            "Switch the function to the curved valley.",
        ),
        notice="SGD zig-zags across the steep direction and crawls along the flat one; Momentum overshoots and "
        "swings back; AdaGrad and Adam scale each direction's step by its own gradients, so they make progress "
        "along the flat direction from the first steps.",
        question="Why does plain SGD zig-zag in a long, narrow bowl?",
        answer="The gradient points down the steepest slope, which is across the bowl, not along it. A step large "
        "enough to make progress along the flat direction overshoots across the steep one.",
    ),
    Lesson(
        id="filters",
        page="filters",
        params={"filters_source": "draw", "filters_model": "deepconvnet"},
        title="Filters and feature maps on your own drawing",
        minutes=15,
        goal="Follow a student's digit through a trained CNN: what each filter finds, and which pixels decide.",
        steps=(
            "A student draws a digit. The network's answer appears under *What the network says*.",
            "Scroll to *Layer by layer*: the first layer's filters and their feature maps.",
            "In *One convolution, number by number*, check one output value by hand.",
            "End on *Saliency*: the pixels the decision hinges on.",
        ),
        notice="First-layer maps light up on edges of one direction each; deeper maps are smaller and more "
        "abstract. The saliency is brightest on the strokes that tell this digit from its look-alikes.",
        question="A filter is only 3×3 pixels. How can the network recognise a whole digit?",
        answer="Each layer combines the previous layer's maps, and pooling halves their size, so a unit deep in "
        "the network sees a large part of the image (see the receptive-fields lesson): small edges build strokes, "
        "strokes build digits.",
    ),
    Lesson(
        id="receptive-fields",
        page="receptive_fields",
        params={"rf_n": "2", "rf_c_in": "64", "rf_c_out": "64"},
        title="Receptive fields: two 3×3 convolutions or one 5×5?",
        goal="Two stacked 3×3 convolutions see the same 5×5 field as one 5×5 convolution, with fewer weights: "
        "but only when they have many channels.",
        steps=(
            "Deep in a network (64 channels in and out): compare the two cards' parameters and receptive fields.",
            "Press **First layer on MNIST: 1 → 16**: the claim fails.",
            "Try n = 3: three 3×3 against one 7×7.",
        ),
        notice="Both receptive fields are 5×5; the stack has 18 weights per channel pair against 25, and one "
        "more nonlinearity.",
        question="Why does the stack cost more on the first layer of an MNIST network?",
        answer="The second 3×3 reads the 16 channels the first one made, not the image's single channel: "
        "9·1·16 + 9·16·16 weights against 25·1·16 for one 5×5.",
    ),
    Lesson(
        id="results",
        page="",
        params={},
        title="From 95% to 99.6%: what made networks better",
        goal="Six networks from the articles this app follows: what each change bought, and what it cost.",
        steps=(
            "Read the table top to bottom: each row is a network from a book or article.",
            "Compare the test accuracy with the parameters and the training time.",
            "Follow a row's page link to see that network at work.",
        ),
        notice="Accuracy climbs from 95% to 99.6% while training time grows from seconds to about 40 minutes: the "
        "last points cost the most. Zhou's CNN has fewer parameters than Nielsen's MLP, yet beats it when trained "
        "on all the images (the note under the table): weight sharing.",
        question="99.6% sounds almost perfect. How many of the 10,000 test digits are still wrong?",
        answer="About 40 (0.4% of 10,000). From 95% to 99.6% the number of mistakes falls from about 500 to about "
        "40: more than ten times fewer.",
    ),
    Lesson(
        id="augment",
        page="train",
        params={"tr_mode": "compare", "cmp_preset": "augment"},
        title="Augmentation: shifts and rotations help, flips hurt",
        goal="Training on moved and turned copies of the digits helps on new digits; mirrored copies hurt.",
        steps=(
            "Press **Start comparison**: the same network trains without augmentation, with shifts, with "
            "shifts and rotations, and with flips.",
            "When it ends, read the results table: accuracy on the test digits and on rotated test digits.",
        ),
        notice="On the rotated test digits, the run trained with rotations does best; the run trained with flips "
        "does worst.",
        question="Why would a mirror image of a digit be bad training data, when a shifted one is good?",
        answer="A shifted or slightly turned 2 is still a 2, so the network learns what does not matter. A "
        "mirrored 2, 3, 4, 5, 7 or 9 is not a digit at all, and a mirrored 6 is not a 6: the network learns "
        "shapes that never occur, labelled wrongly.",
    ),
    Lesson(
        id="my-digit",
        page="filters",
        params={"filters_source": "draw"},
        title="Why does it fail on my digit?",
        goal="The network only knows MNIST-style digits: centred, scaled to 20×20, white on black. Preprocessing "
        "makes a drawing or a photo look like that.",
        steps=(
            "Draw a small digit in a corner (or upload a photo of a digit on paper).",
            "Look at *Preprocessing, step by step*: crop to the ink, fit into 20×20, centre. Then the answer.",
            "Switch **Fit 20×20** off and watch the 28×28 input and the probabilities.",
            "Switch it back on and **Crop** off: the whole canvas is shrunk, and the digit with it.",
        ),
        notice="With Fit 20×20 off, the digit is stretched to fill the whole 28×28 square, without MNIST's empty "
        "margin: unlike any training digit, and the probabilities spread over several digits.",
        question="The network was 99% right on the test set. Why is it unsure about a digit a child can read?",
        answer="Every training digit was centred and scaled the same way, so the network never learned that a "
        "digit can sit in a corner or be tiny. Its accuracy holds only for inputs like its training data.",
    ),
)

_BY_ID = {lesson.id: lesson for lesson in LESSONS}


def lesson_by_id(lesson_id: str | None) -> Lesson | None:
    """The lesson with that id, or None."""
    return _BY_ID.get(lesson_id or "")


def main() -> None:
    for lesson in LESSONS:
        print(f"{lesson.id:18} {lesson_url(lesson)}")


if __name__ == "__main__":
    main()
