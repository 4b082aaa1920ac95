"""The bad-input corpus of issue 14: requests a hostile but bounded client sends, each with the
specific 4xx (and words of its message) the API must answer. Cases are data; the test in
test_bad_input_corpus.py runs them against a live stack."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.common import contract
from tests.support.live_gateway import wav_bytes
from tests.support.pictures import character_png, person_png

PROJECTS = "/api/v1/projects"
# Placeholders in a case's path: a completed project and a valid id nobody created.
DONE, UNKNOWN = "{done}", "{unknown}"


@dataclass(frozen=True)
class Case:
    name: str
    status: int
    needle: str  # words the error message must contain ("" = any message)
    method: str = "POST"
    path: str = PROJECTS
    form: dict[str, str] = field(default_factory=dict)
    # (field, filename, bytes, content type); None = the default valid audio only.
    files: list[tuple[str, str, bytes, str]] | None = None
    json_body: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Sent as is on a socket (headers that announce a body the client never sends, or lie).
    raw_head: str = ""


def picture(size: tuple[int, int] = (64, 48), fmt: str = "PNG", figure: bool = True) -> bytes:
    return character_png(size, fmt, figure)


AUDIO = ("audio", "song.wav", wav_bytes(), "audio/wav")


def _create(name: str, status: int, needle: str, **form: str) -> Case:
    return Case(name, status, needle, form={"prompt": "a red kite", **form}, files=[AUDIO])


def _with_files(name: str, status: int, needle: str, *files: tuple[str, str, bytes, str]) -> Case:
    return Case(name, status, needle, form={"prompt": "a red kite"}, files=[AUDIO, *files])


def _image(name: str, data: bytes, needle: str, status: int = 400) -> Case:
    return _with_files(name, status, needle, ("character_images", "c.png", data, "image/png"))


CASES: list[Case] = [
    # -- the create form: options
    _create("fps zero", 400, "fps must be between 1", fps="0"),
    _create("fps words", 400, "fps must be a whole number", fps="twelve"),
    _create("fps too high", 400, f"fps must be between 1 and {contract.MAX_FPS}", fps="1000"),
    _create("fps float", 400, "fps must be a whole number", fps="29.97"),
    _create("fps non-ascii digits", 400, "fps must be a whole number", fps="\u0663\u0660"),
    _create("odd width", 400, "width must be even", width="641", height="360"),
    _create("width alone", 400, "both width and height", width="640"),
    _create(
        "height over the contract",
        400,
        "height must be between",
        width="640",
        height=str(contract.MAX_HEIGHT + 2),
    ),
    _create("width tiny", 400, "width must be between", width="2", height="360"),
    _create("size words", 400, "size must look like", size="big"),
    _create("size zero", 400, "width must be between", size="0x0"),
    _create("size fullwidth digits", 400, "size must look like", size="\uff16\uff14\uff10x360"),
    _create("size and width", 400, "not both", size="640x360", width="640"),
    _create("quality unknown", 400, "quality must be one of", quality="ultra"),
    _create("aspect zero", 400, "aspect must look like", aspect="16:0"),
    _create("aspect extreme", 400, "aspect must be between", aspect="50:1"),
    _create("one key moment", 400, "at least 2", key_moments="1"),
    _create(
        "too many key moments",
        400,
        str(contract.MAX_KEY_MOMENTS),
        key_moments=str(contract.MAX_KEY_MOMENTS + 1),
    ),
    _create("negative seed", 400, "seed must be between", seed="-1"),
    _create("seed past 64 bits", 400, "seed must be between", seed="9" * 30),
    _create("huge number", 400, "fps must be between", fps="9" * 5000),
    _create("style too long", 400, "style", style="s" * (contract.MAX_STYLE_CHARS + 1)),
    Case("prompt too long", 400, "prompt", form={"prompt": "p" * 2001}, files=[AUDIO]),
    Case("prompt blank", 422, "prompt", form={"prompt": "   "}, files=[AUDIO]),
    Case("no prompt", 422, "prompt", form={}, files=[AUDIO]),
    Case(
        "no audio",
        422,
        "audio",
        headers={"content-type": "multipart/form-data; boundary=b"},
        content=b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx\r\n--b--\r\n',
    ),
    Case(
        "storyboard not json",
        400,
        "storyboard is not valid JSON",
        form={"prompt": "x", "storyboard": "{nope"},
        files=[AUDIO],
    ),
    # -- the create form: files
    Case(
        "audio junk",
        400,
        "could not be decoded as audio",
        form={"prompt": "x"},
        files=[("audio", "song.wav", b"\x00junk" * 500, "audio/wav")],
    ),
    Case(
        "audio empty",
        400,
        "",
        form={"prompt": "x"},
        files=[("audio", "song.wav", b"", "audio/wav")],
    ),
    Case(
        "audio is an image",
        400,
        "could not be decoded as audio",
        form={"prompt": "x"},
        files=[("audio", "song.mp3", picture(), "audio/mpeg")],
    ),
    _image(
        "image svg", b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>', "not a readable PNG"
    ),
    _image("image 5x5", picture((5, 5)), "at least 16 px a side"),
    _image("image 40 MP", picture((8000, 5000), figure=False), "megapixels"),
    _image("image flat colour", picture((200, 200), figure=False), "no visible figure"),
    _image("image gif", picture(fmt="GIF"), "GIF"),
    _image("image truncated", picture((300, 300))[:200], "could not be decoded as an image"),
    _image("image text", b"hello, world" * 30, "could not be decoded as an image"),
    _with_files(
        "five images",
        400,
        str(contract.MAX_CHARACTER_IMAGES),
        *[("character_images", f"c{i}.png", person_png(), "image/png") for i in range(5)],
    ),
    _with_files("lyrics exe", 400, "lyrics must be", ("lyrics", "x.exe", b"MZ", "text/plain")),
    _with_files("lyrics nul", 400, "", ("lyrics", "x.lrc", b"\x00\x01\x02", "text/plain")),
    _with_files("lyrics empty", 400, "empty", ("lyrics", "x.lrc", b"  \n", "text/plain")),
    Case("json instead of a form", 415, "multipart", json_body={"prompt": "x"}),
    # -- ids and routes
    Case("bad id", 400, "invalid project id", method="GET", path=f"{PROJECTS}/Bad_ID"),
    Case("id too long", 400, "invalid project id", method="GET", path=f"{PROJECTS}/{'a' * 65}"),
    Case("unknown id", 404, "not found", method="GET", path=f"{PROJECTS}/{UNKNOWN}"),
    Case("unknown id delete", 404, "not found", method="DELETE", path=f"{PROJECTS}/{UNKNOWN}"),
    Case("unknown id events", 404, "not found", method="GET", path=f"{PROJECTS}/{UNKNOWN}/events"),
    Case("cancel a finished project", 409, "already finished", path=f"{PROJECTS}/{DONE}/cancel"),
    Case(
        "segment out of range",
        400,
        "does not exist",
        path=f"{PROJECTS}/{DONE}/segments/9999/regenerate",
    ),
    Case("segment negative", 422, "", path=f"{PROJECTS}/{DONE}/segments/-1/regenerate"),
    Case("segment huge", 422, "", path=f"{PROJECTS}/{DONE}/segments/{'9' * 5000}/regenerate"),
    Case(
        "regenerate prompt too long",
        422,
        "",
        path=f"{PROJECTS}/{DONE}/segments/0/regenerate",
        json_body={"prompt": "p" * 5000},
    ),
    Case(
        "regenerate seed negative",
        422,
        "",
        path=f"{PROJECTS}/{DONE}/segments/0/regenerate",
        json_body={"seed": -5},
    ),
    Case(
        "regenerate body not json",
        422,
        "",
        path=f"{PROJECTS}/{DONE}/segments/0/regenerate",
        content=b"{nope",
        headers={"content-type": "application/json"},
    ),
    Case(
        "regenerate body too large",
        413,
        "limit",
        path=f"{PROJECTS}/{DONE}/segments/0/regenerate",
        raw_head="Content-Type: application/json\r\nContent-Length: 314572800\r\n",
    ),
    Case(
        "form body too large",
        413,
        "limit",
        raw_head=f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {1 << 40}\r\n",
    ),
    # uvicorn (h11) refuses these itself, before the app.
    Case(
        "content-length not a number",
        400,
        "Invalid HTTP request",
        raw_head="Content-Type: application/json\r\nContent-Length: \u0661\r\n",
    ),
    Case(
        "content-length 5000 digits",
        400,
        "Invalid HTTP request",
        raw_head="Content-Type: application/json\r\nContent-Length: " + "9" * 5000 + "\r\n",
    ),
    Case("keyframe out of range", 404, "", method="GET", path=f"{PROJECTS}/{DONE}/keyframes/999"),
    Case(
        "storyboard edit junk",
        400,
        "",
        method="PUT",
        path=f"{PROJECTS}/{DONE}/storyboard",
        json_body={"shots": "nope"},
    ),
    # -- downloads
    Case(
        "range past the end",
        416,
        "",
        method="GET",
        path=f"{PROJECTS}/{DONE}/video",
        headers={"range": "bytes=999999999-"},
    ),
    Case(
        "range 5000 digits",
        416,
        "",
        method="GET",
        path=f"{PROJECTS}/{DONE}/video",
        headers={"range": "bytes=" + "9" * 5000 + "-"},
    ),
    Case(
        "suffix range zero",
        416,
        "",
        method="GET",
        path=f"{PROJECTS}/{DONE}/video",
        headers={"range": "bytes=-0"},
    ),
    # The concept JSON is served whole: a Range there is ignored, as RFC 9110 allows.
    Case(
        "concept range 5000 digits",
        200,
        "",
        method="GET",
        path=f"{PROJECTS}/{DONE}/concept",
        headers={"range": "bytes=" + "9" * 5000 + "-"},
    ),
]
