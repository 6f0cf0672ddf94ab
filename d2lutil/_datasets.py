"""Finding, downloading and verifying dataset files (used by d2lutil.data).

Fashion-MNIST's four files are looked for, one by one, in this order:

1. the data directory: ``root`` when given, else ``$D2LUTIL_DATA``, else
   ``~/.cache/d2lutil`` (``$XDG_CACHE_HOME/d2lutil`` when that is set), in its
   sub-folder ``fashion-mnist/`` (torchvision's ``FashionMNIST/raw/`` and the
   folder itself are accepted too); gzipped or not;
2. Debian's package ``dataset-fashion-mnist``: ``/usr/share/datasets/fashion-mnist/``;
3. a download from the official mirrors into ``<data directory>/fashion-mnist/``.

A file is used only if the SHA-256 of its decompressed bytes is the published
dataset's. Downloads go to a temporary file in the target folder that is renamed
only once it verifies, so a broken download never leaves a half-written file;
a corrupt copy in the data directory is never used (a warning names it when
another copy is used instead) and is replaced by the next good download.
Downloads larger than the file can be are cut off, and temporary files left
by a killed download are removed by the next one.
"""

import contextlib
import gzip
import hashlib
import http.client
import os
import tempfile
import time
import urllib.request
import warnings
import zlib
from pathlib import Path

import numpy as np

DATA_ENV = "D2LUTIL_DATA"

# SHA-256 and size of the *decompressed* idx files of Fashion-MNIST (Xiao, Rasul
# and Vollgraf, 2017). Computed from Debian's dataset-fashion-mnist, which ships
# the original data recompressed (so its .gz bytes differ from the official
# ones). Cross-checked: other public projects that download the official .gz
# files (MD5s published by the dataset's authors: train-images 8d4fb7e6c68d591d
# 4c3dfef9ec88bf0d, train-labels 25c81989df183df01b3e8a0aad5dffbe, t10k-images
# bef4ecab320f06d8554ea6380940ec79, t10k-labels bb300cfdad3c16e7a12a480ee83cd310)
# publish the same four SHA-256s of the decompressed files; tests/test_data.py
# checks the documented structure too (60,000/10,000 examples, 6,000/1,000 per
# class, pixel mean 0.2860 and standard deviation 0.3530).
FASHION_MNIST_FILES: dict[str, tuple[str, int]] = {
    "train-images-idx3-ubyte": (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        47040016,
    ),
    "train-labels-idx1-ubyte": (
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        60008,
    ),
    "t10k-images-idx3-ubyte": (
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        7840016,
    ),
    "t10k-labels-idx1-ubyte": (
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        10008,
    ),
}

# Official mirrors, tried in order (each serves NAME.gz).
FASHION_MNIST_MIRRORS: list[str] = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
]

# System-wide copies (Debian/Ubuntu: apt-get install dataset-fashion-mnist).
SYSTEM_DIRS: list[Path] = [Path("/usr/share/datasets/fashion-mnist")]

DOWNLOAD_TIMEOUT_S = 60
STALE_PART_S = 3600  # a temporary download file this old belongs to no running download

CANNOT_WRITE = "cannot write to"

_CACHE: dict[str, np.ndarray] = {}


def data_dir() -> Path:
    """The folder where d2lutil keeps data files (Section 2.2; Fashion-MNIST goes there).

    ``$D2LUTIL_DATA`` when set, else ``$XDG_CACHE_HOME/d2lutil``, else
    ``~/.cache/d2lutil``. It is not created until something is downloaded.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "d2lutil"


def fashion_mnist_array(name: str, root: str | os.PathLike | None = None) -> np.ndarray:
    """The verified contents of one Fashion-MNIST idx file as a uint8 array.

    ``name`` is a key of FASHION_MNIST_FILES. Images come as (N, 28, 28),
    labels as (N,). Decoded arrays are kept in memory for the session.
    """
    if name not in FASHION_MNIST_FILES:
        raise ValueError(
            f"unknown Fashion-MNIST file {name!r}; use one of {list(FASHION_MNIST_FILES)}"
        )
    home = Path(root).expanduser() if root is not None else data_dir()
    key = f"{home.resolve()}::{name}"
    if key not in _CACHE:
        _CACHE[key] = _parse_idx(_verified_bytes(name, home), name)
    return _CACHE[key]


def _verified_bytes(name: str, home: Path) -> bytes:
    """The checked contents of ``name`` from the first good copy, else a download."""
    tried: list[str] = []  # one line per place, for the message if none is good
    folders = [
        home / "fashion-mnist",
        home / "FashionMNIST" / "raw",
        home,
        *SYSTEM_DIRS,
    ]
    for folder in folders:
        problems = []
        for path in (folder / f"{name}.gz", folder / name):
            content, problem = _checked(path, name)
            if content is not None:
                _warn_about_corrupt_copies([*tried, *problems], path)
                return content
            problems.append(f"{_shown(path)}: {problem}")
        if all(p.endswith(": not found") for p in problems):  # one line for both
            problems = [f"{_shown(folder / name)}[.gz]: not found"]
        tried += problems
    target = home / "fashion-mnist"
    new_folders = [f for f in (home, target) if not f.exists()]  # made by a download
    for mirror in FASHION_MNIST_MIRRORS:
        url = f"{mirror}{name}.gz"
        content, problem = _download_checked(url, target / f"{name}.gz", name)
        if content is not None:  # it replaced any corrupt copy there
            return content
        tried.append(f"download {url}: {problem}")
    for folder in reversed(new_folders):  # a failed download leaves no empty folder
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if empty: another process may be writing there
    raise RuntimeError(_not_found_message(name, home, tried))


def _warn_about_corrupt_copies(tried: list[str], used: Path) -> None:
    """Warn, naming them, about the corrupt copies skipped before ``used`` was found."""
    corrupt = [line for line in tried if not line.endswith("not found")]
    if corrupt:
        warnings.warn(
            f"Fashion-MNIST: using {_shown(used)}; skipped {'; '.join(corrupt)} "
            "(delete a corrupt copy, or let the next download replace it).",
            stacklevel=4,
        )


def _checked(
    path: Path, name: str, gzipped: bool | None = None
) -> tuple[bytes | None, str]:
    """(content, "") for a good copy, else (None, what is wrong with it).

    ``gzipped`` says whether to decompress; by default, when the name ends in ``.gz``.
    """
    if gzipped is None:
        gzipped = path.suffix == ".gz"
    try:
        raw = path.read_bytes()
        if gzipped:
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        return None, "not found"
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        return None, f"corrupt: not a complete gzip file ({err}); it is not used"
    except OSError as err:
        return None, f"unreadable ({err.strerror or err})"
    sha, size = FASHION_MNIST_FILES[name]
    if len(raw) != size:
        return None, f"corrupt: {len(raw)} bytes instead of {size}; it is not used"
    if hashlib.sha256(raw).hexdigest() != sha:
        return None, (
            "corrupt: the right size, but the SHA-256 of its contents differs from "
            "the dataset's; it is not used"
        )
    return raw, ""


def _remove_stale_parts(folder: Path) -> None:
    """Delete temporary files of downloads that were killed (older than STALE_PART_S)."""
    for part in folder.glob(".*.part"):
        try:
            if time.time() - part.stat().st_mtime > STALE_PART_S:
                part.unlink()
        except OSError:
            pass  # another process removed it, or it is not ours to remove


def _download_checked(url: str, dest: Path, name: str) -> tuple[bytes | None, str]:
    """Download ``url`` to a temporary file next to ``dest``; rename it only if it verifies."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(dest.parent)
        fd, tmp = tempfile.mkstemp(
            dir=dest.parent, prefix=f".{dest.name}.", suffix=".part"
        )
    except OSError as err:
        return None, f"{CANNOT_WRITE} {_shown(dest.parent)} ({err.strerror or err})"
    try:
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
        ):
            limit = FASHION_MNIST_FILES[name][1] + (1 << 20)  # gzip only shrinks these
            while chunk := response.read(1 << 20):
                if out.tell() + len(chunk) > limit:
                    return None, f"refused: the server sent more than {limit} bytes"
                out.write(chunk)
        content, problem = _checked(Path(tmp), name, gzipped=True)
        if content is None:
            return None, f"downloaded file is {problem}"
        os.replace(tmp, dest)
        return content, ""
    except (OSError, http.client.HTTPException, ValueError) as err:
        # URLError, timeouts and disk errors are OSErrors; a connection cut
        # mid-transfer is an HTTPException; a malformed URL a ValueError.
        return None, f"failed ({getattr(err, 'reason', None) or err!r})"
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _parse_idx(content: bytes, name: str) -> np.ndarray:
    """Decode an idx file: magic (0, 0, type 0x08 = uint8, ndim), sizes, then the data."""
    ndim = content[3]
    if content[:3] != b"\x00\x00\x08" or ndim not in (1, 3):
        raise RuntimeError(f"{name}: not an idx file of unsigned bytes")
    shape = tuple(
        int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    return np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _shown(path: Path) -> str:
    """A path as shown in messages: under the home folder as ``~/...``."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def _not_found_message(name: str, home: Path, tried: list[str]) -> str:
    places = "\n".join(f"  - {line}" for line in tried)
    return (
        f"Fashion-MNIST: no verified copy of {name} was found. Places tried:\n{places}\n"
        "To fix this, do one of:\n"
        "  - on Debian/Ubuntu: apt-get install dataset-fashion-mnist (offline copy);\n"
        f"  - copy the four files {', '.join(f + '.gz' for f in FASHION_MNIST_FILES)}\n"
        f"    from https://github.com/zalandoresearch/fashion-mnist into "
        f"{_shown(home / 'fashion-mnist')}/\n"
        f"    (or into a folder named by ${DATA_ENV}, or pass root=... to FashionMNIST);\n"
        + (
            f"  - the download could not save its file: make {_shown(home)} writable,\n"
            f"    or point ${DATA_ENV} at a writable folder.\n"
            if any(CANNOT_WRITE in line for line in tried)
            else "  - connect to the internet so that the download can run.\n"
        )
        + "A copy marked corrupt above can be deleted; the next good download replaces it."
    )
