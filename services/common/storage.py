"""Artifact storage: a local directory (default) or an S3/MinIO bucket, behind one interface.

Artifacts are addressed by key ("outputs/{project}/concept.json"); every service that shares
a store resolves the same key to the same bytes. Keys are validated so that no caller-supplied
name can escape the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import urllib3
from lumiere.v1 import common_pb2

from services.common.errors import InvalidInput, NotFound
from services.common.settings import Settings

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*$")
_CHUNK = 1 << 20


class UploadTooLarge(InvalidInput):
    """A streamed upload went past its size limit; nothing was kept."""


def validate_key(key: str) -> str:
    if not key or len(key) > 512 or not _KEY_RE.match(key) or ".." in key.split("/"):
        raise InvalidInput(f"invalid artifact key {key!r}")
    return key


def _sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _copy_limited(src: BinaryIO, dst: BinaryIO, max_bytes: int | None) -> tuple[str, int]:
    """Copy in chunks, hashing as we go, and stop as soon as the limit is passed."""
    digest = hashlib.sha256()
    size = 0
    while chunk := src.read(_CHUNK):
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise UploadTooLarge(f"upload is larger than the {max_bytes // (1 << 20)} MiB limit")
        digest.update(chunk)
        dst.write(chunk)
    return digest.hexdigest(), size


class ArtifactStore(Protocol):
    def uri(self, key: str) -> str: ...
    def put_file(self, key: str, path: Path, content_type: str) -> common_pb2.ArtifactRef: ...
    def put_bytes(self, key: str, data: bytes, content_type: str) -> common_pb2.ArtifactRef: ...
    def put_stream(
        self, key: str, src: BinaryIO, content_type: str, max_bytes: int | None = None
    ) -> common_pb2.ArtifactRef: ...
    def get_bytes(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def stat(self, key: str) -> int: ...
    def open_read(self, key: str, offset: int = 0, length: int | None = None) -> BinaryIO: ...
    def local_path(self, key: str) -> contextlib.AbstractContextManager[Path]: ...
    def delete_prefix(self, prefix: str) -> int: ...


class LocalStore:
    """Artifacts as files under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def uri(self, key: str) -> str:
        return self.path(key).as_uri()

    def _ref(self, key: str, sha: str, size: int, content_type: str) -> common_pb2.ArtifactRef:
        return common_pb2.ArtifactRef(
            uri=self.uri(key), key=key, sha256=sha, size_bytes=size, content_type=content_type
        )

    def put_file(self, key: str, path: Path, content_type: str) -> common_pb2.ArtifactRef:
        with path.open("rb") as src:
            return self.put_stream(key, src, content_type)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> common_pb2.ArtifactRef:
        return self.put_stream(key, io.BytesIO(data), content_type)

    def put_stream(
        self, key: str, src: BinaryIO, content_type: str, max_bytes: int | None = None
    ) -> common_pb2.ArtifactRef:
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
        try:
            with os.fdopen(fd, "wb") as out:
                sha, size = _copy_limited(src, out, max_bytes)
            os.replace(tmp_name, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        return self._ref(key, sha, size, content_type)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(f"artifact {key!r} not found") from exc

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def stat(self, key: str) -> int:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError as exc:
            raise NotFound(f"artifact {key!r} not found") from exc

    def open_read(self, key: str, offset: int = 0, length: int | None = None) -> BinaryIO:
        try:
            fh = self.path(key).open("rb")
        except FileNotFoundError as exc:
            raise NotFound(f"artifact {key!r} not found") from exc
        fh.seek(offset)
        return fh

    @contextlib.contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise NotFound(f"artifact {key!r} not found")
        yield path

    def delete_prefix(self, prefix: str) -> int:
        target = self.path(prefix.rstrip("/"))
        if target.is_dir():
            count = sum(1 for p in target.rglob("*") if p.is_file())
            # A writer that has not yet noticed the delete may add a file mid-way: sweep again.
            for _ in range(5):
                shutil.rmtree(target, ignore_errors=True)
                if not target.exists():
                    break
                time.sleep(0.05)
            return count
        if target.is_file():
            target.unlink()
            return 1
        return 0


class S3Store:
    """Artifacts as objects in an S3-compatible bucket (MinIO in production)."""

    def __init__(self, settings: Settings) -> None:
        from minio import Minio

        self.bucket = settings.s3_bucket
        self.client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=settings.s3_secure,
            region=settings.s3_region,
            http_client=_s3_http(settings.s3_outage_s),
        )
        if not self.client.bucket_exists(self.bucket):
            with contextlib.suppress(Exception):  # another replica may create it first
                self.client.make_bucket(self.bucket)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{validate_key(key)}"

    def _ref(self, key: str, sha: str, size: int, content_type: str) -> common_pb2.ArtifactRef:
        return common_pb2.ArtifactRef(
            uri=self.uri(key), key=key, sha256=sha, size_bytes=size, content_type=content_type
        )

    def put_file(self, key: str, path: Path, content_type: str) -> common_pb2.ArtifactRef:
        validate_key(key)
        sha, size = _sha256_file(path)
        self.client.fput_object(
            self.bucket, key, str(path), content_type=content_type, metadata={"sha256": sha}
        )
        return self._ref(key, sha, size, content_type)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> common_pb2.ArtifactRef:
        validate_key(key)
        sha = hashlib.sha256(data).hexdigest()
        self.client.put_object(
            self.bucket,
            key,
            io.BytesIO(data),
            len(data),
            content_type=content_type,
            metadata={"sha256": sha},
        )
        return self._ref(key, sha, len(data), content_type)

    def put_stream(
        self, key: str, src: BinaryIO, content_type: str, max_bytes: int | None = None
    ) -> common_pb2.ArtifactRef:
        # Spool to a temporary file so the limit is enforced and the hash known before upload.
        validate_key(key)
        with tempfile.NamedTemporaryFile() as tmp:
            _copy_limited(src, tmp, max_bytes)  # type: ignore[arg-type]
            tmp.flush()
            return self.put_file(key, Path(tmp.name), content_type)

    def get_bytes(self, key: str) -> bytes:
        resp = self._get(key)
        try:
            return resp.read()
        finally:
            resp.close()
            resp.release_conn()

    def _get(self, key: str, offset: int = 0, length: int | None = None):  # type: ignore[no-untyped-def]
        from minio.error import S3Error

        try:
            return self.client.get_object(
                self.bucket, validate_key(key), offset=offset, length=length or 0
            )
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchBucket"):
                raise NotFound(f"artifact {key!r} not found") from exc
            raise

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except NotFound:
            return False
        return True

    def stat(self, key: str) -> int:
        from minio.error import S3Error

        try:
            return int(self.client.stat_object(self.bucket, validate_key(key)).size or 0)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchBucket", "NoSuchObject"):
                raise NotFound(f"artifact {key!r} not found") from exc
            raise

    def open_read(self, key: str, offset: int = 0, length: int | None = None) -> BinaryIO:
        return self._get(key, offset, length)  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        suffix = Path(key).suffix
        with tempfile.TemporaryDirectory(prefix="lumiere-") as tmpdir:
            path = Path(tmpdir) / f"artifact{suffix}"
            from minio.error import S3Error

            try:
                self.client.fget_object(self.bucket, validate_key(key), str(path))
            except S3Error as exc:
                if exc.code in ("NoSuchKey", "NoSuchBucket"):
                    raise NotFound(f"artifact {key!r} not found") from exc
                raise
            yield path

    def delete_prefix(self, prefix: str) -> int:
        from minio.deleteobjects import DeleteObject

        prefix = validate_key(prefix.rstrip("/")) + "/"
        names = [o.object_name for o in self.client.list_objects(self.bucket, prefix, True)]
        errors = list(
            self.client.remove_objects(self.bucket, [DeleteObject(n) for n in names if n])
        )
        if errors:
            raise RuntimeError(f"could not delete {len(errors)} objects under {prefix}")
        return len(names)


def _s3_http(outage_s: float) -> urllib3.PoolManager:
    """minio's HTTP client, retrying through an S3 outage of up to `outage_s` seconds.

    minio's own default gives up after 5 quick retries (about a second), so a restarting or
    briefly unreachable S3 failed every stage that stored an artifact. Every call we make is
    idempotent (whole-object PUTs under content-addressed or fixed keys, GETs, deletes), so all
    methods are retried. A server that accepts but stalls is waited for up to the read timeout.
    """
    backoff_max = 4.0
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5.0, read=120.0),
        maxsize=10,
        retries=urllib3.Retry(
            total=None,
            connect=max(1, math.ceil(outage_s / backoff_max)) + 3,
            read=2,
            status=max(1, math.ceil(outage_s / backoff_max)) + 3,
            other=2,
            backoff_factor=0.5,
            backoff_max=backoff_max,
            status_forcelist=[500, 502, 503, 504],
            allowed_methods=None,
            raise_on_status=False,
        ),
    )


def open_store(settings: Settings) -> ArtifactStore:
    if settings.storage_backend == "s3":
        return S3Store(settings)
    return LocalStore(settings.data_dir / "store")
