"""Metrical level and beat phase on synthesized songs built to be ambiguous.

- 2:1: a 90 BPM song with loud, evenly accented eighth notes on top (the full-band pulse is
  180): kick on 1 and 3 and backbeat on 2 and 4 say the listener taps 90, 180 is the alternative.
- 3:2: a 170 BPM song with a riff accented every three eighths (113 BPM in the full band).
- off-beat accents: a 140 BPM song whose off-beats carry loud noise bursts (a thrash/punk
  pattern): the beats must stay on the kick and the chord changes, not half a beat late.
- a syncopated section: one verse without its drums where stabs and kick-like thumps land on
  every off-beat; the tempo is steady, so a listener keeps the song's beat through it (the
  charted metal song of bench/real_music slipped half a beat in such riffs).
"""

from __future__ import annotations

import mir_eval
import numpy as np
import pytest

from services.concept.analysis import analyse
from services.devstack.synth import SR, SectionSpec, SongSpec, pop_form, synth_song


def _bursts(n: int, times: np.ndarray, gain: float, seed: int) -> np.ndarray:
    """Short high-passed noise bursts (a strummed/hat-like accent) at `times`."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n, np.float32)
    length = int(0.05 * SR)
    env = np.exp(-np.arange(length) / (0.012 * SR)).astype(np.float32)
    for t in times:
        a = int(t * SR)
        if a + length >= n:
            continue
        noise = rng.standard_normal(length).astype(np.float32)
        noise = np.diff(noise, prepend=0.0).astype(np.float32)  # tilt towards the highs
        out[a : a + length] += gain * noise * env
    return out


def _thumps(n: int, times: np.ndarray, gain: float) -> np.ndarray:
    """Kick-like low sine sweeps at `times` (the low band and the kick band both hear them)."""
    out = np.zeros(n, np.float32)
    length = int(0.15 * SR)
    t = np.arange(length) / SR
    hit = np.sin(2 * np.pi * (50 * t + 60 * (1 - np.exp(-t / 0.03)))) * np.exp(-t / 0.06)
    for at in times:
        a = int(at * SR)
        if a + length < n:
            out[a : a + length] += gain * hit.astype(np.float32)
    return out


def test_even_eighths_do_not_double_a_90_bpm_song() -> None:
    x, truth = synth_song(SongSpec("ambiguous_2_1", 90.0, pop_form(), seed=11))
    period = 60.0 / 90.0
    eighths = np.arange(truth.beats[0], truth.duration - 0.1, period / 2)
    y = x + _bursts(x.size, eighths, 0.6 * float(np.max(np.abs(x))), seed=1)
    c = analyse(y)
    assert c.tempo_bpm == pytest.approx(90.0, rel=0.02)
    assert c.alt_tempo_bpm == pytest.approx(180.0, rel=0.02)
    beats = np.array([b.time for b in c.beats])
    assert mir_eval.beat.f_measure(truth.beats, beats, 0.07) >= 0.9


def test_loud_off_beats_do_not_shift_the_beats() -> None:
    x, truth = synth_song(SongSpec("offbeat_accents", 140.0, pop_form(), seed=12))
    offbeats = truth.beats[:-1] + np.diff(truth.beats) / 2
    y = x + _bursts(x.size, offbeats, 1.2 * float(np.max(np.abs(x))), seed=2)
    c = analyse(y)
    assert c.tempo_bpm == pytest.approx(140.0, rel=0.02)
    beats = np.array([b.time for b in c.beats])
    assert mir_eval.beat.f_measure(truth.beats, beats, 0.07) >= 0.9


def test_riff_accented_every_three_eighths_does_not_pull_170_to_113() -> None:
    """3:2: loud accents every dotted quarter (a 3+3 riff) make 113 BPM the strongest full-band
    periodicity of a 170 BPM song; kick and bass keep to 170."""
    x, truth = synth_song(SongSpec("ambiguous_3_2", 170.0, pop_form(), seed=13))
    eighth = 60.0 / 170.0 / 2
    riff = np.arange(truth.beats[0], truth.duration - 0.1, 3 * eighth)
    y = x + _bursts(x.size, riff, 1.0 * float(np.max(np.abs(x))), seed=3)
    c = analyse(y)
    assert c.tempo_bpm == pytest.approx(170.0, rel=0.02)
    beats = np.array([b.time for b in c.beats])
    assert mir_eval.beat.f_measure(truth.beats, beats, 0.07) >= 0.9


def test_a_syncopated_section_keeps_the_song_beat() -> None:
    sections = list(pop_form())
    sections[3] = SectionSpec("verse", 8, 0.55, drums=False)
    x, truth = synth_song(SongSpec("syncopated_verse", 140.0, tuple(sections), seed=21))
    start, end, _ = truth.sections[3]
    off = truth.beats[:-1] + np.diff(truth.beats) / 2
    off = off[(off >= start) & (off < end)]
    peak = float(np.max(np.abs(x)))
    y = x + _bursts(x.size, off, peak, seed=21) + _thumps(x.size, off, 0.8 * peak)
    c = analyse(y)
    beats = np.array([b.time for b in c.beats])
    inside = (truth.beats >= start) & (truth.beats < end)
    ours = beats[(beats >= start) & (beats < end)]
    assert mir_eval.beat.f_measure(truth.beats[inside], ours, 0.07) >= 0.95
    assert mir_eval.beat.f_measure(truth.beats, beats, 0.07) >= 0.97
    downbeats = np.array(c.downbeat_times)
    assert mir_eval.beat.f_measure(truth.downbeats, downbeats, 0.07) >= 0.95
