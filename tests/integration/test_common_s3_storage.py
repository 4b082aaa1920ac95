"""S3Store against a real S3-protocol server process (moto's server mode) on loopback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from services.common.errors import NotFound
from services.common.storage import S3Store, UploadTooLarge, open_store
from tests.support.s3_server import s3_settings

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
