"""Key moments: timing invariants, musically placed defaults, count overrides, prompts."""

from __future__ import annotations

import numpy as np
import pytest
from lumiere.v1 import concept_pb2

from services.concept.analysis import analyse
from services.concept.moments import MIN_GAP_S, SongShape, assign_roles, select_times
from services.concept.structure import SectionInfo
from services.devstack.synth import demo_spec, synth_song


@pytest.fixture(scope="module")
def demo() -> tuple[np.ndarray, object]:
    return synth_song(demo_spec())


def _check_times(times: list[float], duration: float) -> None:
    assert times[0] == 0.0
    assert all(b - a >= MIN_GAP_S - 1e-9 for a, b in zip(times, times[1:], strict=False))
    assert times[-1] < duration


def test_default_moments_at_section_starts_and_climax(demo) -> None:  # type: ignore[no-untyped-def]
    x, truth = demo
    c = analyse(x, prompt="a lighthouse in a storm")
    kms = list(c.key_moments)
    assert len(kms) == 7
    times = [m.time for m in kms]
    _check_times(times, c.duration_seconds)
    downbeats = np.array(c.downbeat_times)
    for t in times[1:]:
        assert np.min(np.abs(downbeats - t)) < 1e-3  # every moment on a bar start
    for start, _end, _role in truth.sections[1:]:
        assert min(abs(t - start) for t in times) < 0.1  # every section start is a moment
    climax = [m for m in kms if m.role == concept_pb2.MOMENT_ROLE_CLIMAX]
    assert len(climax) == 1
    assert climax[0].time == pytest.approx(24.0, abs=0.1)  # the loud chorus starts at 24 s
    assert c.sections[climax[0].section_index].role == concept_pb2.SECTION_ROLE_CHORUS
    assert kms[0].role == concept_pb2.MOMENT_ROLE_INTRO
    assert kms[-1].role == concept_pb2.MOMENT_ROLE_RESOLUTION
    assert climax[0].intensity > kms[0].intensity + 0.2
    for m in kms:
        assert m.prompt.startswith("a lighthouse in a storm")
        assert m.id and m.description
    assert "the chorus" in climax[0].prompt and "most intense" in climax[0].prompt
    assert "the opening" in kms[0].prompt


@pytest.mark.parametrize("count", [1, 3, 12, 19])
def test_requested_count_overrides(demo, count: int) -> None:  # type: ignore[no-untyped-def]
    x, _ = demo
    c = analyse(x, key_moment_count=count)
    times = [m.time for m in c.key_moments]
    assert len(times) == count
    _check_times(times, c.duration_seconds)


def test_count_capped_by_spacing_on_a_short_song(demo) -> None:  # type: ignore[no-untyped-def]
    x, _ = demo
    c = analyse(x[: 9 * 22050], key_moment_count=7)  # 9 s: at most 4 moments 2 s apart
    times = [m.time for m in c.key_moments]
    assert len(times) == 4
    _check_times(times, c.duration_seconds)


def test_select_times_without_structure() -> None:
    times = select_times(7, SongShape(30.0, [], np.arange(0, 30, 2.0), np.full(300, 0.5), 10.0))
    assert len(times) == 7
    _check_times(times, 30.0)
    assert all(t in np.arange(0, 30, 2.0) for t in times)


def test_select_times_many_sections_keeps_biggest_changes() -> None:
    secs = [
        SectionInfo(0, 10, "intro", "intro 1", 0, 0.2),
        SectionInfo(10, 12, "verse", "verse 1", 1, 0.25),  # barely different
        SectionInfo(12, 30, "chorus", "chorus 1", 2, 0.9),
        SectionInfo(30, 40, "breakdown", "breakdown 1", 3, 0.2),
        SectionInfo(40, 60, "drop", "drop 1", 2, 0.95),
    ]
    times = select_times(3, SongShape(60.0, secs, np.arange(0, 60, 2.0), np.full(600, 0.5), 10.0))
    # The loudest section (the drop) is the climax; the barely-changing verse is dropped.
    assert times[0] == 0.0 and 40.0 in times and 10.0 not in times
    assert len(times) == 3


def test_roles_vocabulary() -> None:
    roles = assign_roles([0.2, 0.5, 0.9, 0.4, 0.85, 0.3], ["intro"] * 6)
    assert roles == ["intro", "build", "climax", "bridge", "peak", "resolution"]
