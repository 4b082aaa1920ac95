"""Issue 14's bad-input corpus against a live stack (the gateway under uvicorn as in production,
the real orchestrator, stage services on loopback): every case gets its specific 4xx with a
message naming what is wrong, nothing is stored for it, and the stack keeps serving."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from services.common import contract
from services.common.settings import Settings
from services.common.storage import LocalStore
from tests.reliability.corpus import CASES, DONE, PROJECTS, UNKNOWN, Case
from tests.support.fake_stages import FakeKnobs
from tests.support.live_gateway import Live, live_stack

pytestmark = pytest.mark.integration


def _stored(store: LocalStore) -> set[str]:
    root = store.root
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


async def _send_raw(live: Live, case: Case, path: str) -> tuple[int, str]:
    url = live.client.base_url
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = f"{case.method} {path} HTTP/1.1\r\nHost: x\r\n{case.raw_head}\r\n"
    writer.write(head.encode("utf-8"))
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(65536), 10)
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2].decode(errors="replace")


async def _send(live: Live, case: Case, done: str) -> tuple[int, str]:
    path = case.path.replace(DONE, done).replace(UNKNOWN, contract.new_project_id())
    if case.raw_head:
        return await _send_raw(live, case, path)
    kwargs: dict[str, object] = {"headers": case.headers}
    if case.files is not None or case.form:
        kwargs["data"] = case.form
        kwargs["files"] = [(f, (n, b, t)) for f, n, b, t in (case.files or [])]
    if case.json_body is not None:
        kwargs["json"] = case.json_body
    if case.content is not None:
        kwargs["content"] = case.content
    resp = await live.client.request(case.method, path, **kwargs)  # type: ignore[arg-type]
    try:
        detail = resp.json().get("detail", "")
    except ValueError:
        detail = resp.text
    return resp.status_code, detail if isinstance(detail, str) else str(detail)


async def test_every_bad_input_gets_its_4xx_and_stores_nothing(
    settings: Settings, store: LocalStore, tmp_path: Path
) -> None:
    async with live_stack(settings, store, FakeKnobs()) as live:
        created = await live.create()
        assert created.status_code == 201, created.text
        done = created.json()["id"]
        assert (await live.client.post(f"{PROJECTS}/{done}/process")).status_code == 202
        assert (await live.events(done))[-1] == ("end", {"status": "completed"})

        wrong: list[str] = []
        for case in CASES:
            before = _stored(store)
            status, detail = await _send(live, case, done)
            if status != case.status or case.needle.lower() not in detail.lower():
                wrong.append(f"{case.name}: {status} {detail[:160]!r}")
            if "/tmp" in detail or str(store.root) in detail:
                wrong.append(f"{case.name}: the message shows a server path: {detail[:160]!r}")
            new = {k for k in _stored(store) - before if not k.startswith(f"outputs/{done}/")}
            if new:
                wrong.append(f"{case.name}: stored {sorted(new)[:3]}")
            if (await live.client.get("/livez")).status_code != 200:
                wrong.append(f"{case.name}: the gateway stopped answering")
        listed = (await live.client.get(PROJECTS)).json()["projects"]
        assert [p["id"] for p in listed] == [done]  # no project was created by a bad request
        assert (await live.client.get(f"{PROJECTS}/{done}")).json()["status"] == "completed"
        print(f"bad-input corpus: {len(CASES)} cases, {len(wrong)} wrong")
        assert not wrong, "\n".join(wrong)
