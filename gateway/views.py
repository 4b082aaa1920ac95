"""Project protobufs -> the public JSON shapes (the seed's lowercase state names)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from lumiere.v1 import animator_pb2, common_pb2, concept_pb2
from lumiere.v1 import orchestrator_pb2 as opb

from services.common import stages

TERMINAL_STATES = {stages.state_name(s) for s in stages.TERMINAL_STATES}
ACTIVE_STATES = {stages.state_name(s) for s in stages.ACTIVE_STATES}
state_name = stages.state_name


def state_rank(state: int) -> int:
    """Within one run states only move forward; a stream consumer that joined late may receive
    events older than the snapshot it started from, and skips them by rank."""
    return stages.STATE_RANK.get(state, 0)  # type: ignore[call-overload]


def _time(ts: Timestamp) -> str | None:
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return ts.ToDatetime(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")


def _enum(enum: Any, value: int, prefix: str) -> str:
    try:
        return str(enum.Name(value)).removeprefix(prefix).lower()
    except ValueError:
        return "unspecified"


def progress_json(p: common_pb2.Progress) -> dict[str, Any]:
    return {
        "stage": p.stage,
        "fraction": round(p.fraction, 4),
        "done": p.done,
        "total": p.total,
        "message": p.message,
    }


def concept_summary(c: concept_pb2.Concept) -> dict[str, Any]:
    """What a person wants to see of the concept; the full analysis is at .../concept."""
    return {
        "description": c.description,
        "duration_seconds": round(c.duration_seconds, 3),
        "tempo_bpm": round(c.tempo_bpm, 2),
        "tempo_confidence": round(c.tempo_confidence, 3),
        "beats_per_bar": c.beats_per_bar,
        "beat_count": len(c.beats),
        "key": c.key,
        "mode": _enum(concept_pb2.Mode, c.mode, "MODE_"),
        "mood": list(c.mood.descriptors),
        "sections": [
            {
                "label": s.label,
                "role": _enum(concept_pb2.SectionRole, s.role, "SECTION_ROLE_"),
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "energy": round(s.energy, 3),
            }
            for s in c.sections
        ],
        "key_moments": [
            {
                "id": m.id,
                "time": round(m.time, 3),
                "role": _enum(concept_pb2.MomentRole, m.role, "MOMENT_ROLE_"),
                "intensity": round(m.intensity, 3),
                "prompt": m.prompt,
                "description": m.description,
            }
            for m in c.key_moments
        ],
        "lyric_lines": len(c.lyrics),
    }


def shot_record_json(r: animator_pb2.ShotRecord) -> dict[str, Any]:
    """Which backend made a segment's shot, how long it took and what it returned."""
    return {
        "shot_id": r.shot_id or None,
        "backend": r.backend,
        "status": r.status,
        "seconds": round(r.seconds, 3),
        "clips": r.clips,
        "detail": r.detail or None,
    }


def project_json(p: opb.Project, base: str = "/api/v1/projects") -> dict[str, Any]:
    url = f"{base}/{p.id}"
    status = state_name(p.state)
    o = p.options
    out: dict[str, Any] = {
        "id": p.id,
        "prompt": p.prompt,
        "status": status,
        "progress": progress_json(p.progress),
        "error": p.error or None,
        "failed_stage": stages.stage_name(p.failed_stage) or None,
        "created_at": _time(p.created_at),
        "updated_at": _time(p.updated_at),
        "options": {
            "width": o.width,
            "height": o.height,
            "fps": o.fps,
            "quality": _enum(common_pb2.Quality, o.quality, "QUALITY_"),
            "seed": o.seed,
            "key_moment_count": o.key_moment_count,
            "style": o.style,
            "shot_backend": o.shot_backend or None,
            "keyframe_backend": o.keyframe_backend or None,
        },
        "character_image_count": len(p.character_images),
        "has_lyrics": bool(p.lyrics.key),
        "concept": concept_summary(p.concept) if p.HasField("concept") else None,
        "shot_count": len(p.concept.storyboard.shots),
        "keyframes": [
            {
                "index": i,
                "key_moment_id": k.key_moment_id,
                "shot_id": k.shot_id or None,
                "time": round(k.time, 3),
                "prompt": k.prompt,
                "palette": list(k.palette),
                "url": f"{url}/keyframes/{i}",
            }
            for i, k in enumerate(p.keyframes)
            if k.image.key
        ],
        "segments": [
            {
                "index": s.index,
                "start_frame": s.start_frame,
                "end_frame": s.end_frame,
                "shot": shot_record_json(s.shot) if s.HasField("shot") else None,
            }
            for s in p.segments
        ],
        "video_url": f"{url}/video" if p.final_video.key else None,
        "preview_url": f"{url}/preview" if p.preview_video.key else None,
        "run_kind": stages.run_kind_name(p.run_kind) or None,
        "error_retryable": p.error_retryable if p.error else None,
        "tasks": [
            {
                "stage": stages.stage_name(t.stage),
                "run_kind": stages.run_kind_name(t.run_kind),
                "index": t.index,
                "status": stages.task_status_name(t.status),
                "attempts": t.attempts,
                "seconds": round(t.seconds, 3),
                "error": t.error or None,
                "replica": t.replica or None,
                "renders": t.renders,
                "reused": t.reused,
            }
            for t in p.tasks
        ],
        "links": {
            "self": url,
            "events": f"{url}/events",
            "process": f"{url}/process",
            "concept": f"{url}/concept",
            "contact_sheet": f"{url}/contact-sheet",
            "storyboard": f"{url}/storyboard",
            "storyboard_strip": f"{url}/storyboard.png",
        },
    }
    return out


def event_json(e: opb.WatchProjectEvent) -> dict[str, Any]:
    return {
        "project_id": e.project_id,
        "status": state_name(e.state),
        "progress": progress_json(e.progress),
        "message": e.message,
    }
