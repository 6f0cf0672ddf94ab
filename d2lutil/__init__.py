"""d2lutil: the helper package of the course *Deep Learning, Executed*.

``import d2lutil as d2l`` gives the names and call shapes of the ``d2l.torch``
package of *Dive into Deep Learning* that the chapters use, without pins and
without torchvision. Modules by role:

- ``d2lutil.devices``: cpu, gpu, num_gpus, try_gpu, try_all_gpus
- ``d2lutil.training``: HyperParameters, add_to_class, Module, Trainer, SGD,
  Timer, Accumulator, seed
- ``d2lutil.plotting``: use_svg_display, set_figsize, set_axes, plot,
  show_images, ProgressBoard, board_mode
- ``d2lutil.models``: LinearRegressionScratch, LinearRegression, Classifier,
  SoftmaxRegressionScratch, SoftmaxRegression, MLPScratch, MLP, softmax,
  cross_entropy, relu, check_labels
- ``d2lutil.data``: data_dir, DataModule, TensorLoader,
  SyntheticRegressionData, FashionMNIST, load_fashion_mnist

Environment variables: ``D2LUTIL_DATA`` (the data directory, default
``~/.cache/d2lutil``) and ``D2LUTIL_BOARD`` (force the progress board's mode:
live, record, terminal or off).
"""

# training comes first: plotting.ProgressBoard subclasses training.HyperParameters.
from .devices import cpu, gpu, num_gpus, try_all_gpus, try_gpu
from .training import (
    SGD,
    Accumulator,
    HyperParameters,
    Module,
    Timer,
    Trainer,
    add_to_class,
    check_hparams,
    seed,
)

from .plotting import (  # isort: skip
    ProgressBoard,
    board_mode,
    plot,
    set_axes,
    set_figsize,
    show_images,
    use_svg_display,
)
from .data import (  # isort: skip
    DataModule,
    FashionMNIST,
    SyntheticRegressionData,
    TensorLoader,
    check_w_b,
    data_dir,
    load_fashion_mnist,
)
from .models import (  # isort: skip
    MLP,
    Classifier,
    LinearRegression,
    LinearRegressionScratch,
    MLPScratch,
    SoftmaxRegression,
    SoftmaxRegressionScratch,
    check_labels,
    cross_entropy,
    relu,
    softmax,
)

__version__ = "0.1.0"

__all__ = [
    # devices
    "cpu",
    "gpu",
    "num_gpus",
    "try_gpu",
    "try_all_gpus",
    # training
    "HyperParameters",
    "add_to_class",
    "Module",
    "Trainer",
    "SGD",
    "Timer",
    "Accumulator",
    "seed",
    "check_hparams",
    # plotting
    "use_svg_display",
    "set_figsize",
    "set_axes",
    "plot",
    "show_images",
    "ProgressBoard",
    "board_mode",
    # models
    "LinearRegressionScratch",
    "LinearRegression",
    "Classifier",
    "SoftmaxRegressionScratch",
    "SoftmaxRegression",
    "MLPScratch",
    "MLP",
    "softmax",
    "cross_entropy",
    "relu",
    "check_labels",
    "check_w_b",
    # data
    "data_dir",
    "DataModule",
    "TensorLoader",
    "SyntheticRegressionData",
    "FashionMNIST",
    "load_fashion_mnist",
]
