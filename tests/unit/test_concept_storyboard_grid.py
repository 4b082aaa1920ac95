"""The director's cut grid on hand-built concepts: slow tempi, uncertain and absent beats, edges."""

from __future__ import annotations

import time

import numpy as np
from lumiere.v1 import concept_pb2

from services.concept.shot_pacing import MAX_SHOT_S, plan_cuts
from services.concept.storyboard import plan_storyboard
from tests.support.concepts import Part, grid_concept


def _assert_tiles(concept: concept_pb2.Concept) -> None:
    shots = plan_storyboard(concept).shots
    assert shots[0].start_time == 0.0
    assert shots[-1].end_time == concept.duration_seconds
    assert all(a.end_time == b.start_time for a, b in zip(shots, shots[1:], strict=False))


def test_slow_calm_song_still_cuts_within_12_s() -> None:
    # 60 BPM: a bar is 4 s, so four calm bars (16 s) would be too long for one shot.
    concept = grid_concept(60.0, [Part("verse", 16, 0.2, 0), Part("outro", 8, 0.1, 1)])
    board = plan_storyboard(concept)
    _assert_tiles(concept)
    assert max(s.end_time - s.start_time for s in board.shots) <= MAX_SHOT_S
    downbeats = np.array(concept.downbeat_times)
    for s in board.shots[1:]:
        assert np.min(np.abs(downbeats - s.start_time)) < 1e-6


def test_calm_sections_hold_2_to_4_bars_loud_ones_1_to_2() -> None:
    concept = grid_concept(
        120.0, [Part("verse", 16, 0.35, 0), Part("chorus", 16, 0.95, 1), Part("verse", 16, 0.35, 0)]
    )
    bar = 2.0
    for span in plan_cuts(concept, seed=1):
        bars = span.duration / bar
        if span.quick:
            continue
        if span.section == 1:
            assert 1 - 1e-6 <= bars <= 2 + 1e-6
        elif span.end < concept.duration_seconds - 1.5:  # the last shot holds the tail
            assert 2 - 1e-6 <= bars <= 4 + 1e-6


def test_pickup_before_the_first_downbeat_joins_the_first_shot() -> None:
    concept = grid_concept(120.0, [Part("verse", 8, 0.6, 0)])
    shift = 0.4  # the music starts 0.4 s before the first downbeat
    concept.downbeat_times[:] = [t + shift for t in concept.downbeat_times]
    for b in concept.beats:
        b.time += shift
    concept.duration_seconds += shift
    spans = plan_cuts(concept)
    assert spans[0].start == 0.0
    assert spans[0].duration > 2.0  # pickup + at least a bar
    downbeats = np.array(concept.downbeat_times)
    assert all(np.min(np.abs(downbeats - s.start)) < 1e-6 for s in spans[1:])


def test_uncertain_meter_cuts_on_strong_beats() -> None:
    concept = grid_concept(120.0, [Part("verse", 16, 0.6, 0)], confidence=0.35)
    # The accents sit on beat 2 of every bar, not where the downbeat grid says.
    for b in concept.beats:
        b.strength = 1.0 if b.bar_position == 2 else 0.3
    board = plan_storyboard(concept)
    assert board.cut_grid == "strong_beats"
    accents = np.array([b.time for b in concept.beats if b.bar_position == 2])
    for s in board.shots[1:]:
        if not s.quick:
            assert np.min(np.abs(accents - s.start_time)) < 1e-6


def test_no_beat_cuts_on_sections_with_phrase_length_shots() -> None:
    concept = grid_concept(
        60.0,
        [Part("intro", 10, 0.2, 0), Part("verse", 12, 0.4, 1), Part("outro", 8, 0.2, 2)],
        confidence=0.05,
        beats=False,
    )
    board = plan_storyboard(concept)
    assert board.cut_grid == "free"
    _assert_tiles(concept)
    cuts = [s.start_time for s in board.shots]
    for section in concept.sections:
        assert min(abs(c - section.start) for c in cuts) < 1e-6
    lengths = [s.end_time - s.start_time for s in board.shots]
    assert max(lengths) <= MAX_SHOT_S
    assert min(lengths) >= 3.0  # phrase-length, not bar-length
    onsets = np.array(concept.onset_times)
    inner = [
        s.start_time for s in board.shots if s.start_time not in [x.start for x in concept.sections]
    ]
    assert inner and all(np.min(np.abs(onsets - t)) < 1e-6 for t in inner)


def test_a_concept_without_sections_gets_one_whole_song_section() -> None:
    concept = grid_concept(128.0, [Part("verse", 12, 0.7, 0)])
    del concept.sections[:]
    board = plan_storyboard(concept)
    _assert_tiles(concept)
    assert all(s.section_index == -1 for s in board.shots)
    assert len(board.shots) >= 4


def test_a_song_shorter_than_a_bar_is_one_shot() -> None:
    concept = grid_concept(120.0, [Part("verse", 1, 0.5, 0)], tail_s=0.0)
    concept.duration_seconds = 1.5
    board = plan_storyboard(concept)
    assert len(board.shots) == 1
    assert (board.shots[0].start_time, board.shots[0].end_time) == (0.0, 1.5)


def test_empty_concept_has_no_shots() -> None:
    assert len(plan_storyboard(concept_pb2.Concept()).shots) == 0


def test_a_four_minute_song_is_planned_fast() -> None:
    parts = [Part("intro", 8, 0.3, 0)]
    for _ in range(4):
        parts += [Part("verse", 16, 0.55, 1), Part("chorus", 16, 0.9, 2)]
    parts += [Part("outro", 8, 0.3, 3)]
    concept = grid_concept(128.0, parts)
    assert concept.duration_seconds > 240
    best = min(_timed(concept) for _ in range(3))
    assert best < 0.2  # ~10 ms on an idle core; generous for a shared machine


def _timed(concept: concept_pb2.Concept) -> float:
    t0 = time.perf_counter()
    plan_storyboard(concept, seed=1)
    return time.perf_counter() - t0
