"""Sections: boundaries on downbeats near the true ones, repeats grouped, roles named."""

from __future__ import annotations

import mir_eval
import numpy as np
import pytest
from lumiere.v1 import concept_pb2

from services.concept.analysis import analyse
from services.devstack.synth import SectionSpec, SongSpec, pop_form, synth_song

R = concept_pb2


def _boundary_f(truth_sections, concept) -> float:  # type: ignore[no-untyped-def]
    end = max(truth_sections[-1][1] + 1.0, concept.duration_seconds)
    ref = [s[0] for s in truth_sections] + [end]
    est = [s.start for s in concept.sections] + [end]
    ref_i = np.array(list(zip(ref[:-1], ref[1:], strict=True)))
    est_i = np.array(list(zip(est[:-1], est[1:], strict=True)))
    return mir_eval.segment.detection(ref_i, est_i, window=3.0, trim=True)[2]


@pytest.fixture(scope="module")
def pop() -> tuple[concept_pb2.Concept, object]:
    spec = SongSpec(
        "pop",
        124.0,
        pop_form(chorus_level=1.0),
        humanize_ms=6.0,
        seed=21,
    )
    x, truth = synth_song(spec)
    return analyse(x, prompt="test"), truth


def test_pop_sections_boundaries_roles_and_repeats(pop) -> None:  # type: ignore[no-untyped-def]
    c, truth = pop
    assert _boundary_f(truth.sections, c) >= 0.8
    roles = [s.role for s in c.sections]
    assert roles[0] == R.SECTION_ROLE_INTRO
    assert roles[-1] == R.SECTION_ROLE_OUTRO
    choruses = [s for s in c.sections if s.role == R.SECTION_ROLE_CHORUS]
    verses = [s for s in c.sections if s.role == R.SECTION_ROLE_VERSE]
    assert len(choruses) == 2 and len(verses) == 2
    assert choruses[0].repeat_group == choruses[1].repeat_group
    assert verses[0].repeat_group == verses[1].repeat_group != choruses[0].repeat_group
    assert min(s.energy for s in choruses) > max(s.energy for s in verses)
    assert [s.label for s in choruses] == ["chorus 1", "chorus 2"]
    # Boundaries are downbeats, sections tile the song.
    downbeats = np.array(c.downbeat_times)
    for s in c.sections[1:]:
        assert np.min(np.abs(downbeats - s.start)) < 1e-3
    assert c.sections[0].start == 0.0
    assert c.sections[-1].end == pytest.approx(c.duration_seconds)
    for a, b in zip(c.sections, c.sections[1:], strict=False):
        assert a.end == pytest.approx(b.start)


def test_breakdown_and_drop() -> None:
    spec = SongSpec(
        "edm",
        128.0,
        (
            SectionSpec("intro", 4, 0.45),
            SectionSpec("drop", 8, 1.0, lead=True),
            SectionSpec("breakdown", 6, 0.3, drums=False),
            SectionSpec("drop", 8, 1.0, lead=True),
            SectionSpec("outro", 4, 0.4, drums=False),
        ),
        minor=True,
        seed=22,
    )
    x, truth = synth_song(spec)
    c = analyse(x)
    assert _boundary_f(truth.sections, c) >= 0.8
    roles = [s.role for s in c.sections]
    assert R.SECTION_ROLE_BREAKDOWN in roles
    i = roles.index(R.SECTION_ROLE_BREAKDOWN)
    assert roles[i + 1] == R.SECTION_ROLE_DROP
    assert c.sections[i].start == pytest.approx(truth.sections[2][0], abs=0.1)
    assert c.mode == R.MODE_MINOR and c.key == "A"


def test_key_mode_and_mood(pop) -> None:  # type: ignore[no-untyped-def]
    c, _ = pop
    assert (c.key, c.mode) == ("A", R.MODE_MAJOR)
    assert 0.0 <= c.mood.energy <= 1.0 and 0.0 <= c.mood.brightness <= 1.0
    assert 0.0 <= c.mood.valence <= 1.0
    assert "uplifting" in c.mood.descriptors or "gentle" in c.mood.descriptors
    assert "A major" in c.description


def test_curves_rates_and_lengths(pop) -> None:  # type: ignore[no-untyped-def]
    c, truth = pop
    n = len(c.intensity.values)
    assert c.intensity.rate_hz >= 10.0
    assert n == pytest.approx(c.duration_seconds * c.intensity.rate_hz, abs=2)
    for curve in (c.band_low, c.band_mid, c.band_high, c.brightness):
        assert curve.rate_hz == c.intensity.rate_hz and len(curve.values) == n
    vals = np.array(c.intensity.values)
    assert vals.min() >= 0.0 and vals.max() <= 1.0 and vals.max() > 0.9
    # Louder chorus than intro in the curve itself.
    rate = c.intensity.rate_hz
    intro = vals[: int(truth.sections[0][1] * rate)].mean()
    chorus = vals[int(truth.sections[2][0] * rate) : int(truth.sections[2][1] * rate)].mean()
    assert chorus > intro + 0.2
    assert len(c.intensity_per_second) == int(np.ceil(c.duration_seconds))
    # Onsets: at least one per beat that has drums.
    assert len(c.onset_times) >= len(truth.drum_beats) * 0.9


def test_bridge_on_other_chords_is_its_own_group() -> None:
    spec = SongSpec(
        "bridge",
        112.0,
        (
            SectionSpec("verse", 8, 0.55),
            SectionSpec("chorus", 8, 1.0, lead=True),
            SectionSpec("verse", 8, 0.55),
            SectionSpec("bridge", 8, 0.55, progression="alt"),
            SectionSpec("chorus", 8, 1.0, lead=True),
        ),
        seed=23,
    )
    x, truth = synth_song(spec)
    c = analyse(x)
    assert _boundary_f(truth.sections, c) >= 0.8
    bridge = [s for s in c.sections if abs(s.start - truth.sections[3][0]) < 1.0]
    assert len(bridge) == 1 and bridge[0].role == R.SECTION_ROLE_BRIDGE
    verse2 = [s for s in c.sections if abs(s.start - truth.sections[2][0]) < 1.0][0]
    assert bridge[0].repeat_group != verse2.repeat_group


def test_phrases_no_opening_chorus_no_split_chorus_outro_last() -> None:
    """A song that opens on a quieter take of its chorus, with a doubled chorus in the middle:
    sections on phrase-aligned downbeats, the doubled chorus one section, no chorus first,
    the outro last."""
    spec = SongSpec(
        "chorus_first",
        118.0,
        (
            SectionSpec("chorus", 8, 0.75, lead=True),
            SectionSpec("verse", 8, 0.55),
            SectionSpec("chorus", 8, 1.0, lead=True),
            SectionSpec("chorus", 8, 1.0, lead=True),
            SectionSpec("verse", 8, 0.55),
            SectionSpec("chorus", 8, 1.0, lead=True),
            SectionSpec("outro", 4, 0.3, drums=False),
        ),
        humanize_ms=6.0,
        seed=31,
    )
    x, truth = synth_song(spec)
    c = analyse(x)
    downbeats = np.array(c.downbeat_times)
    bar = float(np.median(np.diff(downbeats)))
    for s in c.sections[1:]:
        assert np.min(np.abs(downbeats - s.start)) < 1e-3
        # Whole 4-bar phrases from the song's first bar.
        bars = (s.start - truth.downbeats[0]) / bar
        assert abs(bars - 4 * round(bars / 4)) < 0.25
    labels = [s.label for s in c.sections]
    assert all(a != b for a, b in zip(labels, labels[1:], strict=False))
    assert c.sections[0].role != R.SECTION_ROLE_CHORUS
    assert c.sections[-1].role == R.SECTION_ROLE_OUTRO
    # The doubled chorus (truth sections 2 + 3) is one chorus.
    doubled = [s for s in c.sections if s.start <= truth.sections[3][0] < s.end]
    assert doubled[0].role == R.SECTION_ROLE_CHORUS
    assert doubled[0].start == pytest.approx(truth.sections[2][0], abs=0.2)
    assert doubled[0].end == pytest.approx(truth.sections[3][1], abs=0.2)
