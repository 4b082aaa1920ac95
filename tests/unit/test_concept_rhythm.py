"""Tempo, beats, downbeats and meter recovered from synthesized songs with known truth."""

from __future__ import annotations

import mir_eval
import numpy as np
import pytest

from services.concept.analysis import analyse
from services.devstack.synth import SectionSpec, SongSpec, demo_spec, synth_song


def _offset_ms(est: np.ndarray, ref: np.ndarray) -> float:
    d = [e - ref[np.argmin(np.abs(ref - e))] for e in est]
    d = [x for x in d if abs(x) < 0.07]
    return 1000 * float(np.median(d))


def test_demo_song_120_bpm_tempo_beats_downbeats() -> None:
    x, truth = synth_song(demo_spec())
    c = analyse(x)
    beats = np.array([b.time for b in c.beats])
    assert c.tempo_bpm == pytest.approx(120.0, rel=0.01)
    assert mir_eval.beat.f_measure(truth.beats, beats, 0.07) >= 0.97
    assert abs(_offset_ms(beats, truth.beats)) < 10.0
    assert c.beats_per_bar == 4
    assert mir_eval.beat.f_measure(truth.downbeats, np.array(c.downbeat_times), 0.07) >= 0.9
    # Drumless intro: beats are still there, on the grid.
    intro = [b for b in c.beats if b.time < 7.9]
    assert len(intro) >= 14
    assert 0.0 <= c.tempo_confidence <= 1.0 and c.tempo_confidence > 0.5
    assert c.alt_tempo_bpm in (pytest.approx(60.0, rel=0.02), pytest.approx(240.0, rel=0.02))


def test_three_four_detected() -> None:
    spec = SongSpec(
        "waltz",
        96.0,
        (SectionSpec("verse", 8, 0.6), SectionSpec("chorus", 8, 1.0)),
        beats_per_bar=3,
        seed=11,
    )
    x, truth = synth_song(spec)
    c = analyse(x)
    assert c.beats_per_bar == 3
    assert c.tempo_bpm == pytest.approx(96.0, rel=0.02)
    assert mir_eval.beat.f_measure(truth.downbeats, np.array(c.downbeat_times), 0.07) >= 0.9
    assert all(b.bar_position in (1, 2, 3) for b in c.beats)


@pytest.mark.parametrize("bpm", [75.0, 174.0])
def test_no_octave_error_slow_and_fast(bpm: float) -> None:
    spec = SongSpec("s", bpm, (SectionSpec("verse", 6, 0.7), SectionSpec("chorus", 6, 1.0)), seed=2)
    x, truth = synth_song(spec)
    c = analyse(x)
    assert c.tempo_bpm == pytest.approx(bpm, rel=0.02)
    beats = np.array([b.time for b in c.beats])
    assert mir_eval.beat.f_measure(truth.beats, beats, 0.07) >= 0.95


def test_silence_gap_filled_with_inferred_beats() -> None:
    x, truth = synth_song(demo_spec())
    x = x.copy()
    # Mute 4 seconds in the middle of the verse: beats continue on the grid, flagged inferred.
    a, b = int(14.0 * 22050), int(18.0 * 22050)
    x[a:b] = 0.0
    c = analyse(x)
    gap = [bt for bt in c.beats if 14.2 < bt.time < 17.8]
    assert len(gap) >= 6
    assert all(bt.inferred for bt in gap)
    beats = np.array([bt.time for bt in c.beats])
    assert mir_eval.beat.f_measure(truth.beats, beats, 0.07) >= 0.95
