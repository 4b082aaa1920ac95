"""A client for ComfyUI's own server API (the one its web page uses), shared by the seeder
(keyframes) and the animator (shots).

Wire format (ComfyUI server.py / execution.py; docs.comfy.org "Server Routes" and
"Websocket messages"):
- GET  /object_info            -> {class_type: {"input": {"required": {..}, "optional": {..}}, ..}}
- POST /upload/image           multipart: image=<file>, type=input, overwrite=true
                               -> {"name", "subfolder", "type"}
- GET  /ws?clientId=<id>       websocket; JSON text frames {"type": .., "data": {..}}:
    status {status: {exec_info: {queue_remaining}}}, execution_start {prompt_id},
    execution_cached {nodes, prompt_id}, executing {node, prompt_id} (node null: prompt done),
    progress {value, max, prompt_id, node}, executed {node, output, prompt_id},
    execution_success {prompt_id}, execution_error {prompt_id, node_id, node_type,
    exception_type, exception_message, ..}, execution_interrupted {prompt_id, node_id, ..};
    binary frames (4-byte big-endian event type + preview image) are ignored.
- POST /prompt {"prompt": <API workflow>, "client_id": <id>}
                               -> {"prompt_id", "number", "node_errors"};
                               400 {"error", "node_errors"}
- GET  /history/{prompt_id}    -> {prompt_id: {"outputs": {node: {"images": [file..]}},
                                               "status": {"status_str", "completed", "messages"}}}
- GET  /view?filename=&subfolder=&type=   -> the file's bytes
- POST /interrupt {"prompt_id"} stops that prompt if it is running; POST /queue {"delete": [id]}
                               drops it if it is still waiting.

The websocket is opened before the prompt is queued, so no message of ours can be missed; if it
drops, the job is followed by polling /history instead.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from services.common.backend_errors import BackendFailed, BackendUnavailable
from services.common.backend_http import RetryPolicy, send, send_json
from services.common.comfyui_workflow import Template, TemplateError, output_files

log = logging.getLogger(__name__)

BACKEND = "comfyui"
# How often a silent websocket is backed up by a look at /history (lost messages, a restart).
POLL_S = 5.0

# (stage, done, total): stage is "queued" (done = jobs ahead), "running" (node progress).
ProgressFn = Callable[[str, int, int], None]


class Cancelled(BackendFailed):
    """The job was cancelled by us (the interrupt was sent)."""


@dataclass
class JobResult:
    prompt_id: str
    files: list[dict[str, str]]
    seconds: float


class ComfyClient:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 60.0,
        policy: RetryPolicy | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        if not base_url:
            raise BackendFailed("ComfyUI needs a base URL (e.g. http://127.0.0.1:8188)")
        self.base = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.http = client or httpx.Client(timeout=httpx.Timeout(timeout_s, connect=10.0))
        self.client_id = uuid.uuid4().hex
        self._validated: set[str] = set()
        self._lock = threading.Lock()

    # -- plain requests -----------------------------------------------------------------------

    def _json(self, method: str, path: str, what: str, **kw: Any) -> dict[str, Any]:
        return send_json(
            self.http,
            method,
            self.base + path,
            backend=BACKEND,
            policy=self.policy,
            what=what,
            **kw,
        )

    def object_info(self) -> dict[str, Any]:
        return self._json("GET", "/object_info", "the node list")

    def validate(self, template: Template) -> None:
        """Check the template against the server once per template (before its first job)."""
        with self._lock:
            if template.digest in self._validated:
                return
        template.validate_against(self.object_info(), self.base)
        with self._lock:
            self._validated.add(template.digest)

    def upload_image(self, data: bytes, name: str) -> str:
        """Upload a PNG into ComfyUI's input folder; returns the name to bind (LoadImage.image)."""
        body = self._json(
            "POST",
            "/upload/image",
            "the image upload",
            files={"image": (name, data, "image/png")},
            data={"type": "input", "overwrite": "true"},
        )
        got = body.get("name")
        if not isinstance(got, str) or not got:
            raise BackendFailed(f"ComfyUI at {self.base} answered the upload without a name")
        sub = body.get("subfolder") or ""
        return f"{sub}/{got}" if sub else got

    def view(self, file: dict[str, str]) -> bytes:
        params = {k: file.get(k, "") for k in ("filename", "subfolder", "type")}
        resp = send(
            self.http,
            "GET",
            self.base + "/view",
            backend=BACKEND,
            policy=self.policy,
            what=f"the download of {params['filename']}",
            params=params,
        )
        return resp.content

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        body = self._json("GET", f"/history/{prompt_id}", "the history lookup")
        entry = body.get(prompt_id)
        return entry if isinstance(entry, dict) else None

    def interrupt(self, prompt_id: str) -> None:
        """Stop our prompt whether it runs (interrupt) or waits (delete from the queue)."""
        for path, payload in (
            ("/interrupt", {"prompt_id": prompt_id}),
            ("/queue", {"delete": [prompt_id]}),
        ):
            try:
                self.http.post(self.base + path, json=payload)
            except httpx.HTTPError as exc:
                log.warning("ComfyUI %s for %s failed: %s", path, prompt_id, exc)

    # -- one job ------------------------------------------------------------------------------

    def _ws_url(self) -> str:
        scheme, rest = self.base.split("://", 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ws?clientId={self.client_id}"

    def _open_ws(self) -> ClientConnection:
        deadline = time.monotonic() + max(self.policy.down_wait_s, 0.0)
        attempt = 0
        while True:
            attempt += 1
            try:
                # A short close: when we leave early (cancel, deadline, error) ComfyUI may still
                # be streaming previews into a full buffer, and nothing waits for its goodbye.
                return connect(self._ws_url(), open_timeout=10, close_timeout=1, max_size=2**26)
            except (OSError, InvalidStatus, WebSocketException, TimeoutError) as exc:
                if attempt >= self.policy.retries and time.monotonic() >= deadline:
                    raise BackendUnavailable(
                        f"comfyui backend at {self.base} failed after {attempt} attempts: "
                        f"websocket: {type(exc).__name__}: {exc}"
                    ) from exc
                time.sleep(min(10.0, self.policy.backoff_s * 2 ** (attempt - 1)))

    def queue(self, workflow: dict[str, Any]) -> str:
        url = self.base + "/prompt"
        resp = send(
            self.http,
            "POST",
            url,
            backend=BACKEND,
            policy=self.policy,
            what="the workflow",
            accept=(400,),
            json={"prompt": workflow, "client_id": self.client_id},
        )
        try:
            body = resp.json()
        except ValueError as exc:
            raise BackendFailed(f"ComfyUI at {url} answered with non-JSON") from exc
        if resp.status_code == 400:
            raise BackendFailed(f"ComfyUI rejected the workflow: {_validation_text(body)}")
        prompt_id = body.get("prompt_id") if isinstance(body, dict) else None
        if not isinstance(prompt_id, str):
            raise BackendFailed(f"ComfyUI at {url} answered without a prompt_id: {body}")
        return prompt_id

    def run(
        self,
        template: Template,
        workflow: dict[str, Any],
        *,
        deadline_s: float,
        progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
    ) -> JobResult:
        """Queue a filled workflow, follow it to the end, return its output files."""
        self.validate(template)
        t0 = time.monotonic()
        with self._open_ws() as ws:
            prompt_id = self.queue(workflow)
            self._follow(ws, prompt_id, t0 + deadline_s, progress, cancel)
        entry = self._finished_history(prompt_id)
        _raise_for_status(entry, prompt_id)
        files = output_files(entry, template.output)
        if not files:
            raise BackendFailed(
                f"ComfyUI prompt {prompt_id} (template {template.name!r}) produced no files"
                + (f" at node {template.output}" if template.output else "")
            )
        return JobResult(prompt_id, files, time.monotonic() - t0)

    def _finished_history(self, prompt_id: str, wait_s: float = 10.0) -> dict[str, Any]:
        """The prompt's history entry, given a moment to appear (it is written after the last
        node ran; after a websocket drop we may be early)."""
        deadline = time.monotonic() + wait_s
        while True:
            entry = self.history(prompt_id)
            if entry is not None:
                return entry
            if time.monotonic() >= deadline:
                raise BackendFailed(f"ComfyUI at {self.base} has no history for prompt {prompt_id}")
            time.sleep(0.2)

    def _follow(
        self,
        ws: ClientConnection,
        prompt_id: str,
        deadline: float,
        progress: ProgressFn | None,
        cancel: threading.Event | None,
    ) -> None:
        def report(stage: str, done: int, total: int) -> None:
            if progress is None:
                return
            try:
                progress(stage, done, total)
            except BaseException:
                # The caller is gone (the render was cancelled): stop the GPU work too.
                self.interrupt(prompt_id)
                raise

        live = True
        last_poll = time.monotonic()
        while True:
            now = time.monotonic()
            if cancel is not None and cancel.is_set():
                self.interrupt(prompt_id)
                raise Cancelled(f"ComfyUI prompt {prompt_id} cancelled (interrupt sent)")
            if now >= deadline:
                self.interrupt(prompt_id)
                raise BackendUnavailable(
                    f"ComfyUI prompt {prompt_id} did not finish before its deadline "
                    "(interrupt sent)"
                )
            if not live or now - last_poll >= POLL_S:
                last_poll = now
                entry = self.history(prompt_id)
                if entry is not None and (entry.get("status") or {}).get("completed") is not None:
                    return
                if not live:
                    time.sleep(min(1.0, max(0.0, deadline - now)))
                    continue
            try:
                raw = ws.recv(timeout=min(1.0, max(0.01, deadline - now)))
            except TimeoutError:
                continue
            except ConnectionClosed:
                log.warning("ComfyUI websocket closed; polling /history for %s", prompt_id)
                live = False
                continue
            if not isinstance(raw, str):
                continue  # a binary preview image
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            kind, data = msg.get("type"), msg.get("data") or {}
            if kind == "status":
                remaining = ((data.get("status") or {}).get("exec_info") or {}).get(
                    "queue_remaining", 0
                )
                report("queued", int(remaining), 0)
                continue
            if data.get("prompt_id") not in (None, prompt_id):
                continue  # another client's job on a shared server
            if kind == "progress":
                report("running", int(data.get("value", 0)), int(data.get("max", 0)))
            elif kind == "executing" and data.get("node") is None and data.get("prompt_id"):
                # The end: ComfyUI sends this after writing the prompt's history. Its
                # execution_success comes before that write, so it is not the end yet.
                return
            elif kind == "execution_error":
                raise BackendFailed(_error_text(data, prompt_id))
            elif kind == "execution_interrupted":
                # Not ours (we raise Cancelled before): someone stopped the server's job.
                raise BackendUnavailable(
                    f"ComfyUI prompt {prompt_id} was interrupted on the server at node "
                    f"{data.get('node_id')} ({data.get('node_type')})"
                )


def _validation_text(body: Any) -> str:
    """POST /prompt's 400: {"error": {"message", "details"}, "node_errors": {node: {"errors":
    [{"message", "details"}], "class_type"}}} -> one line naming each failing node."""
    if not isinstance(body, dict):
        return str(body)[:300]
    err = body.get("error")
    text = err.get("message", "") if isinstance(err, dict) else str(err or "")
    parts = []
    for node, info in sorted((body.get("node_errors") or {}).items()):
        for e in (info or {}).get("errors") or []:
            parts.append(
                f"node {node} ({info.get('class_type')}): {e.get('message')}: {e.get('details')}"
            )
    return "; ".join([text, *parts])[:600]


def _error_text(data: dict[str, Any], prompt_id: str) -> str:
    return (
        f"ComfyUI prompt {prompt_id} failed in node {data.get('node_id')} "
        f"({data.get('node_type')}): {data.get('exception_type', 'error')}: "
        f"{str(data.get('exception_message', '')).strip()[:300]}"
    )


def _raise_for_status(entry: dict[str, Any], prompt_id: str) -> None:
    status = entry.get("status") or {}
    if status.get("status_str") != "error":
        return
    for item in status.get("messages") or []:
        if isinstance(item, list) and len(item) == 2 and item[0] == "execution_error":
            raise BackendFailed(_error_text(item[1], prompt_id))
        if isinstance(item, list) and len(item) == 2 and item[0] == "execution_interrupted":
            raise BackendUnavailable(f"ComfyUI prompt {prompt_id} was interrupted on the server")
    raise BackendFailed(f"ComfyUI prompt {prompt_id} ended with an error")


__all__ = ["Cancelled", "ComfyClient", "JobResult", "TemplateError"]
