"""Pure helpers of the gateway: byte ranges, form options, rate limiting, streaming multipart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from fastapi import HTTPException

from gateway.downloads import parse_range
from gateway.errors import grpc_http_status, http_status
from gateway.forms import QUALITY_NAMES, parse_options, read_create_form
from gateway.security import TokenBucket, key_id
from gateway.uploads import (
    FilePart,
    MissingField,
    ParsedForm,
    RequestTooLarge,
    UnsupportedMediaType,
    parse_multipart,
)
from services.common.contract import (
    MAX_CHARACTER_IMAGES,
    MAX_FPS,
    MAX_HEIGHT,
    MAX_KEY_MOMENTS,
    MAX_STYLE_CHARS,
    MAX_WIDTH,
    MIN_SIDE,
)
from services.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidInput,
    LumiereError,
    NotFound,
)
from services.common.storage import UploadTooLarge


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=0-0", (0, 0)),
        ("bytes=0-1,5-6", None),  # multiple ranges: the whole body
        ("items=0-1", None),  # unknown unit: ignored
        ("bytes=9-3", None),  # invalid: ignored
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_unsatisfiable_ranges_are_416(header: str) -> None:
    with pytest.raises(HTTPException) as err:
        parse_range(header, 1000)
    assert err.value.status_code == 416
    assert err.value.headers == {"Content-Range": "bytes */1000"}


def form(**fields: str) -> ParsedForm:
    return ParsedForm(fields={k: [v] for k, v in fields.items()})


def test_options_from_size_aspect_and_quality() -> None:
    o = parse_options(form(size="854x480", fps="24", quality="preview", seed="9"))
    assert (o.width, o.height, o.fps, o.quality, o.seed) == (854, 480, 24, 1, 9)
    o = parse_options(form(aspect="16:9"))
    assert (o.width, o.height) == (1280, 720)
    o = parse_options(form(aspect="9:16", quality="preview"))
    assert (o.width, o.height) == (270, 480)
    o = parse_options(form(aspect="4:3", width="640"))
    assert (o.width, o.height) == (640, 480)
    o = parse_options(form(aspect="1:1", height="500"))
    assert (o.width, o.height) == (500, 500)
    o = parse_options(form())
    assert (o.width, o.height, o.fps, o.quality, o.key_moment_count) == (0, 0, 0, 0, 0)
    o = parse_options(form(key_moment_count="6", style="  ink  "))
    assert (o.key_moment_count, o.style) == (6, "ink")


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"size": "640x360", "width": "640"}, "either size or width/height"),
        ({"aspect": "16:9", "width": "640", "height": "360"}, "not all three"),
        ({"aspect": "20:1"}, "between 1:5 and 5:1"),
        ({"width": "10000", "height": "64"}, f"width must be between {MIN_SIDE} and {MAX_WIDTH}"),
        ({"size": f"{MIN_SIDE - 1}x64"}, f"width must be between {MIN_SIDE} and {MAX_WIDTH}"),
        ({"size": f"64x{MAX_HEIGHT + 2}"}, f"height must be between {MIN_SIDE} and {MAX_HEIGHT}"),
        ({"fps": str(MAX_FPS + 1)}, f"fps must be between 1 and {MAX_FPS}"),
        ({"key_moments": str(MAX_KEY_MOMENTS + 1)}, f"between 0 and {MAX_KEY_MOMENTS}"),
        ({"key_moments": "3", "key_moment_count": "3"}, "not both"),
        ({"style": "x" * (MAX_STYLE_CHARS + 1)}, "style is longer"),
        ({"shot_backend": "runway"}, "shot_backend must be one of procedural, comfyui, openai"),
        ({"keyframe_backend": "midjourney"}, "keyframe_backend must be one of procedural"),
    ],
)
def test_bad_options(fields: dict[str, str], needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        parse_options(form(**fields))


def test_backend_options() -> None:
    assert parse_options(form(shot_backend=" ComfyUI ")).shot_backend == "comfyui"
    assert parse_options(form()).shot_backend == ""
    assert parse_options(form(keyframe_backend="procedural")).keyframe_backend == "procedural"


def test_quality_names_are_the_proto_enum() -> None:
    assert QUALITY_NAMES == {"preview": 1, "draft": 2, "final": 3}


def _create_form(images: int) -> ParsedForm:
    def part(name: str, i: int) -> FilePart:
        return FilePart(name, f"{name}{i}", "application/octet-stream", Path(f"/nowhere/{i}"))

    return ParsedForm(
        fields={"prompt": ["a song"]},
        files={
            "audio": [part("audio", 0)],
            "character_images": [part("character_images", i) for i in range(images)],
        },
    )


def test_create_form_takes_up_to_the_contract_image_limit() -> None:
    form = read_create_form(_create_form(MAX_CHARACTER_IMAGES))
    assert len(form.images) == MAX_CHARACTER_IMAGES


def test_create_form_with_one_image_too_many_names_the_limit() -> None:
    with pytest.raises(InvalidInput, match=f"at most {MAX_CHARACTER_IMAGES} are allowed"):
        read_create_form(_create_form(MAX_CHARACTER_IMAGES + 1))


@pytest.mark.parametrize("field", ["audio", "prompt"])
def test_create_form_without_a_required_field_is_missing_field(field: str) -> None:
    form = _create_form(0)
    form.files.pop(field, None)
    form.fields.pop(field, None)
    with pytest.raises(MissingField, match=f"missing form field '{field}'"):
        read_create_form(form)


def test_repeated_text_field_is_rejected() -> None:
    f = ParsedForm(fields={"fps": ["12", "24"]})
    with pytest.raises(InvalidInput, match="given 2 times"):
        parse_options(f)


def test_token_bucket_allows_burst_then_refills() -> None:
    bucket = TokenBucket(per_minute=60, burst=3)
    assert [bucket.take("a", now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = bucket.take("a", now=100.0)
    assert wait == pytest.approx(1.0)
    assert bucket.take("b", now=100.0) == 0.0  # buckets are per client
    assert bucket.take("a", now=101.01) == 0.0  # one token per second at 60/min
    assert bucket.take("a", now=101.02) > 0


def test_key_ids_are_stable_and_do_not_reveal_the_key() -> None:
    assert key_id("secret") == key_id("secret") != key_id("secret2")
    assert "secret" not in key_id("secret")


def test_api_keys_in_urls_are_redacted_from_access_logs() -> None:
    import logging

    from gateway.security import RedactApiKeys

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", "/api/v1/projects/p/events?api_key=s3cret&x=1", "1.1", 200),
        None,
    )
    assert RedactApiKeys().filter(record)
    assert "s3cret" not in record.getMessage()
    assert "api_key=***&x=1" in record.getMessage()


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (InvalidInput("x"), 400),
        (LumiereError("x"), 400),
        (MissingField("x"), 422),
        (NotFound("x"), 404),
        (FailedPrecondition("x"), 409),
        (AlreadyExists("x"), 409),
        (RequestTooLarge("x"), 413),
        (UploadTooLarge("x"), 413),
        (UnsupportedMediaType("x"), 415),
        (RuntimeError("x"), 500),
    ],
)
def test_errors_map_to_http_by_type(exc: BaseException, status: int) -> None:
    assert http_status(exc) == status


def test_a_subclass_without_its_own_row_inherits_its_base_status() -> None:
    class RenamedNotFound(NotFound):  # the name matches nothing: only the type counts
        pass

    assert http_status(RenamedNotFound("x")) == 404


def test_grpc_codes_map_to_http() -> None:
    c = grpc.StatusCode
    assert [
        grpc_http_status(code)
        for code in (
            c.INVALID_ARGUMENT,
            c.NOT_FOUND,
            c.FAILED_PRECONDITION,
            c.ALREADY_EXISTS,
            c.RESOURCE_EXHAUSTED,
            c.UNAVAILABLE,
            c.INTERNAL,
        )
    ] == [400, 404, 409, 409, 429, 503, 502]


async def _chunks(parts: list[bytes], counter: list[int]) -> AsyncIterator[bytes]:
    for p in parts:
        counter[0] += 1
        yield p


def _limit(field: str) -> int | None:
    return {"audio": 1000, "character_images": 100}.get(field)


async def test_multipart_stops_reading_at_the_part_limit() -> None:
    head = (
        b'--B\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhello\r\n'
        b'--B\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n\r\n'
    )
    body = [head] + [b"x" * 256] * 100  # 25.6 KB of audio against a 1000-byte limit
    pulled = [0]
    with pytest.raises(RequestTooLarge, match="larger than"):
        async with parse_multipart(
            "multipart/form-data; boundary=B",
            None,
            _chunks(body, pulled),
            file_limit=_limit,
            text_fields={"prompt"},
            max_body_bytes=1 << 20,
        ):
            pass
    assert pulled[0] <= 6  # stopped within a few chunks of the limit


async def test_multipart_collects_fields_and_files_then_cleans_up() -> None:
    body = (
        b'--B\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nsea \xc3\xa9\r\n'
        b'--B\r\nContent-Disposition: form-data; name="audio"; filename="s.mp3"\r\n'
        b"Content-Type: audio/mpeg\r\n\r\nID3abc\r\n"
        b'--B\r\nContent-Disposition: form-data; name="character_images"; filename="1.png"\r\n'
        b"\r\nP1\r\n"
        b'--B\r\nContent-Disposition: form-data; name="character_images"; filename="2.png"\r\n'
        b"\r\nP2\r\n--B--\r\n"
    )
    async with parse_multipart(
        "multipart/form-data; boundary=B",
        str(len(body)),
        _chunks([body[:50], body[50:]], [0]),
        file_limit=_limit,
        text_fields={"prompt"},
        max_body_bytes=1 << 20,
    ) as parsed:
        assert parsed.text("prompt") == "sea é"
        audio = parsed.files["audio"][0]
        assert (audio.filename, audio.content_type, audio.size) == ("s.mp3", "audio/mpeg", 6)
        assert audio.path.read_bytes() == b"ID3abc"
        images = parsed.files["character_images"]
        assert [i.path.read_bytes() for i in images] == [b"P1", b"P2"]
        tmpdir = audio.path.parent
    assert not tmpdir.exists()


@pytest.mark.parametrize(
    ("content_type", "length", "error", "needle"),
    [
        ("application/json", None, UnsupportedMediaType, "multipart/form-data"),
        (None, None, UnsupportedMediaType, "no Content-Type"),
        ("multipart/form-data", None, InvalidInput, "no boundary"),
        ("multipart/form-data; boundary=B", "12abc", InvalidInput, "Content-Length"),
        ("multipart/form-data; boundary=B", str(2 << 20), RequestTooLarge, "limit"),
    ],
)
async def test_multipart_rejects_bad_headers(
    content_type: str | None, length: str | None, error: type, needle: str
) -> None:
    pulled = [0]
    with pytest.raises(error, match=needle):
        async with parse_multipart(
            content_type,
            length,
            _chunks([b"--B--\r\n"], pulled),
            file_limit=_limit,
            text_fields=set(),
            max_body_bytes=1 << 20,
        ):
            pass
    assert pulled[0] == 0  # refused before reading the body


async def test_malformed_multipart_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        async with parse_multipart(
            "multipart/form-data; boundary=B",
            None,
            _chunks([b"--B\r\nno-colon-header\r\n\r\nx\r\n--B--\r\n"], [0]),
            file_limit=_limit,
            text_fields={"prompt"},
            max_body_bytes=1 << 20,
        ):
            pass


class _StubOrchestrator:
    """Watch events released one by one by the test; GetProject answers `self.current`."""

    def __init__(self) -> None:
        from lumiere.v1 import orchestrator_pb2 as opb

        self.opb = opb
        self.events: asyncio.Queue = asyncio.Queue()
        self.current = opb.Project(id="p1", state=2)

    async def watch(self, project_id: str):  # type: ignore[no-untyped-def]
        while (event := await self.events.get()) is not None:
            yield event

    async def get(self, project_id: str):  # type: ignore[no-untyped-def]
        return self.opb.Project().FromString(self.current.SerializeToString())

    def event(self, state: int, message: str = "") -> None:
        self.events.put_nowait(
            self.opb.WatchProjectEvent(project_id="p1", state=state, message=message)
        )


async def test_follower_cache_never_goes_back_and_fans_out_in_order() -> None:
    from gateway.follow import ProjectFollower
    from gateway.metrics import Metrics

    orch = _StubOrchestrator()
    follower = ProjectFollower(Metrics())
    queue = follower.subscribe(orch, orch.current)
    # The orchestrator is already at seeds_generated (3) when the follower re-reads, while
    # older events (processing, concept_generated) are still queued in the stream.
    orch.current.state = 3
    orch.current.keyframes.add(key_moment_id="k0")
    orch.event(2)
    await asyncio.sleep(0.05)
    cached = follower.cached("p1")
    assert cached is not None and cached.state == 3 and len(cached.keyframes) == 1
    orch.event(2, "late progress of an older state")
    await asyncio.sleep(0.05)
    assert follower.cached("p1").state == 3  # not dragged back
    orch.current.state = 6
    orch.event(3)
    orch.event(6)
    got = []
    while (item := await asyncio.wait_for(queue.get(), 1)) is not None:
        got.append(item.state)
    assert got == [2, 2, 3, 6]  # every event, in stream order, then the end marker
    assert follower.cached("p1") is None  # finished: reads go to the orchestrator again
    follower.unsubscribe("p1", queue)
    assert follower.subscribers("p1") == 0
    await follower.close()
