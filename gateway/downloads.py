"""Serving stored artifacts over HTTP with single-range support (browsers seek in <video>)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

from fastapi import HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from services.common.storage import ArtifactStore

_CHUNK = 256 * 1024
# ASCII digits only (`\d` would take any script's digits, which HTTP does not).
_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*$")
# Positions past any artifact we store; longer digit strings are not parsed at all (a 5000-digit
# number would trip Python's int-digits limit and answer 500).
_MAX_DIGITS = 18


def _position(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


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
        start = _position(first)
        end = min(_position(last), size - 1) if last else size - 1
        if last and _position(last) < start:
            return None
    else:  # suffix range: the last N bytes
        n = _position(last)
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


async def artifact_response(
    store: ArtifactStore,
    key: str,
    content_type: str,
    request: Request | None = None,
    filename: str | None = None,
    etag: str | None = None,
) -> Response:
    """Stream a stored artifact; honours Range, If-Range, If-None-Match and HEAD.

    `etag` is the artifact's sha256 when known (it never changes for a given key's content).
    """
    size = await asyncio.to_thread(store.stat, key)  # S3: a network call, keep it off the loop
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "no-cache"}
    tag = f'"{etag}"' if etag else None
    if tag:
        headers["ETag"] = tag
    if filename:
        headers["Content-Disposition"] = f'inline; filename="{filename}"'
    req_headers = request.headers if request is not None else {}
    if tag and tag in [t.strip() for t in req_headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    range_header = req_headers.get("range")
    if_range = req_headers.get("if-range")
    if if_range and if_range.strip() != tag:
        range_header = None  # the client's copy is stale: send the whole new one
    rng = parse_range(range_header, size) if size > 0 else None
    status = 200
    start, length = 0, size
    if rng is not None:
        start, end = rng
        length = end - start + 1
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(length)
    method = request.method if request is not None else "GET"
    if method == "HEAD" or length == 0:
        return Response(status_code=status, headers=headers, media_type=content_type)
    return StreamingResponse(
        _iter_store(store, key, start, length),
        status_code=status,
        headers=headers,
        media_type=content_type,
    )
