"""The whole analysis: decoded samples (+ prompt, lyrics) -> the Concept, storyboard included.

`analyse(samples, ...)` is pure and reports progress per step through `report(done, total,
message)`, so the servicer can stream it and the benchmark can time it without a server.
"""

from __future__ import annotations

from collections.abc import Callable

import librosa
import numpy as np
import scipy.signal
from lumiere.v1 import concept_pb2

from services.common.enum_names import enum_values
from services.concept.drivers import BandDrivers, DriverSource
from services.concept.dynamics import analyse_dynamics
from services.concept.frontend import SR, Frontend, compute_frontend
from services.concept.lyrics import TimedLine, parse_lyrics
from services.concept.moments import SongShape, key_moments
from services.concept.rhythm import Rhythm, analyse_rhythm, section_confidence
from services.concept.storyboard import plan_storyboard
from services.concept.structure import SectionInfo, find_sections
from services.concept.tonality import describe_mood, estimate_key

Report = Callable[[int, int, str], None]

STEPS = [
    "spectrogram",
    "tempo and beats",
    "intensity and bands",
    "sections",
    "key and mood",
    "key moments",
    "lyrics",
    "storyboard",
]

SECTION_ROLE = enum_values(concept_pb2.SectionRole.DESCRIPTOR, "SECTION_ROLE_")
MOMENT_ROLE = enum_values(concept_pb2.MomentRole.DESCRIPTOR, "MOMENT_ROLE_")


def _noop(done: int, total: int, message: str) -> None:
    return None


def _curve(values: np.ndarray, rate: float) -> concept_pb2.Curve:
    return concept_pb2.Curve(rate_hz=rate, values=np.round(values, 4).tolist())


def condition(samples: np.ndarray, sr: int) -> np.ndarray:
    """Remove DC and sub-audio rumble (< 20 Hz) and normalise the peak to 1.

    A DC offset flattens the log-energy attack envelope used to time beats, and very quiet
    files hit the spectrogram's dB floor; the analysis should not depend on either.
    """
    sos = scipy.signal.butter(2, 20.0, btype="highpass", fs=sr, output="sos")
    out = scipy.signal.sosfilt(sos, samples - float(np.mean(samples))).astype(np.float32)
    peak = float(np.max(np.abs(out)))
    return out / peak if peak > 0 else out


def phrase_start_chroma(
    fe: Frontend, chroma: np.ndarray, sections: list[SectionInfo], rh: Rhythm
) -> np.ndarray:
    """Chroma over the first bar of every section (the song's first bar included)."""
    out = []
    for s in sections:
        later = rh.downbeats[rh.downbeats >= s.start - 0.05]
        start = float(later[0]) if later.size else s.start
        nxt = rh.downbeats[rh.downbeats > start + 0.05]
        end = float(nxt[0]) if nxt.size else min(s.end, start + 2.0)
        a, b = int(fe.frame_of(start)), int(fe.frame_of(end))
        if b > a:
            out.append(chroma[:, a:b].mean(axis=1))
    return np.array(out) if out else np.zeros((0, 12))


def analyse(
    samples: np.ndarray,
    sr: int = SR,
    prompt: str = "",
    key_moment_count: int = 0,
    lyrics: bytes | None = None,
    report: Report = _noop,
    has_characters: bool = False,
    seed: int = 0,
    driver_source: DriverSource | None = None,
) -> concept_pb2.Concept:
    total = len(STEPS)
    step = 0

    def next_step(name: str) -> None:
        nonlocal step
        report(step, total, name)
        step += 1

    if sr != SR:
        samples = librosa.resample(samples, orig_sr=sr, target_sr=SR)
        sr = SR
    samples = condition(samples, sr)
    next_step("computing the spectrogram")
    fe = compute_frontend(samples, sr)
    chroma = fe.chroma

    next_step("detecting tempo, beats and downbeats")
    rh = analyse_rhythm(fe, chroma)

    next_step("measuring intensity, bands and brightness")
    dyn = analyse_dynamics(fe)
    drivers = (driver_source or BandDrivers()).drivers(fe)

    next_step("finding sections")
    sections = find_sections(fe, dyn, chroma, rh.downbeats)

    next_step("estimating key and mood")
    key = estimate_key(chroma, phrase_starts=phrase_start_chroma(fe, chroma, sections, rh))
    energy = float(np.mean(dyn.intensity)) if dyn.intensity.size else 0.0
    loud = dyn.intensity > 0.2
    brightness = float(np.mean(dyn.brightness[loud])) if loud.any() else 0.0
    dyn_range = (
        float(np.percentile(dyn.intensity, 95) - np.percentile(dyn.intensity, 10))
        if dyn.intensity.size
        else 0.0
    )
    mood = describe_mood(energy, brightness, key.minor, rh.tempo, dyn_range)

    next_step("placing key moments")
    song = SongShape(fe.duration, sections, rh.downbeats, dyn.intensity, dyn.rate_hz)
    moments = key_moments(key_moment_count, song, prompt, mood.descriptors, rh.tempo)

    next_step("reading lyrics")
    lines: list[TimedLine] = []
    if lyrics:
        vocal = [
            (s.start, s.end) for s in sections if s.role not in ("intro", "outro", "breakdown")
        ]
        lines = parse_lyrics(lyrics, fe.duration, vocal, rh.beats.tolist())
    next_step("planning the shots")

    concept = concept_pb2.Concept(
        duration_seconds=fe.duration,
        tempo_bpm=round(rh.tempo, 3),
        tempo_confidence=round(rh.confidence, 3),
        alt_tempo_bpm=round(rh.alt_tempo, 3),
        beats_per_bar=rh.beats_per_bar,
        downbeat_times=np.round(rh.downbeats, 4).tolist(),
        onset_times=np.round(dyn.onsets, 4).tolist(),
        intensity=_curve(dyn.intensity, dyn.rate_hz),
        intensity_per_second=np.round(dyn.per_second, 4).tolist(),
        band_low=_curve(dyn.band_low, dyn.rate_hz),
        band_mid=_curve(dyn.band_mid, dyn.rate_hz),
        band_high=_curve(dyn.band_high, dyn.rate_hz),
        brightness=_curve(dyn.brightness, dyn.rate_hz),
        key=key.tonic,
        mode=concept_pb2.MODE_MINOR if key.minor else concept_pb2.MODE_MAJOR,
        mood=concept_pb2.Mood(
            energy=round(mood.energy, 3),
            brightness=round(mood.brightness, 3),
            valence=round(mood.valence, 3),
            descriptors=mood.descriptors,
        ),
        prompt=prompt,
        drivers=concept_pb2.InstrumentDrivers(
            source=drivers.source,
            kick=_curve(drivers.curves["kick"], drivers.rate_hz),
            snare=_curve(drivers.curves["snare"], drivers.rate_hz),
            hats=_curve(drivers.curves["hats"], drivers.rate_hz),
            harmony=_curve(drivers.curves["harmony"], drivers.rate_hz),
            voice=_curve(drivers.curves["voice"], drivers.rate_hz),
            kick_times=np.round(drivers.onsets["kick"], 4).tolist(),
            snare_times=np.round(drivers.onsets["snare"], 4).tolist(),
            hat_times=np.round(drivers.onsets["hats"], 4).tolist(),
        ),
    )
    for i, t in enumerate(rh.beats):
        concept.beats.append(
            concept_pb2.Beat(
                time=round(float(t), 4),
                strength=round(float(rh.strengths[i]), 3),
                inferred=bool(rh.inferred[i]),
                downbeat=bool(rh.bar_positions[i] == 1),
                bar_position=int(rh.bar_positions[i]),
            )
        )
    for s in sections:
        sec_tempo, sec_conf = section_confidence(fe, rh, s.start, s.end)
        concept.sections.append(
            concept_pb2.Section(
                start=round(s.start, 4),
                end=round(s.end, 4),
                label=s.label,
                role=SECTION_ROLE.get(s.role, concept_pb2.SECTION_ROLE_UNSPECIFIED),
                repeat_group=s.group,
                energy=round(s.energy, 3),
                tempo_bpm=round(sec_tempo, 3),
                tempo_confidence=round(sec_conf, 3),
            )
        )
    for i, m in enumerate(moments):
        concept.key_moments.append(
            concept_pb2.KeyMoment(
                id=f"moment_{i + 1:02d}",
                time=round(m.time, 4),
                role=MOMENT_ROLE[m.role],
                intensity=round(m.intensity, 3),
                prompt=m.prompt,
                section_index=m.section_index,
                description=m.description,
            )
        )
    for ln in lines:
        concept.lyrics.append(
            concept_pb2.LyricLine(start=ln.start, end=ln.end, text=ln.text, estimated=ln.estimated)
        )
    mode = "minor" if key.minor else "major"
    roles = " / ".join(s.label for s in sections)
    concept.description = (
        f"{fe.duration:.0f} s, {rh.tempo:.0f} BPM in {rh.beats_per_bar}/4, {key.tonic} {mode}, "
        f"{', '.join(mood.descriptors)}; sections: {roles}"
    )
    concept.storyboard.CopyFrom(plan_storyboard(concept, has_characters, seed))
    report(total, total, "analysis done")
    return concept
