"""A loopback server speaking the OpenAI chat-completions wire format, for the screenwriter.

`chat_server(responder)` starts `http.server` in a thread on a free port and yields a
ChatServer: `base_url` ("http://127.0.0.1:<port>/v1") and `requests` (every POST to
/v1/chat/completions: headers and JSON body). `responder(body) -> Reply` decides each answer:
a message content wrapped in a chat.completion object, a raw body, an HTTP status, a delay.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class Reply:
    # The assistant message's content (a JSON string for structured outputs).
    content: str = ""
    status: int = 200
    # When set, sent as the whole body instead of a chat.completion envelope.
    raw: bytes | None = None
    delay_s: float = 0.0
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


Responder = Callable[[dict[str, Any]], Reply]


@dataclass
class ChatServer:
    base_url: str
    requests: list[Recorded] = field(default_factory=list)


def completion(content: str, model: str, finish_reason: str = "stop") -> dict[str, Any]:
    """A chat.completion object as OpenAI's API returns it."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def brief_of(body: dict[str, Any]) -> dict[str, Any]:
    """The screenwriter's brief: the JSON in the request's user message."""
    user = next(m for m in body["messages"] if m["role"] == "user")
    return dict(json.loads(user["content"]))


def echo_screenplay(prompt: Callable[[dict[str, Any]], str], story: str = "") -> Responder:
    """A responder answering every shot asked for with `prompt(shot_brief)`."""

    def respond(body: dict[str, Any]) -> Reply:
        shots = brief_of(body)["shots"]
        play = {
            "story": story,
            "shots": [{"index": s["index"], "prompt": prompt(s)} for s in shots],
        }
        return Reply(content=json.dumps(play))

    return respond


def _handler(server: ChatServer, responder: Responder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's method name
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if self.path != PATH:
                self._send(404, b'{"error": {"message": "not found"}}')
                return
            body = json.loads(raw)
            server.requests.append(Recorded(self.path, dict(self.headers.items()), body))
            reply = responder(body)
            time.sleep(reply.delay_s)
            if reply.raw is not None:
                self._send(reply.status, reply.raw)
            elif reply.status >= 400:
                error = {"error": {"message": "boom", "type": "server_error"}}
                self._send(reply.status, json.dumps(error).encode())
            else:
                env = completion(reply.content, str(body.get("model", "")), reply.finish_reason)
                self._send(reply.status, json.dumps(env).encode())

        def _send(self, status: int, data: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return None

    return Handler


@contextmanager
def chat_server(responder: Responder) -> Iterator[ChatServer]:
    state = ChatServer("")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state, responder))
    httpd.daemon_threads = True
    # A delayed reply must not hold up the test's exit.
    httpd.block_on_close = False
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
