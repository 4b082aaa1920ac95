"""Per-instrument drivers on synthesized songs with known kick/snare/hat patterns."""

from __future__ import annotations

import numpy as np
import pytest

from services.concept.analysis import analyse, condition
from services.concept.drivers import DRIVER_NAMES, BandDrivers, Drivers
from services.concept.frontend import Frontend, compute_frontend
from services.devstack.synth import SongSpec, pop_form, synth_song


def _hits(est: np.ndarray, ref: np.ndarray, window: float = 0.05) -> tuple[float, float]:
    """(precision, recall) of detected hit times against the known ones."""
    if est.size == 0 or ref.size == 0:
        return 0.0, 0.0
    d = np.abs(est[:, None] - ref[None, :])
    return float(np.mean(d.min(axis=1) < window)), float(np.mean(d.min(axis=0) < window))


@pytest.fixture(scope="module")
def song() -> tuple[Drivers, dict[str, np.ndarray], float]:
    x, truth = synth_song(SongSpec("drivers_120", 120.0, pop_form(), seed=5))
    fe = compute_frontend(condition(x, 22050))
    beats = truth.beats
    pos = np.arange(beats.size) % truth.beats_per_bar
    drum = np.isin(np.round(beats, 3), np.round(truth.drum_beats, 3))
    # The synthesizer's pattern: kick on 1 and 3, snare on 2 and 4, hats on every eighth.
    known = {
        "kick": beats[drum & np.isin(pos, [0, 2])],
        "snare": beats[drum & np.isin(pos, [1, 3])],
        "hats": np.sort(np.concatenate([beats[drum], beats[drum][:-1] + 0.25])),
    }
    return BandDrivers().drivers(fe), known, fe.duration


def test_kick_snare_and_hat_hits_found_where_they_were_played(song) -> None:  # type: ignore[no-untyped-def]
    drivers, known, _ = song
    kp, kr = _hits(drivers.onsets["kick"], known["kick"])
    sp, sr = _hits(drivers.onsets["snare"], known["snare"])
    hp, hr = _hits(drivers.onsets["hats"], known["hats"])
    assert kp >= 0.9 and kr >= 0.9
    assert sp >= 0.9 and sr >= 0.9
    assert hp >= 0.9 and hr >= 0.6
    # Kick and snare are told apart: few kicks on the snare's beats and vice versa.
    assert _hits(drivers.onsets["kick"], known["snare"])[0] <= 0.1
    assert _hits(drivers.onsets["snare"], known["kick"])[0] <= 0.1


def test_curves_follow_the_drums_and_harmony(song) -> None:  # type: ignore[no-untyped-def]
    drivers, known, duration = song
    rate = drivers.rate_hz
    for name in DRIVER_NAMES:
        c = drivers.curves[name]
        assert c.size == pytest.approx(duration * rate, abs=2)
        assert float(c.min()) >= 0.0 and float(c.max()) <= 1.0
    kick = drivers.curves["kick"]
    at_kick = kick[np.clip((known["kick"] * rate).astype(int), 0, kick.size - 1)]
    at_snare = kick[np.clip((known["snare"] * rate).astype(int), 0, kick.size - 1)]
    assert float(np.median(at_kick)) > 3 * float(np.median(at_snare))
    # The drumless intro (first 8 s) still has harmony but no kick.
    intro = slice(0, int(7.5 * rate))
    assert float(drivers.curves["harmony"][intro].mean()) > 0.05
    assert float(kick[intro].max()) < 0.2


class _Fixed:
    """A stand-in separator: what a real one would plug in through the same Protocol."""

    name = "fixed"

    def drivers(self, fe: Frontend) -> Drivers:
        n = int(fe.duration * fe.curve_rate)
        curves = {k: np.full(n, 0.5) for k in DRIVER_NAMES}
        return Drivers(
            fe.curve_rate, curves, {k: np.array([1.0]) for k in DRIVER_NAMES[:3]}, self.name
        )


def test_concept_carries_drivers_from_any_source() -> None:
    x, _ = synth_song(SongSpec("drivers_short", 120.0, pop_form()[:3], seed=6))
    c = analyse(x)
    assert c.drivers.source == "bands"
    assert len(c.drivers.kick.values) == len(c.intensity.values)
    assert c.drivers.kick.rate_hz == pytest.approx(c.intensity.rate_hz)
    assert len(c.drivers.kick_times) > 10 and len(c.drivers.hat_times) > len(c.drivers.kick_times)
    other = analyse(x, driver_source=_Fixed())
    assert other.drivers.source == "fixed" and list(other.drivers.snare_times) == [1.0]
