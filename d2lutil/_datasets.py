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

``download`` and ``extract`` (with ``DATA_URL``) are d2l's helpers for the
other data files of *Dive into Deep Learning*, with d2l's call shapes; their
downloads are verified and atomic in the same way (by SHA-1, as d2l's are).
"""

import contextlib
import glob
import gzip
import hashlib
import http.client
import os
import re
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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

T = TypeVar("T")

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


def _remove_stale_parts(dest: Path) -> None:
    """Delete temporary files of killed downloads of ``dest`` (older than STALE_PART_S)."""
    for part in dest.parent.glob(f".{glob.escape(dest.name)}.*.part"):
        try:
            if time.time() - part.stat().st_mtime > STALE_PART_S:
                part.unlink()
        except OSError:
            pass  # another process removed it, or it is not ours to remove


def _download_checked(url: str, dest: Path, name: str) -> tuple[bytes | None, str]:
    """Download Fashion-MNIST's ``name`` from ``url`` to ``dest`` if it verifies."""
    limit = FASHION_MNIST_FILES[name][1] + (1 << 20)  # gzip only shrinks these
    return _fetch_verified(
        url, dest, lambda tmp: _checked(tmp, name, gzipped=True), limit
    )


def _fetch_verified(
    url: str,
    dest: Path,
    check: Callable[[Path], tuple[T | None, str]],
    limit: int | None = None,
) -> tuple[T | None, str]:
    """Download ``url`` to a temporary file next to ``dest``; rename it only if it verifies.

    ``check(path)`` returns ``(result, "")`` for a good file, ``(None, what is
    wrong)`` otherwise. Returns ``(result, "")`` once ``dest`` holds the verified
    file, or ``(None, what failed)`` with nothing written; a download longer than
    ``limit`` bytes, or shorter than the server announced, fails.
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(dest)
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
            announced = response.headers.get("Content-Length", "")
            while chunk := response.read(1 << 20):
                if limit is not None and out.tell() + len(chunk) > limit:
                    return None, f"refused: the server sent more than {limit} bytes"
                out.write(chunk)
            if announced.isdigit() and out.tell() != int(announced):
                return None, (
                    f"failed (the connection closed after {out.tell()} of "
                    f"{announced} bytes)"
                )
        result, problem = check(Path(tmp))
        if result is None:
            return None, f"downloaded file is {problem}"
        os.replace(tmp, dest)
        return result, ""
    except (OSError, http.client.HTTPException, ValueError) as err:
        # URLError, timeouts and disk errors are OSErrors; a connection cut
        # mid-transfer is an HTTPException; a malformed URL a ValueError.
        if isinstance(err, urllib.error.HTTPError):
            return None, f"failed (HTTP error {err.code}: {err.reason})"
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


# ------------------------------------------- d2l's download and extract

# Where the data files of *Dive into Deep Learning* live (d2l.torch's DATA_URL).
DATA_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"

_SHA1 = re.compile(r"[0-9a-fA-F]{40}")
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".gz")


def download(
    url: str, folder: str | os.PathLike | None = None, sha1_hash: str | None = None
) -> str:
    """Download ``url`` into ``folder`` and return the local file's path, as d2l's ``download``.

    ``folder=None`` is the data directory (``data_dir()``). The file keeps the
    last part of the URL as its name. With ``sha1_hash``, a file already there
    whose SHA-1 matches is used without downloading, and a download is kept only
    if its SHA-1 matches; without it nothing can be verified, so every call
    downloads afresh (as d2l's does). A download goes to a temporary file in
    ``folder`` that is renamed only once complete and verified: a failure
    (HTTP error, no network, a cut connection, a wrong checksum, a folder that
    cannot be written) raises ``RuntimeError`` saying what failed and what to
    do, and leaves ``folder`` as it was.
    """
    name = _file_name(url)
    if sha1_hash is not None and not (
        isinstance(sha1_hash, str) and _SHA1.fullmatch(sha1_hash)
    ):
        raise ValueError(
            f"download: sha1_hash must be 40 hexadecimal digits (a SHA-1), got "
            f"{sha1_hash!r}; e.g. sha1_hash='585e9cc93e70b39160e7921475f9bcd7d31219ce', "
            "or None to skip the check."
        )
    expected = sha1_hash.lower() if sha1_hash else None
    dest = (Path(folder).expanduser() if folder is not None else data_dir()) / name
    if expected and dest.is_file() and _sha1(dest) == expected:
        return str(dest)
    print(f"Downloading {_shown(dest)} from {url}...", flush=True)
    digest, problem = _fetch_verified(
        url, dest, lambda tmp: _sha1_checked(tmp, expected)
    )
    if digest is None:
        raise RuntimeError(_download_failed(url, dest, problem, expected))
    return str(dest)


def extract(
    filename: str | os.PathLike, folder: str | os.PathLike | None = None
) -> None:
    """Unpack the zip or tar archive ``filename`` into ``folder``, as d2l's ``extract``.

    ``folder=None`` is the archive's own folder. Archives ending in ``.zip``,
    ``.tar``, ``.tar.gz``, ``.tgz`` or ``.gz`` (a gzipped tar) are accepted;
    anything else is a ``ValueError``. Every member is checked before anything
    is written: a path that would land outside ``folder`` (absolute, or with
    ``..``), a link that points outside it, or a device file stops the
    extraction with a ``ValueError``, and nothing is extracted.
    """
    path = Path(filename).expanduser()
    target = Path(folder).expanduser() if folder is not None else path.parent
    lower = path.name.lower()
    kind = None
    if lower.endswith(".zip"):
        kind = "zip"
    elif lower.endswith(_TAR_SUFFIXES):
        kind = "tar"
    if kind is None:
        raise ValueError(
            f"extract: {path.name} is not a zip or tar archive (it must end in .zip, "
            ".tar, .tar.gz, .tgz or .gz); to read one compressed file, open it with "
            "gzip.open, bz2.open or lzma.open instead."
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"extract: no file {_shown(path)}; download it first, e.g. "
            "d2l.extract(d2l.download(url, folder, sha1_hash))."
        )
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    _check_member(path, target, info.filename)
                archive.extractall(target)
        else:
            with tarfile.open(path) as archive:
                for member in archive.getmembers():
                    _check_tar_member(path, target, member)
                if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
                    archive.extractall(target, filter="data")
                else:
                    archive.extractall(target)
    except (zipfile.BadZipFile, tarfile.ReadError, EOFError, zlib.error) as err:
        single = (
            " (a single gzipped file is read with gzip.open)" if kind == "tar" else ""
        )
        raise ValueError(
            f"extract: {_shown(path)} is not a complete {kind} archive{single}: {err}. "
            "If its download was cut short, download it again (with sha1_hash, "
            "d2l.download checks the file)."
        ) from err


def _file_name(url: str) -> str:
    """The file name a download of ``url`` is saved under: the last part of its path."""
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    name = parts.path.rsplit("/", 1)[-1] if parts else ""
    if not parts or not parts.scheme or name in ("", ".", "..") or "\\" in name:
        raise ValueError(
            f"download: url must be a full URL that ends in a file name, got {url!r}; "
            "e.g. d2l.download(d2l.DATA_URL + 'kaggle_house_pred_train.csv')."
        )
    return name


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _sha1_checked(path: Path, expected: str | None) -> tuple[str | None, str]:
    digest = _sha1(path)
    if expected is not None and digest != expected:
        return None, f"not the expected one: its SHA-1 is {digest}, not {expected}"
    return digest, ""


def _download_failed(url: str, dest: Path, problem: str, expected: str | None) -> str:
    where = _shown(dest)
    if CANNOT_WRITE in problem:
        todo = (
            "pass a folder you can write to, e.g. d2l.download(url, 'data', sha1_hash), "
            f"or point ${DATA_ENV} at one."
        )
    elif problem.startswith("downloaded file is"):
        todo = (
            "try again (a download can be damaged on the way); if it keeps failing, the "
            "file on the server differs from the one sha1_hash names: check the URL and "
            "the hash."
        )
    else:
        todo = (
            "check the URL and the network connection, then try again; or save the file "
            f"as {where} yourself"
            + (
                " (a copy with the expected SHA-1 is used without downloading)."
                if expected
                else "."
            )
        )
    return f"download: {url}: {problem}. Nothing was saved to {where}.\nTo fix this: {todo}"


def _check_member(archive: Path, target: Path, name: str, link: str = "") -> None:
    """Refuse a member whose path, or whose link's target ``link``, is outside ``target``.

    ``link`` is a path relative to the archive's root: for a symbolic link, its
    folder joined with the link's text.
    """
    root = target.resolve()
    path = link or name
    if Path(path).is_absolute() or not (root / path).resolve().is_relative_to(root):
        what = "a link to a path" if link else "a path"
        raise ValueError(
            f"extract: {_shown(archive)} holds {name!r}, {what} outside "
            f"{_shown(target)}; nothing was extracted. Do not use this archive."
        )


def _check_tar_member(archive: Path, target: Path, member: tarfile.TarInfo) -> None:
    _check_member(archive, target, member.name)
    if member.issym():  # the link's text is relative to its own folder
        link = str(Path(member.name).parent / member.linkname)
        _check_member(archive, target, member.name, link)
    elif member.islnk():  # a hard link names another member, from the root
        _check_member(archive, target, member.name, member.linkname)
    elif not (member.isfile() or member.isdir()):
        raise ValueError(
            f"extract: {_shown(archive)} holds {member.name!r}, a device file or pipe; "
            "nothing was extracted. Only files, folders and links are extracted."
        )
