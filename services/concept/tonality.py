"""Key, mode and mood descriptors (what the seeder turns into colour, the animator into motion)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from services.concept.wording import band_word

NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
# Krumhansl-Kessler key profiles.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# Profile-score gap below which a relative major/minor pair counts as a tie (decided by
# phrase-start chords). Relative keys share all notes, so profile gaps are usually small.
RELATIVE_MARGIN = 0.3


@dataclass
class KeyEstimate:
    tonic: str
    minor: bool
    confidence: float  # correlation margin 0..1


@dataclass
class MoodEstimate:
    energy: float
    brightness: float
    valence: float
    descriptors: list[str] = field(default_factory=list)


def _triad(tonic: int, minor: bool) -> np.ndarray:
    t = np.zeros(12)
    t[[tonic, (tonic + (3 if minor else 4)) % 12, (tonic + 7) % 12]] = 1.0
    return t


def estimate_key(
    chroma: np.ndarray,
    weights: np.ndarray | None = None,
    phrase_starts: np.ndarray | None = None,
) -> KeyEstimate:
    """Krumhansl-Schmuckler on the mean chroma, with a relative-key tie-break.

    A major key and its relative minor share every note, so their profile scores are often
    close (I-V-vi-IV is vi-IV-I-V from another starting point). Then the chord heard at phrase
    starts (section starts, the first bar) decides: songs tend to begin sections on the tonic.
    `phrase_starts` is a (k, 12) array of chroma vectors at those points.
    """
    prof = chroma.sum(axis=1) if weights is None else (chroma * weights[None, :]).sum(axis=1)
    if not np.any(prof > 0):
        return KeyEstimate("C", False, 0.0)
    scores: dict[tuple[int, bool], float] = {}
    for minor, base in ((False, MAJOR_PROFILE), (True, MINOR_PROFILE)):
        for tonic in range(12):
            scores[(tonic, minor)] = float(np.corrcoef(prof, np.roll(base, tonic))[0, 1])
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    (tonic, minor), best = ranked[0]
    margin = best - ranked[1][1]
    if phrase_starts is not None and len(phrase_starts):
        rel = ((tonic - 3) % 12, True) if not minor else ((tonic + 3) % 12, False)
        if best - scores[rel] < RELATIVE_MARGIN:
            starts = phrase_starts / (np.linalg.norm(phrase_starts, axis=1, keepdims=True) + 1e-9)
            here = float(np.mean(starts @ _triad(tonic, minor)))
            there = float(np.mean(starts @ _triad(*rel)))
            if there > here * 1.05:
                tonic, minor = rel
                margin = 0.0
    return KeyEstimate(NOTE_NAMES[tonic], minor, float(np.clip(margin, 0, 1)))


ENERGY_WORDS = ((0.75, "explosive"), (0.55, "energetic"), (0.35, "steady"))


def _energy_word(e: float) -> str:
    return band_word(e, ENERGY_WORDS, "calm")


def describe_mood(
    energy: float, brightness: float, minor: bool, tempo: float, dynamic_range: float
) -> MoodEstimate:
    """Mood from loudness-energy, spectral brightness, mode and tempo (simple, explainable)."""
    tempo_lift = float(np.clip((tempo - 70.0) / 100.0, 0.0, 1.0))
    valence = float(
        np.clip(0.25 + (0.0 if minor else 0.35) + 0.25 * tempo_lift + 0.15 * brightness, 0, 1)
    )
    words = [_energy_word(energy)]
    words.append("bright" if brightness > 0.55 else "warm" if brightness > 0.35 else "dark")
    if minor:
        words.append("melancholic" if energy < 0.5 else "dramatic")
    else:
        words.append("uplifting" if energy >= 0.5 else "gentle")
    if tempo >= 140:
        words.append("fast")
    elif tempo <= 85:
        words.append("slow")
    if dynamic_range > 0.45:
        words.append("dynamic")
    return MoodEstimate(energy=energy, brightness=brightness, valence=valence, descriptors=words)
