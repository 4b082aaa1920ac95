"""The REST API as Python calls, over httpx: what the `lumiere` command and the demo use.

Only the public API (`/api/v1`, `/health`): the command works the same against a local stack
and a remote gateway. Errors carry the HTTP status and the server's own message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

API = "/api/v1"
# Read timeout of the event stream: the server sends a keep-alive comment every few seconds.
EVENTS_READ_TIMEOUT_S = 60.0


class ApiError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{detail} (HTTP {status})")
        self.status = status
        self.detail = detail

    @property
    def bad_input(self) -> bool:
        """The request was wrong (4xx other than auth/rate limits): the caller's to fix."""
        return 400 <= self.status < 500 and self.status not in (401, 403, 429)


def _detail(resp: httpx.Response) -> str:
    try:
        detail = resp.json().get("detail")
    except (ValueError, AttributeError):
        return resp.text[:300] or resp.reason_phrase
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail
        )
    return str(detail)


def _check(resp: httpx.Response) -> httpx.Response:
    if resp.status_code >= 400:
        raise ApiError(resp.status_code, _detail(resp))
    return resp


def _content_type(path: Path, default: str) -> str:
    known = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
    return known.get(path.suffix.lower(), default)


class LumiereAPI:
    def __init__(self, url: str, api_key: str | None = None, timeout: float = 60.0) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LumiereAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return _check(self.http.request(method, API + path, **kw)).json()

    def reachable(self) -> bool:
        try:
            return self.http.get("/livez", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def health(self) -> dict[str, Any]:
        return dict(self.http.get("/health").json())

    def pipeline(self) -> dict[str, Any]:
        return dict(self._json("GET", "/pipeline"))

    def create(
        self,
        song: Path,
        prompt: str,
        form: dict[str, str] | None = None,
        characters: list[tuple[str, bytes]] | None = None,
        lyrics: Path | None = None,
    ) -> dict[str, Any]:
        """Upload the song (and images, lyrics): the new project, `created`."""
        with ExitStack() as files_open:
            fh = files_open.enter_context(song.open("rb"))
            files: list[tuple[str, tuple[str, Any, str]]] = [
                ("audio", (song.name, fh, "application/octet-stream"))
            ]
            files += [
                ("character_images", (name, data, _content_type(Path(name), "image/png")))
                for name, data in characters or []
            ]
            if lyrics is not None:
                files.append(("lyrics", (lyrics.name, lyrics.read_bytes(), "text/plain")))
            data = {"prompt": prompt, **(form or {})}
            return dict(self._json("POST", "/projects", data=data, files=files))

    def process(self, pid: str) -> dict[str, Any]:
        return dict(self._json("POST", f"/projects/{pid}/process"))

    def preview(self, pid: str) -> dict[str, Any]:
        return dict(self._json("POST", f"/projects/{pid}/preview"))

    def cancel(self, pid: str) -> dict[str, Any]:
        return dict(self._json("POST", f"/projects/{pid}/cancel"))

    def get(self, pid: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/projects/{pid}"))

    def timeline(self, pid: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/projects/{pid}/timeline"))

    def list(self, limit: int = 100) -> list[dict[str, Any]]:
        return list(self._json("GET", "/projects", params={"limit": limit})["projects"])

    def regenerate(
        self, pid: str, shot: int | str, prompt: str = "", seed: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"shot": shot, "prompt": prompt}
        if seed is not None:
            body["seed"] = seed
        return dict(self._json("POST", f"/projects/{pid}/regenerate", json=body))

    def download(self, pid: str, dest: Path, preview: bool = False) -> Path:
        """The final MP4 (or the preview) to `dest`, streamed."""
        kind = "preview" if preview else "video"
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        with self.http.stream("GET", f"{API}/projects/{pid}/{kind}") as resp:
            if resp.status_code >= 400:
                resp.read()
                _check(resp)
            with part.open("wb") as out:
                for chunk in resp.iter_bytes(1 << 16):
                    out.write(chunk)
        part.replace(dest)
        return dest

    def events(self, pid: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """The project's Server-Sent Events as (event, data) until the stream closes."""
        timeout = httpx.Timeout(30.0, read=EVENTS_READ_TIMEOUT_S)
        with self.http.stream("GET", f"{API}/projects/{pid}/events", timeout=timeout) as resp:
            if resp.status_code >= 400:
                resp.read()
                _check(resp)
            kind, data = "message", list[str]()
            for line in resp.iter_lines():
                if not line:  # a blank line ends one event
                    if data:
                        yield kind, json.loads("\n".join(data))
                    kind, data = "message", []
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
