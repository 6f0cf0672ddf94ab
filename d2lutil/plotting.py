"""Plotting: figures for the notebooks and the training progress board.

``use_svg_display``, ``set_figsize``, ``set_axes``, ``plot`` and ``as_curves``
draw line plots (Section 2.4); ``show_images`` draws a grid of images (Section
4.2); ``ProgressBoard`` shows training curves while ``Trainer.fit`` runs
(Section 3.2), in the way ``board_mode`` picks for where the code runs.
"""

import io
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .base import HyperParameters, is_real

__all__ = [
    "use_svg_display",
    "set_figsize",
    "set_axes",
    "plot",
    "as_curves",
    "show_images",
    "ProgressBoard",
    "board_mode",
    "check_curves",
]

BOARD_MODES = ("live", "record", "terminal", "off")
BOARD_ENV = "D2LUTIL_BOARD"
PNG_DPI = 120  # resolution of the recorded progress board
LIVE_INTERVAL_S = 0.5  # live mode: at most two figure updates a second
TERMINAL_INTERVAL_S = 0.1


def use_svg_display() -> None:
    """Show figures as deterministic SVG on a white background (Section 2.4)."""
    matplotlib.rcParams["svg.hashsalt"] = "d2lutil"  # fixed ids: the same SVG every run
    matplotlib.rcParams["figure.facecolor"] = "white"  # readable in dark mode too
    matplotlib.rcParams["savefig.facecolor"] = "white"
    if "IPython" in sys.modules and sys.modules["IPython"].get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg", metadata={"Date": None})


def set_figsize(figsize: tuple[float, float] = (3.5, 2.5)) -> None:
    """Use SVG display and set the default figure size in inches (Section 2.4)."""
    use_svg_display()
    plt.rcParams["figure.figsize"] = figsize


def set_axes(
    axes: Axes,
    xlabel: str | None,
    ylabel: str | None,
    xlim: tuple[float, float] | None,
    ylim: tuple[float, float] | None,
    xscale: str,
    yscale: str,
    legend: list[str] | None,
) -> None:
    """Set labels, limits, scales and legend of matplotlib ``axes`` (Section 2.4)."""
    axes = plt.gca() if axes is None else axes  # None: the current panel, as in plot
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def as_curves(data: Any) -> list[np.ndarray]:
    """A list of 1-D NumPy arrays: one curve (a 1-D array, tensor or list of numbers) or several."""
    one = getattr(data, "ndim", None) == 1 or (
        isinstance(data, (list, tuple)) and len(data) > 0 and np.isscalar(data[0])
    )
    curves = [data] if one else list(data)
    return [
        np.asarray(c.detach().cpu()) if torch.is_tensor(c) else np.asarray(c)
        for c in curves
    ]


def plot(
    X: Any,
    Y: Any = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    legend: list[str] | None = None,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    xscale: str = "linear",
    yscale: str = "linear",
    fmts: Sequence[str] = ("-", "m--", "g-.", "r:"),
    figsize: tuple[float, float] = (3.5, 2.5),
    axes: Axes | None = None,
) -> None:
    """Plot one or more curves; without ``Y``, ``X`` holds the y-values (Section 2.4)."""
    ys = as_curves(X if Y is None else Y)
    xs = [np.arange(len(y)) for y in ys] if Y is None else as_curves(X)
    if len(xs) == 1:  # one x-series shared by every curve
        xs = xs * len(ys)
    check_curves(xs, ys, legend, xlim, ylim, fmts)  # before anything is drawn
    set_figsize(figsize)
    axes = plt.gca() if axes is None else axes
    axes.cla()
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        axes.plot(x, y, fmts[i % len(fmts)])
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)


def check_curves(
    xs: list[np.ndarray],
    ys: list[np.ndarray],
    legend: Any = None,
    xlim: Any = None,
    ylim: Any = None,
    fmts: Any = ("-",),
) -> None:
    """Refuse curves and options of ``plot`` that would draw something else (Section 2.4).

    One x-series per curve, each as long as its curve; a 2-D ``Y`` whose
    columns were meant as the curves gets the hint to transpose it. ``legend``
    and ``fmts`` are lists of strings (a string would be read letter by letter),
    ``xlim`` and ``ylim`` pairs.
    """
    if len(xs) != len(ys):
        raise ValueError(
            f"plot: got {len(xs)} x-series but {len(ys)} y-series; give one x for all "
            "curves or one per curve, e.g. plot(x, [y1, y2])."
        )
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if len(x) == len(y):
            continue
        if len(ys) == len(x) and len({len(c) for c in ys}) == 1:  # columns meant
            raise ValueError(
                f"plot: Y has {len(ys)} rows of {len(y)} points, and x {len(x)} points; "
                "plot draws one curve per row of Y, so to draw its columns pass the "
                "transpose, e.g. plot(x, Y.T)."
            )
        raise ValueError(
            f"plot: curve {i} has {len(y)} points but its x-series {len(x)}; give them "
            "the same length, e.g. plot(x, [f(x) for f in functions])."
        )
    examples = {"legend": "['sin', 'cos']", "fmts": "['-', 'm--']"}
    for name, value in (("legend", legend), ("fmts", fmts)):
        if name == "legend" and value is None:
            continue
        if isinstance(value, str):
            raise TypeError(
                f"plot: {name} must be a list of strings, one per curve, got the string "
                f"{value!r}, which would be read letter by letter; e.g. {name}=[{value!r}]."
            )
        listed = isinstance(value, (list, tuple)) and len(value) > 0
        if not listed or not all(isinstance(v, str) for v in value):
            raise TypeError(
                f"plot: {name} must be a non-empty list of strings, one per curve, got "
                f"{value!r}; e.g. {name}={examples[name]}."
            )
    if legend is not None and len(legend) != len(ys):
        raise ValueError(
            f"plot: legend has {len(legend)} labels for {len(ys)} curves; give one per "
            "curve, e.g. legend=['sin', 'cos'] for two."
        )
    for name, value in (("xlim", xlim), ("ylim", ylim)):
        pair = isinstance(value, (tuple, list)) and len(value) == 2
        if value is not None and not pair:
            raise ValueError(
                f"plot: {name} must be a pair (low, high), got {value!r}; e.g. "
                f"{name}=(0, 10), or None to let matplotlib choose."
            )


def show_images(
    imgs: Any,
    num_rows: int,
    num_cols: int,
    titles: Sequence[str] | None = None,
    scale: float = 1.5,
) -> np.ndarray:
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
            ax.imshow(as_curves([imgs[k]])[0], cmap="gray")
        if titles is not None and k < len(titles):
            ax.set_title(titles[k])
    return cells


class Point(NamedTuple):
    """A plotted point of a board: ``board.data[label][-1].y`` is the latest value."""

    x: float
    y: float


def board_mode(mode: str | None = None, display: bool = True) -> str:
    """Return the board mode: ``mode`` if given, else ``$D2LUTIL_BOARD``, else detected.

    - ``"live"``: a kernel inside Colab, started by a Jupyter server
      (``JPY_SESSION_NAME`` set) or by VS Code: one figure, updated in place at
      most every ``LIVE_INTERVAL_S`` seconds (never ``clear_output``);
    - ``"record"``: any other kernel (nbval, the book build, ``jupyter-execute``)
      or a script whose stderr is not a terminal: nothing per point, one PNG
      figure (one summary line outside IPython) when ``fit`` ends;
    - ``"terminal"``: a terminal: one progress line on stderr, rewritten;
    - ``"off"``: nothing at all; ``display=False`` means ``"off"``.
    """
    if not display:
        return "off"
    source, chosen = "mode", mode
    if mode is None:
        source, chosen = BOARD_ENV, os.environ.get(BOARD_ENV) or None
    if chosen is not None:
        value = str(chosen).strip().lower()
        if value not in BOARD_MODES:
            raise ValueError(
                f"ProgressBoard: {source}={chosen!r} is not a board mode; use one of "
                f"{', '.join(BOARD_MODES)}; e.g. mode='off'."
            )
        return value
    shell = _ipython_shell()
    if shell is None or type(shell).__name__ == "TerminalInteractiveShell":
        return "terminal" if _isatty(sys.stderr) else "record"
    if "google.colab" in sys.modules or os.environ.get("JPY_SESSION_NAME"):
        return "live"
    return "live" if "__vsc_ipynb_file__" in getattr(shell, "user_ns", {}) else "record"


class ProgressBoard(HyperParameters):
    """Plot training curves point by point while a model trains (Section 3.2).

    ``draw(x, y, label, every_n)`` adds a point to the curve ``label``; every
    ``every_n`` points are averaged into one plotted point of ``data[label]``.
    ``show()`` displays the finished figure (``Trainer.fit`` calls it at the
    end); a board drawn by a notebook's own loop shows itself when the cell ends.
    """

    def __init__(
        self,
        xlabel: str | None = None,
        ylabel: str | None = None,
        xlim: list[float] | None = None,
        ylim: list[float] | None = None,
        xscale: str = "linear",
        yscale: str = "linear",
        ls: Sequence[str] = ("-", "--", "-.", ":"),
        colors: Sequence[str] = ("C0", "C1", "C2", "C3"),
        fig: Figure | None = None,
        axes: Axes | None = None,
        figsize: tuple[float, float] = (3.5, 2.5),
        display: bool = True,
        mode: str | None = None,
    ):
        self.save_hyperparameters()
        self.mode = board_mode(mode, display)
        self.raw_points: dict[str, list[tuple[float, Any]]] = {}
        self.data: dict[str, list[Point]] = {}
        self.pending = False  # points not yet in a shown figure
        self.handle = None  # live mode: the display being updated in place
        self.last = 0.0  # time of the last live or terminal refresh
        self.width = 0  # terminal mode: length of the progress line
        self.hooked = False  # a cell-end hook is registered

    @property
    def display(self) -> bool:
        """Whether the board shows anything; it records ``data`` either way.

        It may be set at any time and takes effect at once, as in d2l's K-fold
        loop (``model.board.display = False`` for every fold but the first):
        ``False`` sets the mode to ``"off"``; ``True`` picks the mode again as the
        constructor does (``mode``, else ``$D2LUTIL_BOARD``, else detected).
        """
        return self.__dict__.get("_display", True)

    @display.setter
    def display(self, value: bool) -> None:
        self._display = bool(value)
        self.mode = board_mode(getattr(self, "hparams", {}).get("mode"), self._display)

    def draw(self, x: float, y: Any, label: str, every_n: int = 1) -> None:
        """Add the point ``(x, y)`` to curve ``label``; plot the mean of every ``every_n``.

        ``y`` may be a tensor on a GPU: it is read (one wait for the GPU) only
        when ``every_n`` points are averaged. Both must be single numbers; a
        tensor's size is checked at once, without reading its value.
        """
        _check_point(x, y, label)
        points = self.raw_points.setdefault(label, [])
        points.append((float(x), y.detach() if torch.is_tensor(y) else y))
        if len(points) < every_n:
            return
        xs, ys = zip(*points, strict=True)
        mean = Point(sum(xs) / len(xs), float(sum(ys)) / len(ys))
        self.data.setdefault(label, []).append(mean)
        points.clear()
        self.pending = True
        self._refresh(final=False)

    def show(self) -> None:
        """Display the finished figure (``Trainer.fit`` calls this once at the end)."""
        self.pending = False
        self._refresh(final=True)

    def render(self) -> Figure:
        """Draw every curve into the board's figure and return the figure.

        Without ``ylabel`` the y-axis is named after the curves (``loss``,
        ``loss, acc`` for ``train_loss``, ``val_loss``, ``val_acc``).
        """
        if self.axes is None:  # a Figure pyplot does not manage, so not shown twice
            self.fig = self.fig or Figure(figsize=self.figsize, layout="constrained")
            self.axes = self.fig.add_subplot()
        self.fig, axes = self.axes.get_figure(), self.axes
        for line in list(axes.lines):
            line.remove()
        for i, (label, points) in enumerate(self.data.items()):
            ls, color = self.ls[i % len(self.ls)], self.colors[i % len(self.colors)]
            axes.plot(*zip(*points, strict=True), ls=ls, color=color, label=label)
        keys = dict.fromkeys(k.split("_", 1)[-1] for k in self.data)  # train_loss: loss
        ylabel = self.ylabel or ", ".join(keys)
        axes.set(
            xlabel=self.xlabel, ylabel=ylabel, xscale=self.xscale, yscale=self.yscale
        )
        axes.relim()
        axes.autoscale_view()
        limits = {"xlim": self.xlim, "ylim": self.ylim}
        axes.set(**{name: value for name, value in limits.items() if value is not None})
        if self.data:
            axes.legend()
        return self.fig

    def _refresh(self, final: bool) -> None:
        now, shell = time.perf_counter(), _ipython_shell()
        due = final or now - self.last >= TERMINAL_INTERVAL_S
        if self.mode == "terminal" and due:
            line = self.summary()
            end = "\n" if final else ""
            sys.stderr.write("\r" + line.ljust(self.width) + end)
            sys.stderr.flush()
            self.last = now
            self.width = 0 if final else len(line)  # a final line is never rewritten
        if self.mode not in ("live", "record") or (shell is None and not final):
            return
        if shell is None:  # a script: no figure, one line at the end
            print(self.summary(), flush=True)
            return
        if not final:
            if not self.hooked:  # show the final state when the cell ends
                self.hooked = True

                def at_cell_end() -> None:
                    shell.events.unregister("post_execute", at_cell_end)
                    self.hooked = False
                    if self.pending:
                        self.show()

                shell.events.register("post_execute", at_cell_end)
            if self.mode == "record" or (
                self.handle is not None and now - self.last < LIVE_INTERVAL_S
            ):
                return
        from IPython.display import Image, display

        self.last = now
        if self.mode == "record":
            buffer = io.BytesIO()  # PNG: nbval does not compare it (float noise)
            self.render().savefig(buffer, format="png", dpi=PNG_DPI, facecolor="white")
            display(Image(buffer.getvalue(), format="png"))
        elif self.handle is None:
            self.handle = display(self.render(), display_id=not final)
        else:
            self.handle.update(self.render())
        if final:
            self.handle = None  # the next fit shows a new figure in its own cell

    def summary(self) -> str:
        """One line with the last plotted value of every curve."""
        if not self.data:
            return "(no points yet)"
        x = max(points[-1].x for points in self.data.values())
        end = f"/{self.xlim[1]:g}" if self.xlim is not None else ""
        values = "  ".join(f"{k} {p[-1].y:.4f}" for k, p in self.data.items())
        return f"{self.xlabel or 'x'} {x:.2f}{end}  {values}"

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}: {len(v)}" for k, v in self.data.items())
        return f"ProgressBoard(mode={self.mode!r}, points={{{counts}}})"


def _check_point(x: Any, y: Any, label: Any) -> None:
    """A board's point is two numbers (``y`` may be a one-element tensor) and a label."""
    example = "e.g. board.draw(epoch, loss, 'train_loss')"
    if not isinstance(label, str):
        raise TypeError(
            f"draw(x, y, label): label must be a string, got {label!r}; {example}."
        )
    if not is_real(x):
        raise TypeError(f"draw(x, y, label): x must be a number, got {x!r}; {example}.")
    if torch.is_tensor(y):
        if y.numel() != 1:
            raise ValueError(
                f"draw(x, y, label): y must be one number, got a tensor of shape "
                f"{tuple(y.shape)}; draw its mean, e.g. board.draw(epoch, losses.mean(), "
                "'train_loss')."
            )
    elif not is_real(y):
        raise TypeError(f"draw(x, y, label): y must be a number, got {y!r}; {example}.")


def _ipython_shell() -> Any:
    """The running IPython shell, or None (IPython is not a dependency)."""
    ipython = sys.modules.get("IPython")
    return None if ipython is None else ipython.get_ipython()


def _isatty(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", None) and stream.isatty())
