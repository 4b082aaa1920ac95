"""The optional screenwriter: a chat model rewrites the director's shot prompts.

Any OpenAI-compatible chat-completions endpoint will do (Ollama, vLLM, llama.cpp's
llama-server, LiteLLM, hosted services): `POST {base_url}/chat/completions` with `model`,
`messages` and `response_format: {"type": "json_schema", "json_schema": {"name", "strict":
true, "schema"}}` (structured outputs); the answer is `choices[0].message.content`, a JSON
string (`screenplay` holds the messages, the schema and the validation). Docs followed:
- https://platform.openai.com/docs/api-reference/chat/create (request, response object,
  `message.refusal`, `finish_reason`)
- https://platform.openai.com/docs/guides/structured-outputs (json_schema, strict mode: every
  property required, `additionalProperties: false`)
- https://docs.ollama.com/api/openai-compatibility (base URL http://localhost:11434/v1,
  `response_format` supported; the API key is ignored)
- https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md (llama-server's
  OpenAI-compatible /v1/chat/completions, `response_format` with a JSON schema)

Only the prompts change: times, cuts, framing and everything else stay the director's, and
Storyboard.source becomes "screenwriter". The deterministic director is the default (no base
URL = nothing happens). Any failure (unreachable, timeout, HTTP error, not a chat completion,
not JSON, not the schema, other shots, empty prompts) keeps the director's plan and says why in
Storyboard.note; the analysis never fails because of the screenwriter. The API key is sent as
a Bearer token and never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
from lumiere.v1 import concept_pb2
from lumiere.v1 import storyboard_pb2 as sb
from pydantic import BaseModel, Field, ValidationError

from services.common.settings import Settings
from services.concept.screenplay import (
    Screenplay,
    ScreenplayError,
    ShotLine,
    chat_messages,
    parse_screenplay,
    response_format,
)

log = logging.getLogger(__name__)

SOURCE = "screenwriter"
# How much of an error body goes into the note (they can be whole HTML pages).
_BODY_CHARS = 200


@dataclass(frozen=True)
class ScreenwriterConfig:
    base_url: str
    model: str
    # repr=False: the key must not reach logs through a printed config.
    api_key: str = field(default="", repr=False)
    timeout_s: float = 30.0
    max_shots: int = 40

    @classmethod
    def from_settings(cls, settings: Settings) -> ScreenwriterConfig | None:
        """The screenwriter the settings name, or None (off) without a base URL."""
        if not settings.screenwriter_base_url.strip():
            return None
        return cls(
            base_url=settings.screenwriter_base_url.strip().rstrip("/"),
            model=settings.screenwriter_model.strip(),
            api_key=settings.screenwriter_api_key.get_secret_value(),
            timeout_s=settings.screenwriter_timeout_s,
            max_shots=settings.screenwriter_max_shots,
        )

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


class _Message(BaseModel):
    content: str | None = None
    refusal: str | None = None


class _Choice(BaseModel):
    message: _Message
    finish_reason: str | None = None


class _Completion(BaseModel):
    """The part of a chat.completion object the screenwriter reads."""

    choices: list[_Choice] = Field(min_length=1)


def _reply_content(response: httpx.Response) -> str:
    """The first choice's message content, or ScreenplayError saying why there is none."""
    if response.status_code >= 400:
        body = " ".join(response.text.split())[:_BODY_CHARS]
        raise ScreenplayError(f"HTTP {response.status_code} from the endpoint: {body}")
    try:
        completion = _Completion.model_validate_json(response.content)
    except ValidationError:
        raise ScreenplayError("the response is not a chat completion") from None
    choice = completion.choices[0]
    if choice.message.refusal:
        raise ScreenplayError(f"the model refused: {choice.message.refusal[:_BODY_CHARS]}")
    if choice.finish_reason == "length":
        raise ScreenplayError("the answer was cut off (finish_reason length)")
    if not choice.message.content:
        raise ScreenplayError("the answer is empty")
    return choice.message.content


def _ask(
    client: httpx.Client,
    config: ScreenwriterConfig,
    concept: concept_pb2.Concept,
    board: sb.Storyboard,
    shots: Sequence[sb.Shot],
    story: str,
) -> Screenplay:
    body = {
        "model": config.model,
        "messages": chat_messages(concept, board, shots, story),
        "response_format": response_format(),
        "stream": False,
    }
    try:
        response = client.post(config.url, json=body, headers=config.headers())
    except httpx.TimeoutException:
        raise ScreenplayError(f"no answer within {config.timeout_s:g} s") from None
    except httpx.HTTPError as err:
        raise ScreenplayError(f"cannot reach {config.url} ({type(err).__name__})") from None
    return parse_screenplay(_reply_content(response), [s.index for s in shots])


def write_screenplay(
    concept: concept_pb2.Concept,
    board: sb.Storyboard,
    config: ScreenwriterConfig,
    transport: httpx.BaseTransport | None = None,
) -> Screenplay:
    """Ask for every shot's prompt, `config.max_shots` shots per request; later requests get
    the story the first one wrote so the batches tell one story. Raises ScreenplayError."""
    if not config.model:
        raise ScreenplayError("no model configured (LUMIERE_SCREENWRITER_MODEL)")
    shots = list(board.shots)
    story = ""
    lines: list[ShotLine] = []
    with httpx.Client(timeout=config.timeout_s, transport=transport) as client:
        for k in range(0, len(shots), config.max_shots):
            play = _ask(client, config, concept, board, shots[k : k + config.max_shots], story)
            story = story or play.story
            lines += play.shots
    return Screenplay(story=story, shots=lines)


def _copy(board: sb.Storyboard) -> sb.Storyboard:
    out = sb.Storyboard()
    out.CopyFrom(board)
    return out


def apply_screenplay(board: sb.Storyboard, play: Screenplay, model: str) -> sb.Storyboard:
    """A copy of `board` with the screenplay's prompts; everything else stays the director's.
    The story goes into the note (the storyboard has no field of its own for it yet)."""
    out = _copy(board)
    prompts = {line.index: line.prompt for line in play.shots}
    for shot in out.shots:
        shot.prompt = prompts[shot.index]
    out.source = SOURCE
    out.note = f"prompts written by the screenwriter ({model})"
    out.story = play.story
    return out


def failed_note(reason: str) -> str:
    return f"screenwriter failed: {reason}; using the director's prompts"


def rewrite_storyboard(
    concept: concept_pb2.Concept,
    config: ScreenwriterConfig | None,
    transport: httpx.BaseTransport | None = None,
) -> sb.Storyboard:
    """The concept's storyboard with the screenwriter's prompts; unchanged when `config` is
    None or the storyboard has no shots; the director's plan with a note when it fails."""
    board = concept.storyboard
    if config is None or not board.shots:
        return _copy(board)
    started = time.perf_counter()
    try:
        play = write_screenplay(concept, board, config, transport)
    except ScreenplayError as err:
        reason = str(err)
        if config.api_key:  # an echoing server must not leak the key into the project
            reason = reason.replace(config.api_key, "***")
        log.warning("screenwriter (%s at %s) failed: %s", config.model, config.base_url, reason)
        out = _copy(board)
        out.note = failed_note(reason)
        return out
    log.info(
        "screenwriter (%s) wrote %d prompts in %.1f s",
        config.model,
        len(play.shots),
        time.perf_counter() - started,
    )
    return apply_screenplay(board, play, config.model)
