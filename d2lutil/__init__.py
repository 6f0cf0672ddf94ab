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
# Each module lists its public names in its own __all__; the package exports them all.
from . import devices, training  # isort: skip
from . import plotting, data, models  # isort: skip
from .devices import *  # noqa: F403  # isort: skip
from .training import *  # noqa: F403  # isort: skip
from .plotting import *  # noqa: F403  # isort: skip
from .data import *  # noqa: F403  # isort: skip
from .models import *  # noqa: F403  # isort: skip

__version__ = "0.1.0"

__all__ = [
    *devices.__all__,
    *training.__all__,
    *plotting.__all__,
    *models.__all__,
    *data.__all__,
]
