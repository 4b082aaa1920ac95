"""The timeline view (per-shot states from the render tasks) and the waveform's peaks."""

from __future__ import annotations

import numpy as np
import pytest
from lumiere.v1 import common_pb2, storyboard_pb2
from lumiere.v1 import orchestrator_pb2 as opb

from gateway.timeline import SHOT_STATES, timeline_view
from gateway.waveform import peaks

WAITING, RENDERING, DONE, FAILED = SHOT_STATES
FPS = 10


def project(state: int, task_status: dict[int, int], run_kind: int = 0) -> opb.Project:
    """Three shots of 2 s; segments open at each shot's first frame; one animator task each."""
    p = opb.Project(id="p" * 32, state=state, run_kind=run_kind)
    p.options.fps = FPS
    p.concept.duration_seconds = 6.0
    for i in range(3):
        p.concept.storyboard.shots.append(
            storyboard_pb2.Shot(id=f"shot-{i}", index=i, start_time=2.0 * i, end_time=2.0 * i + 2)
        )
        p.segments.add(index=i, start_frame=20 * i, end_frame=20 * i + 20)
    for index, status in task_status.items():
        p.tasks.add(stage=common_pb2.STAGE_ANIMATOR, index=index, status=status, run_kind=run_kind)
    return p


def states(p: opb.Project) -> list[str]:
    return [s["state"] for s in timeline_view(p)["shots"]]


def test_shot_states_follow_their_segments_render_tasks() -> None:
    running = opb.PROJECT_STATE_SEEDS_GENERATED
    p = project(
        running,
        {0: common_pb2.TASK_STATUS_DONE, 1: common_pb2.TASK_STATUS_RUNNING},
    )
    assert states(p) == [DONE, RENDERING, WAITING]  # no task yet: waiting
    p = project(running, {i: common_pb2.TASK_STATUS_PENDING for i in range(3)})
    assert states(p) == [WAITING] * 3


def test_before_the_segments_are_listed_a_shot_renders_as_its_own_index() -> None:
    p = project(opb.PROJECT_STATE_SEEDS_GENERATED, {1: common_pb2.TASK_STATUS_RUNNING})
    del p.segments[:]
    assert states(p) == [WAITING, RENDERING, WAITING]
    # Segments are listed as they finish: only shot 0's is; shot 2's renders meanwhile.
    del p.tasks[:]
    p.segments.add(index=0, start_frame=0, end_frame=20)
    p.tasks.add(stage=common_pb2.STAGE_ANIMATOR, index=0, status=common_pb2.TASK_STATUS_DONE)
    p.tasks.add(stage=common_pb2.STAGE_ANIMATOR, index=1, status=common_pb2.TASK_STATUS_DONE)
    p.tasks.add(stage=common_pb2.STAGE_ANIMATOR, index=2, status=common_pb2.TASK_STATUS_RUNNING)
    assert states(p) == [DONE, DONE, RENDERING]


def test_a_run_that_ended_leaves_no_shot_rendering() -> None:
    tasks = {0: common_pb2.TASK_STATUS_DONE, 1: common_pb2.TASK_STATUS_RUNNING}
    assert states(project(opb.PROJECT_STATE_FAILED, tasks)) == [DONE, FAILED, WAITING]
    assert states(project(opb.PROJECT_STATE_CANCELLED, tasks)) == [DONE, WAITING, WAITING]
    failed = {2: common_pb2.TASK_STATUS_FAILED}
    assert states(project(opb.PROJECT_STATE_FAILED, failed))[2] == FAILED


def test_the_latest_run_kind_counts() -> None:
    p = project(opb.PROJECT_STATE_SEEDS_GENERATED, {}, run_kind=common_pb2.RUN_KIND_FULL)
    # The preview run rendered everything; the full run has started on shot 0 only.
    for i in range(3):
        p.tasks.add(
            stage=common_pb2.STAGE_ANIMATOR,
            index=i,
            status=common_pb2.TASK_STATUS_DONE,
            run_kind=common_pb2.RUN_KIND_PREVIEW,
        )
    p.tasks.add(
        stage=common_pb2.STAGE_ANIMATOR,
        index=0,
        status=common_pb2.TASK_STATUS_RUNNING,
        run_kind=common_pb2.RUN_KIND_FULL,
    )
    assert states(p) == [RENDERING, WAITING, WAITING]


def test_the_view_lists_the_music_and_the_vocabulary() -> None:
    p = project(opb.PROJECT_STATE_COMPLETED, {i: common_pb2.TASK_STATUS_DONE for i in range(3)})
    p.concept.beats.add(time=0.5)
    p.concept.downbeat_times.extend([0.5, 2.5])
    p.concept.lyrics.add(start=1.0, end=2.0, text="hello")
    view = timeline_view(p)
    assert view["shot_states"] == list(SHOT_STATES)
    assert (view["beats"], view["downbeats"]) == ([0.5], [0.5, 2.5])
    assert view["lyrics"] == [{"start": 1.0, "end": 2.0, "text": "hello"}]
    assert view["duration"] == 6.0 and view["waveform_url"].endswith("/waveform")
    assert [s["start_frame"] for s in view["shots"]] == [0, 20, 40]


def test_a_project_without_a_concept_has_an_empty_timeline() -> None:
    view = timeline_view(opb.Project(id="q" * 32, state=opb.PROJECT_STATE_CREATED))
    assert view["shots"] == [] and view["duration"] is None and view["sections"] == []


def test_peaks_are_the_loudest_sample_per_slice_scaled_to_one() -> None:
    samples = np.concatenate([0.1 * np.ones(100), -0.5 * np.ones(100), np.zeros(100)])
    assert peaks(samples, 3) == [0.2, 1.0, 0.0]
    assert len(peaks(samples, 1000)) == 1000  # more points than samples: slices repeat
    assert peaks(np.zeros(10), 4) == [0.0] * 4
    assert peaks(np.zeros(0), 2) == [0.0, 0.0]
    with pytest.raises(ValueError):
        peaks(samples, 0)
