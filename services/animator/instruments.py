"""Motion by instrument: which part of the picture answers to which part of the music.

- low band / kick (on beats): a zoom punch (render.py) and a short camera shake;
- snare / clap (onsets on off-downbeat beats with the mid band up): a short flash, or a
  glitch (row bands slipping sideways) in loud passages;
- hats (high band): how many particles show and how fast they twinkle;
- sustained harmony / voice (the mid band smoothed over seconds): a glow and a colour cast
  that swells with it in the look's own shadow colour (weaker on a muted look).

Struck accents land on beat frames only (the snare's onsets are snapped to their beat), so the
visual beat sync (sync_metric.py) is kept; the sustained ones change slowly. All are pure
functions of the global frame, so segments rendered apart agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from services.animator.motion import beat_frames, stable_rng
from services.animator.music import Music
from services.animator.planes import Planes

SHAKE = 0.006  # camera shake at a full kick, fraction of the frame
SNARE_GAIN = 0.3  # brightness pulse of the lights at a full snare hit
SNARE_FLASH = 0.06  # and a touch of white (more would lift the blacks into fog)
SNARE_DECAY_S = 0.045
GLITCH_ENERGY = 0.72  # loudness above which a snare hit glitches instead of flashing
DRIFT_CHROMA = 9.0  # colour drift at full sustain, in chroma code values
GLOW_GAIN = 0.06  # brightness gain of the lights at full sustain (the blacks stay black)
GROUP_TURN = 2.4  # radians between the drift directions of successive repeat groups


@dataclass(frozen=True)
class Drift:
    du: float  # chroma offsets
    dv: float
    glow: float  # brightness gain


class InstrumentTrack:
    """The per-frame instrument drivers of one video (built once per segment)."""

    def __init__(self, music: Music, fps: int, seed: str) -> None:
        self.music = music
        self.fps = fps
        self.beat_frames = beat_frames(music.beat_times, fps)
        self.snare_frames = self.beat_frames[music.snare_beats()]
        rng = stable_rng(seed, "shake")
        self._angles = rng.uniform(0, 2 * math.pi, max(1, len(music.beat_times)))
        self._seed = seed
        self._phase = float(stable_rng(seed, "drift").uniform(0, 2 * math.pi))

    def _last_beat(self, frame: int) -> int:
        return int(np.searchsorted(self.beat_frames, frame, side="right")) - 1

    def shake(self, frame: int, accent: float) -> tuple[float, float]:
        """Camera shake (fractions of width, height) from the kick: a jolt on the beat frame in
        a direction of its own, decaying with the beat's accent."""
        i = self._last_beat(frame)
        if i < 0 or accent <= 0:
            return 0.0, 0.0
        # The low band as the music holds it (smoothed over a quarter second): a kick lifts it
        # from its floor by about half.
        low = self.music.low.at(frame / self.fps)
        strength = min(1.0, max(0.0, low - 0.2) / 0.5)
        a = SHAKE * strength * accent
        ang = float(self._angles[i % len(self._angles)])
        return a * math.cos(ang), a * math.sin(ang)

    def snare(self, frame: int) -> float:
        """Snare/clap hit envelope, 1 on the hit's beat frame, gone within ~3 frames."""
        sf = self.snare_frames
        i = int(np.searchsorted(sf, frame, side="right")) - 1
        if i < 0:
            return 0.0
        dt = (frame - int(sf[i])) / self.fps
        if dt > 3.0 / self.fps:
            return 0.0
        return math.exp(-dt / SNARE_DECAY_S)

    def glitch(self, img: Planes, frame: int, level: float) -> None:
        """Row bands slip sideways (luma and chroma together) for a snare hit, in place."""
        if level < 0.3:
            return
        i = int(np.searchsorted(self.snare_frames, frame, side="right"))
        rng = stable_rng(self._seed, "glitch", i)
        h, w = img.y.shape
        for _ in range(3):
            y0 = int(rng.uniform(0, 0.9) * h) // 2 * 2
            bh = max(2, int(rng.uniform(0.02, 0.07) * h) // 2 * 2)
            d = int(rng.choice([-1, 1]) * rng.uniform(0.01, 0.03) * w * level) // 2 * 2
            if d == 0:
                continue
            y1 = min(h, y0 + bh)
            img.y[y0:y1] = np.roll(img.y[y0:y1], d, axis=1)
            for c in (img.u, img.v):
                c[y0 // 2 : y1 // 2] = np.roll(c[y0 // 2 : y1 // 2], d // 2, axis=1)

    def particles_shown(self, t: float) -> float:
        """Share of the particles on screen, from the hats (high band)."""
        return 0.35 + 0.65 * self.music.high.at(t)

    def drift(self, t: float, direction: tuple[float, float] | None = None) -> Drift:
        """Glow and a colour cast from what is held (sustained mid band): the cast swells and
        ebbs with the sustain along `direction` (a unit Cb, Cr vector: the look's own colour),
        or without one along a direction per repeat group. Either way every shot of a look
        (and the second chorus like the first) takes one tint, the near-blacks most of all (an
        offset of a few chroma values gives a dark pixel its hue)."""
        sustain = self.music.sustain.at(t)
        amp = DRIFT_CHROMA * (0.3 + 0.7 * sustain)
        if direction is None:
            _, group = self.music.section_anchor(t)
            ang = self._phase + GROUP_TURN * max(group, 0)
            direction = (math.cos(ang), math.sin(ang))
        return Drift(amp * direction[0], amp * direction[1], GLOW_GAIN * sustain)
