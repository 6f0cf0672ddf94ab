"""Base: what every other module builds on, importing none of them.

``add_to_class`` and ``HyperParameters`` (Section 3.2) let a class grow one
method at a time and save its constructor's arguments; ``check_hparams``
rejects impossible values of the arguments every chapter uses (learning rates,
batch sizes, epochs). The checks that serve one module live in that module.
"""

import inspect
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

__all__ = [
    "add_to_class",
    "HyperParameters",
    "check_hparams",
    "check_class",
    "check_method",
    "check_init_call",
]


def add_to_class(Class: type) -> Callable[[Callable], Callable]:
    """Decorator: add the decorated function to ``Class`` as a method (Section 3.2)."""
    check_class(Class)  # @add_to_class(Trainer), not @add_to_class alone

    def attach(function: Callable) -> Callable:
        check_method(function)  # a def, whose name becomes the method's
        setattr(Class, function.__name__, function)
        return function

    return attach


class HyperParameters:
    """Base class that saves a constructor's arguments as attributes (Section 3.2)."""

    # It reads its caller's frame: a mutation tester must not wrap it in a function.
    # pragma: no mutate start
    def save_hyperparameters(self, ignore: Iterable[str] = ()) -> None:
        """Save the arguments of the calling ``__init__`` as attributes of ``self``.

        ``self.hparams`` keeps them as a dict; arguments in ``ignore`` and those
        starting with ``_`` are skipped; ``check_hparams`` vets the known ones.
        """
        frame = inspect.currentframe().f_back
        check_init_call(frame, ignore)  # from __init__; ignore: argument names
        args = inspect.getargvalues(frame)
        skip = set(ignore) | {"self"}
        self.hparams = {
            name: args.locals[name]
            for name in args.args
            if name not in skip and not name.startswith("_")
        }
        check_hparams(type(self), self.hparams)
        for name, value in self.hparams.items():
            setattr(self, name, value)

    # pragma: no mutate end

    def __repr__(self) -> str:
        hparams = getattr(self, "hparams", {})
        args = ", ".join(f"{k}={_short_repr(v)}" for k, v in hparams.items())
        return f"{type(self).__name__}({args})"


# ------------------------------------------------------------------- checks
#
# Every message says what was wrong (the argument, its value or shape), what to do,
# and shows an example of the fix ("e.g. ...").


def check_class(Class: Any) -> None:
    """Refuse to add a method to something that is not a class (Section 3.2).

    ``@add_to_class`` written without its class gets the function instead;
    ``add_to_class(model)`` an instance. Both would change nothing useful.
    """
    if isinstance(Class, type):
        return
    if inspect.isfunction(Class):
        raise TypeError(
            "add_to_class needs the class to add the method to, got the function "
            f"{Class.__name__}: write the class in the decorator, e.g. "
            f"@d2l.add_to_class(Trainer) above def {Class.__name__}(self, ...)."
        )
    name = type(Class).__name__
    raise TypeError(
        f"add_to_class needs a class, got {_a(name)} {name} object; pass its class, "
        f"e.g. @d2l.add_to_class({name}) or @d2l.add_to_class(type(obj))."
    )


def check_method(function: Any) -> None:
    """Refuse to add something that is not a named function as a method (Section 3.2)."""
    name = getattr(function, "__name__", "")
    if not callable(function) or not name.isidentifier():
        got = "a lambda" if name == "<lambda>" else f"{_a(type(function).__name__)} "
        got += "" if name == "<lambda>" else type(function).__name__
        raise TypeError(
            "add_to_class adds a function under its own name, so it needs a function "
            f"defined with def, got {got}; e.g. @d2l.add_to_class(Trainer) "
            "followed by def fit_epoch(self): ..."
        )


def check_init_call(frame: Any, ignore: Any) -> None:
    """Refuse a ``save_hyperparameters`` call that would save nothing or the wrong thing.

    It must be called from an ``__init__`` (``frame`` is the caller's) that
    names its arguments (Section 3.2); ``ignore`` must be a list of some of
    those names, not a string (which would be read letter by letter).
    """
    code = frame.f_code
    if not is_init(code):
        where = "the top level" if code.co_name == "<module>" else f"{code.co_name}()"
        raise TypeError(
            "save_hyperparameters() saves the arguments of the __init__ that calls "
            f"it, but it was called from {where}; call it first thing in __init__, "
            "e.g. def __init__(self, lr): self.save_hyperparameters()."
        )
    owner = code.co_qualname.removesuffix(".__init__").rsplit(".", 1)[-1]
    args = inspect.getargvalues(frame)
    named = [name for name in args.args if name != "self"]
    if not named and (args.varargs or args.keywords):
        raise TypeError(
            f"save_hyperparameters() saves named arguments, and {owner}.__init__ "
            "takes only *args or **kwargs, which it would silently skip; name the "
            "arguments, e.g. def __init__(self, lr, batch_size=32)."
        )
    if isinstance(ignore, str):
        raise TypeError(
            f"ignore must be a list of argument names, got the string {ignore!r}, "
            f"which would be read letter by letter; e.g. ignore=[{ignore!r}]."
        )
    unknown = [name for name in ignore if name not in named]
    if unknown:
        raise ValueError(
            f"ignore names {', '.join(map(repr, unknown))}, not an argument of "
            f"{owner}.__init__ (its arguments: {', '.join(named) or 'none'}); check "
            f"the spelling, e.g. ignore=[{named[-1] if named else 'name'!r}]."
        )


def is_init(code: Any) -> bool:
    """Whether ``code`` (a frame's ``f_code``) is an ``__init__`` method.

    Tools that wrap every method, such as the mutation tester mutmut, run a renamed
    copy of it (``xǁTrainerǁ__init____mutmut_orig``); that counts too.
    """
    return code.co_name == "__init__" or "ǁ__init____mutmut" in code.co_name


def is_int(value: Any) -> bool:
    """True for a Python or NumPy integer, False for a bool (``True`` is not a count)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    """True for a real number: int, float, a NumPy number or a 0-d real tensor, no bool."""
    if torch.is_tensor(value):
        return value.ndim == 0 and not (
            value.dtype.is_complex or value.dtype == torch.bool
        )
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


# The arguments every chapter uses, with an example value for the messages.
POSITIVE_INTEGERS = {
    "batch_size": 32,
    "max_epochs": 10,
    "num_train": 1000,
    "num_inputs": 784,
    "num_outputs": 10,
    "num_hiddens": 256,
    "num_hiddens_1": 256,
    "num_hiddens_2": 256,
    "plot_train_per_epoch": 2,
    "plot_valid_per_epoch": 1,
}
NON_NEGATIVE_INTEGERS = {"num_gpus": 1, "num_workers": 0, "num_val": 1000}
POSITIVE_REALS = {"lr": 0.1}
NON_NEGATIVE_REALS = {
    "gradient_clip_val": 1.0,
    "noise": 0.01,
    "sigma": 0.01,
    "wd": 0.003,
    "lambd": 3.0,
}
KNOWN = POSITIVE_INTEGERS | NON_NEGATIVE_INTEGERS | POSITIVE_REALS | NON_NEGATIVE_REALS


def check_hparams(owner: type | str, hparams: dict[str, Any]) -> None:
    """Reject impossible values of the arguments every chapter uses (Section 3.2).

    Counts (``batch_size``, ``max_epochs``, ``num_inputs``, ``num_hiddens``, ...)
    must be positive integers, ``num_gpus``, ``num_workers`` and ``num_val``
    integers from 0, ``lr`` a positive number, ``noise``, ``sigma``,
    ``gradient_clip_val``, ``wd`` and ``lambd`` numbers from 0; every number
    finite. A value that is not a number at all is refused only where one of
    d2lutil's own classes takes the argument: a student's class may give
    ``noise`` another meaning. ``owner`` is the class (or its name).
    """
    name_of = owner if isinstance(owner, str) else owner.__name__
    for name, value in hparams.items():
        if name not in KNOWN:
            continue
        example = f"e.g. {name}={KNOWN[name]}"
        if not is_real(value):
            if isinstance(owner, str) or _package_takes(owner, name):
                raise TypeError(
                    f"{name_of}: {name} must be a number, got {value!r} "
                    f"({type(value).__name__}); {example}."
                )
            continue
        whole = name in POSITIVE_INTEGERS or name in NON_NEGATIVE_INTEGERS
        if whole and not is_int(value):
            raise TypeError(
                f"{name_of}: {name} must be an integer (a count), got {value!r}; "
                f"{example}."
            )
        number, positive = float(value), name in POSITIVE_INTEGERS | POSITIVE_REALS
        if not (math.isfinite(number) and (number > 0 if positive else number >= 0)):
            need = "positive" if positive else "0 or more"
            if not math.isfinite(number):  # inf passes the sign test, nan fails it
                need += " and finite"
            raise ValueError(
                f"{name_of}: {name} must be {need}, got {value!r}; {example}."
            )


def _package_takes(owner: type, name: str) -> bool:
    """True when one of d2lutil's classes among ``owner``'s bases takes argument ``name``."""
    for cls in owner.__mro__:
        if cls.__module__.startswith("d2lutil.") and "__init__" in vars(cls):
            if name in inspect.signature(cls.__init__).parameters:
                return True
    return False


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _short_repr(value: Any) -> str:
    """repr() that keeps big tensors and lists of tensors to one short line."""
    if isinstance(value, torch.Tensor) and value.numel() > 6:
        return f"<tensor of shape {tuple(value.shape)}>"
    if isinstance(value, (list, tuple)) and any(torch.is_tensor(v) for v in value):
        return f"<{len(value)} tensor{'' if len(value) == 1 else 's'}>"
    return repr(value)
