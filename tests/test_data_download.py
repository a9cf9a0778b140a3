"""`download` against a zip made here and served by http.server on 127.0.0.1 (never the internet)."""

import functools
import http.server
import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganlab.data.download import DATASETS, DatasetSpec, download
from ganlab.data.errors import DataError

COUNTS = {"trainA": 3, "trainB": 2, "testA": 1, "testB": 1}


def _png(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((4, 4, 3), seed, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _zip(path: Path, counts: dict[str, int]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for folder, n in counts.items():
            for i in range(n):
                z.writestr(f"tiny/{folder}/{i}.png", _png(i))
    return path


class _Server:
    """Serves `folder` on 127.0.0.1 (a free port), counting requests."""

    def __init__(self, folder: Path):
        self.hits = 0
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                server.hits += 1
                super().do_GET()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    s = _Server(www)
    s.www = www
    yield s
    s.close()


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_download_extract_verify_then_idempotent(served, tmp_path):
    _zip(served.www / "tiny.zip", COUNTS)
    spec = DatasetSpec(url=f"{served.base}/tiny.zip", folders=COUNTS)
    root = tmp_path / "data" / "tiny"
    assert download("tiny", root=root, spec=spec) == root
    assert sorted(p.name for p in root.iterdir()) == sorted(COUNTS)
    assert len(list((root / "trainA").glob("*.png"))) == 3
    assert _leftovers(root.parent) == []  # no temp files or dirs left beside it
    assert served.hits == 1
    assert download("tiny", root=root, spec=spec) == root  # already valid: no download
    assert served.hits == 1
    download("tiny", root=root, spec=spec, force=True)  # force: fetched again, replaced in place
    assert served.hits == 2 and len(list((root / "trainB").glob("*.png"))) == 2
    assert _leftovers(root.parent) == []


def test_url_override(served, tmp_path):
    _zip(served.www / "mirror.zip", COUNTS)
    spec = DatasetSpec(url="http://127.0.0.1:9/never-used.zip", folders=COUNTS)
    download("tiny", root=tmp_path / "t", spec=spec, url=f"{served.base}/mirror.zip")
    assert (tmp_path / "t" / "testB").is_dir()


def test_corrupt_zip_leaves_nothing(served, tmp_path):
    good = _zip(tmp_path / "good.zip", COUNTS).read_bytes()
    (served.www / "cut.zip").write_bytes(good[: len(good) // 2])
    (served.www / "junk.zip").write_bytes(b"this is not a zip" * 100)
    for name in ("cut.zip", "junk.zip"):
        root = tmp_path / "data" / name
        with pytest.raises(DataError, match="zip"):
            download("tiny", root=root, spec=DatasetSpec(url=f"{served.base}/{name}", folders=COUNTS))
        assert not root.exists()
        assert _leftovers(root.parent) == []


def test_bad_crc_detected(served, tmp_path):
    data = bytearray(_zip(tmp_path / "ok.zip", {"trainA": 1}).read_bytes())
    payload = _png(0)
    at = bytes(data).find(payload[8:24])  # stored uncompressed: flip a byte inside a member
    data[at + 4] ^= 0xFF
    (served.www / "crc.zip").write_bytes(bytes(data))
    root = tmp_path / "data" / "crc"
    with pytest.raises(DataError, match="corrupt"):
        download("tiny", root=root, spec=DatasetSpec(url=f"{served.base}/crc.zip", folders={"trainA": 1}))
    assert not root.exists()


def test_wrong_counts_and_missing_folder(served, tmp_path):
    _zip(served.www / "short.zip", {**COUNTS, "trainA": 2, "testB": 0})
    root = tmp_path / "data" / "short"
    with pytest.raises(DataError) as e:
        download("tiny", root=root, spec=DatasetSpec(url=f"{served.base}/short.zip", folders=COUNTS))
    assert "trainA/ has 2 images, expected 3" in str(e.value) and "missing folder testB/" in str(e.value)
    assert not root.exists() and _leftovers(root.parent) == []


def test_http_error_and_unknown_name(served, tmp_path):
    root = tmp_path / "data" / "x"
    with pytest.raises(DataError, match="failed.*404"):
        download("tiny", root=root, spec=DatasetSpec(url=f"{served.base}/absent.zip", folders=COUNTS))
    assert not root.exists() and _leftovers(root.parent) == []
    with pytest.raises(DataError, match="unknown dataset 'nope'.*horse2zebra"):
        download("nope", root=root)


def test_existing_invalid_root_is_not_touched(tmp_path):
    root = tmp_path / "h2z"
    (root / "trainA").mkdir(parents=True)
    with pytest.raises(DataError, match="exists but is not a valid"):
        download("horse2zebra", root=root, url="http://127.0.0.1:9/unused.zip")
    assert (root / "trainA").is_dir()


def test_registry_horse2zebra():
    spec = DATASETS["horse2zebra"]
    assert spec.url == "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip"
    assert spec.folders == {"trainA": 1067, "trainB": 1334, "testA": 120, "testB": 140}
