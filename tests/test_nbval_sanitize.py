"""The nbval sanitizer (tests/nbval_sanitize.cfg): what it hides and what it keeps.

nbval applies each ``regex``/``replace`` pair of the file with ``re.sub``, in order, to the
stored and to the fresh output before comparing them. Here the same rules are applied to SVG
figures drawn by matplotlib the way the notebooks draw them, and to plain text: float noise in a
plot's coordinates must vanish, while every change a reader could see must still differ.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

matplotlib.use("Agg")

CONFIG = Path(__file__).with_name("nbval_sanitize.cfg")


def rules() -> list[tuple[str, str]]:
    # nbval's own parser: a `regex: ` line directly followed by a `replace: ` line.
    text = CONFIG.read_text(encoding="utf-8")
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", text, flags=re.M)


def sanitize(text: str) -> str:
    for regex, replace in rules():
        text = re.sub(regex, replace, text)
    return text


def svg(
    noise: float = 0.0,
    *,
    title: str = "loss",
    xlabel: str = "epoch",
    legend: tuple[str, ...] = ("train", "val"),
    curves: int = 2,
    points: int = 50,
    markers: bool = True,
    style: str = "-",
    xmax: float = 10.0,
) -> str:
    """An SVG figure as the notebooks make them (fixed hash salt, no date)."""
    matplotlib.rcParams["svg.hashsalt"] = "d2lutil"
    fig = Figure(figsize=(3.5, 2.5))
    ax = fig.add_subplot()
    x = np.linspace(0.0, xmax, points)
    for k in range(curves):
        ax.plot(x, np.exp(-x / (k + 1)) + 0.013 * k + noise * (k + 1), style)
    if markers:
        ax.scatter(x[::10], np.cos(x[::10]) + noise, s=6)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("value")
    ax.legend(list(legend)[:curves])
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return buffer.getvalue()


def test_the_file_has_rules_nbval_can_read():
    names = [r for r, _ in rules()]
    assert len(names) == 6, names
    for regex, _ in rules():
        re.compile(regex)


def test_memory_addresses_are_masked():
    assert sanitize("<Foo at 0x7f3a2b9c1d50>") == sanitize("<Foo at 0x55d1e2f3a4b0>")


def test_float_noise_in_coordinates_vanishes():
    a, b = svg(), svg(noise=3e-6)
    assert a != b, "the noise must change the raw SVG, or this test proves nothing"
    assert sanitize(a) == sanitize(b)


@pytest.mark.parametrize(
    "change",
    [
        {"title": "accuracy"},
        {"xlabel": "step"},
        {"legend": ("train", "validation")},
        {"curves": 1},
        {"points": 51},
        {"markers": False},
        {"style": "--"},
        {"xmax": 20.0},  # other tick labels
    ],
    ids=lambda c: next(iter(c)),
)
def test_what_a_reader_sees_still_differs(change):
    assert sanitize(svg()) != sanitize(svg(**change))


def test_clip_path_ids_are_masked():
    # The id is a hash of the clip rectangle: float noise in the rectangle changes it.
    a = '<clipPath id="pc0ed065784"><rect/></clipPath><g clip-path="url(#pc0ed065784)">'
    b = '<clipPath id="p2461cea4ea"><rect/></clipPath><g clip-path="url(#p2461cea4ea)">'
    assert sanitize(a) == sanitize(b)
    # A clipped group stays different from an unclipped one, and other ids are kept.
    assert sanitize(a) != sanitize('<clipPath id="pc0ed065784"><rect/></clipPath><g>')
    assert sanitize('<path id="m2c3b1e8d9f"/>') == '<path id="m2c3b1e8d9f"/>'


def test_text_outputs_are_untouched():
    text = (
        "epoch 3: loss 0.4321, accuracy 0.8457\n"
        "tensor([[0.5390, 0.1717, 0.2892]])\n"
        "M 1 2 L 3 4 and x=1 y=2, width=3 (translate 5)\n"
    )
    assert sanitize(text) == text
