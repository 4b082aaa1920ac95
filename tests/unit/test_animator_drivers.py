"""The animator reads the concept's snare driver for its snare accents."""

from __future__ import annotations

import numpy as np
from lumiere.v1 import concept_pb2

from services.animator.music import Music
from services.concept.analysis import analyse
from services.devstack.synth import SongSpec, pop_form, synth_song


def test_snare_accents_on_the_beats_the_snare_driver_hit() -> None:
    x, truth = synth_song(SongSpec("snare_accents", 120.0, pop_form()[:3], seed=7))
    music = Music.from_concept(analyse(x))
    assert music.snare_times.size > 10
    snare = music.snare_beats()
    pos = np.arange(truth.beats.size) % truth.beats_per_bar
    drum = np.isin(np.round(truth.beats, 3), np.round(truth.drum_beats, 3))
    played = truth.beats[drum & np.isin(pos, [1, 3])]
    hit = music.beat_times[snare]
    assert hit.size >= 0.9 * played.size
    assert np.mean(np.min(np.abs(hit[:, None] - played[None, :]), axis=1) < 0.05) >= 0.9


def test_concept_without_drivers_keeps_the_onset_rule() -> None:
    c = concept_pb2.Concept(duration_seconds=4.0)
    for i in range(8):
        c.beats.append(concept_pb2.Beat(time=0.5 * i, strength=0.8, downbeat=i % 4 == 0))
    c.onset_times.extend([0.5 * i for i in range(8)])
    music = Music.from_concept(c)
    assert music.snare_times.size == 0
    assert not music.snare_beats()[0]  # downbeats never carry the snare accent


def _free_time_concept() -> concept_pb2.Concept:
    """An unsteady song: beats every 0.5 s over 30 s; the middle section (10-20 s) has no
    reliable beat and its onsets fall off the grid, some closer together than MIN_PULSE_GAP_S."""
    c = concept_pb2.Concept(duration_seconds=30.0, tempo_confidence=0.3)
    for i in range(60):
        c.beats.add(time=0.5 * i, strength=0.8, downbeat=i % 4 == 0)
    c.onset_times.extend([3.1, 10.13, 10.2, 11.37, 13.9, 14.0, 17.61, 22.2])
    c.sections.add(start=0.0, end=10.0, tempo_confidence=0.9)
    c.sections.add(start=10.0, end=20.0, tempo_confidence=0.05)
    c.sections.add(start=20.0, end=30.0, tempo_confidence=0.9)
    return c


def test_a_section_without_a_reliable_beat_pulses_on_its_onsets() -> None:
    m = Music.from_concept(_free_time_concept())
    inside = (m.beat_times >= 10.0) & (m.beat_times < 20.0)
    # The grid's beats are gone there; the onsets, thinned to one per 0.25 s, replace them.
    np.testing.assert_allclose(m.beat_times[inside], [10.13, 11.37, 13.9, 17.61])
    assert not m.beat_downbeat[inside].any()
    # Outside it the beats stay as the concept gave them.
    assert np.sum(~inside) == 40
    np.testing.assert_allclose(m.beat_times[m.beat_times < 10.0], np.arange(20) * 0.5)
    assert np.all(np.diff(m.beat_times) > 0)


def test_concept_without_section_confidence_keeps_its_beats() -> None:
    c = _free_time_concept()
    for sec in c.sections:
        sec.ClearField("tempo_confidence")
    m = Music.from_concept(c)
    np.testing.assert_allclose(m.beat_times, np.arange(60) * 0.5)


def test_a_steady_song_keeps_its_grid_through_a_section_without_drums() -> None:
    c = _free_time_concept()
    c.tempo_confidence = 0.9  # a drumless intro or breakdown of a steady song: beats inferred
    m = Music.from_concept(c)
    np.testing.assert_allclose(m.beat_times, np.arange(60) * 0.5)
