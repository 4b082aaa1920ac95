"""The music as the animator needs it: beats, intensity and bands as functions of global time.

Built from a `Concept` once per segment. Every quantity is a pure function of the concept and the
*global* time or frame index, so segments rendered on different replicas agree at their joins.
Missing fields degrade gracefully: no beats -> no accents, no intensity curve -> a calm 0.5.
A section the concept heard no reliable beat in pulses on its onsets, not on a grid it lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from lumiere.v1 import concept_pb2

from services.common.contract import CONFIDENT_BEAT, SOME_BEAT

DEFAULT_INTENSITY = 0.5
# Intensity is smoothed before it drives camera speed/amplitude so motion never jitters.
SMOOTHING_SECONDS = 1.0
SUSTAIN_SECONDS = 2.0
# An onset this close to a beat is that beat's hit (snare/clap accents snap to the beat frame).
ONSET_ON_BEAT_S = 0.05
# Where a section has no reliable beat its pulse is its onsets, at most one per this many s.
MIN_PULSE_GAP_S = 0.25


def free_time_spans(concept: concept_pb2.Concept) -> list[tuple[float, float]]:
    """(start, end) of the sections whose own beat confidence says there is no reliable beat,
    in a song whose beat is not steady as a whole. A steady song's grid carries through its
    drumless intro, breakdown or outro (their beats are only inferred, so their confidence is
    low, but a listener keeps the beat there); a concept without per-section confidence has no
    such spans: its beats are taken as they are."""
    if concept.tempo_confidence >= CONFIDENT_BEAT:
        return []
    return [
        (float(sec.start), float(sec.end))
        for sec in concept.sections
        if sec.HasField("tempo_confidence") and sec.tempo_confidence < SOME_BEAT
    ]


def pulse_times(
    beats: np.ndarray,
    strength: np.ndarray,
    downbeat: np.ndarray,
    onsets: np.ndarray,
    free: list[tuple[float, float]],
    level: SampledCurve,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The times the picture answers to: the beats, except inside `free` spans, where a grid
    would be invented and the onsets (thinned to MIN_PULSE_GAP_S, accent = the music's level
    there, never a downbeat) take their place. All arrays are (n,), sorted by time."""
    if not free:
        return beats, strength, downbeat
    inside_b = np.zeros(beats.size, dtype=bool)
    picked: list[float] = []
    for a, b in free:
        inside_b |= (beats >= a) & (beats < b)
        for t in onsets[(onsets >= a) & (onsets < b)]:
            if not picked or t - picked[-1] >= MIN_PULSE_GAP_S:
                picked.append(float(t))
    on = np.array(picked, dtype=np.float64)
    times = np.concatenate([beats[~inside_b], on])
    order = np.argsort(times, kind="stable")
    accent = np.array([level.at(t) for t in on], dtype=np.float64)
    return (
        times[order],
        np.concatenate([strength[~inside_b], accent])[order],
        np.concatenate([downbeat[~inside_b], np.zeros(on.size, dtype=bool)])[order],
    )


def _curve(curve: concept_pb2.Curve) -> tuple[float, np.ndarray] | None:
    if curve.rate_hz <= 0 or len(curve.values) == 0:
        return None
    values = np.clip(np.asarray(curve.values, dtype=np.float64), 0.0, 1.0)
    return float(curve.rate_hz), values


def _smooth(values: np.ndarray, rate: float, seconds: float) -> np.ndarray:
    width = max(1, int(round(seconds * rate)))
    if width <= 1 or len(values) < 2:
        return values
    kernel = np.ones(width) / width
    padded = np.pad(values, (width // 2, width - 1 - width // 2), mode="edge")
    return np.convolve(padded, kernel, mode="valid")


@dataclass(frozen=True)
class SampledCurve:
    """A regularly sampled 0..1 series with linear interpolation and a running integral."""

    rate: float
    values: np.ndarray
    integral: np.ndarray  # integral[i] = integral of values from 0 to i / rate

    @classmethod
    def build(cls, rate: float, values: np.ndarray) -> SampledCurve:
        steps = (values[1:] + values[:-1]) / (2 * rate)
        integral = np.concatenate([[0.0], np.cumsum(steps)])
        return cls(rate=rate, values=values, integral=integral)

    @classmethod
    def constant(cls, value: float) -> SampledCurve:
        return cls.build(1.0, np.array([value, value]))

    def at(self, t: float) -> float:
        pos = t * self.rate
        n = len(self.values)
        if pos <= 0:
            return float(self.values[0])
        if pos >= n - 1:
            return float(self.values[-1])
        i = int(pos)
        frac = pos - i
        return float(self.values[i] * (1 - frac) + self.values[i + 1] * frac)

    def integrate(self, t: float) -> float:
        """Integral from 0 to t (constant extrapolation outside the samples; negative t ok)."""
        n = len(self.values)
        end = (n - 1) / self.rate
        if t <= 0:
            return float(self.values[0] * t)
        if t >= end:
            return float(self.integral[-1] + self.values[-1] * (t - end))
        pos = t * self.rate
        i = int(pos)
        frac = pos - i
        v_i = self.values[i]
        v_t = v_i * (1 - frac) + self.values[i + 1] * frac
        return float(self.integral[i] + (v_i + v_t) / 2 * frac / self.rate)


@dataclass(frozen=True)
class Music:
    duration: float
    beat_times: np.ndarray
    beat_strength: np.ndarray
    beat_downbeat: np.ndarray
    intensity: SampledCurve  # smoothed, drives speed and amplitude
    raw_intensity: SampledCurve
    low: SampledCurve
    high: SampledCurve
    # Mid band (snare/clap, voice, harmony); `sustain` is it smoothed over a couple of seconds:
    # what is held, not what is struck.
    mid: SampledCurve = field(default_factory=lambda: SampledCurve.constant(DEFAULT_INTENSITY))
    sustain: SampledCurve = field(default_factory=lambda: SampledCurve.constant(DEFAULT_INTENSITY))
    onset_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # Snare/clap hits from the concept's instrument drivers (empty on older concepts).
    snare_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # (start time, repeat group) of each section, in time order: effects that drift slowly
    # restart with each section, so a repeated section drifts as the first one did.
    sections: tuple[tuple[float, int], ...] = ()

    @classmethod
    def from_concept(cls, concept: concept_pb2.Concept) -> Music:
        beats = sorted(concept.beats, key=lambda b: b.time)
        times = np.array([b.time for b in beats], dtype=np.float64)
        strength = np.array([b.strength for b in beats], dtype=np.float64)
        if len(strength) and not np.any(strength > 0):
            strength = np.full(len(strength), 0.7)  # strengths missing: treat all as clear beats
        down = np.array([b.downbeat for b in beats], dtype=bool)
        if len(beats) and not down.any() and len(concept.downbeat_times):
            dts = np.asarray(concept.downbeat_times)
            down = np.array([np.min(np.abs(dts - t)) < 0.03 for t in times], dtype=bool)

        def curve(c: concept_pb2.Curve, smooth: float) -> SampledCurve:
            parsed = _curve(c)
            if parsed is None:
                return SampledCurve.constant(DEFAULT_INTENSITY)
            rate, values = parsed
            return SampledCurve.build(rate, _smooth(values, rate, smooth) if smooth else values)

        intensity_c = concept.intensity
        if _curve(intensity_c) is None and len(concept.intensity_per_second):
            intensity_c = concept_pb2.Curve(rate_hz=1.0, values=concept.intensity_per_second)
        raw_intensity = curve(intensity_c, 0.0)
        onsets = np.sort(np.asarray(concept.onset_times, dtype=np.float64))
        times, strength, down = pulse_times(
            times, strength, down, onsets, free_time_spans(concept), raw_intensity
        )
        return cls(
            duration=float(concept.duration_seconds),
            beat_times=times,
            beat_strength=np.clip(strength, 0.0, 1.0),
            beat_downbeat=down,
            intensity=curve(intensity_c, SMOOTHING_SECONDS),
            raw_intensity=raw_intensity,
            low=curve(concept.band_low, 0.25),
            high=curve(concept.band_high, 0.25),
            mid=curve(concept.band_mid, 0.0),
            sustain=curve(concept.band_mid, SUSTAIN_SECONDS),
            onset_times=onsets,
            snare_times=np.sort(np.asarray(concept.drivers.snare_times, dtype=np.float64)),
            sections=tuple(
                sorted((float(sec.start), int(sec.repeat_group)) for sec in concept.sections)
            ),
        )

    def progress(self, t: float) -> float:
        """'Musical time': integral of a speed that grows with loudness (0.4 .. 1.2 x real time).

        Camera travel and drift are functions of this, so loud sections move faster, and the
        value at any global time is the same on every replica.
        """
        return 0.4 * t + 0.8 * self.intensity.integrate(t)

    def section_anchor(self, t: float) -> tuple[float, int]:
        """(start, repeat group) of the section playing at `t` ((0, -1) before or without any)."""
        anchor = (0.0, -1)
        for start, group in self.sections:
            if start > t:
                break
            anchor = (start, group)
        return anchor

    def snare_beats(self) -> np.ndarray:
        """Which beats carry a snare/clap: the off-downbeat beats the concept's snare driver hit
        on, when the concept has drivers; otherwise off-downbeat beats with an onset on them
        where the mid band stands out from its sustained level (or, with no mid band, any onset
        on an off-downbeat beat). Accents stay on beat frames, so the beat sync is untouched."""
        n = len(self.beat_times)
        out = np.zeros(n, dtype=bool)
        if n and len(self.snare_times):
            # The concept heard the snare itself: the off-downbeat beats it lands on (a hit on
            # the downbeat is the chord's or the crash's accent, as in the onset rule below).
            d = np.abs(self.beat_times[:, None] - self.snare_times[None, :]).min(axis=1)
            return (d <= ONSET_ON_BEAT_S) & ~self.beat_downbeat
        if n == 0 or len(self.onset_times) == 0:
            return out
        idx = np.searchsorted(self.onset_times, self.beat_times)
        lo = self.onset_times[np.clip(idx - 1, 0, len(self.onset_times) - 1)]
        hi = self.onset_times[np.clip(idx, 0, len(self.onset_times) - 1)]
        near = np.minimum(np.abs(self.beat_times - lo), np.abs(hi - self.beat_times))
        for i in range(n):
            if self.beat_downbeat[i] or near[i] > ONSET_ON_BEAT_S:
                continue
            t = float(self.beat_times[i])
            out[i] = self.mid.at(t + 0.02) >= self.sustain.at(t) - 0.02
        return out
