"""LocalStore behaviour: keys, hashes, limits, atomic writes, deletes."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from services.common.errors import InvalidInput, NotFound
from services.common.storage import LocalStore, UploadTooLarge, validate_key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../x",
        "uploads/../../x",
        "uploads//x",
        "a/./b",
        "a\\b",
        "a b",
        "a/.hidden",
    ],
)
def test_keys_that_could_escape_or_confuse_are_rejected(key: str) -> None:
    with pytest.raises(InvalidInput):
        validate_key(key)


def test_put_and_get_round_trip_with_hash(store: LocalStore) -> None:
    data = b"lumiere" * 1000
    ref = store.put_bytes("outputs/p1/concept.json", data, "application/json")
    assert ref.key == "outputs/p1/concept.json"
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert ref.size_bytes == len(data)
    assert ref.uri.startswith("file://")
    assert store.get_bytes(ref.key) == data
    assert store.exists(ref.key) and store.stat(ref.key) == len(data)
    with store.open_read(ref.key, offset=7) as fh:
        assert fh.read(7) == b"lumiere"


def test_stream_over_limit_keeps_nothing(store: LocalStore) -> None:
    with pytest.raises(UploadTooLarge, match="MiB limit"):
        store.put_stream("uploads/p/audio.mp3", io.BytesIO(b"x" * (3 << 20)), "audio/mpeg", 2 << 20)
    assert not store.exists("uploads/p/audio.mp3")
    assert not any(p.is_file() for p in (store.root / "uploads").rglob("*"))


def test_missing_artifact_is_not_found(store: LocalStore) -> None:
    with pytest.raises(NotFound):
        store.get_bytes("outputs/nope/final_video.mp4")
    with pytest.raises(NotFound), store.local_path("outputs/nope/x.png"):
        pass


def test_put_file_and_delete_prefix(store: LocalStore, tmp_path: Path) -> None:
    src = tmp_path / "a.bin"
    src.write_bytes(b"abc")
    store.put_file("outputs/p2/seeds/a.png", src, "image/png")
    store.put_file("outputs/p2/seeds/b.png", src, "image/png")
    store.put_file("outputs/p3/seeds/a.png", src, "image/png")
    assert store.delete_prefix("outputs/p2") == 2
    assert not store.exists("outputs/p2/seeds/a.png")
    assert store.exists("outputs/p3/seeds/a.png")
