"""d2lutil.plotting: plot helpers, and the progress board in each of its modes."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import textwrap

import matplotlib
import matplotlib.image
import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
import torch
from nbclient import NotebookClient

import d2lutil as d2l
from d2lutil import plotting


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    monkeypatch.delenv("D2LUTIL_BOARD", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    yield
    plt.close("all")


# ------------------------------------------------------------ plot helpers


def test_use_svg_display_makes_svg_deterministic_and_white():
    d2l.use_svg_display()
    assert matplotlib.rcParams["svg.hashsalt"] == "d2lutil"
    assert (
        matplotlib.colors.to_hex(matplotlib.rcParams["figure.facecolor"]) == "#ffffff"
    )
    assert (
        matplotlib.colors.to_hex(matplotlib.rcParams["savefig.facecolor"]) == "#ffffff"
    )


def test_use_svg_display_in_a_script_starts_no_ipython_shell():
    """A script that has imported IPython (pytest with nbval does) is still a script: a shell
    made by use_svg_display would turn the progress board into a notebook's, printing
    "<IPython.core.display.Image object>" instead of its summary line."""
    script = (
        "import IPython, d2lutil as d2l; d2l.use_svg_display(); "
        "board = d2l.ProgressBoard(mode='record'); board.draw(1, 0.5, 'loss'); "
        "board.show(); print(IPython.get_ipython())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == ["x 1.00  loss 0.5000", "None"], done.stdout


def test_set_figsize():
    d2l.set_figsize((2, 3))
    assert tuple(plt.rcParams["figure.figsize"]) == (2, 3)


def test_plot_draws_each_curve_with_labels_and_scales():
    x = np.arange(5)
    d2l.plot(x, [x**2, torch.arange(5.0)], "x", "y", legend=["sq", "id"], yscale="log")
    ax = plt.gca()
    lines = ax.get_lines()
    assert len(lines) == 2
    assert lines[0].get_ydata().tolist() == [0, 1, 4, 9, 16]
    assert lines[1].get_xdata().tolist() == [0, 1, 2, 3, 4]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_yscale()) == ("x", "y", "log")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sq", "id"]


def test_plot_with_y_only_and_tensors_with_grad():
    y = torch.tensor([3.0, 1.0, 2.0], requires_grad=True)
    d2l.plot(y)
    line = plt.gca().get_lines()[0]
    assert line.get_xdata().tolist() == [0, 1, 2]
    assert line.get_ydata().tolist() == [3.0, 1.0, 2.0]


def test_plot_draws_on_the_axes_it_is_given_with_limits_and_formats():
    _, (left, right) = plt.subplots(1, 2)  # right is the current panel
    x = np.array([1.0, 2.0, 4.0])
    d2l.plot(x, [x, -x], xlim=(0.5, 5), ylim=(-6, 6), fmts=("r:", "g--"), axes=left)
    assert right.get_lines() == []
    first, second = left.get_lines()
    assert first.get_xdata().tolist() == [1.0, 2.0, 4.0]
    assert (first.get_color(), first.get_linestyle()) == ("r", ":")
    assert (second.get_color(), second.get_linestyle()) == ("g", "--")
    assert (left.get_xlim(), left.get_ylim()) == ((0.5, 5.0), (-6.0, 6.0))
    d2l.set_axes(None, "x", "y", (0, 1), (2, 3), "linear", "linear", None)
    assert (right.get_xlim(), right.get_ylim()) == ((0.0, 1.0), (2.0, 3.0))


def test_plot_rejects_mismatched_series():
    with pytest.raises(ValueError, match="2 x-series but 3 y-series"):
        d2l.plot([np.arange(3), np.arange(3)], [np.arange(3)] * 3)


def test_show_images_grid_and_titles():
    imgs = torch.rand(6, 4, 4)
    axes = d2l.show_images(imgs, 2, 3, titles=list("abcdef"))
    assert len(axes) == 6
    assert [ax.get_title() for ax in axes] == list("abcdef")
    np.testing.assert_allclose(axes[4].images[0].get_array(), imgs[4].numpy())


def test_show_images_leaves_spare_cells_empty_and_sizes_the_figure():
    imgs = torch.rand(4, 5, 5)
    axes = d2l.show_images(imgs, 2, 3, titles=["a", "b"], scale=2.0)
    assert tuple(axes[0].figure.get_size_inches()) == (6.0, 4.0)  # cols, rows x scale
    assert [len(ax.images) for ax in axes] == [1, 1, 1, 1, 0, 0]
    assert [ax.get_title() for ax in axes] == ["a", "b", "", "", "", ""]
    assert axes[3].images[0].get_cmap().name == "gray"
    assert not any(ax.axison for ax in axes)
    one = d2l.show_images(imgs[:1], 1, 1)  # a 1 x 1 grid is still an array of axes
    assert one.shape == (1,)
    assert tuple(one[0].figure.get_size_inches()) == (1.5, 1.5)


# ---------------------------------------------------------- board: points


def test_draw_averages_every_n_points():
    board = d2l.ProgressBoard(mode="off")
    for x in range(6):
        board.draw(x, torch.tensor(float(x * 10)), "a", every_n=3)
    board.draw(0, 5, "b")  # every_n=1: every point
    assert board.data == {"a": [(1.0, 10.0), (4.0, 40.0)], "b": [(0.0, 5.0)]}
    board.draw(1, 1, "c", every_n=0)  # fewer batches than plot points
    assert board.data["c"] == [(1.0, 1.0)]


def test_render_draws_one_line_per_label_with_limits():
    board = d2l.ProgressBoard(xlabel="epoch", xlim=[0, 3], mode="off")
    for x in (1, 2, 3):
        board.draw(x, 1 / x, "train_loss")
        board.draw(x, 2 / x, "val_loss")
    fig = board.render()
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["train_loss", "val_loss"]
    assert ax.get_xlim() == (0, 3)
    assert ax.get_xlabel() == "epoch"
    board.render()  # rendering again replaces the lines
    assert len(ax.get_lines()) == 2
    assert plt.get_fignums() == []  # not a pyplot figure: no duplicate inline output


# ----------------------------------------------------- board: which mode


class FakeShell:
    def __init__(self, name="ZMQInteractiveShell", user_ns=None):
        self.__class__ = type(name, (FakeShell,), {})
        self.user_ns = user_ns or {}


@pytest.mark.parametrize(
    ("shell", "env", "modules", "expected"),
    [
        (None, {}, [], "record"),  # a script whose stderr is not a terminal
        ("ZMQInteractiveShell", {}, [], "record"),  # nbclient, nbval, jupyter-cache
        ("ZMQInteractiveShell", {"JPY_SESSION_NAME": "nb.ipynb"}, [], "live"),
        ("ZMQInteractiveShell", {}, ["google.colab"], "live"),
        ("Shell", {}, ["google.colab"], "live"),  # Colab's own shell class
        ("TerminalInteractiveShell", {}, [], "record"),
        ("ZMQInteractiveShell", {"D2LUTIL_BOARD": "terminal"}, [], "terminal"),
        (None, {"D2LUTIL_BOARD": " Live "}, [], "live"),
    ],
)
def test_mode_detection(monkeypatch, shell, env, modules, expected):
    fake = FakeShell(shell) if shell else None
    monkeypatch.setattr(plotting, "_ipython_shell", lambda: fake)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    for name in modules:
        monkeypatch.setitem(sys.modules, name, object())
    assert d2l.board_mode() == expected
    assert d2l.ProgressBoard().mode == expected


def test_vs_code_kernels_are_live(monkeypatch):
    fake = FakeShell(user_ns={"__vsc_ipynb_file__": "/x/nb.ipynb"})
    monkeypatch.setattr(plotting, "_ipython_shell", lambda: fake)
    assert d2l.board_mode() == "live"


def test_terminal_when_stderr_is_a_tty(monkeypatch):
    monkeypatch.setattr(plotting, "_ipython_shell", lambda: None)
    monkeypatch.setattr(plotting, "_isatty", lambda stream: True)
    assert d2l.board_mode() == "terminal"


def test_keyword_and_display_override(monkeypatch):
    monkeypatch.setenv("D2LUTIL_BOARD", "live")
    assert d2l.board_mode(mode="record") == "record"
    assert d2l.board_mode(display=False) == "off"
    assert d2l.ProgressBoard(display=False).mode == "off"


def test_bad_mode_names_the_choices(monkeypatch):
    with pytest.raises(ValueError, match="live, record, terminal, off"):
        d2l.ProgressBoard(mode="fancy")
    monkeypatch.setenv("D2LUTIL_BOARD", "loud")
    with pytest.raises(ValueError, match="D2LUTIL_BOARD='loud'"):
        d2l.board_mode()


# ------------------------------------------------------ board: the modes


def test_record_mode_in_a_script_prints_one_summary_line(capsys, monkeypatch):
    monkeypatch.setattr(plotting, "_ipython_shell", lambda: None)  # a script
    board = d2l.ProgressBoard(xlabel="epoch", xlim=[0, 2], mode="record")
    for i in range(20):
        board.draw(i / 10, 1.0 / (i + 1), "train_loss", every_n=2)
    assert capsys.readouterr() == ("", "")  # nothing per point
    board.show()
    out = capsys.readouterr()
    assert out.err == ""
    assert out.out == "epoch 1.85/2  train_loss 0.0513\n"  # mean of 1/19 and 1/20


def test_terminal_mode_rewrites_one_line(monkeypatch, capsys):
    monkeypatch.setattr(plotting, "TERMINAL_INTERVAL_S", 0.0)
    board = d2l.ProgressBoard(xlabel="epoch", mode="terminal")
    board.draw(0.5, 0.75, "train_loss")
    board.draw(1.0, 0.5, "val_loss")
    board.show()
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.endswith("\n")
    assert err.split("\r")[1:] == [
        "epoch 0.50  train_loss 0.7500",
        "epoch 1.00  train_loss 0.7500  val_loss 0.5000",
        "epoch 1.00  train_loss 0.7500  val_loss 0.5000\n",
    ]


class FakeHandle:
    def __init__(self):
        self.updates = 0

    def update(self, obj):
        self.updates += 1


class FakeEvents:
    def __init__(self):
        self.hooks = []

    def register(self, event, hook):
        self.hooks.append(hook)

    def unregister(self, event, hook):
        self.hooks.remove(hook)


def test_live_mode_updates_one_display_at_bounded_rate(monkeypatch):
    import IPython.display

    shown = []

    def fake_display(obj, display_id=False):
        shown.append(display_id)
        return FakeHandle() if display_id else None

    clock = iter(np.arange(1, 100, 0.001))  # each draw takes 1 ms of a fake clock
    shell = FakeShell()
    shell.events = FakeEvents()
    monkeypatch.setattr(plotting, "_ipython_shell", lambda: shell)
    monkeypatch.setattr(plotting.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(IPython.display, "display", fake_display)
    board = d2l.ProgressBoard(mode="live")
    board.draw(0, 0.0, "loss")
    handle = board.handle
    for i in range(1, 2000):  # 2 s of drawing, at most one update per 0.5 s
        board.draw(i, float(i), "loss")
    assert shown == [True]
    assert handle.updates == 3
    assert len(shell.events.hooks) == 1  # one cell-end hook, however many points
    board.show()
    assert handle.updates == 4
    assert shown == [True]
    assert board.handle is None
    board.draw(1, 1.0, "loss")  # a later fit shows a new figure
    assert shown == [True, True]
    shell.events.hooks[0]()  # the cell ends: the unshown point is shown
    assert board.handle is None
    assert shell.events.hooks == []


def test_recorded_png_shows_both_axis_labels_inside_the_figure():
    board = d2l.ProgressBoard(xlabel="epoch", xlim=[0, 2], mode="off")
    for x in (0.5, 1, 1.5, 2):
        board.draw(x, 1 / x, "train_loss")
        board.draw(x, 0.5 / x, "val_acc")
    fig = board.render()
    fig.draw_without_rendering()  # runs the layout, as savefig does
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss, acc")
    box = fig.bbox
    for label in (ax.xaxis.label, ax.yaxis.label):
        extent = label.get_window_extent()
        assert box.x0 <= extent.x0
        assert extent.x1 <= box.x1
        assert box.y0 <= extent.y0
        assert extent.y1 <= box.y1
    assert (
        d2l.ProgressBoard(ylabel="mse", mode="off").render().axes[0].get_ylabel()
        == "mse"
    )


# ----------------------------------------- recording inside a real kernel

NOTEBOOK_CELLS = [
    """
    import torch
    import numpy as np
    import d2lutil as d2l
    d2l.use_svg_display()
    print(d2l.ProgressBoard().mode)
    """,
    """
    d2l.seed(0)
    data = d2l.SyntheticRegressionData(w=torch.tensor([2, -3.4]), b=4.2, num_train=256)
    model = d2l.LinearRegressionScratch(2, lr=0.03)
    d2l.Trainer(max_epochs=3, num_gpus=1).fit(model, data)
    """,
    """
    d2l.seed(0)
    data = d2l.SyntheticRegressionData(w=torch.tensor([2, -3.4]), b=4.2, num_train=256)
    model = d2l.LinearRegressionScratch(2, lr=0.03)
    d2l.Trainer(max_epochs=3, num_gpus=1).fit(model, data)
    """,
    """
    board = d2l.ProgressBoard("x")
    for x in np.arange(0, 10, 0.1):
        board.draw(x, np.sin(x), "sin", every_n=2)
    print("done")
    """,
    """
    d2l.seed(0)
    data = d2l.SyntheticRegressionData(w=torch.tensor([2, -3.4]), b=4.2, num_train=256)
    model = d2l.LinearRegressionScratch(2, lr=0.03)
    model.board = d2l.ProgressBoard(mode="live")
    d2l.Trainer(max_epochs=3, num_gpus=1).fit(model, data)
    """,
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(textwrap.dedent(c).strip()) for c in NOTEBOOK_CELLS
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    workdir = tmp_path_factory.mktemp("nb")
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute(env={"OMP_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    return nb


def test_recording_kernel_uses_record_mode(recorded):
    assert recorded.cells[0].outputs[0]["text"] == "record\n"


def _png(output) -> bytes:
    return base64.b64decode(output["data"]["image/png"])


def test_fit_emits_exactly_one_figure_and_nothing_else(recorded):
    outputs = recorded.cells[1].outputs
    assert [o["output_type"] for o in outputs] == ["display_data"]
    # PNG, not SVG: training curves carry float noise that nbval must not compare.
    assert set(outputs[0]["data"]) == {"image/png", "text/plain"}
    png = _png(outputs[0])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (300, 420)  # figsize (3.5, 2.5) at 120 dpi
    assert np.allclose(pixels[0, 0, :3], 1.0)  # white background, not transparent
    assert pixels.shape[2] == 3 or np.allclose(pixels[..., 3], 1.0)


def test_the_figure_is_the_same_every_time(recorded):
    assert _png(recorded.cells[1].outputs[0]) == _png(recorded.cells[2].outputs[0])


def test_a_board_drawn_in_a_cell_shows_once_at_the_end_of_the_cell(recorded):
    outputs = recorded.cells[3].outputs
    assert [o["output_type"] for o in outputs] == ["stream", "display_data"]
    assert outputs[0]["text"] == "done\n"
    assert "image/png" in outputs[1]["data"]


def test_live_mode_ends_with_a_single_figure(recorded):
    outputs = recorded.cells[4].outputs
    assert [o["output_type"] for o in outputs] == ["display_data"]
    assert "image/svg+xml" in outputs[0]["data"]
    assert "train_loss" in outputs[0]["data"]["image/svg+xml"]


def test_plot_takes_a_pandas_series_as_one_curve():
    import pandas as pd

    series = pd.Series([1.0, 4.0, 9.0], index=[1, 2, 3])
    fig, axes = plt.subplots()
    d2l.plot(series.index, series, axes=axes)
    assert len(axes.lines) == 1
    np.testing.assert_array_equal(axes.lines[0].get_ydata(), [1.0, 4.0, 9.0])
    plt.close(fig)


# ------------------------------------------------------- bad input, plotting


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"legend": "xy"},
            TypeError,
            r"got the string 'xy', .* e\.g\. legend=\['xy'\]",
        ),
        ({"legend": ["a", "b"]}, ValueError, r"legend has 2 labels for 1 curves"),
        ({"xlim": (1,)}, ValueError, r"xlim must be a pair \(low, high\), got \(1,\)"),
        ({"ylim": 3}, ValueError, r"ylim must be a pair"),
        ({"fmts": ()}, TypeError, r"fmts must be a non-empty list of strings"),
        ({"fmts": "r-"}, TypeError, r"fmts must be a list of strings, .*'r-'"),
    ],
)
def test_plot_refuses_options_that_would_draw_something_else(kwargs, error, match):
    with pytest.raises(error, match=match):
        d2l.plot(np.arange(5), np.arange(5) ** 2, **kwargs)
    assert plt.gca().get_lines() == []  # nothing was drawn


def test_plot_of_columns_instead_of_rows_says_to_transpose():
    x = np.linspace(0, 1, 100)
    Y = np.stack([x, x**2, x**3], axis=1)  # (100, 3): columns meant as curves
    with pytest.raises(ValueError, match=r"100 rows of 3 points.*plot\(x, Y\.T\)"):
        d2l.plot(x, Y)
    d2l.plot(x, Y.T)
    assert len(plt.gca().get_lines()) == 3


def test_plot_of_curves_and_x_of_different_lengths():
    with pytest.raises(ValueError, match=r"curve 0 has 4 points but its x-series 5"):
        d2l.plot(np.arange(5), np.arange(4))


def test_set_axes_on_none_uses_the_current_panel():
    _, axes = plt.subplots()
    d2l.set_axes(None, "x", "y", None, None, "linear", "log", None)
    assert (axes.get_xlabel(), axes.get_yscale()) == ("x", "log")


@pytest.mark.parametrize(
    ("x", "y", "error", "match"),
    [
        (0, "0.5", TypeError, r"y must be a number, got '0\.5'"),
        (0, None, TypeError, r"y must be a number, got None"),
        (0, torch.tensor([0.5, 0.4]), ValueError, r"shape \(2,\); draw its mean"),
        ("0", 0.5, TypeError, r"x must be a number"),
    ],
)
def test_board_draw_refuses_a_bad_point_at_the_first_call(x, y, error, match):
    board = d2l.ProgressBoard(mode="off")
    with pytest.raises(error, match=match):
        board.draw(x, y, "loss", every_n=10)
    assert board.raw_points.get("loss", []) == []


def test_summary_without_points_and_without_an_x_label():
    board = d2l.ProgressBoard(mode="off")
    assert board.summary() == "(no points yet)"
    board.draw(1.5, 0.25, "loss")
    assert board.summary() == "x 1.50  loss 0.2500"


def test_board_draw_takes_numbers_and_one_element_tensors():
    board = d2l.ProgressBoard(mode="off")
    for y in (1, 2.0, np.float32(3), torch.tensor(4.0), torch.tensor([5.0])):
        board.draw(0, y, "loss", every_n=5)
    assert board.data["loss"] == [(0.0, 3.0)]
