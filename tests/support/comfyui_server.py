"""A loopback stand-in for a ComfyUI server that speaks its wire format (server.py/execution.py):
GET /object_info, POST /upload/image, POST /prompt (with its 400 node_errors), the
/ws?clientId= websocket (status, execution_start, execution_cached, executing, progress,
executed, execution_success, execution_error, execution_interrupted, binary previews),
GET /history/{id}, GET /view, POST /interrupt and POST /queue {"delete"}.

It "executes" just enough of a workflow to answer with real files: an image workflow saves a
PNG at the latent (or ImageScale) size, coloured by the seed, or the uploaded image inverted
when the graph loads one; a video workflow (a node with a `length` input) saves an H.264 MP4 of
`length` frames at CreateVideo's fps: the start image drifting sideways, so every frame differs.
Knobs make it fail at a node, run until interrupted, drop the websocket, or be down for a while.
"""

from __future__ import annotations

import asyncio
import io
import struct
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from typing import Annotated, Any

import av
import numpy as np
from fastapi import FastAPI, File, Form, Request, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response
from PIL import Image

from tests.support.live_gateway import serve_in_thread

_COND, _IMG, _VAE = ["CONDITIONING"], ["IMAGE"], ["VAE"]
# class_type -> (required inputs, optional inputs); enough of ComfyUI's built-in nodes (and
# Wan's video nodes) for the shipped templates and the tests.
NODES: dict[str, tuple[list[str], list[str]]] = {
    "KSampler": (
        [
            "model",
            "seed",
            "steps",
            "cfg",
            "sampler_name",
            "scheduler",
            "positive",
            "negative",
            "latent_image",
            "denoise",
        ],
        [],
    ),
    "CheckpointLoaderSimple": (["ckpt_name"], []),
    "EmptyLatentImage": (["width", "height", "batch_size"], []),
    "CLIPTextEncode": (["text", "clip"], []),
    "VAEDecode": (["samples", "vae"], []),
    "VAEEncode": (["pixels", "vae"], []),
    "SaveImage": (["images", "filename_prefix"], []),
    "LoadImage": (["image"], []),
    "ImageScale": (["image", "upscale_method", "width", "height", "crop"], []),
    "ImageInvert": (["image"], []),
    "EmptyImage": (["width", "height", "batch_size", "color"], []),
    "UNETLoader": (["unet_name", "weight_dtype"], []),
    "CLIPLoader": (["clip_name", "type"], ["device"]),
    "VAELoader": (["vae_name"], []),
    "WanImageToVideo": (
        ["positive", "negative", "vae", "width", "height", "length", "batch_size"],
        ["clip_vision_output", "start_image"],
    ),
    "WanFirstLastFrameToVideo": (
        ["positive", "negative", "vae", "width", "height", "length", "batch_size"],
        ["clip_vision_start_image", "clip_vision_end_image", "start_image", "end_image"],
    ),
    "LTXVImgToVideo": (
        ["positive", "negative", "vae", "image", "width", "height", "length", "batch_size"],
        ["strength"],
    ),
    "LTXVConditioning": (["positive", "negative", "frame_rate"], []),
    "CreateVideo": (["images", "fps"], ["audio"]),
    "SaveVideo": (["video", "filename_prefix", "format", "codec"], []),
}


@dataclass
class Knobs:
    fail_node: str = ""  # class_type that raises execution_error
    hang: bool = False  # keep "sampling" until interrupted
    drop_ws: bool = False  # close the websocket right after the job starts
    missing: tuple[str, ...] = ()  # node classes this server lacks (object_info)
    down_until: float = 0.0  # monotonic time before which every HTTP call answers 503
    steps: int = 3
    step_s: float = 0.01


@dataclass
class FakeComfy:
    url: str = ""
    knobs: Knobs = field(default_factory=Knobs)
    inputs: dict[str, bytes] = field(default_factory=dict)
    outputs: dict[str, bytes] = field(default_factory=dict)
    history: dict[str, dict[str, Any]] = field(default_factory=dict)
    prompts: list[dict[str, Any]] = field(default_factory=list)
    interrupts: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    ws_clients: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)


def _object_info(missing: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for cls, (req, opt) in NODES.items():
        if cls in missing:
            continue
        out[cls] = {
            "input": {
                "required": {k: [["*"], {}] for k in req},
                "optional": {k: [["*"], {}] for k in opt},
            },
            "input_order": {"required": req, "optional": opt},
            "output": [],
            "name": cls,
            "display_name": cls,
            "output_node": cls in ("SaveImage", "SaveVideo"),
        }
    return out


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


def mp4_of(first: np.ndarray, frames: int, fps: int) -> bytes:
    """`frames` frames at `fps`: the start image drifting right by 2 px a frame (wrapping), so
    consecutive frames always differ, evenly (no accents of its own)."""
    h, w = first.shape[:2]
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(frames):
            img = np.ascontiguousarray(np.roll(first, 2 * i, axis=1))
            frame = av.VideoFrame.from_ndarray(img, "rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


# Nodes that make a video latent of `length` frames at width x height.
VIDEO_NODES = ("WanImageToVideo", "WanFirstLastFrameToVideo", "LTXVImgToVideo")


def _find(prompt: dict[str, Any], cls: str) -> dict[str, Any] | None:
    for node in prompt.values():
        if node["class_type"] == cls:
            return node["inputs"]
    return None


def _render(fake: FakeComfy, prompt: dict[str, Any]) -> tuple[str, bytes, bool]:
    """(file name, bytes, is_video) of what the workflow would save."""
    size = None
    for cls in ("ImageScale", "EmptyLatentImage", *VIDEO_NODES):
        node = _find(prompt, cls)
        if node is not None:
            size = (int(node["width"]), int(node["height"]))
            break
    w, h = size or (64, 64)
    load = _find(prompt, "LoadImage")
    if load is not None:
        src = Image.open(io.BytesIO(fake.inputs[load["image"]])).convert("RGB").resize((w, h))
        img = 255 - np.asarray(src)
    else:
        sampler = _find(prompt, "KSampler") or {}
        seed = int(sampler.get("seed", 0))
        img = np.zeros((h, w, 3), np.uint8)
        img[...] = (seed * 37 % 256, seed * 91 % 256, 128)
        img[:, : w // 4] = 255 - img[:, : w // 4]  # an edge to see motion by
    video = next((n for n in map(partial(_find, prompt), VIDEO_NODES) if n is not None), None)
    if video is not None:
        fps = int(float((_find(prompt, "CreateVideo") or {}).get("fps", 16)))
        return f"clip_{uuid.uuid4().hex[:6]}.mp4", mp4_of(img, int(video["length"]), fps), True
    return f"lumiere_{uuid.uuid4().hex[:6]}_.png", _png(img), False


def make_app(fake: FakeComfy) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(worker())
        yield
        task.cancel()

    app = FastAPI(lifespan=lifespan)
    sockets: dict[str, WebSocket] = {}
    jobs: asyncio.Queue[tuple[str, dict[str, Any], str]] = asyncio.Queue()
    interrupted: set[str] = set()
    running: list[str] = []

    @app.middleware("http")
    async def down(request: Request, call_next: Any) -> Response:
        fake.calls.append(f"{request.method} {request.url.path}")
        if time.monotonic() < fake.knobs.down_until:
            return JSONResponse({"error": "starting up"}, status_code=503)
        response: Response = await call_next(request)
        return response

    async def send(sid: str, kind: str, data: dict[str, Any]) -> None:
        ws = sockets.get(sid)
        if ws is not None:
            try:
                await ws.send_json({"type": kind, "data": data})
            except (RuntimeError, WebSocketDisconnect):
                sockets.pop(sid, None)

    async def worker() -> None:
        while True:
            prompt_id, prompt, sid = await jobs.get()
            running.append(prompt_id)
            try:
                await execute(prompt_id, prompt, sid)
            finally:
                running.remove(prompt_id)

    async def execute(prompt_id: str, prompt: dict[str, Any], sid: str) -> None:
        k = fake.knobs
        messages: list[list[Any]] = []

        async def emit(kind: str, data: dict[str, Any]) -> None:
            data = {**data, "prompt_id": prompt_id}
            if kind.startswith("execution_"):
                messages.append([kind, {**data, "timestamp": int(time.time() * 1000)}])
            await send(sid, kind, data)

        def finish(status: str, outputs: dict[str, Any]) -> None:
            fake.history[prompt_id] = {
                "prompt": [0, prompt_id, prompt, {"client_id": sid}, []],
                "outputs": outputs,
                "status": {
                    "status_str": status,
                    "completed": status == "success",
                    "messages": messages,
                },
                "meta": {},
            }

        await emit("execution_start", {})
        await emit("execution_cached", {"nodes": []})
        if k.drop_ws and sid in sockets:
            await sockets.pop(sid).close()
        outputs: dict[str, Any] = {}
        for node_id, node in prompt.items():
            cls = node["class_type"]
            await emit("executing", {"node": node_id, "display_node": node_id})
            if cls == k.fail_node:
                await emit(
                    "execution_error",
                    {
                        "node_id": node_id,
                        "node_type": cls,
                        "executed": [],
                        "exception_type": "torch.OutOfMemoryError",
                        "exception_message": "CUDA out of memory. Tried to allocate 2.00 GiB",
                        "traceback": [],
                        "current_inputs": {},
                        "current_outputs": [],
                    },
                )
                finish("error", {})
                return
            if cls == "KSampler":
                step = 0
                while step < k.steps or k.hang:
                    if prompt_id in interrupted:
                        await emit(
                            "execution_interrupted",
                            {"node_id": node_id, "node_type": cls, "executed": []},
                        )
                        finish("error", {})
                        return
                    step = min(step + 1, k.steps)
                    await emit("progress", {"value": step, "max": k.steps, "node": node_id})
                    ws = sockets.get(sid)
                    if ws is not None:  # a binary preview frame: 4-byte event type + JPEG
                        await ws.send_bytes(
                            struct.pack(">I", 1) + struct.pack(">I", 1) + b"\xff\xd8"
                        )
                    await asyncio.sleep(k.step_s)
            if cls in ("SaveImage", "SaveVideo"):
                name, data, is_video = _render(fake, prompt)
                sub = "video" if is_video else ""
                fake.outputs[f"{sub}/{name}" if sub else name] = data
                item = {"filename": name, "subfolder": sub, "type": "output"}
                outputs[node_id] = {"images": [item], **({"animated": [True]} if is_video else {})}
                await emit(
                    "executed",
                    {"node": node_id, "display_node": node_id, "output": outputs[node_id]},
                )
        await emit("execution_success", {})
        await asyncio.sleep(0.05)  # as ComfyUI: the history is written after execution_success
        finish("success", outputs)
        await send(sid, "executing", {"node": None, "prompt_id": prompt_id})

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        sid = websocket.query_params.get("clientId") or uuid.uuid4().hex
        fake.ws_clients.append(sid)
        sockets[sid] = websocket
        await send(
            sid, "status", {"status": {"exec_info": {"queue_remaining": jobs.qsize()}}, "sid": sid}
        )
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            sockets.pop(sid, None)

    @app.get("/object_info")
    async def object_info() -> dict[str, Any]:
        return _object_info(fake.knobs.missing)

    @app.post("/upload/image")
    async def upload(
        image: Annotated[UploadFile, File()],
        type: Annotated[str, Form()] = "input",  # noqa: A002
        overwrite: Annotated[str, Form()] = "",
    ) -> dict[str, str]:
        name = image.filename or "upload.png"
        fake.inputs[name] = await image.read()
        return {"name": name, "subfolder": "", "type": type}

    @app.post("/prompt")
    async def post_prompt(request: Request) -> Response:
        body = await request.json()
        prompt = body.get("prompt")
        if not isinstance(prompt, dict):
            return JSONResponse(
                {
                    "error": {"type": "no_prompt", "message": "No prompt provided", "details": ""},
                    "node_errors": {},
                },
                status_code=400,
            )
        known = _object_info(fake.knobs.missing)
        node_errors = {}
        for node_id, node in prompt.items():
            cls = node.get("class_type")
            if cls not in known:
                return JSONResponse(
                    {
                        "error": {
                            "type": "invalid_prompt",
                            "message": f"Cannot execute because node {cls} does not exist.",
                            "details": f"Node ID '#{node_id}'",
                            "extra_info": {},
                        },
                        "node_errors": {},
                    },
                    status_code=400,
                )
            for key in NODES[cls][0]:
                if key not in node["inputs"]:
                    node_errors[node_id] = {
                        "errors": [
                            {
                                "type": "required_input_missing",
                                "message": "Required input is missing",
                                "details": key,
                            }
                        ],
                        "dependent_outputs": [],
                        "class_type": cls,
                    }
            load = node["inputs"].get("image") if cls == "LoadImage" else None
            if load is not None and load not in fake.inputs:
                node_errors[node_id] = {
                    "errors": [
                        {
                            "type": "value_not_in_list",
                            "message": "Value not in list",
                            "details": f"image: '{load}' not in []",
                        }
                    ],
                    "dependent_outputs": [],
                    "class_type": cls,
                }
        if node_errors:
            return JSONResponse(
                {
                    "error": {
                        "type": "prompt_outputs_failed_validation",
                        "message": "Prompt outputs failed validation",
                        "details": "",
                        "extra_info": {},
                    },
                    "node_errors": node_errors,
                },
                status_code=400,
            )
        prompt_id = str(uuid.uuid4())
        fake.prompts.append(body)
        number = len(fake.prompts)
        await jobs.put((prompt_id, prompt, str(body.get("client_id", ""))))
        return JSONResponse({"prompt_id": prompt_id, "number": number, "node_errors": {}})

    @app.get("/history/{prompt_id}")
    async def history(prompt_id: str) -> dict[str, Any]:
        entry = fake.history.get(prompt_id)
        return {prompt_id: entry} if entry is not None else {}

    @app.get("/view")
    async def view(filename: str, subfolder: str = "", type: str = "output") -> Response:  # noqa: A002
        key = f"{subfolder}/{filename}" if subfolder else filename
        data = fake.outputs.get(key) if type == "output" else fake.inputs.get(key)
        if data is None:
            return Response(status_code=404)
        media = "video/mp4" if filename.endswith(".mp4") else "image/png"
        return Response(data, media_type=media)

    @app.post("/interrupt")
    async def interrupt(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        pid = body.get("prompt_id") if isinstance(body, dict) else None
        fake.interrupts.append(str(pid))
        if pid is None:
            interrupted.update(running)
        elif pid in running:
            interrupted.add(pid)
        return Response(status_code=200)

    @app.post("/queue")
    async def queue(request: Request) -> Response:
        body = await request.json()
        fake.deleted.extend(body.get("delete") or [])
        return Response(status_code=200)

    return app


@contextmanager
def fake_comfyui(knobs: Knobs | None = None) -> Iterator[FakeComfy]:
    fake = FakeComfy(knobs=knobs or Knobs())
    with serve_in_thread(make_app(fake)) as url:
        fake.url = url
        yield fake


__all__ = ["FakeComfy", "Knobs", "fake_comfyui"]


if __name__ == "__main__":
    # Try the ComfyUI backends without a GPU: `python -m tests.support.comfyui_server 8188`.
    import sys

    import uvicorn

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8188
    uvicorn.run(make_app(FakeComfy(url=f"http://127.0.0.1:{port}")), host="127.0.0.1", port=port)
