"""d2lutil.data: the in-memory loader (property-based), the datasets, Fashion-MNIST's sources."""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import d2lutil as d2l
from d2lutil import _datasets

# Where d2lutil looks for Fashion-MNIST, taken before any test changes it: the data folder
# (where `make test-deps` downloads it on a machine without Debian's package) and the
# system copies (Debian's /usr/share/datasets/fashion-mnist).
PLACES = [
    d2l.data_dir() / "fashion-mnist",
    d2l.data_dir() / "FashionMNIST" / "raw",
    d2l.data_dir(),
    *_datasets.SYSTEM_DIRS,
]


@functools.cache
def _verified_folder() -> Path | None:
    for folder in PLACES:
        found = [
            _datasets._checked(folder / f"{name}{suffix}", name)[0] is not None
            for name in _datasets.FASHION_MNIST_FILES
            for suffix in (".gz", "")
        ]
        if all(found[0::2]) or all(found[1::2]):
            return folder
    return None


def fashion_source() -> Path:
    """A folder holding a verified copy of all four files, wherever d2lutil found it.

    Without one the test is skipped, and under CI=true it fails: CI must run it.
    """
    folder = _verified_folder()
    if folder is None:
        reason = (
            "no verified Fashion-MNIST in "
            + ", ".join(map(str, PLACES))
            + ": run `make test-deps`"
        )
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(f"{reason} (CI=true: this test must run, not skip)")
        pytest.skip(reason)
    return folder


def source_bytes(name: str) -> bytes:
    """The decompressed, verified contents of one of the four files."""
    folder = fashion_source()
    for suffix in (".gz", ""):
        content, _ = _datasets._checked(folder / f"{name}{suffix}", name)
        if content is not None:
            return content
    raise AssertionError(f"{name} vanished from {folder}")


# ------------------------------------------------------------ TensorLoader

sizes = st.integers(min_value=1, max_value=300)
batch_sizes = st.integers(min_value=1, max_value=64)
seeds = st.integers(min_value=0, max_value=2**32)


def one_epoch(loader):
    return [batch for batch in loader]


@settings(max_examples=60, deadline=None)
@given(n=sizes, batch_size=batch_sizes, seed=seeds, shuffle=st.booleans())
def test_every_example_exactly_once_per_epoch(n, batch_size, seed, shuffle):
    X = torch.arange(n)
    y = -torch.arange(n)
    loader = d2l.TensorLoader((X, y), batch_size, shuffle=shuffle, seed=seed)
    for _ in range(2):
        batches = one_epoch(loader)
        seen = torch.cat([xb for xb, _ in batches])
        assert sorted(seen.tolist()) == list(range(n))
        for xb, yb in batches:  # rows stay paired across tensors
            assert torch.equal(yb, -xb)


@settings(max_examples=60, deadline=None)
@given(n=sizes, batch_size=batch_sizes, shuffle=st.booleans())
def test_batch_count_and_last_batch_size(n, batch_size, shuffle):
    loader = d2l.TensorLoader((torch.zeros(n, 3),), batch_size, shuffle=shuffle, seed=0)
    batches = one_epoch(loader)
    assert len(batches) == len(loader) == -(-n // batch_size)
    assert all(len(b[0]) == batch_size for b in batches[:-1])
    assert len(batches[-1][0]) == n - (len(loader) - 1) * batch_size
    assert batches[0][0].shape[1:] == (3,)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 300), batch_size=batch_sizes, seed=seeds)
def test_same_seed_same_order_and_new_order_every_epoch(n, batch_size, seed):
    def orders(loader, epochs=3):
        return [torch.cat([b[0] for b in loader]).tolist() for _ in range(epochs)]

    X = torch.arange(n)
    first = orders(d2l.TensorLoader((X,), batch_size, shuffle=True, seed=seed))
    again = orders(d2l.TensorLoader((X,), batch_size, shuffle=True, seed=seed))
    assert first == again
    if n >= 8:  # two equal permutations of 8 or more items: chance 1/40320 at most
        assert first[0] != first[1] or first[1] != first[2]


def test_orders_differ_across_epochs_and_seeds():
    X = torch.arange(100)
    loader = d2l.TensorLoader((X,), 10, shuffle=True, seed=1)
    e1, e2 = (torch.cat([b[0] for b in loader]).tolist() for _ in range(2))
    assert e1 != e2
    other = d2l.TensorLoader((X,), 10, shuffle=True, seed=2)
    assert torch.cat([b[0] for b in other]).tolist() != e1


def test_without_shuffle_batches_are_in_order():
    X = torch.arange(10)
    assert [b[0].tolist() for b in d2l.TensorLoader((X,), 4)] == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
    ]


def test_default_seed_comes_from_torch_global_generator():
    X = torch.arange(50)
    torch.manual_seed(0)
    a = torch.cat([b[0] for b in d2l.TensorLoader((X,), 7, shuffle=True)])
    torch.manual_seed(0)
    b = torch.cat([b[0] for b in d2l.TensorLoader((X,), 7, shuffle=True)])
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [0, -5, 2.5, None, True])
def test_non_positive_batch_size_is_rejected(bad):
    with pytest.raises(
        (ValueError, TypeError), match="batch_size must be (an int|a number|pos)"
    ):
        d2l.TensorLoader((torch.zeros(4),), bad)


def test_tensors_of_different_lengths_are_rejected():
    with pytest.raises(ValueError, match="same number of examples"):
        d2l.TensorLoader((torch.zeros(4), torch.zeros(5)), 2)


def test_loader_to_moves_its_own_tensors_only():
    X = torch.arange(6)
    loader = d2l.TensorLoader((X,), 4).to("meta")
    assert next(iter(loader))[0].device.type == "meta"
    assert X.device.type == "cpu"


# ------------------------------------------------------ SyntheticRegressionData


def test_synthetic_data_follows_the_model():
    d2l.seed(0)
    w, b = torch.tensor([2.0, -3.4]), 4.2
    data = d2l.SyntheticRegressionData(w, b, noise=0.0, num_train=30, num_val=20)
    assert data.X.shape == (50, 2)
    assert data.y.shape == (50, 1)
    torch.testing.assert_close(data.y, data.X @ w.reshape(-1, 1) + b)
    noisy = d2l.SyntheticRegressionData(w, b, noise=0.01, num_train=3000, num_val=0)
    residual = noisy.y - (noisy.X @ w.reshape(-1, 1) + b)
    assert 0.009 < float(residual.std()) < 0.011


def test_synthetic_loaders_split_train_and_validation():
    d2l.seed(0)
    data = d2l.SyntheticRegressionData(
        torch.tensor([1.0]), 0.0, num_train=10, num_val=6, batch_size=4
    )
    train = torch.cat([X for X, _ in data.train_dataloader()])
    val = torch.cat([X for X, _ in data.val_dataloader()])
    assert len(data.train_dataloader()) == 3
    assert len(data.val_dataloader()) == 2
    assert sorted(train.reshape(-1).tolist()) == sorted(
        data.X[:10].reshape(-1).tolist()
    )
    assert torch.equal(val, data.X[10:])  # validation is not shuffled


@pytest.mark.parametrize(
    ("w", "b", "match"),
    [
        (torch.tensor([[2.0, -3.4]]), 4.2, "w must be a 1-D tensor"),
        (torch.tensor(2.0), 4.2, "w must be a 1-D tensor"),
        ([2.0, -3.4], 4.2, "w must be a 1-D tensor"),
        (
            torch.tensor([2.0, -3.4]),
            torch.tensor([4.2, 1.0]),
            "b must be a single number",
        ),
        (torch.tensor([2.0, -3.4]), "4.2", "b must be a single number"),
    ],
)
def test_synthetic_data_rejects_wrong_w_and_b(w, b, match):
    with pytest.raises((ValueError, TypeError), match=match):
        d2l.SyntheticRegressionData(w, b)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch_size must be positive"),
        ({"batch_size": -32}, "batch_size must be positive"),
        ({"num_train": 0}, "num_train must be positive"),
        ({"num_val": -1}, "num_val must be 0 or more"),
    ],
)
def test_synthetic_data_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        d2l.SyntheticRegressionData(torch.tensor([1.0]), 0.0, **kwargs)


def test_data_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("D2LUTIL_DATA", str(tmp_path / "d"))
    assert d2l.data_dir() == tmp_path / "d"
    monkeypatch.delenv("D2LUTIL_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert d2l.data_dir() == tmp_path / "cache" / "d2lutil"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert d2l.data_dir() == Path.home() / ".cache" / "d2lutil"


# ------------------------------------------------------------- Fashion-MNIST


@pytest.fixture(scope="session")
def fashion():
    return d2l.FashionMNIST(batch_size=256, root=fashion_source())


def test_fashion_mnist_sizes_and_classes(fashion):
    X, y = fashion.train.tensors
    assert len(fashion.train) == 60000
    assert len(fashion.val) == 10000
    image, label = fashion.train[0]
    assert image.shape == (1, 28, 28)
    assert int(label) == 9
    assert X.shape == (60000, 1, 28, 28)
    assert X.dtype == torch.float32
    assert fashion.val.tensors[0].shape == (10000, 1, 28, 28)
    assert torch.bincount(y).tolist() == [6000] * 10
    assert torch.bincount(fashion.val.tensors[1]).tolist() == [1000] * 10
    assert float(X.min()) == 0.0
    assert float(X.max()) == 1.0
    # the published per-pixel statistics of the training set
    assert abs(float(X.mean()) - 0.2860) < 5e-4
    assert abs(float(X.std()) - 0.3530) < 5e-4


def test_fashion_mnist_loaders(fashion):
    train = fashion.train_dataloader()
    assert len(train) == 235
    assert len(fashion.val_dataloader()) == 40
    X, y = next(iter(train))
    assert X.shape == (256, 1, 28, 28)
    assert y.dtype == torch.int64
    Xv, yv = next(iter(fashion.val_dataloader()))
    assert torch.equal(Xv, fashion.val.tensors[0][:256])
    assert torch.equal(yv, fashion.val.tensors[1][:256])
    assert train.shuffle  # the training batches are drawn afresh every epoch
    assert not torch.equal(X, fashion.train.tensors[0][:256])


def test_loader_repr_names_batches_tensors_and_shuffling():
    loader = d2l.TensorLoader((torch.zeros(10, 2), torch.zeros(10)), 4, shuffle=True)
    assert repr(loader) == (
        "TensorLoader(3 batches of 4, tensors (10, 2), (10,), shuffle=True)"
    )


def test_text_labels(fashion):
    assert fashion.text_labels([0, 9, torch.tensor(5)]) == [
        "t-shirt",
        "ankle boot",
        "sandal",
    ]
    assert fashion.text_labels(range(3)) == ["t-shirt", "trouser", "pullover"]
    # the first training image is an ankle boot, the second a t-shirt (dataset facts)
    assert fashion.text_labels(fashion.train.tensors[1][:2]) == [
        "ankle boot",
        "t-shirt",
    ]


def test_resize_only_when_asked():
    X, y = d2l.load_fashion_mnist(train=False, resize=(14, 14), root=fashion_source())
    assert X.shape == (10000, 1, 14, 14)
    assert len(y) == 10000
    full, _ = d2l.load_fashion_mnist(train=False, root=fashion_source())
    # antialiased downsampling by 2 is close to 2x2 average pooling
    pooled = torch.nn.functional.avg_pool2d(full[:100], 2)
    assert float((X[:100] - pooled).abs().mean()) < 0.05
    with pytest.raises(ValueError, match="resize must be a positive integer or a pair"):
        d2l.load_fashion_mnist(train=False, resize=(0, 28), root=fashion_source())


def test_visualize_draws_a_titled_grid(fashion):
    import matplotlib.pyplot as plt

    X, y = fashion.val.tensors[0][:4], fashion.val.tensors[1][:4]
    fashion.visualize((X, y), nrows=1, ncols=4)
    axes = plt.gcf().axes
    assert [ax.get_title() for ax in axes] == fashion.text_labels(y)
    plt.close("all")


# --------------------------------------------------- Fashion-MNIST sources

LABELS = "t10k-labels-idx1-ubyte"


def serve_from(monkeypatch, folder) -> None:
    """Make ``folder`` (a local directory) the only download mirror."""
    monkeypatch.setattr(_datasets, "FASHION_MNIST_MIRRORS", [folder.as_uri() + "/"])


def good_mirror(monkeypatch, tmp_path):
    """A local mirror serving a good labels file; returns its folder."""
    mirror = tmp_path / "mirror"
    write_gz(mirror / f"{LABELS}.gz", good_labels())
    serve_from(monkeypatch, mirror)
    return mirror


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No system copy, no mirrors, an empty in-memory cache; returns a data folder."""
    monkeypatch.setattr(_datasets, "SYSTEM_DIRS", [])
    monkeypatch.setattr(_datasets, "FASHION_MNIST_MIRRORS", [])
    monkeypatch.setattr(_datasets, "_CACHE", {})
    return tmp_path / "data"


def good_labels() -> bytes:
    return source_bytes(LABELS)


def write_gz(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content))
    return path


def test_checksums_are_those_of_the_copy_found():
    for name, (sha, size) in _datasets.FASHION_MNIST_FILES.items():
        content = source_bytes(name)
        assert len(content) == size
        assert hashlib.sha256(content).hexdigest() == sha


def test_a_good_copy_in_the_data_folder_is_used(isolated):
    write_gz(isolated / "fashion-mnist" / f"{LABELS}.gz", good_labels())
    labels = _datasets.fashion_mnist_array(LABELS, root=isolated)
    assert labels.shape == (10000,)
    assert labels.dtype == np.uint8
    # uncompressed copies are accepted too
    plain = isolated.parent / "plain"
    (plain / "fashion-mnist").mkdir(parents=True)
    (plain / "fashion-mnist" / LABELS).write_bytes(good_labels())
    assert np.array_equal(_datasets.fashion_mnist_array(LABELS, root=plain), labels)


def test_corrupt_copy_is_refused_with_every_place_named(isolated):
    content = bytearray(good_labels())
    content[100] = (content[100] + 1) % 10  # one label changed
    corrupt = write_gz(isolated / "fashion-mnist" / f"{LABELS}.gz", bytes(content))
    with pytest.raises(RuntimeError) as err:
        _datasets.fashion_mnist_array(LABELS, root=isolated)
    message = str(err.value)
    assert f"{corrupt}: corrupt: the right size, but the SHA-256" in message
    assert str(isolated / "FashionMNIST" / "raw" / LABELS) in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "D2LUTIL_DATA" in message


def test_truncated_gzip_is_refused(isolated):
    path = isolated / "fashion-mnist" / f"{LABELS}.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(good_labels())[:500])
    with pytest.raises(RuntimeError, match="not a complete gzip file"):
        _datasets.fashion_mnist_array(LABELS, root=isolated)


def test_system_copy_is_used_after_a_corrupt_cached_copy(isolated, monkeypatch):
    monkeypatch.setattr(_datasets, "SYSTEM_DIRS", [fashion_source()])
    write_gz(isolated / "fashion-mnist" / f"{LABELS}.gz", b"garbage")
    with pytest.warns(UserWarning, match="skipped"):
        labels = _datasets.fashion_mnist_array(LABELS, root=isolated)
    assert np.array_equal(labels, np.frombuffer(good_labels(), np.uint8, offset=8))


def test_download_replaces_a_corrupt_copy_after_verifying(
    isolated, monkeypatch, tmp_path
):
    good_mirror(monkeypatch, tmp_path)
    cached = write_gz(isolated / "fashion-mnist" / f"{LABELS}.gz", b"garbage")
    labels = _datasets.fashion_mnist_array(LABELS, root=isolated)
    assert labels.shape == (10000,)
    assert gzip.decompress(cached.read_bytes()) == good_labels()  # replaced
    assert sorted(p.name for p in cached.parent.iterdir()) == [
        cached.name
    ]  # no temp file


def test_corrupt_download_leaves_nothing_behind(isolated, monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    content = bytearray(good_labels())
    content[-1] ^= 1
    write_gz(mirror / f"{LABELS}.gz", bytes(content))
    serve_from(monkeypatch, mirror)
    with pytest.raises(RuntimeError, match="downloaded file is corrupt"):
        _datasets.fashion_mnist_array(LABELS, root=isolated)
    assert not isolated.exists()  # not even the folders the download made


def test_unreachable_mirror_is_reported(isolated, monkeypatch, tmp_path):
    missing = (tmp_path / "nowhere").as_uri() + "/"
    monkeypatch.setattr(_datasets, "FASHION_MNIST_MIRRORS", [missing])
    with pytest.raises(RuntimeError, match=r"download file://.*: failed"):
        _datasets.fashion_mnist_array(LABELS, root=isolated)
    with pytest.raises(ValueError, match="unknown Fashion-MNIST file"):
        _datasets.fashion_mnist_array("nonsense", root=isolated)


# ----------------------------------------------------------- bad input, probed


@pytest.mark.parametrize("batch_size", [np.int64(32), 32])
def test_numpy_integers_are_integers_everywhere(batch_size):
    data = d2l.SyntheticRegressionData(
        torch.tensor([1.0]), 0.0, num_train=64, batch_size=batch_size
    )
    assert len(data.train_dataloader()) == 2
    assert d2l.TensorLoader((torch.zeros(64),), batch_size).batch_size == 32


@pytest.mark.parametrize(
    "resize", [28.0, True, (28, 28.0), (28,), "28", (0, 28), (np.int64(0), 5)]
)
def test_bad_resize_is_named_before_anything_loads(resize, monkeypatch):
    from d2lutil import data

    monkeypatch.setattr(data, "fashion_mnist_array", None)  # must not be reached
    with pytest.raises(
        ValueError, match=r"resize must be a positive integer or a pair"
    ):
        d2l.FashionMNIST(resize=resize)
    with pytest.raises(
        ValueError, match=r"resize must be a positive integer or a pair"
    ):
        d2l.load_fashion_mnist(resize=resize)


def test_a_resize_that_cannot_fit_is_refused_up_front_with_its_size(monkeypatch):
    from d2lutil import data

    monkeypatch.setattr(data, "available_memory", lambda: 8 * 10**9)
    monkeypatch.setattr(data, "fashion_mnist_array", None)  # nothing is loaded
    with pytest.raises(
        MemoryError, match=r"70,000 images resized to \(224, 224\) need about 14.0 GB"
    ):
        d2l.FashionMNIST(resize=(224, 224))
    with pytest.raises(
        MemoryError, match=r"60,000 images .* need about 12.0 GB, but only 8.0 GB"
    ):
        d2l.load_fashion_mnist(resize=224)


def test_fashion_mnist_reads_both_splits_at_the_checked_size_from_its_root(
    monkeypatch, tmp_path
):
    # Small fake files: what FashionMNIST passes on (split, size, root), and a memory
    # check that needs exactly what it asks (height x width x 4 bytes an image).
    from d2lutil import data

    read = []

    def fake_array(name, root):
        read.append((name, root))
        count = 5 if name.startswith("train") else 3
        if "images" in name:
            return np.full((count, 28, 28), 255, dtype=np.uint8)
        return np.arange(count, dtype=np.uint8)

    monkeypatch.setattr(data, "fashion_mnist_array", fake_array)
    monkeypatch.setattr(data, "available_memory", lambda: 70_000 * 6 * 8 * 4)
    fashion = d2l.FashionMNIST(resize=(6, 8), root=tmp_path)
    assert fashion.batch_size == 64
    assert fashion.root == tmp_path
    assert fashion.train.tensors[0].shape == (5, 1, 6, 8)
    assert fashion.val.tensors[0].shape == (3, 1, 6, 8)
    assert fashion.val.tensors[1].tolist() == [0, 1, 2]
    assert read == [
        ("train-images-idx3-ubyte", tmp_path),
        ("train-labels-idx1-ubyte", tmp_path),
        ("t10k-images-idx3-ubyte", tmp_path),
        ("t10k-labels-idx1-ubyte", tmp_path),
    ]
    monkeypatch.setattr(data, "available_memory", lambda: 10_000 * 6 * 8 * 4)
    X, y = d2l.load_fashion_mnist(train=False, resize=(6, 8), root=tmp_path)
    assert X.shape == (3, 1, 6, 8)
    assert read[-1] == ("t10k-labels-idx1-ubyte", tmp_path)


def test_available_memory_is_a_plausible_number():
    from d2lutil import data

    have = data.available_memory()
    assert have is None or 10**7 < have < 10**14


def test_resized_images_fill_one_preallocated_tensor(monkeypatch):
    # No concatenation of resized chunks (which peaked at about twice the data's size).
    monkeypatch.setattr(torch, "cat", None)
    X, _ = d2l.load_fashion_mnist(train=False, resize=(32, 20), root=fashion_source())
    assert X.shape == (10000, 1, 32, 20)
    assert X.is_contiguous()
    assert 0 <= float(X.min())
    assert float(X.max()) <= 1
    same, _ = d2l.load_fashion_mnist(train=False, resize=28, root=fashion_source())
    full, _ = d2l.load_fashion_mnist(train=False, root=fashion_source())
    assert torch.equal(same, full)


@pytest.mark.parametrize(
    ("w", "b", "noise", "error", "match"),
    [
        (torch.tensor([2, -3]), 4.2, 0.01, TypeError, "w must hold torch.float32"),
        (torch.tensor([2.0]), 4.2, "0.01", TypeError, "noise must be a number"),
        (
            torch.tensor([2.0]),
            4.2,
            float("nan"),
            ValueError,
            "noise must be 0 or more and finite",
        ),
        (torch.tensor([2.0]), 4.2, -0.1, ValueError, "noise must be 0 or more"),
    ],
)
def test_synthetic_data_rejects_bad_w_and_noise_up_front(w, b, noise, error, match):
    with pytest.raises(error, match=match):
        d2l.SyntheticRegressionData(w, b, noise=noise)


def test_an_unwritable_data_folder_says_so(isolated, monkeypatch, tmp_path):
    monkeypatch.setattr(
        _datasets, "FASHION_MNIST_MIRRORS", [(tmp_path / "m").as_uri() + "/"]
    )
    blocker = tmp_path / "file"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("D2LUTIL_DATA", str(blocker))
    with pytest.raises(RuntimeError) as err:
        _datasets.fashion_mnist_array(LABELS)
    message = str(err.value)
    assert "cannot write to" in message
    assert "make " + str(blocker) + " writable" in message
    assert "D2LUTIL_DATA" in message
    assert "connect to the internet" not in message


def test_sizes_and_checksums_are_reported_apart(isolated):
    content = bytearray(good_labels())
    content[100] = (content[100] + 1) % 10  # same size, other bytes
    write_gz(isolated / "fashion-mnist" / f"{LABELS}.gz", bytes(content))
    write_gz(isolated / "fashion-mnist" / LABELS, b"short")
    (isolated / "fashion-mnist" / LABELS).write_bytes(b"short")
    with pytest.raises(RuntimeError) as err:
        _datasets.fashion_mnist_array(LABELS, root=isolated)
    message = str(err.value)
    assert "the right size, but the SHA-256 of its contents differs" in message
    assert "5 bytes instead of 10008" in message


def test_a_corrupt_copy_skipped_for_another_is_warned_about(isolated, monkeypatch):
    monkeypatch.setattr(_datasets, "SYSTEM_DIRS", [fashion_source()])
    bad = write_gz(isolated / "fashion-mnist" / f"{LABELS}.gz", b"garbage")
    with pytest.warns(
        UserWarning,
        match=f"using {_datasets._shown(fashion_source())}.*skipped {bad}: corrupt",
    ):
        _datasets.fashion_mnist_array(LABELS, root=isolated)


def test_stale_part_files_are_cleaned_and_fresh_ones_kept(
    isolated, monkeypatch, tmp_path
):
    import os

    good_mirror(monkeypatch, tmp_path)
    folder = isolated / "fashion-mnist"
    folder.mkdir(parents=True)
    stale, fresh = folder / f".{LABELS}.gz.old.part", folder / f".{LABELS}.gz.new.part"
    stale.write_bytes(b"killed download")
    fresh.write_bytes(b"download in progress elsewhere")
    os.utime(stale, (1, 1))  # 1970: long dead
    _datasets.fashion_mnist_array(LABELS, root=isolated)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [fresh.name, f"{LABELS}.gz"]
    )


def test_downloads_are_size_capped(isolated, monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / f"{LABELS}.gz").write_bytes(b"\0" * (10008 + (1 << 20) + 1))
    serve_from(monkeypatch, mirror)
    with pytest.raises(
        RuntimeError, match=r"refused: the server sent more than 1058584"
    ):
        _datasets.fashion_mnist_array(LABELS, root=isolated)
    assert not isolated.exists()


# -------------------------------------------------- bad input: w, b, loaders


@pytest.mark.parametrize(
    ("w", "b", "error", "match"),
    [
        (torch.tensor([2.0, -3.4]), float("nan"), ValueError, r"b must be a finite"),
        (torch.tensor([2.0, float("nan")]), 4.2, ValueError, r"w must hold finite"),
        (
            torch.from_numpy(np.array([2.0, -3.4])),
            4.2,
            TypeError,
            r"float64 tensor \(N",
        ),
        (torch.tensor([2.0]), [4.2], TypeError, r"b must be a single number"),
    ],
)
def test_synthetic_data_refuses_w_and_b_that_make_nan_or_fail(w, b, error, match):
    with pytest.raises(error, match=match):
        d2l.SyntheticRegressionData(w, b)


@pytest.mark.parametrize("b", [np.float32(4.2), np.int64(4), torch.tensor(4.2)])
def test_synthetic_data_takes_any_single_number_as_its_bias(b):
    d2l.seed(0)
    data = d2l.SyntheticRegressionData(torch.tensor([2.0]), b, noise=0.0, num_val=0)
    torch.testing.assert_close(data.y, data.X * 2.0 + float(b))


def test_a_tensor_loader_needs_a_tuple_of_tensors():
    X = torch.randn(10, 2)
    with pytest.raises(TypeError, match=r"one tensor of shape \(10, 2\).*\(\(X, y\)"):
        d2l.TensorLoader(X, 4)
    with pytest.raises(TypeError, match=r"got list, list; e\.g\."):
        d2l.TensorLoader(([1, 2], [3, 4]), 2)
    assert len(d2l.TensorLoader((X,), 4)) == 3


@pytest.mark.parametrize("train", ["val", None, 1, "train"])
def test_load_fashion_mnist_needs_a_bool_train(train, monkeypatch):
    monkeypatch.setattr(data_module(), "fashion_mnist_array", None)  # nothing loads
    with pytest.raises(TypeError, match=r"train must be True .* or False .* got"):
        d2l.load_fashion_mnist(train=train)


def data_module():
    from d2lutil import data

    return data


def text_labels(indices):
    return d2l.FashionMNIST.text_labels(None, indices)  # self is not used


@pytest.mark.parametrize(
    ("indices", "names"),
    [
        (torch.tensor(3), ["dress"]),
        (3, ["dress"]),
        (torch.tensor([1.0, 2.0]), ["trouser", "pullover"]),  # float labels, as d2l
        (np.array([9, 0]), ["ankle boot", "t-shirt"]),
        ([], []),
    ],
)
def test_text_labels_accepts_what_holds_class_numbers(indices, names):
    assert text_labels(indices) == names


@pytest.mark.parametrize(
    ("indices", "error", "match"),
    [
        ([-1], ValueError, r"between 0 and 9, got -1"),
        ([3, 10], ValueError, r"between 0 and 9, got 10"),
        ([1.5], TypeError, r"whole numbers, got 1\.5"),
        ([True], TypeError, r"whole numbers, got True"),
        ([float("nan")], TypeError, r"whole numbers, got nan"),
    ],
)
def test_text_labels_refuses_numbers_that_are_not_classes(indices, error, match):
    with pytest.raises(error, match=match):
        text_labels(indices)


def test_class_numbers_that_are_not_numbers_are_refused_before_any_arithmetic():
    with pytest.raises(TypeError, match=r"whole numbers, got '3'"):
        d2l.check_class_numbers(["3"], 10)


def test_a_failed_offline_load_leaves_no_empty_folder(isolated, monkeypatch, tmp_path):
    monkeypatch.setattr(
        _datasets, "FASHION_MNIST_MIRRORS", [(tmp_path / "offline").as_uri() + "/"]
    )
    with pytest.raises(RuntimeError, match=r"no verified copy"):
        _datasets.fashion_mnist_array(LABELS, root=isolated)
    assert not isolated.exists()
    kept = isolated / "fashion-mnist"
    kept.mkdir(parents=True)  # a folder that was there before is kept
    with pytest.raises(RuntimeError, match=r"no verified copy"):
        _datasets.fashion_mnist_array(LABELS, root=isolated)
    assert kept.is_dir()


@pytest.mark.parametrize(
    ("header", "shape"),
    [
        (b"\x00\x00\x08\x01" + (3).to_bytes(4, "big"), (3,)),
        (
            b"\x00\x00\x08\x03" + b"".join(n.to_bytes(4, "big") for n in (1, 3, 1)),
            (1, 3, 1),
        ),
    ],
    ids=["labels-1d", "images-3d"],
)
def test_idx_files_are_decoded_from_their_big_endian_header(header, shape):
    from d2lutil import _datasets

    array = _datasets._parse_idx(header + bytes([7, 8, 9]), "x")
    assert array.shape == shape
    assert array.ravel().tolist() == [7, 8, 9]
    for magic in (b"\x00\x00\x09", b"\x01\x00\x08"):  # another type, not an idx file
        with pytest.raises(
            RuntimeError, match=r"^x: not an idx file of unsigned bytes"
        ):
            _datasets._parse_idx(magic + header[3:] + bytes([7, 8, 9]), "x")
