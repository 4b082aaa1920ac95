"""Streaming multipart parsing with limits enforced while the bytes arrive.

Starlette's `request.form()` spools every file part whole before a handler can look at it and
has no per-file size limit. Here each file part is written straight to a temporary file as it
streams in and the request is rejected (413) the moment a part passes its limit, so an oversized
upload costs at most `limit` bytes of disk and never its size in memory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from services.common.errors import InvalidInput


class RequestTooLarge(InvalidInput):
    """A part (or the whole body) is over its limit: HTTP 413."""


class UnsupportedMediaType(InvalidInput):
    """The body is not multipart/form-data: HTTP 415."""


class MissingField(InvalidInput):
    """A required form field is absent or empty: HTTP 422."""


@dataclass
class FilePart:
    field: str
    filename: str
    content_type: str
    path: Path
    size: int = 0


@dataclass
class ParsedForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[FilePart]] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        values = self.fields.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise InvalidInput(f"form field {name!r} was given {len(values)} times; give it once")
        return values[0]


# Per file field: the byte limit, or None when the field is not accepted.
FileLimit = Callable[[str], int | None]


class _Collector:
    """python-multipart callbacks that route each part to a temp file or a small text buffer."""

    def __init__(
        self,
        tmpdir: Path,
        file_limit: FileLimit,
        text_fields: set[str],
        max_text_bytes: int,
        max_parts: int,
    ) -> None:
        self.tmpdir = tmpdir
        self.file_limit = file_limit
        self.text_fields = text_fields
        self.max_text_bytes = max_text_bytes
        self.max_parts = max_parts
        self.form = ParsedForm()
        self.parts = 0
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._text = bytearray()
        self._file: FilePart | None = None
        self._fh: BinaryIO | None = None
        self._limit = 0

    def on_part_begin(self) -> None:
        self._headers = {}
        self._text = bytearray()
        self._file = None
        self.parts += 1
        if self.parts > self.max_parts:
            raise InvalidInput(f"too many form parts; at most {self.max_parts} are accepted")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition")
        if disposition is None:
            raise InvalidInput("a multipart part has no Content-Disposition header")
        _, options = parse_options_header(disposition)
        if b"name" not in options:
            raise InvalidInput("a multipart part has no field name")
        self._name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            limit = self.file_limit(self._name)
            if limit is None:
                if self._name in self.text_fields:
                    raise InvalidInput(f"form field {self._name!r} must be text, not a file")
                raise InvalidInput(f"unexpected file field {self._name!r}")
            filename = options[b"filename"].decode("utf-8", "replace")
            content_type = self._headers.get(b"content-type", b"application/octet-stream")
            fd, name = tempfile.mkstemp(dir=self.tmpdir, prefix="part-")
            self._fh = os.fdopen(fd, "wb")
            self._limit = limit
            self._file = FilePart(self._name, filename, content_type.decode("latin-1"), Path(name))
            self.form.files.setdefault(self._name, []).append(self._file)
        elif self._name not in self.text_fields:
            raise InvalidInput(f"unexpected form field {self._name!r}")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        n = end - start
        if self._file is not None and self._fh is not None:
            self._file.size += n
            if self._file.size > self._limit:
                raise RequestTooLarge(
                    f"{self._name} file {self._file.filename!r} is larger than the "
                    f"{_human(self._limit)} limit"
                )
            # Page-cache writes of <=64 KiB chunks are quick; no thread hop per chunk.
            self._fh.write(data[start:end])
        else:
            if len(self._text) + n > self.max_text_bytes:
                raise RequestTooLarge(
                    f"form field {self._name!r} is longer than {self.max_text_bytes} bytes"
                )
            self._text += data[start:end]

    def on_part_end(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._file is None:
            try:
                value = self._text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInput(f"form field {self._name!r} is not UTF-8 text") from exc
            self.form.fields.setdefault(self._name, []).append(value)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _human(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):g} MiB"
    return f"{n / 1024:g} KiB"


@contextlib.asynccontextmanager
async def parse_multipart(
    content_type: str | None,
    content_length: str | None,
    body: AsyncIterator[bytes],
    *,
    file_limit: FileLimit,
    text_fields: set[str],
    max_body_bytes: int,
    max_text_bytes: int = 64 * 1024,
    max_parts: int = 32,
) -> AsyncIterator[ParsedForm]:
    """Parse a multipart/form-data body into text fields and temp files (removed on exit)."""
    mime, params = parse_options_header(content_type or "")
    if mime != b"multipart/form-data":
        raise UnsupportedMediaType(
            f"expected a multipart/form-data body, got {content_type or 'no Content-Type'}"
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise InvalidInput("the multipart/form-data Content-Type has no boundary")
    if content_length:
        try:
            declared = int(content_length)
        except ValueError as exc:
            raise InvalidInput("Content-Length is not a number") from exc
        # Reject before reading a byte when the client says up front that it is too big.
        if declared > max_body_bytes:
            raise RequestTooLarge(
                f"the request body is {_human(declared)}; the limit is {_human(max_body_bytes)}"
            )
    tmpdir = Path(tempfile.mkdtemp(prefix="lumiere-upload-"))
    collector = _Collector(tmpdir, file_limit, text_fields, max_text_bytes, max_parts)
    parser = MultipartParser(
        boundary,
        {  # type: ignore[arg-type]
            "on_part_begin": collector.on_part_begin,
            "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end,
            "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value,
            "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
        },
    )
    try:
        received = 0
        try:
            async for chunk in body:
                received += len(chunk)
                if received > max_body_bytes:
                    raise RequestTooLarge(
                        f"the request body is larger than the {_human(max_body_bytes)} limit"
                    )
                parser.write(chunk)
            parser.finalize()
            # finalize() checks nothing: a body cut off mid-file would pass as a short file.
            if parser.state not in (MultipartState.END, MultipartState.BOUNDARY_PADDING):
                raise InvalidInput("the multipart body ended before its closing boundary")
        except FormParserError as exc:
            raise InvalidInput(f"malformed multipart body: {exc}") from exc
        finally:
            collector.close()
        yield collector.form
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
