"""Lazy layers print nothing on any supported torch (issue 20: no notebook prints a warning).

torch 2.0-2.3 warn "Lazy modules are a new feature under heavy development ..." whenever a
lazy layer is made (``nn.LazyLinear``: sections 3.5, 4.5 and 5.2); torch 2.4 dropped that
notice. ``d2lutil.models`` ignores exactly that notice on those releases and adds no filter on
newer ones. The simulated-version tests run anywhere; the subprocess test is the real check
where ``make floors`` runs it, on torch 2.0.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
import torch
from torch.torch_version import TorchVersion

from d2lutil import models

NOTICE = (
    "Lazy modules are a new feature under heavy development so changes to the API or "
    "functionality can happen at any moment."
)


def emit(message: str, module: str = "torch.nn.modules.lazy") -> None:
    """Warn as torch's lazy-module code does (``warnings.warn`` in that module)."""
    warnings.warn_explicit(message, UserWarning, "lazy.py", 180, module=module)


@pytest.mark.parametrize("version", ["2.0.0", "2.0.1+cpu", "2.3.1"])
def test_the_notice_is_ignored_on_torch_before_2_4(monkeypatch, version):
    monkeypatch.setattr(torch, "__version__", TorchVersion(version))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        models._ignore_lazy_layer_notice()
        emit(NOTICE)
        emit("Lazy modules: some other problem")  # other warnings still show
        emit(NOTICE, module="somewhere.else")
    assert [str(w.message) for w in caught] == [
        "Lazy modules: some other problem",
        NOTICE,
    ]


@pytest.mark.parametrize("version", ["2.4.0", "2.13.0+cpu", "3.0.0"])
def test_newer_torch_gets_no_filter(monkeypatch, version):
    monkeypatch.setattr(torch, "__version__", TorchVersion(version))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = list(warnings.filters)
        models._ignore_lazy_layer_notice()
        assert warnings.filters == before
        emit(NOTICE)
    assert [str(w.message) for w in caught] == [NOTICE]


def test_a_lazy_layer_prints_nothing_after_import_d2lutil(tmp_path):
    """In a fresh interpreter, as a notebook's kernel: import d2lutil, make and call lazy
    layers. Silent on every torch that d2lutil supports (torch 2.0 under `make floors`)."""
    code = (
        "import d2lutil, torch\n"
        "layer = torch.nn.LazyLinear(3)\n"
        "model = d2lutil.LinearRegression(lr=0.1)\n"
        "print(layer(torch.ones(2, 4)).shape, model(torch.ones(2, 4)).shape)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["torch.Size([2,", "3])", "torch.Size([2,", "1])"]
    assert done.stderr == ""
