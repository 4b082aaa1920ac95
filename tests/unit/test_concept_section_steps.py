"""The section steps on hand-made inputs: phrase snapping, merging alike neighbours, roles."""

from __future__ import annotations

import numpy as np

from services.concept.phrases import snap_to_phrases
from services.concept.section_blocks import (
    MAX_SECTION_S,
    absorb_short,
    bar_similarity,
    merge_alike,
    split_long,
)
from services.concept.section_roles import assign_roles
from services.concept.structure import fades_out

BAR_S = 2.0


def _bars(levels: list[float], seed: int = 0) -> np.ndarray:
    """Bar features: each bar at its level along one axis plus a little noise on 6 others."""
    rng = np.random.default_rng(seed)
    x = 0.1 * rng.standard_normal((len(levels), 7))
    x[:, 0] += np.array(levels)
    return x


def test_a_blurred_change_moves_onto_the_phrase_a_sharp_odd_one_stays() -> None:
    times = BAR_S * np.arange(25.0)
    # 8 bars of A, a fill bar that is mostly B already, then B: the change "sounds" at bar 8
    # or 9; the phrase says 8.
    blurred = _bars([0.0] * 8 + [0.8] + [1.0] * 15)
    assert snap_to_phrases([9], blurred, times, w=6) == [0, 8]
    # A clean change after 6 bars is where it is (a 6-bar section is allowed).
    sharp = _bars([0.0] * 6 + [1.0] * 18)
    assert snap_to_phrases([6], sharp, times, w=6) == [0, 6]


def test_alike_neighbours_merge_a_real_change_stays() -> None:
    feats = _bars([0.0] * 16 + [3.0] * 8 + [0.0] * 8)
    sim = bar_similarity(feats)
    energy = np.array([0.5] * 16 + [0.9] * 8 + [0.5] * 8)
    weight = np.ones(32)
    no_harmony = np.zeros(32)
    # A split inside the first block (bar 8) goes; the block edges stay.
    assert merge_alike([0, 8, 16, 24], sim, energy, weight, no_harmony) == [0, 16, 24]
    # The same split where the chords stop repeating stays.
    harmony = no_harmony.copy()
    harmony[8] = 2.0
    assert merge_alike([0, 8, 16, 24], sim, energy, weight, harmony) == [0, 8, 16, 24]
    # A 2-bar fill between two sections joins the one it sounds like.
    assert absorb_short([0, 14, 16, 24], sim) == [0, 16, 24]


def test_a_merged_long_section_is_cut_again_at_a_phrase_in_the_middle() -> None:
    times = BAR_S * np.arange(41.0)
    assert times[40] > MAX_SECTION_S
    assert split_long(0, 40, times, [8, 20, 32]) == [20]
    assert split_long(0, 40, times, []) == []  # found long in one piece: stays whole
    assert split_long(0, 16, times, [8]) == []


def test_roles_one_chorus_no_opening_chorus_outro_when_fading() -> None:
    # A B A B A: both loud and repeated, A slightly louder and more repeated -> chorus; the
    # song opens on A but A is not the loudest take, so the first section is a verse.
    roles = assign_roles(
        [0.90, 0.89, 0.96, 0.88, 0.95], [0, 1, 0, 1, 0], [0.0, 20.0, 40.0, 60.0, 80.0], 100.0
    )
    assert roles == ["verse", "verse", "chorus", "verse", "chorus"]
    # A last chorus that fades out is the outro.
    e, g, t = [0.6, 0.9, 0.66, 0.9], [0, 1, 0, 1], [0.0, 20.0, 40.0, 60.0]
    assert assign_roles(e, g, t, 80.0)[-1] == "chorus"
    assert assign_roles(e, g, t, 80.0, fading_end=True)[-1] == "outro"
    fade = np.array([0.9] * 4 + [0.8, 0.6, 0.5, 0.4, 0.1])
    assert fades_out(fade, 0, fade.size)
    assert not fades_out(np.array([0.9] * 8 + [0.1]), 0, 9)  # only the final ring-out
