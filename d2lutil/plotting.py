"""Plotting: figures for the notebooks and the training progress board.

``use_svg_display``, ``set_figsize``, ``set_axes`` and ``plot`` draw line plots
(Section 2.4); ``show_images`` draws a grid of images (Section 4.2);
``ProgressBoard`` shows training curves while ``Trainer.fit`` runs (Section 3.2).

How the board shows itself depends on where the code runs (see ``board_mode``):

- ``"live"``: a notebook a person is looking at (Jupyter server, Colab, VS Code):
  one figure, updated in place through a display handle at most a few times a
  second (never ``clear_output``).
- ``"record"``: output that is being stored (nbval, the book build, nbclient,
  ``jupyter-execute``, a script whose output is redirected): nothing per point,
  exactly one final figure when ``fit`` ends (one summary line outside IPython).
- ``"terminal"``: an interactive terminal: a one-line progress display.
- ``"off"``: nothing at all.

Override the detection with the environment variable ``D2LUTIL_BOARD`` (one of
the four modes) or with ``ProgressBoard(mode=...)``.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .training import HyperParameters

__all__ = [
    "use_svg_display",
    "set_figsize",
    "set_axes",
    "plot",
    "show_images",
    "ProgressBoard",
    "board_mode",
]

BOARD_MODES = ("live", "record", "terminal", "off")
BOARD_ENV = "D2LUTIL_BOARD"
_SVG_SALT = "d2lutil"
_PNG_DPI = 120  # resolution of the recorded progress board


def use_svg_display() -> None:
    """Show figures as deterministic SVG on a white background (Section 2.4).

    The same code gives the same SVG text in every run (nbval compares it), and
    the white background keeps figures readable in dark mode.
    """
    matplotlib.rcParams["svg.hashsalt"] = _SVG_SALT
    matplotlib.rcParams["figure.facecolor"] = "white"
    matplotlib.rcParams["savefig.facecolor"] = "white"
    _set_inline_formats("svg", metadata={"Date": None})


def set_figsize(figsize: tuple[float, float] = (3.5, 2.5)) -> None:
    """Use SVG display and set the default figure size in inches (Section 2.4)."""
    use_svg_display()
    plt.rcParams["figure.figsize"] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend) -> None:
    """Set labels, limits, scales and legend of matplotlib ``axes`` (Section 2.4)."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def plot(
    X,
    Y=None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    legend: Sequence[str] | None = None,
    xlim=None,
    ylim=None,
    xscale: str = "linear",
    yscale: str = "linear",
    fmts: Sequence[str] = ("-", "m--", "g-.", "r:"),
    figsize: tuple[float, float] = (3.5, 2.5),
    axes=None,
) -> None:
    """Plot one or more curves (Section 2.4).

    ``X`` and ``Y`` are arrays, tensors or lists of them; with ``Y`` omitted,
    ``X`` holds the y-values and x runs over 0, 1, 2, ...
    """
    set_figsize(figsize)
    axes = axes if axes is not None else plt.gca()
    axes.cla()
    for x, y, fmt in zip(*_as_curves(X, Y), _cycle(fmts)):
        axes.plot(x, y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)


def show_images(imgs, num_rows: int, num_cols: int, titles=None, scale: float = 1.5):
    """Show images in a ``num_rows`` x ``num_cols`` grid with optional titles (Section 4.2).

    Greyscale images (2-D) are drawn in grey levels, colour images (H, W, 3) as they are.
    Returns the grid's axes as a flat array, one per cell.
    """
    size = (num_cols * scale, num_rows * scale)
    _, grid = plt.subplots(num_rows, num_cols, figsize=size, squeeze=False)
    cells = grid.ravel()
    for k, ax in enumerate(cells):
        ax.set_axis_off()
        if k < len(imgs):
            ax.imshow(_to_numpy(imgs[k]), cmap="gray")
        if titles is not None and k < len(titles):
            ax.set_title(titles[k])
    return cells


class ProgressBoard(HyperParameters):
    """Plot training curves point by point while a model trains (Section 3.2).

    ``draw(x, y, label, every_n)`` adds a point to the curve ``label``; every
    ``every_n`` points are averaged into one plotted point. How the board is
    shown depends on ``mode`` (module docstring); ``show()`` displays the
    finished figure (``Trainer.fit`` calls it once at the end).
    """

    def __init__(
        self,
        xlabel: str | None = None,
        ylabel: str | None = None,
        xlim=None,
        ylim=None,
        xscale: str = "linear",
        yscale: str = "linear",
        ls: Sequence[str] = ("-", "--", "-.", ":"),
        colors: Sequence[str] = ("C0", "C1", "C2", "C3"),
        fig=None,
        axes=None,
        figsize: tuple[float, float] = (3.5, 2.5),
        display: bool = True,
        mode: str | None = None,
    ):
        self.save_hyperparameters()
        self.mode = board_mode(mode, display)
        self.raw_points: dict[str, list[tuple[float, float]]] = {}
        self.data: dict[str, list[tuple[float, float]]] = {}
        self._view = _make_view(self.mode)

    def draw(self, x: float, y: float, label: str, every_n: int = 1) -> None:
        """Add the point ``(x, y)`` to curve ``label``; plot the mean of every ``every_n``."""
        points = self.raw_points.setdefault(label, [])
        points.append((float(x), _as_float(y)))
        if len(points) < every_n:
            return
        xs, ys = zip(*points)
        self.data.setdefault(label, []).append((sum(xs) / len(xs), sum(ys) / len(ys)))
        points.clear()
        self._view.update(self)

    def show(self) -> None:
        """Display the finished figure (once per call; called at the end of ``fit``)."""
        self._view.finish(self)

    def render(self) -> Figure:
        """Draw every curve into the board's figure and return the figure."""
        fig, axes = self._figure()
        for line in list(axes.lines):
            line.remove()
        for i, (label, points) in enumerate(self.data.items()):
            xs, ys = zip(*points)
            ls = self.ls[i % len(self.ls)]
            color = self.colors[i % len(self.colors)]
            axes.plot(xs, ys, linestyle=ls, color=color, label=label)
        axes.set_xlabel(self.xlabel)
        axes.set_ylabel(self.ylabel)
        axes.set_xscale(self.xscale)
        axes.set_yscale(self.yscale)
        axes.relim()
        axes.autoscale_view()
        if self.xlim is not None:
            axes.set_xlim(self.xlim)
        if self.ylim is not None:
            axes.set_ylim(self.ylim)
        if self.data:
            axes.legend()
        return fig

    def _figure(self) -> tuple[Any, Any]:
        # A Figure that pyplot does not manage: the inline backend must not
        # show it again at the end of the cell.
        if self.axes is None:
            if self.fig is None:
                self.fig = Figure(figsize=self.figsize)
            self.axes = self.fig.add_subplot()
        if self.fig is None:
            self.fig = self.axes.get_figure()
        return self.fig, self.axes

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}: {len(v)}" for k, v in self.data.items())
        return f"ProgressBoard(mode={self.mode!r}, points={{{counts}}})"


# ------------------------------------------------------------ board modes


def board_mode(mode: str | None = None, display: bool = True) -> str:
    """Return the board mode to use: ``mode`` if given, else ``$D2LUTIL_BOARD``, else detected.

    Detection: no IPython and stderr a terminal -> ``"terminal"``; no IPython
    otherwise -> ``"record"``; IPython's terminal shell -> ``"terminal"``; a
    kernel inside Colab (``google.colab`` imported), started by a Jupyter server
    (``JPY_SESSION_NAME`` set) or by VS Code (``__vsc_ipynb_file__`` defined) ->
    ``"live"``; any other kernel (nbclient, nbval, jupyter-cache,
    ``jupyter-execute``) -> ``"record"``. ``display=False`` means ``"off"``.
    """
    if not display:
        return "off"
    chosen = mode if mode is not None else os.environ.get(BOARD_ENV) or None
    if chosen is not None:
        return _check_mode(chosen, "mode" if mode is not None else BOARD_ENV)
    shell = _ipython_shell()
    if shell is None or type(shell).__name__ == "TerminalInteractiveShell":
        return "terminal" if _isatty(sys.stderr) else "record"
    if "google.colab" in sys.modules:
        return "live"
    if os.environ.get("JPY_SESSION_NAME") or "__vsc_ipynb_file__" in getattr(
        shell, "user_ns", {}
    ):
        return "live"
    return "record"


def _check_mode(mode: str, source: str) -> str:
    value = str(mode).strip().lower()
    if value not in BOARD_MODES:
        raise ValueError(
            f"ProgressBoard: {source}={mode!r} is not a board mode; use one of "
            f"{', '.join(BOARD_MODES)}."
        )
    return value


def _make_view(mode: str):
    return {
        "live": _LiveView,
        "record": _RecordView,
        "terminal": _TerminalView,
        "off": _OffView,
    }[mode]()


class _OffView:
    mode = "off"

    def update(self, board: ProgressBoard) -> None:
        pass

    def finish(self, board: ProgressBoard) -> None:
        pass


class _CellEndHook:
    """Call ``at_cell_end(board)`` once, when the running notebook cell ends.

    A board drawn by a notebook's own loop (not by ``Trainer.fit``, which calls
    ``finish`` itself) still shows its final state in the cell that drew it.
    """

    hook = None

    def watch_cell_end(self, board: ProgressBoard) -> None:
        shell = _ipython_shell()
        if shell is None or self.hook is not None:
            return

        def at_end() -> None:
            shell.events.unregister("post_execute", at_end)
            self.hook = None
            self.at_cell_end(board)

        self.hook = at_end
        shell.events.register("post_execute", at_end)

    def at_cell_end(self, board: ProgressBoard) -> None:
        raise NotImplementedError


class _RecordView(_CellEndHook):
    """Store points only; one figure (or one line outside IPython) at the end."""

    mode = "record"

    def __init__(self) -> None:
        self.shown = 0  # number of plotted points already shown

    def update(self, board: ProgressBoard) -> None:
        self.watch_cell_end(board)

    def at_cell_end(self, board: ProgressBoard) -> None:
        if _count(board) > self.shown:
            self.finish(board)

    def finish(self, board: ProgressBoard) -> None:
        self.shown = _count(board)
        if _ipython_shell() is not None:
            _display(_as_png(board.render()))
        else:
            print(_summary(board), flush=True)


class _LiveView(_CellEndHook):
    """One figure in the cell's output, updated in place at most every ``interval`` s."""

    mode = "live"
    interval = 0.5

    def __init__(self) -> None:
        self.handle = None
        self.last = 0.0

    def update(self, board: ProgressBoard) -> None:
        self.watch_cell_end(board)
        now = time.perf_counter()
        if self.handle is not None and now - self.last < self.interval:
            return
        self.last = now
        fig = board.render()
        if self.handle is None:
            self.handle = _display(fig, display_id=True)
        else:
            self.handle.update(fig)

    def at_cell_end(self, board: ProgressBoard) -> None:
        if self.handle is not None:
            self.finish(board)

    def finish(self, board: ProgressBoard) -> None:
        fig = board.render()
        if self.handle is None:
            _display(fig)
        else:
            self.handle.update(fig)
        self.handle = None  # the next fit shows a new figure in its own cell


class _TerminalView:
    """A single progress line on stderr, rewritten at most every ``interval`` s."""

    mode = "terminal"
    interval = 0.1

    def __init__(self) -> None:
        self.last = 0.0
        self.width = 0

    def update(self, board: ProgressBoard) -> None:
        now = time.perf_counter()
        if now - self.last >= self.interval:
            self.last = now
            self._write(board, end="")

    def finish(self, board: ProgressBoard) -> None:
        self._write(board, end="\n")
        self.width = 0

    def _write(self, board: ProgressBoard, end: str) -> None:
        line = _summary(board)
        pad = " " * max(0, self.width - len(line))
        self.width = len(line)
        sys.stderr.write("\r" + line + pad + end)
        sys.stderr.flush()


def _as_float(y) -> float:
    """A plain float from a number or a one-element tensor (on any device)."""
    if isinstance(y, torch.Tensor):
        y = y.detach()
    return float(y)


def _count(board: ProgressBoard) -> int:
    return sum(len(points) for points in board.data.values())


def _summary(board: ProgressBoard) -> str:
    """One line with the last plotted value of every curve."""
    if not board.data:
        return "(no points yet)"
    x = max(points[-1][0] for points in board.data.values())
    name = board.xlabel or "x"
    end = f"/{board.xlim[1]:g}" if board.xlim is not None else ""
    values = "  ".join(
        f"{label} {points[-1][1]:.4f}" for label, points in board.data.items()
    )
    return f"{name} {x:.2f}{end}  {values}"


# ------------------------------------------------------- IPython plumbing


def _ipython_shell():
    """The running IPython shell, or None (IPython is not a dependency)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    return ipython.get_ipython()


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _as_png(fig: Figure):
    """The recorded board as a PNG image.

    Training curves carry the floating-point noise of the machine that ran them (thread count,
    CPU instruction set), so the recorded figure is a PNG, which nbval does not compare, rather
    than SVG text, which it does; the notebooks print rounded figures for nbval to check.
    """
    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_PNG_DPI, facecolor="white")
    return Image(data=buffer.getvalue(), format="png")


def _display(obj, **kwargs):
    from IPython.display import display

    return display(obj, **kwargs)


def _set_inline_formats(*formats: str, **kwargs: Any) -> None:
    """Choose the inline backend's figure formats, when running under IPython."""
    if _ipython_shell() is None:
        return
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # very old IPython: no separate matplotlib-inline package
        return
    set_matplotlib_formats(*formats, **kwargs)


# ------------------------------------------------------ plot() helpers


def _to_numpy(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().to("cpu").numpy()
    return np.asarray(a)


def _cycle(items: Sequence[str]):
    while True:
        yield from items


def _is_one_curve(X) -> bool:
    if hasattr(X, "ndim"):  # tensors, arrays, pandas Series
        return X.ndim == 1
    return isinstance(X, (list, tuple)) and len(X) > 0 and np.isscalar(X[0])


def _as_curves(X, Y) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Turn plot()'s X and Y into matching lists of 1-D arrays."""
    if Y is None:
        X, Y = None, X
    ys = [Y] if _is_one_curve(Y) else list(Y)
    if X is None:
        xs = [np.arange(len(_to_numpy(y))) for y in ys]
    else:
        xs = [X] if _is_one_curve(X) else list(X)
        if len(xs) == 1 and len(ys) > 1:
            xs = xs * len(ys)
    if len(xs) != len(ys):
        raise ValueError(f"plot: got {len(xs)} x-series but {len(ys)} y-series.")
    return [_to_numpy(x) for x in xs], [_to_numpy(y) for y in ys]
