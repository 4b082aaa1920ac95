"""Tempo confidence: steady songs above rubato, drones and free time; per-section values; the
director cuts a beatless section free."""

from __future__ import annotations

import numpy as np

from services.concept.analysis import analyse
from services.concept.shot_pacing import SOME_BEAT, plan_cuts
from services.devstack.synth import (
    SR,
    SongSpec,
    beatless_drone,
    free_time_plucks,
    pop_form,
    synth_song,
    warp_tempo,
)


def test_steady_song_more_confident_than_rubato_drone_and_free_time() -> None:
    x, _ = synth_song(SongSpec("steady_128", 128.0, pop_form(), seed=3))
    steady = analyse(x).tempo_confidence
    rubato = analyse(warp_tempo(x, depth=0.2, period_s=7.0, seed=3)[0]).tempo_confidence
    drone = analyse(beatless_drone(40.0, seed=3)).tempo_confidence
    free = analyse(free_time_plucks(40.0, seed=3)).tempo_confidence
    assert steady >= 0.6
    assert max(rubato, drone, free) < 0.3
    assert drone < SOME_BEAT and free < SOME_BEAT


def test_sections_carry_their_own_confidence_and_the_director_cuts_free_without_a_beat() -> None:
    x, truth = synth_song(SongSpec("steady_then_drone", 120.0, pop_form()[:3], seed=4))
    drone = beatless_drone(30.0, seed=4)
    y = np.concatenate([x, 0.5 * drone / float(np.max(np.abs(drone)))]).astype(np.float32)
    c = analyse(y)
    assert c.tempo_confidence >= 0.5
    body = [s for s in c.sections if s.end <= truth.duration + 1.0]
    tail = [s for s in c.sections if s.start >= truth.duration - 1.0]
    assert body and tail
    assert max(s.tempo_confidence for s in body) >= 0.5
    assert all(s.tempo_confidence < SOME_BEAT for s in tail)
    assert all(abs(s.tempo_bpm - 120.0) < 2.5 for s in body if s.tempo_confidence >= 0.5)
    # The drone's cuts are not on the (extrapolated) bar grid: free cuts, phrase-length shots.
    downbeats = np.array(c.downbeat_times)
    tail_cuts = [s.start for s in plan_cuts(c) if s.start > tail[0].start + 0.5]
    assert tail_cuts
    off_grid = [t for t in tail_cuts if downbeats.size == 0 or np.min(np.abs(downbeats - t)) > 0.05]
    assert len(off_grid) >= len(tail_cuts) // 2
    assert len(y) / SR > truth.duration + 25.0
