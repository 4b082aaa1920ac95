"""Loudness-like intensity, band energies, brightness and onsets over time.

All curves come from the front end's block-reduced power sums at ~21.5 Hz (4 frames of
11.6 ms): fine enough for audio-reactive motion at 24-30 fps after interpolation, small enough
to ship in the concept JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from services.concept.frontend import Frontend

# Dynamic range mapped to 0..1 for intensity (dB below the track's loud level).
INTENSITY_RANGE_DB = 45.0


@dataclass
class Dynamics:
    rate_hz: float
    intensity: np.ndarray  # 0..1
    per_second: np.ndarray  # 0..1, one value per whole second (the original design's series)
    band_low: np.ndarray
    band_mid: np.ndarray
    band_high: np.ndarray
    brightness: np.ndarray  # 0..1 (spectral centroid, log-frequency scaled)
    onsets: np.ndarray  # seconds
    loudness_db: np.ndarray  # un-normalised, per curve sample (for section energy)
    centroid_hz: float  # track median spectral centroid


def _norm_db(db: np.ndarray, range_db: float = INTENSITY_RANGE_DB) -> np.ndarray:
    # 98th percentile as the "loud" reference so a single click does not flatten the curve.
    top = float(np.percentile(db, 98))
    return np.clip((db - (top - range_db)) / range_db, 0.0, 1.0)


def _db(power: np.ndarray) -> np.ndarray:
    return 10 * np.log10(power + 1e-10)


def analyse_dynamics(fe: Frontend) -> Dynamics:
    rate = fe.curve_rate
    # Loudness-like: A-weighted power summed over frequency, in dB.
    loud_db = _db(fe.power_a)
    intensity = _norm_db(loud_db)
    sec = max(1, int(np.ceil(fe.duration)))
    idx = np.minimum((np.arange(intensity.size) / rate).astype(int), sec - 1)
    counts = np.bincount(idx, minlength=sec).astype(float)
    sums = np.bincount(idx, weights=intensity, minlength=sec)
    per_second = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    bands = [_norm_db(_db(b)) for b in (fe.power_low, fe.power_mid, fe.power_high)]
    # log-frequency brightness: 200 Hz -> 0, 5 kHz -> 1
    centroid = fe.centroid_hz
    bright = np.clip(np.log(np.maximum(centroid, 1.0) / 200.0) / np.log(25.0), 0.0, 1.0)
    loud_mask = intensity > 0.2
    centroid_med = float(np.median(centroid[loud_mask])) if loud_mask.any() else 0.0
    onset_frames = librosa.onset.onset_detect(
        onset_envelope=fe.onset_env, sr=fe.sr, hop_length=fe.hop, backtrack=False
    )
    onsets = librosa.frames_to_time(onset_frames, sr=fe.sr, hop_length=fe.hop)
    return Dynamics(
        rate_hz=rate,
        intensity=intensity.astype(np.float32),
        per_second=per_second.astype(np.float32),
        band_low=bands[0].astype(np.float32),
        band_mid=bands[1].astype(np.float32),
        band_high=bands[2].astype(np.float32),
        brightness=bright.astype(np.float32),
        onsets=onsets,
        loudness_db=loud_db,
        centroid_hz=centroid_med,
    )
