"""An in-memory OrchestratorService on a real gRPC server, for the gateway's own tests and for
working on the web page without the whole pipeline (`python -m tests.support.fake_orchestrator`).

It walks a project through the real state names with short pauses, writes real artifacts to the
shared store (PNG keyframes, a playable H.264/AAC MP4) and streams WatchProject events, so the
gateway is exercised over the wire exactly as against the real orchestrator.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import av
import grpc
import numpy as np
from google.protobuf.timestamp_pb2 import Timestamp
from lumiere.v1 import common_pb2, concept_pb2, seeder_pb2, storyboard_pb2
from lumiere.v1 import orchestrator_pb2 as opb
from lumiere.v1 import orchestrator_pb2_grpc as opb_grpc
from PIL import Image

from services.common.storage import ArtifactStore, LocalStore

S = opb.ProjectState
ACTIVE = {S.PROJECT_STATE_PROCESSING, S.PROJECT_STATE_CONCEPT_GENERATED}
ACTIVE |= {S.PROJECT_STATE_SEEDS_GENERATED, S.PROJECT_STATE_ANIMATIONS_GENERATED}
TERMINAL = {S.PROJECT_STATE_COMPLETED, S.PROJECT_STATE_FAILED, S.PROJECT_STATE_CANCELLED}


def make_test_video(
    seconds: float = 2.0, width: int = 160, height: int = 90, fps: int = 12
) -> bytes:
    """A small, real, browser-playable MP4 (H.264 yuv420p + AAC, faststart) with moving colour."""
    # faststart rewrites the file at the end, so it needs a real file, not a BytesIO.
    fd, tmp_name = tempfile.mkstemp(suffix=".mp4")
    os.close(fd)
    with av.open(tmp_name, "w", options={"movflags": "+faststart"}) as c:
        v = c.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.options = {"preset": "ultrafast"}
        a = c.add_stream("aac", rate=44100)
        a.layout = "mono"  # type: ignore[union-attr]
        frames = round(seconds * fps)
        for i in range(frames):
            img = np.zeros((height, width, 3), np.uint8)
            img[..., 0] = (i * 255) // max(frames - 1, 1)
            img[..., 2] = 255 - img[..., 0]
            img[:, (i * 7) % width : (i * 7) % width + 8, 1] = 255
            for packet in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(packet)
        for packet in v.encode():
            c.mux(packet)
        t = np.arange(round(seconds * 44100)) / 44100
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, tone.size, 1024):
            frame = av.AudioFrame.from_ndarray(
                tone[None, start : start + 1024], format="flt", layout="mono"
            )
            frame.sample_rate = 44100
            for packet in a.encode(frame):
                c.mux(packet)
        for packet in a.encode():
            c.mux(packet)
    data = Path(tmp_name).read_bytes()
    os.unlink(tmp_name)
    return data


def _png(color: tuple[int, int, int], size: tuple[int, int] = (160, 90)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def _now() -> Timestamp:
    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


@dataclass
class FakeOrchestrator(opb_grpc.OrchestratorServiceServicer):
    store: ArtifactStore
    # Pause between pipeline states, seconds.
    step_s: float = 0.05
    video: bytes = b""
    projects: dict[str, opb.Project] = field(default_factory=dict)
    version: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)
    calls: list[str] = field(default_factory=list)
    # Seconds CreateProject waits after creating (to lose answers to client deadlines).
    create_delay_s: float = 0.0
    # WatchProject streams open right now (to check that clients going away end them).
    watchers: int = 0

    # ------------------------------------------------------------------ helpers
    def _get(self, pid: str, context: grpc.ServicerContext) -> opb.Project:
        p = self.projects.get(pid)
        if p is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"project {pid} not found")
        return p  # type: ignore[return-value]

    def _set(
        self, pid: str, state: int, stage: str = "", fraction: float = 0.0, msg: str = ""
    ) -> None:
        with self.cond:
            p = self.projects[pid]
            p.state = state  # type: ignore[assignment]
            p.progress.CopyFrom(common_pb2.Progress(stage=stage, fraction=fraction, message=msg))
            p.updated_at.CopyFrom(_now())
            self.version += 1
            self.cond.notify_all()

    # ------------------------------------------------------------------ RPCs
    def CreateProject(self, request, context):  # noqa: N802
        self.calls.append("CreateProject")
        if not request.prompt.strip():
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "prompt is empty")
        if not request.audio.key or not self.store.exists(request.audio.key):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "audio artifact not found in the store")
        pid = request.project_id or f"p{len(self.projects):031d}"
        with self.cond:
            if pid in self.projects:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"project {pid} already exists")
            p = opb.Project(
                id=pid,
                prompt=request.prompt,
                state=S.PROJECT_STATE_CREATED,
                audio=request.audio,
                character_images=request.character_images,
                options=request.options,
                lyrics=request.lyrics,
                initial_storyboard=request.storyboard if request.HasField("storyboard") else None,
                created_at=_now(),
                updated_at=_now(),
            )
            self.projects[pid] = p
        if self.create_delay_s:
            time.sleep(self.create_delay_s)
        return opb.CreateProjectResponse(project=p)

    def GetProject(self, request, context):  # noqa: N802
        self.calls.append("GetProject")
        with self.cond:
            return opb.GetProjectResponse(project=self._get(request.project_id, context))

    def ListProjects(self, request, context):  # noqa: N802
        with self.cond:
            items = sorted(self.projects.values(), key=lambda p: p.created_at.ToNanoseconds())
        items.reverse()
        start = int(request.page_token or 0)
        size = request.page_size or 50
        page = items[start : start + size]
        token = str(start + size) if start + size < len(items) else ""
        return opb.ListProjectsResponse(projects=page, next_page_token=token)

    def ProcessProject(self, request, context):  # noqa: N802
        self.calls.append("ProcessProject")
        with self.cond:
            p = self._get(request.project_id, context)
            if p.state in ACTIVE:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, "project is already processing")
            if p.state == S.PROJECT_STATE_COMPLETED:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, "project is already completed")
        self._set(p.id, S.PROJECT_STATE_PROCESSING, "concept", 0.0, "queued")
        threading.Thread(target=self._run, args=(p.id,), daemon=True).start()
        with self.cond:
            return opb.ProcessProjectResponse(project=self.projects[p.id])

    def _alive(self, pid: str) -> bool:
        with self.cond:
            p = self.projects.get(pid)
            return p is not None and p.state not in TERMINAL

    def _run(self, pid: str) -> None:
        fps = self.projects[pid].options.fps or 12
        for i in range(3):
            time.sleep(self.step_s)
            if not self._alive(pid):
                return
            self._set(pid, S.PROJECT_STATE_PROCESSING, "concept", (i + 1) / 4, f"analysing {i}")
        with self.cond:
            p = self.projects[pid]
            p.concept.CopyFrom(
                concept_pb2.Concept(
                    description="a test concept",
                    duration_seconds=2.0,
                    tempo_bpm=120.0,
                    beats_per_bar=4,
                    key="A",
                    mode=concept_pb2.MODE_MINOR,
                    sections=[concept_pb2.Section(start=0, end=2, label="chorus 1", role=3)],
                    key_moments=[
                        concept_pb2.KeyMoment(id=f"km{i}", time=i * 0.5, role=i + 1, prompt=f"m{i}")
                        for i in range(3)
                    ],
                    storyboard=fake_storyboard(),
                )
            )
            if p.HasField("initial_storyboard"):
                p.concept.storyboard.CopyFrom(p.initial_storyboard)
                p.concept.storyboard.source = "user"
        self._set(pid, S.PROJECT_STATE_CONCEPT_GENERATED, "concept", 1.0, "concept ready")
        if "fail" in self.projects[pid].prompt:
            time.sleep(self.step_s)
            with self.cond:
                p = self.projects[pid]
                p.failed_stage, p.error = common_pb2.STAGE_SEEDER, "the seeder failed on purpose"
            self._set(pid, S.PROJECT_STATE_FAILED, "seeder", 0.0, "failed")
            return
        time.sleep(self.step_s)
        if not self._alive(pid):
            return
        colors = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]
        keyframes = []
        for i, color in enumerate(colors):
            ref = self.store.put_bytes(f"outputs/{pid}/seeds/km{i}.png", _png(color), "image/png")
            keyframes.append(
                seeder_pb2.Keyframe(
                    key_moment_id=f"km{i}", shot_id=f"shot-{i + 1:03d}", time=i * 0.5, image=ref
                )
            )
        strip = Image.new("RGB", (3 * 64, 36))
        for i, color in enumerate(colors):
            strip.paste(Image.new("RGB", (64, 36), color), (i * 64, 0))
        out = io.BytesIO()
        strip.save(out, format="PNG")
        sheet = self.store.put_bytes(
            f"outputs/{pid}/seeds/contact_sheet_fake.png", out.getvalue(), "image/png"
        )
        with self.cond:
            self.projects[pid].keyframes.extend(keyframes)
            self.projects[pid].contact_sheet.CopyFrom(sheet)
        self._set(pid, S.PROJECT_STATE_SEEDS_GENERATED, "seeder", 1.0, "keyframes ready")
        time.sleep(self.step_s)
        if not self._alive(pid):
            return
        with self.cond:
            p = self.projects[pid]
            for i in range(2):
                seg = p.segments.add()
                seg.index, seg.start_frame, seg.end_frame = i, i * fps, (i + 1) * fps
        self._set(pid, S.PROJECT_STATE_ANIMATIONS_GENERATED, "animator", 1.0, "segments ready")
        time.sleep(self.step_s)
        if not self._alive(pid):
            return
        ref = self.store.put_bytes(
            f"outputs/{pid}/final_video.mp4", self.video or make_test_video(), "video/mp4"
        )
        with self.cond:
            self.projects[pid].final_video.CopyFrom(ref)
        self._set(pid, S.PROJECT_STATE_COMPLETED, "compose", 1.0, "done")

    def WatchProject(self, request, context):  # noqa: N802
        with self.cond:
            self._get(request.project_id, context)
            seen = -1
            self.watchers += 1
        try:
            yield from self._watch(request, context, seen)
        finally:
            with self.cond:
                self.watchers -= 1

    def _watch(self, request, context, seen):  # type: ignore[no-untyped-def]
        while context.is_active():
            with self.cond:
                if seen == self.version:
                    self.cond.wait(timeout=0.5)
                    continue
                seen = self.version
                p = self.projects.get(request.project_id)
                if p is None:
                    return
                event = opb.WatchProjectEvent(
                    project_id=p.id, state=p.state, progress=p.progress, message=p.progress.message
                )
            yield event
            if event.state in TERMINAL:
                return

    def CancelProject(self, request, context):  # noqa: N802
        with self.cond:
            p = self._get(request.project_id, context)
            if p.state not in ACTIVE:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, "project is not running")
        self._set(p.id, S.PROJECT_STATE_CANCELLED, "", 0.0, "cancelled")
        with self.cond:
            return opb.CancelProjectResponse(project=self.projects[p.id])

    def DeleteProject(self, request, context):  # noqa: N802
        with self.cond:
            p = self._get(request.project_id, context)
            if p.state in ACTIVE:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, "cancel the project first")
            del self.projects[p.id]
            self.version += 1
            self.cond.notify_all()
        n = self.store.delete_prefix(f"outputs/{p.id}")
        n += self.store.delete_prefix(f"uploads/{p.id}")
        return opb.DeleteProjectResponse(project_id=p.id, deleted_artifacts=n)

    def RegenerateSegment(self, request, context):  # noqa: N802
        shot = f":shot={request.shot_id}" if request.shot_id else ""
        self.calls.append(f"RegenerateSegment:{request.segment_index}:{request.prompt}{shot}")
        with self.cond:
            p = self._get(request.project_id, context)
            if p.state != S.PROJECT_STATE_COMPLETED:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, "project is not completed")
            return opb.RegenerateSegmentResponse(project=p)

    def UpdateStoryboard(self, request, context):  # noqa: N802
        """Stores the edit as given (the real orchestrator also checks it against the song)."""
        self.calls.append("UpdateStoryboard")
        with self.cond:
            p = self._get(request.project_id, context)
            if p.state in ACTIVE:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION, "project is processing")
            p.concept.storyboard.CopyFrom(request.storyboard)
            p.concept.storyboard.source = "user"
            return opb.UpdateStoryboardResponse(project=p)

    def PreviewProject(self, request, context):  # noqa: N802
        with self.cond:
            p = self._get(request.project_id, context)
            ref = self.store.put_bytes(
                f"outputs/{p.id}/preview.mp4", self.video or make_test_video(1.0), "video/mp4"
            )
            p.preview_video.CopyFrom(ref)
            return opb.PreviewProjectResponse(project=p)


def fake_storyboard() -> storyboard_pb2.Storyboard:
    """Three shots of the fake 2-second song, one per keyframe."""
    sb = storyboard_pb2
    board = sb.Storyboard(source="director", subject="dancer", scene_family="city")
    for i, (framing, move) in enumerate(
        [
            (sb.FRAMING_WIDE, sb.CAMERA_MOVE_PUSH_IN),
            (sb.FRAMING_SUBJECT, sb.CAMERA_MOVE_ORBIT),
            (sb.FRAMING_CLOSE_UP, sb.CAMERA_MOVE_LOCKED),
        ]
    ):
        board.shots.append(
            sb.Shot(
                id=f"shot-{i + 1:03d}",
                index=i,
                start_time=i * 0.5,
                end_time=2.0 if i == 2 else (i + 1) * 0.5,
                start_bar=i,
                end_bar=i + 1,
                section_index=0,
                framing=framing,
                move=move,
                look=i,
                viewpoint="street",
                prompt=f"neon street, shot {i + 1}",
                subject=i == 1,
                entry=sb.SHOT_ENTRY_CUT,
                seed=100 + i,
            )
        )
    return board


def serve_fake(
    store: ArtifactStore, step_s: float = 0.05, video: bytes = b"", port: int = 0
) -> tuple[grpc.Server, str, FakeOrchestrator]:
    """Start the fake on loopback (a real gRPC server); returns (server, address, servicer)."""
    fake = FakeOrchestrator(store=store, step_s=step_s, video=video)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    opb_grpc.add_OrchestratorServiceServicer_to_server(fake, server)
    from grpc_health.v1 import health, health_pb2_grpc

    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server, f"127.0.0.1:{bound}", fake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, default=Path(".lumiere/store"))
    parser.add_argument("--port", type=int, default=50054)
    parser.add_argument("--step", type=float, default=1.0, help="seconds per pipeline step")
    args = parser.parse_args()
    server, address, _ = serve_fake(LocalStore(args.store), args.step, port=args.port)
    print(f"fake orchestrator on {address}, store {args.store}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
