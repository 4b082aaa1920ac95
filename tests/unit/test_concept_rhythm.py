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


def test_tempo_change_followed() -> None:
    spec = SongSpec(
        "tc",
        100.0,
        (
            SectionSpec("verse", 12, 0.6),
            SectionSpec("chorus", 8, 1.0, bpm=124.0, lead=True),
        ),
        seed=5,
    )
    x, truth = synth_song(spec)
    c = analyse(x)
    beats = np.array([b.time for b in c.beats])
    assert mir_eval.beat.f_measure(truth.beats, beats, 0.07) >= 0.95
    assert c.tempo_bpm == pytest.approx(100.0, rel=0.02)  # the dominant (longer) tempo
    late = np.diff(beats[beats > truth.sections[1][0] + 4.0])
    assert 60.0 / float(np.median(late)) == pytest.approx(124.0, rel=0.02)


def test_humanized_swing_song() -> None:
    spec = SongSpec(
        "swing",
        104.0,
        (SectionSpec("verse", 8, 0.6), SectionSpec("chorus", 8, 1.0, lead=True)),
        swing=0.33,
        humanize_ms=10.0,
        noise_level=0.01,
        seed=6,
    )
    x, truth = synth_song(spec)
    c = analyse(x)
    beats = np.array([b.time for b in c.beats])
    assert c.tempo_bpm == pytest.approx(104.0, rel=0.02)
    assert mir_eval.beat.f_measure(truth.beats, beats, 0.07) >= 0.95
    assert abs(_offset_ms(beats, truth.beats)) < 10.0


def _pluck_notes(times: np.ndarray, seconds: float, seed: int) -> np.ndarray:
    from services.devstack.synth import _add, _pluck

    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * 22050), dtype=np.float32)
    for t in times:
        _add(out, _pluck(220 * 2 ** (rng.integers(0, 12) / 12), 0.8, 22050), float(t), 0.5, 22050)
    return out


def test_confidence_is_low_without_a_beat() -> None:
    rng = np.random.default_rng(0)
    sr, seconds = 22050, 40
    t = np.arange(seconds * sr) / sr
    # A drone: slowly swelling chord, no attacks.
    drone = sum(
        np.sin(2 * np.pi * f * t) * (0.5 + 0.5 * np.sin(2 * np.pi * t / (7 + 3 * i)))
        for i, f in enumerate([110.0, 138.6, 164.8, 220.0])
    )
    drone = (0.2 * drone).astype(np.float32)
    # Free-time playing: notes at random intervals (rubato).
    gaps = 0.55 * np.exp(rng.normal(0, 0.3, 200))
    rubato = _pluck_notes(np.cumsum(gaps)[np.cumsum(gaps) < seconds - 1], seconds, 1)
    noise = (0.1 * rng.standard_normal(seconds * sr)).astype(np.float32)
    for name, y in (("drone", drone), ("rubato", rubato), ("noise", noise)):
        c = analyse(y)
        assert c.tempo_confidence < 0.3, name
    metrical = _pluck_notes(np.arange(0, seconds - 1, 0.5), seconds, 2)
    assert analyse(metrical).tempo_confidence > 0.6


def test_downbeats_found_after_a_pickup() -> None:
    spec = SongSpec(
        "pickup", 120.0, (SectionSpec("verse", 8, 0.7), SectionSpec("chorus", 8, 1.0)), seed=8
    )
    x, truth = synth_song(spec)
    # Start the audio on beat 2: "every fourth beat from the first" would be wrong throughout.
    cut = 0.5
    c = analyse(x[int(cut * 22050) :])
    ref = truth.downbeats[truth.downbeats >= cut] - cut
    assert mir_eval.beat.f_measure(ref, np.array(c.downbeat_times), 0.07) >= 0.9
    assert c.beats[0].bar_position == 2


def test_gain_and_dc_offset_do_not_change_the_beats() -> None:
    x, truth = synth_song(demo_spec())
    ref = np.array([b.time for b in analyse(x).beats])
    for y in (x * 1e-3, 0.5 * x + 0.3):
        beats = np.array([b.time for b in analyse(y.astype(np.float32)).beats])
        assert mir_eval.beat.f_measure(truth.beats, beats, 0.07) >= 0.97
        assert abs(_offset_ms(beats, truth.beats)) < 10.0
        assert beats.size == pytest.approx(ref.size, abs=2)
