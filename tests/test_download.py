"""d2l's download helpers: download, extract, DATA_URL, DataModule's root, board.display.

Downloads are tested against a local HTTP server on 127.0.0.1 (``http.server`` in a thread)
that serves files generated here, and can answer 404, cut the connection mid-file, or send
slowly so that downloads overlap. The last part runs the flow of the book's Kaggle section in
its idiom, on our own data: a ``DataModule`` subclass that downloads two CSV files with
``d2l.download(d2l.DATA_URL + name, self.root, sha1)``, reads them with pandas, and a K-fold
loop that draws only the first fold (``model.board.display = False``).
"""

from __future__ import annotations

import errno
import hashlib
import http.server
import io
import os
import socket
import tarfile
import tempfile
import textwrap
import threading
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import torch
from nbclient import NotebookClient

import d2lutil as d2l
from d2lutil import _datasets


def sha1(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()


# ------------------------------------------------------- a local HTTP server


class Server(http.server.ThreadingHTTPServer):
    """Serves ``routes[path] = (content, how)``; anything else is a 404.

    ``how``: ``"whole"``; ``"cut"`` (announce the whole length, send half, close);
    ``"cut-chunked"`` (chunked transfer, closed after the first chunk); ``"slow"``
    (the whole file in 16 pieces, 10 ms apart). ``hits`` counts requests per path;
    ``most_at_once`` is the largest number of requests served at the same time.
    """

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.active = self.most_at_once = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: Server = self.server
        with server.lock:
            server.hits[self.path] += 1
            server.active += 1
            server.most_at_once = max(server.most_at_once, server.active)
        try:
            self.answer(*server.routes.get(self.path, (b"", "missing")))
        finally:
            with server.lock:
                server.active -= 1

    def answer(self, content: bytes, how: str) -> None:
        if how == "missing":
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if how == "cut-chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = content[: len(content) // 2]
            self.wfile.write(f"{len(half):x}\r\n".encode() + half + b"\r\n")
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)  # no closing chunk
            return
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if how == "cut":
            self.wfile.write(content[: len(content) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        elif how == "slow":
            step = -(-len(content) // 16)
            for start in range(0, len(content), step):
                self.wfile.write(content[start : start + step])
                self.wfile.flush()
                time.sleep(0.01)
        else:
            self.wfile.write(content)

    def log_message(self, format, *args) -> None:
        pass  # keep the test output clean


@pytest.fixture
def server():
    httpd = Server()
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.fixture
def folder(tmp_path) -> Path:
    return tmp_path / "data"


CONTENT = bytes(range(256)) * 40  # 10,240 bytes: several reads, not one


def listing(path: Path) -> list[str]:
    """Every file under ``path``, temporary ones included (relative names, sorted)."""
    if not path.exists():
        return []
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


# ----------------------------------------------------------------- download


def test_a_good_download_returns_the_path_of_the_verified_file(server, folder, capsys):
    server.routes["/table.csv"] = (CONTENT, "whole")
    path = d2l.download(server.url + "table.csv", folder, sha1(CONTENT))
    assert isinstance(path, str)
    assert path == str(folder / "table.csv")
    assert Path(path).read_bytes() == CONTENT
    assert listing(folder) == ["table.csv"]  # no temporary file left
    assert capsys.readouterr().out == (
        f"Downloading {folder / 'table.csv'} from {server.url}table.csv...\n"
    )


def test_folder_none_is_the_data_directory(server, tmp_path, monkeypatch):
    monkeypatch.setenv("D2LUTIL_DATA", str(tmp_path / "home"))
    server.routes["/table.csv"] = (CONTENT, "whole")
    path = d2l.download(server.url + "table.csv", sha1_hash=sha1(CONTENT).upper())
    assert path == str(d2l.data_dir() / "table.csv") == str(tmp_path / "home/table.csv")
    # the file name is the URL's last path segment, without its query string
    server.routes["/v2/table.csv?x=1"] = (CONTENT, "whole")
    assert d2l.download(server.url + "v2/table.csv?x=1", tmp_path / "v2").endswith(
        "v2/table.csv"
    )


def test_a_matching_file_is_reused_without_a_request(server, folder, capsys):
    server.routes["/table.csv"] = (CONTENT, "whole")
    first = d2l.download(server.url + "table.csv", folder, sha1(CONTENT))
    capsys.readouterr()
    assert d2l.download(server.url + "table.csv", folder, sha1(CONTENT)) == first
    assert server.hits["/table.csv"] == 1
    assert capsys.readouterr().out == ""  # nothing downloaded, nothing said


def test_a_copy_that_does_not_match_is_replaced(server, folder):
    server.routes["/table.csv"] = (CONTENT, "whole")
    folder.mkdir()
    (folder / "table.csv").write_bytes(b"an older version")
    path = d2l.download(server.url + "table.csv", folder, sha1(CONTENT))
    assert Path(path).read_bytes() == CONTENT
    assert server.hits["/table.csv"] == 1
    assert listing(folder) == ["table.csv"]


def test_without_a_hash_every_call_downloads_as_in_d2l(server, folder):
    server.routes["/table.csv"] = (CONTENT, "whole")
    d2l.download(server.url + "table.csv", folder)
    server.routes["/table.csv"] = (CONTENT[::-1], "whole")  # the server's file changed
    path = d2l.download(server.url + "table.csv", folder)
    assert server.hits["/table.csv"] == 2
    assert Path(path).read_bytes() == CONTENT[::-1]


def test_a_bad_checksum_keeps_nothing_and_says_what_to_do(server, folder):
    server.routes["/table.csv"] = (CONTENT, "whole")
    expected = sha1(b"some other file")
    with pytest.raises(RuntimeError) as err:
        d2l.download(server.url + "table.csv", folder, expected)
    message = str(err.value)
    assert f"its SHA-1 is {sha1(CONTENT)}, not {expected}" in message
    assert f"Nothing was saved to {folder / 'table.csv'}" in message
    assert "check the URL and the hash" in message
    assert listing(folder) == []


def test_a_failed_download_leaves_an_existing_copy_untouched(server, folder):
    server.routes["/table.csv"] = (CONTENT, "whole")
    folder.mkdir()
    (folder / "table.csv").write_bytes(b"an older version")
    with pytest.raises(RuntimeError, match="not the expected one"):
        d2l.download(server.url + "table.csv", folder, sha1(b"a third version"))
    assert (folder / "table.csv").read_bytes() == b"an older version"
    assert listing(folder) == ["table.csv"]


def test_a_404_is_reported_with_the_url(server, folder):
    url = server.url + "missing.csv"
    with pytest.raises(RuntimeError) as err:
        d2l.download(url, folder, sha1(CONTENT))
    message = str(err.value)
    assert message.startswith(f"download: {url}: failed (HTTP error 404: Not Found)")
    assert "check the URL and the network connection" in message
    assert f"save the file as {folder / 'missing.csv'} yourself" in message
    assert "used without downloading" in message
    assert listing(folder) == []


def test_no_network_is_reported(folder):
    with socket.socket() as probe:  # a port that nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RuntimeError) as err:
        d2l.download(f"http://127.0.0.1:{port}/table.csv", folder)
    message = str(err.value)
    assert "failed (" in message
    assert "refused" in message.lower()
    assert "check the URL and the network connection" in message
    assert listing(folder) == []


@pytest.mark.parametrize("how", ["cut", "cut-chunked"])
@pytest.mark.parametrize("with_hash", [True, False])
def test_a_connection_cut_mid_file_keeps_nothing(server, folder, how, with_hash):
    server.routes["/table.csv"] = (CONTENT, how)
    with pytest.raises(RuntimeError) as err:
        d2l.download(
            server.url + "table.csv", folder, sha1(CONTENT) if with_hash else None
        )
    message = str(err.value)
    if how == "cut":  # caught by the announced length, even without a hash
        assert "the connection closed after 5120 of 10240 bytes" in message
    else:
        assert "IncompleteRead" in message
    assert listing(folder) == []


def test_a_folder_that_is_a_file_is_reported(server, tmp_path):
    server.routes["/table.csv"] = (CONTENT, "whole")
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(RuntimeError) as err:
        d2l.download(server.url + "table.csv", blocker, sha1(CONTENT))
    message = str(err.value)
    assert f"cannot write to {blocker}" in message
    assert "pass a folder you can write to" in message
    assert "D2LUTIL_DATA" in message
    assert server.hits["/table.csv"] == 0  # nothing was fetched in vain


def test_a_read_only_folder_is_reported(server, folder, monkeypatch):
    server.routes["/table.csv"] = (CONTENT, "whole")
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # root ignores the mode: deny as the OS would

            def denied(*args, **kwargs):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

            monkeypatch.setattr(tempfile, "mkstemp", denied)
        with pytest.raises(RuntimeError) as err:
            d2l.download(server.url + "table.csv", folder, sha1(CONTENT))
    finally:
        folder.chmod(0o755)
    message = str(err.value)
    assert f"cannot write to {folder} (Permission denied)" in message
    assert "D2LUTIL_DATA" in message
    assert listing(folder) == []


def test_concurrent_downloads_of_one_file_all_get_the_whole_file(server, folder):
    content = os.urandom(1 << 18)  # 256 KiB in 16 slow pieces: the downloads overlap
    server.routes["/big.bin"] = (content, "slow")
    dest = folder / "big.bin"
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:  # whoever reads the file meanwhile sees all of it or nothing
        while not done.is_set():
            try:
                seen.append(len(dest.read_bytes()))
            except FileNotFoundError:
                pass
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            url = server.url + "big.bin"
            paths = list(pool.map(lambda _: d2l.download(url, folder), range(4)))
    finally:
        done.set()
        watcher.join()
    assert server.most_at_once >= 2  # they did run at the same time
    assert paths == [str(dest)] * 4
    assert dest.read_bytes() == content
    assert set(seen) <= {len(content)}
    assert listing(folder) == ["big.bin"]


@pytest.mark.parametrize(
    ("url", "sha1_hash", "match"),
    [
        ("kaggle_house_train", None, "must be a full URL"),
        ("http://127.0.0.1/data/", None, "ends in a file name"),
        ("http://127.0.0.1/a.csv", "abc", "sha1_hash must be 40 hexadecimal digits"),
        ("http://127.0.0.1/a.csv", "g" * 40, "sha1_hash must be 40 hexadecimal"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(url, sha1_hash, match, folder):
    with pytest.raises(ValueError, match=match):
        d2l.download(url, folder, sha1_hash)
    assert not folder.exists()


def test_data_url_is_d2ls():
    assert d2l.DATA_URL == "http://d2l-data.s3-accelerate.amazonaws.com/"
    assert d2l.data.DATA_URL is _datasets.DATA_URL
    for name in ("download", "extract", "DATA_URL"):
        assert name in d2l.__all__


# ------------------------------------------------------------------ extract

FILES = {"corpus/a.txt": b"alpha\n", "corpus/sub/b.txt": b"beta\n"}


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def tar_info(name: str, size: int = 0, **fields) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def make_tar(path: Path, files: dict[str, bytes], extra=()) -> Path:
    mode = "w:gz" if path.name.endswith(("gz", ".tgz")) else "w"
    with tarfile.open(path, mode) as archive:
        for name, content in files.items():
            archive.addfile(tar_info(name, len(content)), io.BytesIO(content))
        for info in extra:
            archive.addfile(info)
    return path


def test_extract_a_zip_next_to_it_or_into_a_folder(tmp_path):
    archive = make_zip(tmp_path / "corpus.zip", FILES)
    assert d2l.extract(archive) is None  # as d2l's
    for name, content in FILES.items():
        assert (tmp_path / name).read_bytes() == content
    d2l.extract(str(archive), tmp_path / "elsewhere")
    assert listing(tmp_path / "elsewhere") == [
        "corpus", "corpus/a.txt", "corpus/sub", "corpus/sub/b.txt"
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["corpus.tar.gz", "corpus.tgz", "corpus.tar", "c.gz"])
def test_extract_a_tar(tmp_path, name):
    link = tar_info("corpus/link.txt", type=tarfile.SYMTYPE, linkname="sub/b.txt")
    archive = make_tar(tmp_path / name, FILES, [link])
    d2l.extract(archive, tmp_path / "out")
    for member, content in FILES.items():
        assert (tmp_path / "out" / member).read_bytes() == content
    assert (tmp_path / "out/corpus/link.txt").read_bytes() == b"beta\n"


ESCAPES = {
    "dot-dot": tar_info("../evil.txt", 5),
    "absolute": tar_info("/tmp/d2lutil-test-evil.txt", 5),
    "deep dot-dot": tar_info("corpus/../../evil.txt", 5),
    "symlink out": tar_info("corpus/l", type=tarfile.SYMTYPE, linkname="../../x"),
    "absolute symlink": tar_info("l", type=tarfile.SYMTYPE, linkname="/etc/passwd"),
    "hard link out": tar_info("h", type=tarfile.LNKTYPE, linkname="../x"),
}


@pytest.mark.parametrize("member", ESCAPES.values(), ids=ESCAPES.keys())
def test_a_tar_member_escaping_the_folder_extracts_nothing(tmp_path, member):
    archive = tmp_path / "bad.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.addfile(tar_info("corpus/first.txt", 5), io.BytesIO(b"first"))
        tar.addfile(member, io.BytesIO(b"evil!") if member.isfile() else None)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="outside") as err:
        d2l.extract(archive, out)
    assert f"holds {member.name!r}" in str(err.value)
    assert "nothing was extracted" in str(err.value)
    assert listing(out) == []  # not even the good member before it
    assert not (tmp_path / "evil.txt").exists()
    assert not Path("/tmp/d2lutil-test-evil.txt").exists()


def test_a_zip_member_escaping_the_folder_extracts_nothing(tmp_path):
    archive = make_zip(tmp_path / "bad.zip", {"good.txt": b"ok", "../evil.txt": b"x"})
    with pytest.raises(ValueError, match=r"holds '\.\./evil\.txt', a path outside"):
        d2l.extract(archive, tmp_path / "out")
    assert listing(tmp_path / "out") == []
    assert not (tmp_path / "evil.txt").exists()


def test_a_device_file_in_a_tar_is_refused(tmp_path):
    archive = make_tar(
        tmp_path / "dev.tar", {}, [tar_info("null", type=tarfile.CHRTYPE)]
    )
    with pytest.raises(ValueError, match="a device file or pipe"):
        d2l.extract(archive, tmp_path / "out")


def test_what_is_not_an_archive_gets_a_clear_error(tmp_path):
    (tmp_path / "notes.rar").write_bytes(b"whatever")
    with pytest.raises(ValueError, match=r"notes.rar is not a zip or tar archive"):
        d2l.extract(tmp_path / "notes.rar")
    (tmp_path / "broken.zip").write_bytes(b"PK not really")
    with pytest.raises(ValueError, match=r"broken.zip is not a complete zip archive"):
        d2l.extract(tmp_path / "broken.zip")
    whole = make_tar(tmp_path / "whole.tar.gz", FILES).read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"cut.tar.gz is not a complete tar archive"):
        d2l.extract(tmp_path / "cut.tar.gz", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="download it first"):
        d2l.extract(tmp_path / "absent.zip")


def test_extract_after_download(server, folder):
    content = make_zip(folder.parent / "corpus.zip", FILES).read_bytes()
    server.routes["/corpus.zip"] = (content, "whole")
    d2l.extract(d2l.download(server.url + "corpus.zip", folder, sha1(content)))
    assert (folder / "corpus/sub/b.txt").read_bytes() == b"beta\n"


# -------------------------------------- DataModule's root and board.display


def test_datamodule_root_none_is_the_data_directory_as_a_string(tmp_path, monkeypatch):
    monkeypatch.setenv("D2LUTIL_DATA", str(tmp_path / "home"))
    data = d2l.DataModule()
    assert data.root == str(tmp_path / "home")
    assert data.root + "/fra-eng/fra.txt" == str(tmp_path / "home/fra-eng/fra.txt")
    assert data.hparams["root"] is None  # what was passed is kept
    assert d2l.DataModule(root="../data").root == "../data"
    assert d2l.DataModule(root=tmp_path).root == tmp_path
    data.root = "elsewhere"
    assert data.root == "elsewhere"


def test_a_subclass_saving_its_own_root_keeps_the_meaning(tmp_path, monkeypatch):
    monkeypatch.setenv("D2LUTIL_DATA", str(tmp_path))

    class Folder(d2l.DataModule):
        def __init__(self, root=None):
            super().__init__(root=root)
            self.save_hyperparameters()

    assert Folder().root == str(tmp_path)
    assert Folder("mine").root == "mine"


def trained_board(mode: str, display_after: list[bool]) -> d2l.ProgressBoard:
    board = d2l.ProgressBoard(xlabel="epoch", mode=mode)
    for display in display_after:
        board.display = display
    for epoch in range(1, 4):
        board.draw(epoch, 1.0 / epoch, "val_loss")
    board.show()
    return board


@pytest.mark.parametrize("mode", ["record", "terminal"])
def test_display_false_set_after_the_board_exists_draws_nothing(mode, capsys):
    board = trained_board(mode, [False])
    assert capsys.readouterr() == ("", "")
    assert board.mode == "off"
    assert board.display is False
    assert [p.y for p in board.data["val_loss"]] == [1.0, 0.5, 1.0 / 3]  # recorded
    again = trained_board(mode, [False, True])
    out, err = capsys.readouterr()
    assert again.mode == mode
    assert "val_loss 0.3333" in (out if mode == "record" else err)


def test_display_true_again_after_a_display_false_constructor(monkeypatch):
    monkeypatch.setenv("D2LUTIL_BOARD", "terminal")
    board = d2l.ProgressBoard(display=False)
    assert board.mode == "off"
    board.display = True
    assert board.mode == "terminal"
    assert d2l.ProgressBoard(mode="record", display=False).mode == "off"


KFOLD_CELLS = [
    """
    import torch
    import d2lutil as d2l
    d2l.seed(0)
    data = d2l.SyntheticRegressionData(w=torch.tensor([2, -3.4]), b=4.2, num_train=256)
    """,
    """
    for i in range(3):
        model = d2l.LinearRegressionScratch(2, lr=0.03)
        if i != 0:
            model.board.display = False
        d2l.Trainer(max_epochs=2).fit(model, data)
        print(len(model.board.data["val_loss"]))
    """,
    """
    model.board.display = True
    d2l.Trainer(max_epochs=2).fit(model, data)
    """,
    """
    board = d2l.ProgressBoard()
    board.draw(0, 1.0, "y")
    board.display = False
    board.draw(1, 2.0, "y")
    print(board.mode)
    """,
]


def test_in_a_recording_kernel_only_displayed_folds_show_a_figure(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(textwrap.dedent(c).strip()) for c in KFOLD_CELLS
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env={"OMP_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    folds = nb.cells[1].outputs
    assert [o["output_type"] for o in folds] == ["display_data", "stream"]
    assert "image/png" in folds[0]["data"]
    assert folds[1]["text"] == "2\n2\n2\n"  # every fold recorded its points
    assert [o["output_type"] for o in nb.cells[2].outputs] == ["display_data"]
    late = nb.cells[3].outputs  # switched off before the cell ended: no figure
    assert [(o["output_type"], o.get("text")) for o in late] == [("stream", "off\n")]


# ---------------------------------------------- the book's Kaggle flow, our data


def rent_tables(seed: int = 0) -> tuple[bytes, bytes]:
    """Two CSV files of made-up flats: monthly rent from area, rooms and district.

    log(rent) = 6 + 0.015 (area - 60) + 0.04 rooms + the district's effect + noise
    (standard deviation 0.05); some areas and districts are missing, as in real data.
    """
    rng = np.random.default_rng(seed)
    n = 700
    area = rng.uniform(20, 140, n).round(1)
    rooms = rng.integers(1, 6, n)
    district = rng.choice(["north", "centre", "south"], n)
    effect = pd.Series(district).map({"north": 0.0, "centre": 0.3, "south": -0.2})
    log_rent = 6 + 0.015 * (area - 60) + 0.04 * rooms + effect + rng.normal(0, 0.05, n)
    frame = pd.DataFrame(
        {"Id": np.arange(1, n + 1), "Area": area, "Rooms": rooms, "District": district}
    )
    frame.loc[rng.random(n) < 0.05, "Area"] = np.nan
    frame.loc[rng.random(n) < 0.05, "District"] = np.nan
    train = frame[:500].assign(Rent=np.exp(log_rent[:500]).round(2))
    return train.to_csv(index=False).encode(), frame[500:].to_csv(index=False).encode()


RENTS_TRAIN, RENTS_TEST = rent_tables()


class Rents(d2l.DataModule):
    """Rents of flats, fetched as the book fetches Kaggle's house prices."""

    def __init__(self, batch_size=50, train=None, val=None):
        super().__init__()
        self.save_hyperparameters()
        if self.train is None:
            self.raw_train = pd.read_csv(
                d2l.download(
                    d2l.DATA_URL + "rents_train.csv", self.root, sha1(RENTS_TRAIN)
                )
            )
            self.raw_test = pd.read_csv(
                d2l.download(
                    d2l.DATA_URL + "rents_test.csv",
                    self.root,
                    sha1_hash=sha1(RENTS_TEST),
                )
            )

    def features(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Standardized numbers (missing: the mean, 0) and one-hot districts; log rents."""
        both = pd.concat([self.raw_train.drop(columns="Rent"), self.raw_test])
        numbers = both[["Area", "Rooms"]]
        numbers = ((numbers - numbers.mean()) / numbers.std()).fillna(0.0)
        districts = pd.get_dummies(both["District"], dummy_na=True, dtype="float32")
        X = torch.tensor(pd.concat([numbers, districts], axis=1).to_numpy("float32"))
        y = torch.tensor(np.log(self.raw_train["Rent"].to_numpy("float32")))
        return X[: len(y)], y.reshape(-1, 1), X[len(y) :]

    def get_dataloader(self, train):
        return self.get_tensorloader(self.train if train else self.val, train)


def rent_folds(data: Rents, k: int):
    """K data modules: fold i validates on every k-th example starting at i."""
    X, y, _ = data.features()
    for i in range(k):
        val = torch.arange(i, len(y), k)
        train = torch.tensor([j for j in range(len(y)) if j % k != i])
        yield Rents(data.batch_size, train=(X[train], y[train]), val=(X[val], y[val]))


def test_the_books_kaggle_flow_on_a_local_server(server, tmp_path, monkeypatch, capsys):
    server.routes["/rents_train.csv"] = (RENTS_TRAIN, "whole")
    server.routes["/rents_test.csv"] = (RENTS_TEST, "whole")
    monkeypatch.setattr(d2l, "DATA_URL", server.url)
    monkeypatch.setenv("D2LUTIL_DATA", str(tmp_path / "home"))
    monkeypatch.setenv(
        "D2LUTIL_BOARD", "record"
    )  # a script: one summary line per shown fit

    data = Rents()
    assert data.raw_train.shape == (500, 5)
    assert data.raw_test.shape == (200, 4)
    assert listing(tmp_path / "home") == ["rents_test.csv", "rents_train.csv"]
    Rents()  # a second time: both files are reused
    assert server.hits == {"/rents_train.csv": 1, "/rents_test.csv": 1}
    capsys.readouterr()

    d2l.seed(0)
    trainer = d2l.Trainer(max_epochs=10)
    val_losses, models = [], []
    for i, fold in enumerate(rent_folds(data, k=5)):
        model = d2l.LinearRegression(lr=0.3)
        model.board.yscale = "log"
        if i != 0:
            model.board.display = False
        trainer.fit(model, fold)
        val_losses.append(float(model.board.data["val_loss"][-1].y))
        models.append(model)

    shown = [line for line in capsys.readouterr().out.splitlines() if line]
    assert len(shown) == 1  # the first fold only
    assert shown[0].startswith("epoch 10.00/10  train_loss ")
    assert [m.board.mode for m in models] == ["record"] + ["off"] * 4
    assert all(len(m.board.data["val_loss"]) == 10 for m in models)
    # The models find the rule the data were made with: the validation MSE of log rent is
    # near what the noise (0.05 ** 2) and the missing values leave (about 0.02), far below
    # the variance of log rent (what predicting the mean would score).
    _, y, X_test = data.features()
    assert max(val_losses) < 0.04
    assert float(y.var()) > 0.25
    assert models[0](X_test).shape == (200, 1)
