"""Serving stored artifacts over HTTP with single-range support (browsers seek in <video>)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import HTTPException
from fastapi.responses import Response, StreamingResponse

from services.common.storage import ArtifactStore

_CHUNK = 256 * 1024
_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One `bytes=` range -> inclusive (start, end); None = send everything.

    Multiple ranges are answered with the whole body (RFC 9110 lets a server ignore Range);
    a range that starts past the end raises 416.
    """
    if not header:
        return None
    if "," in header:
        return None
    m = _RANGE_RE.match(header)
    if not m or (not m.group(1) and not m.group(2)):
        return None  # not a byte range we understand: ignore it, as RFC 9110 allows
    first, last = m.group(1), m.group(2)
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None
    else:  # suffix range: the last N bytes
        n = int(last)
        if n == 0:
            raise HTTPException(416, "range not satisfiable", {"Content-Range": f"bytes */{size}"})
        start = max(size - n, 0)
        end = size - 1
    if start >= size:
        raise HTTPException(416, "range not satisfiable", {"Content-Range": f"bytes */{size}"})
    return start, end


def _iter_store(store: ArtifactStore, key: str, start: int, length: int) -> Iterator[bytes]:
    # Sync generator: Starlette runs it in a worker thread, so store reads never block the loop.
    fh = store.open_read(key, start, length)
    try:
        remaining = length
        while remaining > 0:
            chunk = fh.read(min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        fh.close()
        release = getattr(fh, "release_conn", None)  # minio responses hold a pooled connection
        if release is not None:
            release()


def artifact_response(
    store: ArtifactStore,
    key: str,
    content_type: str,
    range_header: str | None = None,
    filename: str | None = None,
    method: str = "GET",
) -> Response:
    size = store.stat(key)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "no-cache"}
    if filename:
        headers["Content-Disposition"] = f'inline; filename="{filename}"'
    rng = parse_range(range_header, size) if size > 0 else None
    status = 200
    start, length = 0, size
    if rng is not None:
        start, end = rng
        length = end - start + 1
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(length)
    if method == "HEAD" or length == 0:
        return Response(status_code=status, headers=headers, media_type=content_type)
    return StreamingResponse(
        _iter_store(store, key, start, length),
        status_code=status,
        headers=headers,
        media_type=content_type,
    )
