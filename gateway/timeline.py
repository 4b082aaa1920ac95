"""The timeline view of a project: the music (beats, downbeats, sections, lyric lines) and the
shots with their live state, in one JSON shape for the timeline page and the CLI.

A shot's state follows the animator task of the segment it opens (segments start at keyframes,
one per shot); its names are `SHOT_STATES`, listed in every view so clients never restate them,
in a fixed order clients may rely on: not started, in progress, finished, failed.
"""

from __future__ import annotations

from typing import Any

from lumiere.v1 import common_pb2
from lumiere.v1 import orchestrator_pb2 as opb

from gateway.storyboards import storyboard_view
from gateway.views import concept_summary, progress_json, state_name
from services.common import contract, stages

WAITING, RENDERING, DONE, FAILED = "waiting", "rendering", "done", "failed"
SHOT_STATES = (WAITING, RENDERING, DONE, FAILED)
_BY_TASK_STATUS = {
    common_pb2.TASK_STATUS_PENDING: WAITING,
    common_pb2.TASK_STATUS_RUNNING: RENDERING,
    common_pb2.TASK_STATUS_DONE: DONE,
    common_pb2.TASK_STATUS_FAILED: FAILED,
}


def _segment_of(project: opb.Project, shot_index: int, frame: int) -> int:
    """The segment a shot opens. The project lists its segments as they finish rendering; a
    shot whose segment is not listed yet has its index (segments start at keyframes, one per
    shot)."""
    for seg in project.segments:
        if seg.start_frame <= frame < seg.end_frame:
            return int(seg.index)
    return shot_index


def _render_tasks(project: opb.Project) -> dict[int, int]:
    """Segment index -> task status of the animator tasks of the latest run kind."""
    animator = [t for t in project.tasks if t.stage == common_pb2.STAGE_ANIMATOR]
    latest = [t for t in animator if t.run_kind == project.run_kind] or animator
    return {int(t.index): int(t.status) for t in latest}


def shot_states(project: opb.Project, shots: list[dict[str, Any]]) -> list[str]:
    """One of SHOT_STATES per shot (the storyboard view's shots, with their start frames)."""
    tasks = _render_tasks(project)
    ended = project.state in stages.TERMINAL_STATES
    out = []
    for i, shot in enumerate(shots):
        segment = _segment_of(project, i, int(shot["start_frame"]))
        status = tasks.get(segment)
        state = _BY_TASK_STATUS.get(status, WAITING) if status is not None else WAITING
        if state == RENDERING and ended:
            # A run that ended leaves no task running: the row is stale.
            state = FAILED if project.state == opb.PROJECT_STATE_FAILED else WAITING
        out.append(state)
    return out


def timeline_view(project: opb.Project, base: str = "/api/v1/projects") -> dict[str, Any]:
    url = f"{base}/{project.id}"
    c = project.concept
    has_concept = project.HasField("concept")
    board = storyboard_view(project, base) if has_concept else None
    shots = board["shots"] if board else []
    digests = {k.shot_id: k.image.sha256 for k in project.keyframes if k.shot_id}
    for shot, state in zip(shots, shot_states(project, shots), strict=True):
        shot["state"] = state
        # Changes when the keyframe is re-drawn (same URL), so a page can reload the image.
        shot["keyframe_version"] = (digests.get(shot["id"]) or "")[:16] or None
    summary = concept_summary(c) if has_concept else None
    return {
        "id": project.id,
        "prompt": project.prompt,
        "status": state_name(project.state),
        "updated_at": project.updated_at.ToJsonString() if project.updated_at.seconds else None,
        "progress": progress_json(project.progress),
        "error": project.error or None,
        "run_kind": stages.run_kind_name(project.run_kind) or None,
        "duration": round(c.duration_seconds, 3) if has_concept else None,
        "fps": project.options.fps or contract.DEFAULT_FPS,
        "tempo_bpm": round(c.tempo_bpm, 2) if has_concept else None,
        "beats": [round(b.time, 3) for b in c.beats],
        "downbeats": [round(t, 3) for t in c.downbeat_times],
        "sections": summary["sections"] if summary else [],
        "lyrics": [
            {"start": round(line.start, 3), "end": round(line.end, 3), "text": line.text}
            for line in c.lyrics
        ],
        "shots": shots,
        "shot_states": list(SHOT_STATES),
        "vocabulary": board["vocabulary"] if board else None,
        "video_url": f"{url}/video" if project.final_video.key else None,
        "preview_url": f"{url}/preview" if project.preview_video.key else None,
        "waveform_url": f"{url}/waveform",
        "links": {"project": url, "events": f"{url}/events", "storyboard": f"{url}/storyboard"},
    }
