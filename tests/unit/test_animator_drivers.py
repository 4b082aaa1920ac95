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
