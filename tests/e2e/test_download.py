"""Dataset download against zips built here and served by http.server on 127.0.0.1 (port 0, a
thread): never the internet. Success / idempotence / force / failures leave nothing behind."""

import functools
import http.server
import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganlab.data.download import DATASETS, DatasetSpec, check_layout, download
from ganlab.data.errors import DataError
from ganlab.data.folders import UnpairedFolders

SMALL = {"trainA": 3, "trainB": 4, "testA": 1, "testB": 2}


def _png(value: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((6, 6, 3), value, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def make_zip(path: Path, counts: dict[str, int], *, top: str = "horse2zebra", tag: int = 0) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for folder, n in counts.items():
            for i in range(n):
                z.writestr(f"{top}/{folder}/{tag}_{i}.png", _png(10 * i + tag))
    return path


class Server:
    """Serves a folder on 127.0.0.1:<free port> from a thread, counting GET requests."""

    def __init__(self, folder: Path):
        self.hits = 0
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     functools.partial(Handler, directory=str(folder)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "www"
    folder.mkdir()
    server = Server(folder)
    yield folder, server
    server.close()


def _leftovers(parent: Path, root: Path) -> list[str]:
    """Anything download() created in root's parent besides root itself (temp dirs, partial files)."""
    return sorted(p.name for p in parent.iterdir() if p != root)


def test_registry_spec():
    spec = DATASETS["horse2zebra"]
    assert spec.folders == {"trainA": 1067, "trainB": 1334, "testA": 120, "testB": 140}
    assert spec.url.startswith("https://") and spec.url.endswith("horse2zebra.zip")


def test_download_success_idempotent_force(served, tmp_path):
    www, server = served
    make_zip(www / "h2z.zip", SMALL)
    url = server.url("h2z.zip")
    spec = DatasetSpec(url=url, folders=SMALL)
    parent = tmp_path / "data"
    root = parent / "h2z"

    assert download("horse2zebra", root=root, spec=spec) == root
    assert server.hits == 1
    assert check_layout(root, spec) == []
    assert sorted(p.name for p in root.iterdir()) == ["testA", "testB", "trainA", "trainB"]
    assert len(list((root / "trainB").glob("*.png"))) == 4
    assert _leftovers(parent, root) == []
    # the result loads as the horse2zebra data does
    ds = UnpairedFolders(root_a=root / "trainA", root_b=root / "trainB", image_size=4, augment=False)
    assert len(ds) == 4 and ds[0]["A"].shape == (3, 4, 4)

    # a second call finds it valid and does not touch the network
    mtime = (root / "trainA").stat().st_mtime_ns
    assert download("horse2zebra", root=root, url=url, spec=spec) == root
    assert server.hits == 1
    assert (root / "trainA").stat().st_mtime_ns == mtime

    # force=True fetches again and replaces the old copy
    (root / "trainA" / "stale.txt").write_text("old")
    make_zip(www / "h2z.zip", SMALL, tag=7)
    assert download("horse2zebra", root=root, url=url, spec=spec, force=True) == root
    assert server.hits == 2
    assert not (root / "trainA" / "stale.txt").exists()
    assert sorted(p.name for p in (root / "trainA").iterdir()) == ["7_0.png", "7_1.png", "7_2.png"]
    assert _leftovers(parent, root) == []


def test_download_zip_without_top_folder(served, tmp_path):
    www, server = served
    # a zip whose members are trainA/..., not horse2zebra/trainA/...
    with zipfile.ZipFile(www / "flat2.zip", "w") as z:
        for folder, n in SMALL.items():
            for i in range(n):
                z.writestr(f"{folder}/{i}.png", _png(i))
    root = tmp_path / "flat"
    download("horse2zebra", root=root, spec=DatasetSpec(url=server.url("flat2.zip"), folders=SMALL))
    assert check_layout(root, DatasetSpec(url="", folders=SMALL)) == []


def test_download_corrupt_zip(served, tmp_path):
    www, server = served
    (www / "bad.zip").write_bytes(b"PK\x03\x04 this is not really a zip" * 50)
    parent = tmp_path / "data"
    root = parent / "h2z"
    with pytest.raises(DataError, match="not a valid zip"):
        download("horse2zebra", root=root, spec=DatasetSpec(url=server.url("bad.zip"), folders=SMALL))
    assert not root.exists()
    assert _leftovers(parent, root) == []


def test_download_crc_error(served, tmp_path):
    """A zip whose member bytes were damaged in transit: the CRC check catches it."""
    www, server = served
    good = make_zip(tmp_path / "good.zip", SMALL).read_bytes()
    payload = _png(0)
    i = good.index(payload[20:40])  # inside the first member's (stored) data
    damaged = good[:i] + bytes(b ^ 0xFF for b in good[i:i + 8]) + good[i + 8:]
    (www / "crc.zip").write_bytes(damaged)
    root = tmp_path / "data" / "h2z"
    with pytest.raises(DataError) as e:
        download("horse2zebra", root=root, spec=DatasetSpec(url=server.url("crc.zip"), folders=SMALL))
    assert "corrupt" in str(e.value) or "not a valid zip" in str(e.value)
    assert not root.exists()
    assert _leftovers(root.parent, root) == []


def test_download_wrong_counts_and_missing_folder(served, tmp_path):
    www, server = served
    make_zip(www / "short.zip", {"trainA": 3, "trainB": 1, "testA": 1})
    root = tmp_path / "data" / "h2z"
    with pytest.raises(DataError) as e:
        download("horse2zebra", root=root, spec=DatasetSpec(url=server.url("short.zip"), folders=SMALL))
    msg = str(e.value)
    assert "trainB/ has 1 images, expected 4" in msg and "missing folder testB/" in msg
    assert not root.exists()
    assert _leftovers(root.parent, root) == []


def test_download_http_error(served, tmp_path):
    _, server = served
    root = tmp_path / "data" / "h2z"
    url = server.url("nothing-here.zip")
    with pytest.raises(DataError) as e:
        download("horse2zebra", root=root, spec=DatasetSpec(url=url, folders=SMALL))
    assert url in str(e.value) and "404" in str(e.value)
    assert not root.exists()
    assert _leftovers(root.parent, root) == []


def test_download_existing_invalid_root(served, tmp_path):
    _, server = served
    root = tmp_path / "h2z"
    (root / "trainA").mkdir(parents=True)
    with pytest.raises(DataError) as e:
        download("horse2zebra", root=root, spec=DatasetSpec(url=server.url("x.zip"), folders=SMALL))
    assert str(root) in str(e.value) and "force=true" in str(e.value)
    assert server.hits == 0
    assert (root / "trainA").is_dir()  # left as it was


def test_download_unknown_dataset(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'nope'"):
        download("nope", root=tmp_path / "x")


# ---------------------------------------------------------------- the real command

def test_cli_download_wrong_counts(served, tmp_path, ganlab):
    """The registry expects 1067/1334/120/140 images: a tiny zip fails the count check, with a
    clear message, and nothing is left at root or beside it."""
    www, server = served
    make_zip(www / "h2z.zip", SMALL)
    parent = tmp_path / "dl"
    root = parent / "h2z"
    p = ganlab("data", "download", "horse2zebra", "--root", str(root), "--url", server.url('h2z.zip'), check=False)
    assert p.returncode != 0
    err = " ".join(p.stderr.split())  # rich wraps long lines
    assert "expected 1067" in err and "trainA/ has 3 images" in err
    assert server.hits == 1
    assert not root.exists()
    assert _leftovers(parent, root) == []


def test_cli_download_usage(ganlab, tmp_path):
    p = ganlab("data", "download", "nope", check=False)
    assert p.returncode == 2 and "'nope' is not 'horse2zebra'" in p.stderr
    assert not (tmp_path / "data").exists()
