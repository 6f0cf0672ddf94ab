"""d2lutil.aliases: each d2l.torch name gives what the torch call it stands for gives."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.pyplot
import numpy
import pytest
import torch
import torch.nn.functional

import d2lutil as d2l
from d2lutil import aliases

X = torch.arange(6.0).reshape(2, 3)

# (alias, arguments, the torch call it stands for)
CALLS = [
    ("ones", ((2, 3),), lambda: torch.ones(2, 3)),
    ("ones_like", (X,), lambda: torch.ones_like(X)),
    ("zeros", ((2, 3),), lambda: torch.zeros(2, 3)),
    ("zeros_like", (X,), lambda: torch.zeros_like(X)),
    ("tensor", ([1, 2],), lambda: torch.tensor([1, 2])),
    ("arange", (0, 5, 2), lambda: torch.arange(0, 5, 2)),
    ("linspace", (0, 1, 5), lambda: torch.linspace(0, 1, 5)),
    ("sin", (X,), lambda: torch.sin(X)),
    ("sinh", (X,), lambda: torch.sinh(X)),
    ("cos", (X,), lambda: torch.cos(X)),
    ("cosh", (X,), lambda: torch.cosh(X)),
    ("tanh", (X,), lambda: torch.tanh(X)),
    ("exp", (X,), lambda: torch.exp(X)),
    ("log", (X + 1,), lambda: torch.log(X + 1)),
    ("abs", (-X,), lambda: torch.abs(-X)),
    ("sigmoid", (X,), lambda: torch.sigmoid(X)),
    ("eye", (3,), lambda: torch.eye(3)),
    ("matmul", (X, X.T), lambda: X @ X.T),
    ("batch_matmul", (X[None], X.T[None]), lambda: torch.bmm(X[None], X.T[None])),
    ("concat", ((X, X),), lambda: torch.cat((X, X))),
    ("stack", ((X, X),), lambda: torch.stack((X, X))),
    ("size", (X,), lambda: 6),
    ("reshape", (X, (3, 2)), lambda: X.reshape(3, 2)),
    ("reshape", (X, (-1,)), lambda: X.reshape(-1)),
    ("to", (X, torch.float64), lambda: X.to(torch.float64)),
    ("reduce_sum", (X,), lambda: X.sum()),
    ("reduce_mean", (X,), lambda: X.mean()),
    ("argmax", (X,), lambda: X.argmax()),
    ("astype", (X, torch.int32), lambda: X.type(torch.int32)),
    ("transpose", (X,), lambda: X.t()),
    ("expand_dims", (X, 0), lambda: X.unsqueeze(0)),
    ("swapaxes", (X, 0, 1), lambda: X.swapaxes(0, 1)),
    ("repeat", (X, 2, 1), lambda: X.repeat(2, 1)),
]


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    CALLS,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CALLS)],
)
def test_alias_equals_its_torch_call(name, args, expected):
    got, want = getattr(d2l, name)(*args), expected()
    if isinstance(want, torch.Tensor):
        assert got.dtype == want.dtype
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    else:
        assert got == want


def test_keyword_arguments_pass_through():
    torch.testing.assert_close(d2l.reduce_sum(X, axis=1), X.sum(axis=1))
    torch.testing.assert_close(
        d2l.reduce_mean(X, dim=0, keepdim=True), X.mean(0, keepdim=True)
    )
    assert d2l.argmax(X, axis=1).tolist() == [2, 2]


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "expected"),
    [
        ("reshape", (), {"shape": (3, 2)}, lambda: X.reshape(3, 2)),
        ("to", (), {"dtype": torch.float64}, lambda: X.to(torch.float64)),
        ("reduce_sum", (1,), {}, lambda: X.sum(1)),
        ("reduce_mean", (0,), {"keepdim": True}, lambda: X.mean(0, keepdim=True)),
        ("argmax", (1,), {}, lambda: X.argmax(1)),
        ("astype", (), {"dtype": torch.int32}, lambda: X.type(torch.int32)),
        ("expand_dims", (), {"dim": 1}, lambda: X.unsqueeze(1)),
        ("swapaxes", (), {"axis0": 0, "axis1": 1}, lambda: X.swapaxes(0, 1)),
        ("repeat", (), {"repeats": (2, 1)}, lambda: X.repeat(2, 1)),
    ],
)
def test_every_argument_reaches_the_torch_method(name, args, kwargs, expected):
    # The aliases take *args and **kwargs: both must reach the method unchanged.
    got = getattr(d2l, name)(X, *args, **kwargs)
    torch.testing.assert_close(got, expected(), rtol=0, atol=0)


def test_numpy_passes_its_arguments_on():
    w = torch.ones(2, requires_grad=True)
    assert d2l.numpy(w, force=True).tolist() == [1.0, 1.0]
    with pytest.raises(TypeError):  # Tensor.numpy takes no positional argument
        d2l.numpy(w, True)


def test_random_aliases_draw_as_torch_does():
    for name, args in [("normal", (0.0, 1.0, (3,))), ("rand", (3,)), ("randn", (3,))]:
        torch.manual_seed(0)
        got = getattr(d2l, name)(*args)
        torch.manual_seed(0)
        torch.testing.assert_close(got, getattr(torch, name)(*args))


def test_meshgrid_and_dtypes():
    a, b = d2l.meshgrid(torch.arange(2), torch.arange(3), indexing="ij")
    assert a.shape == b.shape == (2, 3)
    assert (d2l.int32, d2l.int64, d2l.float32) == (
        torch.int32,
        torch.int64,
        torch.float32,
    )


def test_numpy_detaches_and_leaves_the_gpu():
    w = torch.ones(3, requires_grad=True)
    array = d2l.numpy(w * 2)
    assert isinstance(array, numpy.ndarray)
    assert array.tolist() == [2.0, 2.0, 2.0]

    class OnGPU:  # what a tensor on a GPU needs: detach, then a copy to the CPU
        calls: list[str] = []

        def detach(self):
            self.calls.append("detach")
            return self

        def cpu(self):
            self.calls.append("cpu")
            return torch.arange(3.0)

    assert d2l.numpy(OnGPU()).tolist() == [0.0, 1.0, 2.0]
    assert OnGPU.calls == ["detach", "cpu"]


def test_modules_and_nn_module():
    assert d2l.plt is matplotlib.pyplot
    assert d2l.np is numpy
    assert d2l.torch is torch
    assert d2l.nn is torch.nn
    assert d2l.F is torch.nn.functional
    assert d2l.nn_Module is torch.nn.Module


def test_the_whole_d2l_torch_alias_set_is_there():
    book = (
        "ones ones_like zeros zeros_like tensor arange meshgrid sin sinh cos cosh tanh "
        "linspace exp log normal rand randn matmul int32 int64 float32 concat stack abs "
        "eye sigmoid batch_matmul numpy size reshape to reduce_sum argmax astype "
        "transpose reduce_mean expand_dims swapaxes repeat nn_Module"
    ).split()
    assert sorted(set(book) - set(aliases.__all__)) == []
    assert set(aliases.__all__) <= set(d2l.__all__)
    tested = {c[0] for c in CALLS} | {"normal", "rand", "randn", "meshgrid", "numpy"}
    tested |= {
        "int32",
        "int64",
        "float32",
        "nn_Module",
        "plt",
        "np",
        "torch",
        "nn",
        "F",
    }
    assert sorted(set(aliases.__all__) - tested) == []


def test_import_stays_cheap():
    # The aliases pull in nothing that the rest of the package did not already import.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; import d2lutil.plotting, d2lutil.training; before = set(sys.modules);"
            " import d2lutil; print(sorted(m for m in set(sys.modules) - before"
            " if not m.startswith('d2lutil') and not m.startswith('importlib')))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"
