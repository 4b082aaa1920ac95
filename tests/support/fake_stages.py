"""Small fake stage services (concept, seeder, animator) for orchestrator tests and benchmarks.

They speak the real protos over real gRPC and write tiny placeholder artifacts to the shared
store, so the orchestrator's state machine, fan-out, retries and resume can be exercised in
milliseconds. Knobs let a test inject delays and failures.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
from lumiere.v1 import (
    animator_pb2,
    animator_pb2_grpc,
    common_pb2,
    concept_pb2,
    concept_pb2_grpc,
    seeder_pb2,
    seeder_pb2_grpc,
    storyboard_pb2,
)
from PIL import Image

from services.common.settings import Settings
from services.common.storage import ArtifactStore


@dataclass
class FakeKnobs:
    duration_s: float = 8.0
    moment_times: list[float] = field(default_factory=lambda: [0.0, 2.0, 4.0, 6.0])
    segment_delay_s: float = 0.0
    # Status codes to fail the next RenderSegment calls with, consumed in order.
    segment_failures: list[grpc.StatusCode] = field(default_factory=list)
    concept_failure: tuple[grpc.StatusCode, str] | None = None
    calls: dict[str, int] = field(default_factory=dict)
    rendered: list[tuple[str, int, int]] = field(default_factory=list)  # (project, index, seed)
    # The concept carries a storyboard (one shot per key moment, hard cuts) and the seeder
    # draws one keyframe per shot, like the director's pipeline; off = key moments only.
    storyboard: bool = False
    # Shot ids each GenerateKeyframes call drew, in call order.
    drawn_shots: list[list[str]] = field(default_factory=list)
    analyze_requests: list[concept_pb2.AnalyzeAudioRequest] = field(default_factory=list)

    def count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1


class FakeConcept(concept_pb2_grpc.ConceptServiceServicer):
    def __init__(self, knobs: FakeKnobs) -> None:
        self.knobs = knobs

    async def AnalyzeAudio(
        self, request: concept_pb2.AnalyzeAudioRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[concept_pb2.AnalyzeAudioEvent]:
        self.knobs.count("concept")
        self.knobs.analyze_requests.append(request)
        if self.knobs.concept_failure is not None:
            await context.abort(*self.knobs.concept_failure)
        yield concept_pb2.AnalyzeAudioEvent(
            progress=common_pb2.Progress(fraction=0.5, message="fake analysis", stage="concept")
        )
        concept = concept_pb2.Concept(
            duration_seconds=self.knobs.duration_s,
            tempo_bpm=120.0,
            prompt=request.prompt,
            key_moments=[
                concept_pb2.KeyMoment(id=f"km{i}", time=t, prompt=f"{request.prompt} #{i}")
                for i, t in enumerate(self.knobs.moment_times)
            ],
        )
        if self.knobs.storyboard:
            concept.storyboard.CopyFrom(fake_storyboard(concept, request.prompt))
        yield concept_pb2.AnalyzeAudioEvent(result=concept_pb2.AnalyzeAudioResult(concept=concept))


def fake_storyboard(concept: concept_pb2.Concept, prompt: str) -> storyboard_pb2.Storyboard:
    """One shot per key moment up to the next (the last to the end), entered by a hard cut."""
    board = storyboard_pb2.Storyboard(source="director", subject="dancer", scene_family="city")
    moments = list(concept.key_moments)
    for i, km in enumerate(moments):
        end = moments[i + 1].time if i + 1 < len(moments) else concept.duration_seconds
        board.shots.append(
            storyboard_pb2.Shot(
                id=f"shot-{i + 1:03d}",
                index=i,
                start_time=km.time,
                end_time=end,
                start_bar=-1,
                end_bar=-1,
                section_index=-1,
                framing=storyboard_pb2.FRAMING_WIDE if i % 2 else storyboard_pb2.FRAMING_SUBJECT,
                move=storyboard_pb2.CAMERA_MOVE_PUSH_IN,
                look=i % 3,
                viewpoint="street",
                prompt=f"{prompt}, shot {i + 1}",
                subject=i % 2 == 0,
                entry=storyboard_pb2.SHOT_ENTRY_CUT,
                seed=1000 + i,
                key_moment_id=km.id,
            )
        )
    return board


def _png(text: str) -> bytes:
    """A small real PNG whose colour follows `text` (so different drawings differ)."""
    digest = hashlib.sha256(text.encode()).digest()
    out = io.BytesIO()
    Image.new("RGB", (32, 18), (digest[0], digest[1], digest[2])).save(out, format="PNG")
    return out.getvalue()


class FakeSeeder(seeder_pb2_grpc.SeederServiceServicer):
    def __init__(self, knobs: FakeKnobs, store: ArtifactStore) -> None:
        self.knobs = knobs
        self.store = store

    async def GenerateKeyframes(
        self, request: seeder_pb2.GenerateKeyframesRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[seeder_pb2.GenerateKeyframesEvent]:
        self.knobs.count("seeder")
        if request.concept.storyboard.shots:
            yield self._shots(request)
            return
        wanted = set(request.key_moment_ids)
        keyframes = []
        for km in request.concept.key_moments:
            if wanted and km.id not in wanted:
                continue
            prompt = request.prompt_overrides.get(km.id, km.prompt)
            data = f"{prompt}|{request.seed}|{request.width}x{request.height}".encode()
            tag = hashlib.sha256(data).hexdigest()[:12]
            ref = self.store.put_bytes(
                f"outputs/{request.project_id}/seeds/{km.id}_{tag}.png", data, "image/png"
            )
            keyframes.append(
                seeder_pb2.Keyframe(
                    key_moment_id=km.id, time=km.time, prompt=prompt, image=ref, seed=request.seed
                )
            )
        yield seeder_pb2.GenerateKeyframesEvent(
            result=seeder_pb2.GenerateKeyframesResult(keyframes=keyframes)
        )

    def _shots(
        self, request: seeder_pb2.GenerateKeyframesRequest
    ) -> seeder_pb2.GenerateKeyframesEvent:
        """One keyframe per shot (only `shot_ids` when given) and a contact sheet of them."""
        wanted = set(request.shot_ids)
        keyframes = []
        for shot in request.concept.storyboard.shots:
            if wanted and shot.id not in wanted:
                continue
            text = f"{shot.prompt}|{shot.seed}|{shot.framing}|{request.width}x{request.height}"
            tag = hashlib.sha256(text.encode()).hexdigest()[:12]
            ref = self.store.put_bytes(
                f"outputs/{request.project_id}/seeds/{shot.id}_{tag}.png", _png(text), "image/png"
            )
            keyframes.append(
                seeder_pb2.Keyframe(
                    key_moment_id=shot.key_moment_id,
                    shot_id=shot.id,
                    time=shot.start_time,
                    prompt=shot.prompt,
                    image=ref,
                    seed=shot.seed,
                )
            )
        self.knobs.drawn_shots.append([k.shot_id for k in keyframes])
        sheet_text = "|".join(k.image.sha256 for k in keyframes)
        sheet = self.store.put_bytes(
            f"outputs/{request.project_id}/seeds/contact_sheet_"
            f"{hashlib.sha256(sheet_text.encode()).hexdigest()[:12]}.png",
            _png(sheet_text),
            "image/png",
        )
        return seeder_pb2.GenerateKeyframesEvent(
            result=seeder_pb2.GenerateKeyframesResult(keyframes=keyframes, contact_sheet=sheet)
        )


class FakeAnimator(animator_pb2_grpc.AnimatorServiceServicer):
    def __init__(self, knobs: FakeKnobs, store: ArtifactStore) -> None:
        self.knobs = knobs
        self.store = store

    async def RenderSegment(
        self, request: animator_pb2.RenderSegmentRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[animator_pb2.RenderSegmentEvent]:
        self.knobs.count("render")
        if self.knobs.segment_failures:
            code = self.knobs.segment_failures.pop(0)
            await context.abort(code, f"fake {code.name}")
        yield animator_pb2.RenderSegmentEvent(
            progress=common_pb2.Progress(fraction=0.5, message="half", stage="animator")
        )
        if self.knobs.segment_delay_s:
            await asyncio.sleep(self.knobs.segment_delay_s)
        data = (
            f"{request.project_id}|{request.segment_index}|{request.start_frame}-"
            f"{request.end_frame}|{request.from_keyframe.image.sha256}|"
            f"{request.to_keyframe.image.sha256}|{request.seed}|{request.video.width}"
        ).encode()
        tag = hashlib.sha256(data).hexdigest()[:12]
        ref = self.store.put_bytes(
            f"outputs/{request.project_id}/animations/seg_{request.segment_index:03d}_{tag}.mp4",
            data,
            "video/mp4",
        )
        self.knobs.rendered.append((request.project_id, request.segment_index, request.seed))
        segment = animator_pb2.Segment(
            index=request.segment_index,
            start_frame=request.start_frame,
            end_frame=request.end_frame,
            video=ref,
        )
        yield animator_pb2.RenderSegmentEvent(
            result=animator_pb2.RenderSegmentResult(segment=segment, render_fps=100.0)
        )

    async def ComposeVideo(
        self, request: animator_pb2.ComposeVideoRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[animator_pb2.ComposeVideoEvent]:
        self.knobs.count("compose")
        data = "|".join(s.video.sha256 for s in request.segments).encode()
        key = request.output_key or f"outputs/{request.project_id}/final_video.mp4"
        ref = self.store.put_bytes(key, data, "video/mp4")
        frames = sum(s.end_frame - s.start_frame for s in request.segments)
        yield animator_pb2.ComposeVideoEvent(
            result=animator_pb2.ComposeVideoResult(
                video=ref,
                frame_count=frames,
                video_duration_seconds=frames / max(1, request.video.fps),
            )
        )


def fake_adders(knobs: FakeKnobs):  # type: ignore[no-untyped-def]
    """add_to_server-style callables for the three fakes (for `running_service`)."""

    def concept(server: grpc.aio.Server, settings: Settings, store: ArtifactStore) -> list[str]:
        concept_pb2_grpc.add_ConceptServiceServicer_to_server(FakeConcept(knobs), server)
        return ["lumiere.v1.ConceptService"]

    def seeder(server: grpc.aio.Server, settings: Settings, store: ArtifactStore) -> list[str]:
        seeder_pb2_grpc.add_SeederServiceServicer_to_server(FakeSeeder(knobs, store), server)
        return ["lumiere.v1.SeederService"]

    def animator(server: grpc.aio.Server, settings: Settings, store: ArtifactStore) -> list[str]:
        animator_pb2_grpc.add_AnimatorServiceServicer_to_server(FakeAnimator(knobs, store), server)
        return ["lumiere.v1.AnimatorService"]

    return concept, seeder, animator
