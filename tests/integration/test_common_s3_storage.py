"""S3Store against a real S3-protocol server process (moto's server mode) on loopback."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest

from services.common.errors import NotFound
from services.common.storage import S3Store, UploadTooLarge, open_store
from tests.support.s3_server import free_port, moto_s3_server, s3_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def s3(s3_endpoint: str, tmp_path: Path) -> S3Store:
    store = open_store(s3_settings(s3_endpoint, tmp_path, "lumiere-test"))
    assert isinstance(store, S3Store)
    return store


def test_round_trip_range_and_hash(s3: S3Store, tmp_path: Path) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    ref = s3.put_bytes("outputs/p1/animations/anim_0.mp4", data, "video/mp4")
    assert ref.uri == "s3://lumiere-test/outputs/p1/animations/anim_0.mp4"
    assert ref.size_bytes == len(data)
    assert s3.get_bytes(ref.key) == data
    assert s3.stat(ref.key) == len(data)
    part = s3.open_read(ref.key, offset=1000, length=10)
    assert part.read() == data[1000:1010]
    with s3.local_path(ref.key) as path:
        assert path.read_bytes() == data

    src = tmp_path / "keyframe.png"
    src.write_bytes(b"\x89PNG fake-but-opaque bytes")
    ref2 = s3.put_file("outputs/p1/seeds/seed_0.png", src, "image/png")
    assert s3.get_bytes(ref2.key) == src.read_bytes()


def test_missing_limit_and_delete(s3: S3Store) -> None:
    with pytest.raises(NotFound):
        s3.get_bytes("outputs/none/final_video.mp4")
    assert not s3.exists("outputs/none/final_video.mp4")
    with pytest.raises(UploadTooLarge):
        s3.put_stream("uploads/p2/audio.wav", io.BytesIO(b"x" * 2048), "audio/wav", max_bytes=1024)
    assert not s3.exists("uploads/p2/audio.wav")

    s3.put_bytes("outputs/p3/a.txt", b"a", "text/plain")
    s3.put_bytes("outputs/p3/b/c.txt", b"c", "text/plain")
    s3.put_bytes("outputs/p30/keep.txt", b"k", "text/plain")
    assert s3.delete_prefix("outputs/p3") == 2
    assert not s3.exists("outputs/p3/a.txt")
    assert s3.exists("outputs/p30/keep.txt")


def test_an_s3_that_comes_back_within_the_outage_window_is_waited_for(tmp_path: Path) -> None:
    # Issue 14: S3 down for a few seconds (a restart) failed every stage storing an artifact;
    # minio's own client gives up after about a second.
    port = free_port()
    settings = s3_settings(f"127.0.0.1:{port}", tmp_path, "lumiere-outage")
    with moto_s3_server(port=port):
        store = S3Store(settings)
    # The server is gone (refusing connections); it comes back 8 s into the next call.
    result: dict[str, object] = {}

    def put() -> None:
        try:
            result["ref"] = store.put_bytes("outputs/p9/concept.json", b"{}", "application/json")
        except Exception as exc:  # noqa: BLE001 - reported below
            result["error"] = exc

    writer = threading.Thread(target=put)
    started = time.monotonic()
    writer.start()
    time.sleep(8.0)
    with moto_s3_server(port=port):
        S3Store(settings)  # a fresh server: make the bucket again
        writer.join(timeout=60)
        assert "error" not in result, result
        assert time.monotonic() - started >= 8.0
        assert store.get_bytes("outputs/p9/concept.json") == b"{}"
