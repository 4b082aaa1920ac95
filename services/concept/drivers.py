"""Drivers per instrument: kick, snare/clap, hats/cymbals, sustained harmony, voice presence.

Each driver is a 0..1 curve at the front end's curve rate plus, for the drums, an onset list,
so the animator can move things on the kick, flash on the snare, shimmer on the hats and
breathe with the harmony. `DriverSource` is the interface: `BandDrivers` (below) derives them
from the spectrogram the analysis already has; a real source separator (Demucs or Open-Unmix
weights from a local directory, when an operator provides them) can implement the same
Protocol and replace it without touching the callers.

BandDrivers separates harmonic from percussive energy morphologically, per mel band: the
sustained part is a grey opening along time (running minimum then maximum over ~0.2 s), which
removes anything shorter than the window (attacks) and keeps held notes; the percussive part is
what the opening removed. This is a cheap stand-in for median-filter HPSS (librosa's takes
seconds on a 3-minute song here; the opening is linear-time). Bands: kick = percussive below
120 Hz, snare/clap = percussive 150..400 Hz plus 1.5..5 kHz (body and rattle), hats/cymbals =
percussive above 6 kHz, harmony = sustained 100..4000 Hz, voice = an estimate: the share of
sustained 300..3400 Hz energy that wobbles in pitch/level like singing (syllable-rate
modulation 2..8 Hz), not a detector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import librosa
import numpy as np
import scipy.ndimage

from services.concept.frontend import CURVE_DECIMATE, Frontend

SUSTAIN_S = 0.2  # events shorter than this count as percussive
KICK_HZ = (30.0, 120.0)
SNARE_BODY_HZ = (150.0, 400.0)
SNARE_RATTLE_HZ = (1500.0, 5000.0)
HATS_HZ = (6000.0, 11025.0)
HARMONY_HZ = (100.0, 4000.0)
VOICE_HZ = (300.0, 3400.0)
ONSET_DELTA = 0.1
# A hit's level against the band's loudest hit nearby: kick and snare hits vary little, hats
# alternate loud and soft (and the snare's noise reaches the hats' band).
ONSET_LOCAL_SHARE = {"kick": 0.25, "snare": 0.25, "hats": 0.08}
ONSET_GLOBAL_SHARE = 0.05
DRIVER_NAMES = ("kick", "snare", "hats", "harmony", "voice")


@dataclass
class Drivers:
    rate_hz: float
    curves: dict[str, np.ndarray]  # name -> 0..1 per curve sample (DRIVER_NAMES)
    onsets: dict[str, np.ndarray]  # "kick" / "snare" / "hats" -> seconds
    source: str  # which DriverSource made them


class DriverSource(Protocol):
    """Anything that turns the analysed track into per-instrument drivers."""

    name: str

    def drivers(self, fe: Frontend) -> Drivers: ...


def _norm(x: np.ndarray) -> np.ndarray:
    """Amplitude (sqrt of power) scaled so the song's loud moments reach ~1."""
    x = np.sqrt(np.maximum(x, 0.0))
    top = float(np.percentile(x, 98)) if x.size else 0.0
    return np.clip(x / top, 0.0, 1.0) if top > 0 else np.zeros_like(x)


def _decimate(x: np.ndarray) -> np.ndarray:
    n = x.size // CURVE_DECIMATE * CURVE_DECIMATE
    return x[:n].reshape(-1, CURVE_DECIMATE).mean(axis=1) if n else x


def _onsets(env: np.ndarray, level: np.ndarray, fe: Frontend, share: float) -> np.ndarray:
    """Peaks of a band's percussive flux whose percussive level is a real hit: at least `share`
    of the band's loudest hit within +-2 s (bleed from other drums into the band is far
    weaker; the local reference follows quiet and loud sections) and ONSET_GLOBAL_SHARE of the
    song's loud hits (bass-note attacks in a drumless intro are not kicks)."""
    if env.size == 0 or float(env.max()) <= 0:
        return np.zeros(0)
    # onset_detect normalises the envelope to 0..1; delta is in those units.
    frames = librosa.onset.onset_detect(
        onset_envelope=env, sr=fe.sr, hop_length=fe.hop, units="frames", delta=ONSET_DELTA
    )
    if frames.size == 0:
        return np.zeros(0)
    # The hit's level: the band's peak just after the detected rise.
    peak = scipy.ndimage.maximum_filter1d(level, 5, origin=-2)
    local = scipy.ndimage.maximum_filter1d(peak, max(3, int(4.0 * fe.frame_rate)))
    loud = float(np.percentile(peak[frames], 95))
    keep = (peak[frames] >= share * local[frames]) & (peak[frames] >= ONSET_GLOBAL_SHARE * loud)
    return librosa.frames_to_time(frames[keep], sr=fe.sr, hop_length=fe.hop)


class BandDrivers:
    """Drivers from bands of a morphological harmonic/percussive split (module docstring)."""

    name = "bands"

    def drivers(self, fe: Frontend) -> Drivers:
        power = librosa.db_to_power(fe.mel_db)
        width = max(3, int(round(SUSTAIN_S * fe.frame_rate)))
        sustained = scipy.ndimage.maximum_filter1d(
            scipy.ndimage.minimum_filter1d(power, width, axis=1), width, axis=1
        )
        perc = np.maximum(power - sustained, 0.0)
        freqs = librosa.mel_frequencies(n_mels=power.shape[0], fmax=fe.sr / 2)

        def band(x: np.ndarray, lo_hi: tuple[float, float]) -> np.ndarray:
            sel = (freqs >= lo_hi[0]) & (freqs < lo_hi[1])
            return x[sel].sum(axis=0) if np.any(sel) else np.zeros(x.shape[1])

        def flux(x: np.ndarray) -> np.ndarray:
            # Rise of the band's percussive level in dB: an attack, whatever the band's loudness.
            db = 10.0 * np.log10(x + 1e-10 * (float(x.max()) + 1e-20))
            return np.maximum(np.diff(db, prepend=db[:1]), 0.0) * (x > 1e-4 * float(x.max()))

        kick = band(perc, KICK_HZ)
        # Body and rattle together: a chord's attack has body, a hat has rattle, a snare both.
        snare = np.sqrt(band(perc, SNARE_BODY_HZ) * band(perc, SNARE_RATTLE_HZ))
        hats = band(perc, HATS_HZ)
        harmony = band(sustained, HARMONY_HZ)
        vocal = band(sustained, VOICE_HZ)
        # Voice estimate: syllable-rate (2..8 Hz) level modulation of the sustained mid band,
        # relative to its level; held pads and chords barely modulate at that rate.
        lvl = np.log10(vocal + 1e-10)
        fr = fe.frame_rate
        slow = scipy.ndimage.uniform_filter1d(lvl, max(1, int(fr / 2)))
        fast = scipy.ndimage.uniform_filter1d(lvl, max(1, int(fr / 8)))
        wobble = scipy.ndimage.uniform_filter1d(np.abs(fast - slow), max(1, int(fr)))
        share = vocal / (band(sustained, (20.0, fe.sr / 2)) + 1e-10)
        voice = np.clip(wobble / 0.15, 0.0, 1.0) * np.clip(share / 0.6, 0.0, 1.0)
        curves = {
            "kick": _norm(_decimate(kick)),
            "snare": _norm(_decimate(snare)),
            "hats": _norm(_decimate(hats)),
            "harmony": _norm(_decimate(harmony)),
            "voice": np.clip(_decimate(voice), 0.0, 1.0),
        }
        levels = {"kick": kick, "snare": snare, "hats": hats}
        onsets = {k: _onsets(flux(v), v, fe, ONSET_LOCAL_SHARE[k]) for k, v in levels.items()}
        return Drivers(fe.curve_rate, curves, onsets, self.name)
