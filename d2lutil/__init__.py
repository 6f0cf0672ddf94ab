"""d2lutil: the helper package of the course *Deep Learning, Executed*.

``import d2lutil as d2l`` gives the names and call shapes of the ``d2l.torch``
package of *Dive into Deep Learning* that the chapters use, without pins and
without torchvision. Modules by role (each lists its names in ``__all__``):

- ``d2lutil.base``: add_to_class, HyperParameters, check_hparams,
  check_class, check_method, check_init_call
- ``d2lutil.devices``: cpu, gpu, num_gpus, try_gpu, try_all_gpus
- ``d2lutil.plotting``: use_svg_display, set_figsize, set_axes, plot,
  as_curves, show_images, ProgressBoard, board_mode, check_curves
- ``d2lutil.training``: Module, Trainer, SGD, Timer, seed, check_params,
  Accumulator, evaluate, EarlyStoppingTrainer, check_early_stopping
- ``d2lutil.models``: LinearRegressionScratch, LinearRegression, Classifier,
  SoftmaxRegressionScratch, SoftmaxRegression, MLPScratch, MLP, softmax,
  cross_entropy, relu, check_labels, check_targets, check_probabilities,
  l2_penalty, WeightDecayScratch, WeightDecay, xavier_std, he_std,
  init_xavier, init_he, dropout_layer, DropoutMLPScratch, DropoutMLP
- ``d2lutil.data``: data_dir, DataModule, TensorLoader,
  SyntheticRegressionData, FashionMNIST, load_fashion_mnist,
  read_fashion_mnist, check_w_b, check_size, check_memory, check_class_numbers,
  download, extract, DATA_URL, k_fold_indices, SensorArrayData,
  SmallFashionMNIST, check_subset
- ``d2lutil.evaluation``: accuracy_error_bar, hoeffding_error_bar
- ``d2lutil.aliases``: d2l.torch's framework-neutral names (``reshape``,
  ``matmul``, ``nn_Module``, ...) and the modules ``plt``, ``np``, ``torch``,
  ``nn``, ``F``

Environment variables: ``D2LUTIL_DATA`` (the data directory, default
``~/.cache/d2lutil``) and ``D2LUTIL_BOARD`` (force the progress board's mode:
live, record, terminal or off).
"""

from importlib.metadata import PackageNotFoundError, version

from . import aliases, base, data, devices, evaluation, models, plotting, training
from .aliases import *  # noqa: F403
from .base import *  # noqa: F403
from .data import *  # noqa: F403
from .devices import *  # noqa: F403
from .evaluation import *  # noqa: F403
from .models import *  # noqa: F403
from .plotting import *  # noqa: F403
from .training import *  # noqa: F403

try:
    __version__ = version("d2lutil")  # the one version number is pyproject.toml's
except PackageNotFoundError:  # run from a source tree that is not installed
    __version__ = "unknown"

__all__ = [
    *base.__all__,
    *devices.__all__,
    *plotting.__all__,
    *training.__all__,
    *models.__all__,
    *data.__all__,
    *aliases.__all__,
    *evaluation.__all__,
]
