"""The screenwriter against a loopback chat-completions server: the request on the wire, the
rewritten storyboard, every fallback with its note, and the concept gRPC service using it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from lumiere.v1 import concept_pb2, concept_pb2_grpc
from lumiere.v1 import storyboard_pb2 as sb

from services.common.settings import Settings
from services.common.storage import LocalStore
from services.concept.screenwriter import ScreenwriterConfig, rewrite_storyboard
from services.concept.server import add_to_server
from services.devstack.synth import demo_spec, synth_song, write_audio
from tests.conftest import running_service
from tests.support.chat_server import (
    PATH,
    ChatServer,
    Reply,
    Responder,
    brief_of,
    chat_server,
    echo_screenplay,
)
from tests.support.concepts import boarded_concept
from tests.support.s3_server import free_port

pytestmark = pytest.mark.integration

MODEL = "tiny-writer"
KEY = "sk-test-0123456789"


def _prompt(shot: dict[str, Any]) -> str:
    return f"shot {shot['index']}: the dancer, {shot['framing']} framing, neon rain"


@pytest.fixture(scope="module")
def concept() -> concept_pb2.Concept:
    return boarded_concept()


@pytest.fixture
def responder() -> Responder:
    return echo_screenplay(_prompt, story="A lone dancer lights up a drowned city.")


@pytest.fixture
def server(responder: Responder) -> Iterator[ChatServer]:
    with chat_server(responder) as s:
        yield s


def _config(server: ChatServer, **kw: Any) -> ScreenwriterConfig:
    args: dict[str, Any] = {"base_url": server.base_url, "model": MODEL, "api_key": KEY}
    return ScreenwriterConfig(**(args | kw))


def _directors(concept: concept_pb2.Concept) -> list[str]:
    return [s.prompt for s in concept.storyboard.shots]


def _fallback(concept: concept_pb2.Concept, out: sb.Storyboard, reason: str) -> None:
    assert [s.prompt for s in out.shots] == _directors(concept)
    assert out.source == "director"
    assert out.note.startswith("screenwriter failed: ")
    assert out.note.endswith("; using the director's prompts")
    assert reason in out.note


def test_prompts_are_replaced(concept: concept_pb2.Concept, server: ChatServer) -> None:
    out = rewrite_storyboard(concept, _config(server))
    shots = concept.storyboard.shots
    assert [s.prompt for s in out.shots] == [
        f"shot {s.index}: the dancer, {sb.Framing.Name(s.framing)[8:].lower()} framing, neon rain"
        for s in shots
    ]
    assert out.source == "screenwriter"
    assert out.note == f"prompts written by the screenwriter ({MODEL})"
    assert out.story == "A lone dancer lights up a drowned city."


def test_only_the_prompts_change(concept: concept_pb2.Concept, server: ChatServer) -> None:
    out = rewrite_storyboard(concept, _config(server))
    for mine, theirs in zip(out.shots, concept.storyboard.shots, strict=True):
        assert (mine.id, mine.start_time, mine.end_time, mine.framing, mine.move, mine.look) == (
            theirs.id,
            theirs.start_time,
            theirs.end_time,
            theirs.framing,
            theirs.move,
            theirs.look,
        )
    assert (out.subject, out.scene_family, out.cut_grid) == (
        concept.storyboard.subject,
        concept.storyboard.scene_family,
        concept.storyboard.cut_grid,
    )


def test_request_asks_for_the_json_schema(concept: concept_pb2.Concept, server: ChatServer) -> None:
    rewrite_storyboard(concept, _config(server))
    (req,) = server.requests
    assert req.path == PATH
    assert req.body["model"] == MODEL
    fmt = req.body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert set(fmt["json_schema"]["schema"]["required"]) == {"story", "shots"}
    assert [m["role"] for m in req.body["messages"]] == ["system", "user"]


def test_request_carries_the_bearer_key(concept: concept_pb2.Concept, server: ChatServer) -> None:
    rewrite_storyboard(concept, _config(server))
    assert server.requests[0].headers["Authorization"] == f"Bearer {KEY}"


def test_request_without_a_key_has_no_authorization(
    concept: concept_pb2.Concept, server: ChatServer
) -> None:
    rewrite_storyboard(concept, _config(server, api_key=""))
    assert "Authorization" not in server.requests[0].headers


def test_request_carries_lyrics_and_sections(
    concept: concept_pb2.Concept, server: ChatServer
) -> None:
    rewrite_storyboard(concept, _config(server))
    brief = brief_of(server.requests[0].body)
    assert [ln["text"] for ln in brief["lyrics"]] == [ln.text for ln in concept.lyrics]
    assert [s["label"] for s in brief["sections"]] == [s.label for s in concept.sections]
    assert brief["prompt"] == concept.prompt
    assert len(brief["shots"]) == len(concept.storyboard.shots)


def test_long_storyboards_are_asked_in_batches(
    concept: concept_pb2.Concept, server: ChatServer
) -> None:
    out = rewrite_storyboard(concept, _config(server, max_shots=4))
    n = len(concept.storyboard.shots)
    briefs = [brief_of(r.body) for r in server.requests]
    assert [len(b["shots"]) for b in briefs] == [min(4, n - k) for k in range(0, n, 4)]
    # Later batches are told the story the first one wrote.
    assert [b["story"] for b in briefs[1:]] == ["A lone dancer lights up a drowned city."] * (
        len(briefs) - 1
    )
    assert out.source == "screenwriter"
    assert all(s.prompt.startswith(f"shot {s.index}:") for s in out.shots)


@pytest.mark.parametrize(
    ("responder", "reason"),
    [
        (lambda body: Reply(status=500), "HTTP 500 from the endpoint"),
        (lambda body: Reply(content="Sure! Here are your shots."), "the answer is not JSON"),
        (lambda body: Reply(raw=b"<html>gateway</html>"), "the response is not a chat completion"),
        (
            lambda body: Reply(content=json.dumps({"story": "x", "scenes": []})),
            "the answer does not match the schema (shots: Field required)",
        ),
        (
            echo_screenplay(lambda s: "" if s["index"] == 2 else "a prompt"),
            "empty prompt for shot 2",
        ),
        (
            lambda body: Reply(content='{"story": "a', finish_reason="length"),
            "the answer was cut off",
        ),
    ],
    ids=["http-500", "not-json", "not-a-completion", "schema", "empty-prompt", "cut-off"],
)
def test_fallback(concept: concept_pb2.Concept, server: ChatServer, reason: str) -> None:
    _fallback(concept, rewrite_storyboard(concept, _config(server)), reason)


def _one_short(body: dict[str, Any]) -> Reply:
    shots = brief_of(body)["shots"][:-1]
    play = {"story": "", "shots": [{"index": s["index"], "prompt": "p"} for s in shots]}
    return Reply(content=json.dumps(play))


def _fails_after_first(ok: Responder) -> Responder:
    calls: list[int] = []

    def respond(body: dict[str, Any]) -> Reply:
        calls.append(1)
        return ok(body) if len(calls) == 1 else Reply(status=503)

    return respond


@pytest.mark.parametrize("responder", [_one_short])
def test_fallback_on_wrong_shot_count(concept: concept_pb2.Concept, server: ChatServer) -> None:
    n = len(concept.storyboard.shots)
    out = rewrite_storyboard(concept, _config(server))
    _fallback(concept, out, f"expected {n} shots, got {n - 1}")


def test_fallback_when_one_batch_fails(concept: concept_pb2.Concept) -> None:
    """All or nothing: a failed later batch keeps every shot the director's."""
    with chat_server(_fails_after_first(echo_screenplay(_prompt))) as s:
        out = rewrite_storyboard(concept, _config(s, max_shots=4))
        assert len(s.requests) == 2
    _fallback(concept, out, "HTTP 503")


@pytest.mark.parametrize("responder", [lambda body: Reply(delay_s=2.0, content="{}")])
def test_fallback_on_timeout(concept: concept_pb2.Concept, server: ChatServer) -> None:
    out = rewrite_storyboard(concept, _config(server, timeout_s=0.3))
    _fallback(concept, out, "no answer within 0.3 s")


def test_fallback_when_unreachable(concept: concept_pb2.Concept) -> None:
    config = ScreenwriterConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", model=MODEL)
    out = rewrite_storyboard(concept, config)
    _fallback(concept, out, "cannot reach http://127.0.0.1:")
    assert "ConnectError" in out.note


@pytest.mark.parametrize(
    "responder",
    [lambda body: Reply(status=401, raw=json.dumps({"error": f"bad key {KEY}"}).encode())],
)
def test_the_key_never_reaches_note_or_log(
    concept: concept_pb2.Concept, server: ChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        out = rewrite_storyboard(concept, _config(server))
    _fallback(concept, out, "HTTP 401 from the endpoint")
    assert KEY not in out.note
    assert KEY not in caplog.text


async def test_concept_service_returns_the_rewritten_storyboard(
    settings: Settings, store: LocalStore, tmp_path: Path, server: ChatServer
) -> None:
    samples, _ = synth_song(demo_spec())
    audio = store.put_file(
        "uploads/p1/audio.wav", write_audio(tmp_path / "song.wav", samples), "audio/wav"
    )
    lyrics = store.put_bytes(
        "uploads/p1/lyrics.lrc",
        b"[00:08.00]rain on the wires\n[00:24.00]we light the night\n",
        "text/plain",
    )
    configured = settings.model_copy(
        update={
            "screenwriter_base_url": server.base_url,
            "screenwriter_model": MODEL,
            "screenwriter_max_shots": 500,  # one request: its lyrics are the whole song's
        }
    )
    request = concept_pb2.AnalyzeAudioRequest(
        project_id="p1", audio=audio, prompt="neon city at night, a lone dancer", lyrics=lyrics
    )
    async with (
        running_service(add_to_server, configured, store) as addr,
        grpc.aio.insecure_channel(addr) as ch,
    ):
        stub = concept_pb2_grpc.ConceptServiceStub(ch)
        events = [ev async for ev in stub.AnalyzeAudio(request, timeout=120)]
    board = events[-1].result.concept.storyboard
    assert board.source == "screenwriter"
    assert len(board.shots) > 1
    assert all(s.prompt.startswith(f"shot {s.index}: the dancer") for s in board.shots)
    brief = brief_of(server.requests[0].body)
    assert [ln["text"] for ln in brief["lyrics"]] == ["rain on the wires", "we light the night"]
    stored = json.loads(store.get_bytes("outputs/p1/concept.json"))
    assert stored["storyboard"]["source"] == "screenwriter"
    assert stored["storyboard"]["shots"][0]["prompt"] == board.shots[0].prompt
