"""Synthesized songs with known ground truth (beats, downbeats, tempo, sections).

Used by the demo, the tests and the benchmarks: deterministic, no downloads. Each song is a
drum pattern (kick on downbeats and beat 3, snare on backbeats, hats on eighths) plus a bass
line and chords whose harmony changes on bar starts, arranged in sections of different
loudness and instrumentation so that structure is audible, not only labelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SR = 22050


@dataclass(frozen=True)
class SectionSpec:
    role: str  # intro, verse, chorus, bridge, breakdown, drop, outro
    bars: int
    level: float = 0.6  # overall loudness 0..1
    drums: bool = True
    bpm: float | None = None  # tempo change at this section (None = keep)
    lead: bool = False  # an eighth-note melody on chord tones (e.g. for choruses)
    progression: str = "main"  # "main" or "alt" (a contrasting chord cycle, e.g. a bridge)


def pop_form(chorus_level: float = 0.95, verse_level: float = 0.55) -> tuple[SectionSpec, ...]:
    """Intro, verse, chorus, verse, chorus, outro (8-bar verses and choruses, drumless ends):
    the song form most test and benchmark songs share."""
    verse = SectionSpec("verse", 8, verse_level)
    chorus = SectionSpec("chorus", 8, chorus_level, lead=True)
    intro = SectionSpec("intro", 4, 0.3, drums=False)
    outro = SectionSpec("outro", 4, 0.3, drums=False)
    return (intro, verse, chorus, verse, chorus, outro)


@dataclass(frozen=True)
class SongSpec:
    name: str
    bpm: float
    sections: tuple[SectionSpec, ...]
    beats_per_bar: int = 4
    swing: float = 0.0  # 0 = straight eighths; 0.33 = triplet swing on hats
    key_root_hz: float = 110.0  # A2
    minor: bool = False
    seed: int = 0
    # Human timing: each drum/bass/lead hit lands N(0, humanize_ms) off the grid, with some
    # velocity variation. The truth stays the nominal grid (as a transcriber would write it).
    humanize_ms: float = 0.0
    noise_level: float = 0.0  # broadband noise floor (amplitude before normalisation)


@dataclass
class SongTruth:
    duration: float
    bpm: float
    beats: np.ndarray
    downbeats: np.ndarray
    beats_per_bar: int
    sections: list[tuple[float, float, str]] = field(default_factory=list)
    # Beats where drums play (audible), others are only implied.
    drum_beats: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _env(n: int, decay_s: float, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    return np.exp(-t / decay_s).astype(np.float32)


def _kick(sr: int) -> np.ndarray:
    n = int(0.25 * sr)
    t = np.arange(n) / sr
    freq = 50 + 90 * np.exp(-t / 0.03)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return (np.sin(phase) * _env(n, 0.09, sr)).astype(np.float32)


def _snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    n = int(0.2 * sr)
    t = np.arange(n) / sr
    noise = rng.standard_normal(n).astype(np.float32)
    tone = np.sin(2 * np.pi * 190 * t).astype(np.float32)
    return (0.6 * noise * _env(n, 0.05, sr) + 0.5 * tone * _env(n, 0.04, sr)).astype(np.float32)


def _hat(sr: int, rng: np.random.Generator) -> np.ndarray:
    n = int(0.05 * sr)
    noise = rng.standard_normal(n).astype(np.float32)
    # Crude high-pass: first difference.
    noise = np.diff(noise, prepend=0.0).astype(np.float32)
    return 0.25 * noise * _env(n, 0.012, sr)


def _add(buf: np.ndarray, sound: np.ndarray, at: float, gain: float, sr: int) -> None:
    start = int(round(at * sr))
    if start >= len(buf):
        return
    end = min(len(buf), start + len(sound))
    buf[start:end] += gain * sound[: end - start]


# Chord progressions as semitone offsets of the root (I-V-vi-IV / i-VI-III-VII).
_MAJOR_PROG = [(0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12)]
_MINOR_PROG = [(0, 3, 7), (8, 12, 15), (3, 7, 10), (10, 14, 17)]
# Contrasting cycles for bridges (ii-V-iii-vi / iv-v-VI-VII).
_MAJOR_ALT = [(2, 5, 9), (7, 11, 14), (4, 7, 11), (9, 12, 16)]
_MINOR_ALT = [(5, 8, 12), (7, 10, 14), (8, 12, 15), (10, 14, 17)]
# Lead melody: chord-tone index per eighth note, cycling over two bars.
_LEAD_STEPS = [0, 1, 2, 1, 2, 0, 1, 2, 2, 1, 0, 1, 0, 2, 1, 0]


def _pluck(freq: float, dur: float, sr: int) -> np.ndarray:
    n = max(1, int(dur * sr))
    t = np.arange(n) / sr
    tone = np.sin(2 * np.pi * freq * t) + 0.4 * np.sin(4 * np.pi * freq * t)
    tone += 0.2 * np.sin(6 * np.pi * freq * t)
    attack = np.minimum(1.0, t / 0.004)  # 4 ms attack: no click
    return (tone * attack * np.exp(-t / (dur * 0.6))).astype(np.float32)


def synth_song(spec: SongSpec, sr: int = SR) -> tuple[np.ndarray, SongTruth]:
    """Render a song and its ground truth. Returns mono float32 samples in [-1, 1]."""
    rng = np.random.default_rng(spec.seed)
    # Lay out beat times section by section (tempo may change at a section).
    beats: list[float] = []
    downbeats: list[float] = []
    drum_flags: list[bool] = []
    sections: list[tuple[float, float, str]] = []
    beat_section: list[int] = []
    t = 0.0
    bpm = spec.bpm
    for si, sec in enumerate(spec.sections):
        if sec.bpm is not None:
            bpm = sec.bpm
        period = 60.0 / bpm
        start = t
        for _bar in range(sec.bars):
            for b in range(spec.beats_per_bar):
                beats.append(t)
                drum_flags.append(sec.drums)
                beat_section.append(si)
                if b == 0:
                    downbeats.append(t)
                t += period
        sections.append((start, t, sec.role))
    duration = t + 1.0  # a short tail so the last beat rings out
    n = int(round(duration * sr))
    out = np.zeros(n, dtype=np.float32)
    kick, snare = _kick(sr), _snare(sr, rng)
    prog = _MINOR_PROG if spec.minor else _MAJOR_PROG
    alt_prog = _MINOR_ALT if spec.minor else _MAJOR_ALT

    # A separate generator so songs without humanisation render exactly as before.
    hrng = np.random.default_rng(spec.seed + 7919)

    def jit() -> float:
        return float(hrng.normal(0.0, spec.humanize_ms / 1000.0)) if spec.humanize_ms else 0.0

    def vel() -> float:
        return float(np.clip(hrng.normal(1.0, 0.12), 0.6, 1.3)) if spec.humanize_ms else 1.0

    for i, nominal in enumerate(beats):
        sec = spec.sections[beat_section[i]]
        bt = max(0.0, nominal + jit())
        pos = i % spec.beats_per_bar
        bar = i // spec.beats_per_bar
        period = (beats[i + 1] - nominal) if i + 1 < len(beats) else (beats[i] - beats[i - 1])
        lvl = sec.level * vel()
        if sec.drums:
            if pos == 0:
                _add(out, kick, bt, 1.0 * lvl, sr)
            elif spec.beats_per_bar == 4 and pos == 2:
                _add(out, kick, bt, 0.7 * lvl, sr)
            if (spec.beats_per_bar == 4 and pos in (1, 3)) or (
                spec.beats_per_bar == 3 and pos in (1, 2)
            ):
                _add(out, snare, bt, (0.55 if spec.beats_per_bar == 4 else 0.35) * lvl, sr)
            hat = _hat(sr, rng)
            _add(out, hat, bt, 0.8 * lvl, sr)
            off = nominal + period * (0.5 + spec.swing / 2) + jit()
            _add(out, _hat(sr, rng), off, 0.5 * lvl, sr)
        # Harmony changes on the bar: chord pad + bass note, accented at the downbeat.
        chord = (alt_prog if sec.progression == "alt" else prog)[bar % len(prog)]
        if sec.lead:
            for half in (0, 1):
                at = bt + (period * (0.5 + spec.swing / 2) if half else 0.0)
                step = _LEAD_STEPS[(i * 2 + half) % len(_LEAD_STEPS)]
                f = spec.key_root_hz * 8 * 2 ** (chord[step] / 12)
                _add(out, _pluck(f, period * 0.5, sr), at, 0.07 * lvl, sr)
        seg_n = int(period * sr)
        tt = np.arange(seg_n) / sr
        accent = 1.0 if pos == 0 else 0.55
        pad = np.zeros(seg_n, dtype=np.float32)
        for semi in chord:
            f = spec.key_root_hz * 2 * 2 ** (semi / 12)
            pad += np.sin(2 * np.pi * f * tt).astype(np.float32)
        pad *= (0.05 * lvl * accent) * np.exp(-tt / (period * 1.5)).astype(np.float32)
        bass_f = spec.key_root_hz * 2 ** (chord[0] / 12) / 2
        bass = np.sin(2 * np.pi * bass_f * tt).astype(np.float32)
        bass *= 0.22 * lvl * accent * np.exp(-tt / (period * 0.8)).astype(np.float32)
        _add(out, pad + bass, bt, 1.0, sr)

    if spec.noise_level > 0:
        out += (spec.noise_level * hrng.standard_normal(n)).astype(np.float32)
    peak = float(np.max(np.abs(out))) or 1.0
    out = (0.9 * out / peak).astype(np.float32)
    truth = SongTruth(
        duration=n / sr,
        bpm=spec.bpm,
        beats=np.array(beats),
        downbeats=np.array(downbeats),
        beats_per_bar=spec.beats_per_bar,
        sections=sections,
        drum_beats=np.array([b for b, d in zip(beats, drum_flags, strict=True) if d]),
    )
    return out, truth


def demo_spec() -> SongSpec:
    """~45 s at 120 BPM: quiet drumless intro, verse, loud chorus, outro."""
    return SongSpec(
        name="demo",
        bpm=120.0,
        sections=(
            SectionSpec("intro", 4, level=0.25, drums=False),
            SectionSpec("verse", 8, level=0.5),
            SectionSpec("chorus", 8, level=1.0),
            SectionSpec("outro", 2, level=0.3, drums=False),
        ),
        seed=7,
    )


def write_audio(path: Path, samples: np.ndarray, sr: int = SR) -> Path:
    """Write mono float samples with PyAV; the container/codec follows the suffix."""
    import av

    codecs = {
        ".wav": "pcm_s16le",
        ".flac": "flac",
        ".mp3": "libmp3lame",
        ".m4a": "aac",
        ".opus": "libopus",
    }
    suffix = path.suffix.lower()
    if suffix == ".ogg":
        # PyAV's wheel has no libvorbis; libsndfile does, but crashes on long single writes.
        import soundfile as sf

        path.parent.mkdir(parents=True, exist_ok=True)
        with sf.SoundFile(str(path), "w", sr, 1, format="OGG", subtype="VORBIS") as fh:
            for start in range(0, len(samples), 65536):
                fh.write(samples[start : start + 65536].astype(np.float32))
        return path
    codec = codecs[suffix]
    rate = 48000 if suffix == ".opus" else sr
    data = samples.astype(np.float32)
    if rate != sr:
        import librosa

        data = librosa.resample(data, orig_sr=sr, target_sr=rate).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"  # type: ignore[union-attr]
        fmt = "s16" if codec == "pcm_s16le" else None
        block = 4096
        resampler = None
        for start in range(0, len(data), block):
            chunk = data[start : start + block]
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            if resampler is None:
                target = fmt or stream.codec_context.format.name  # type: ignore[union-attr]
                resampler = av.AudioResampler(format=target, layout="mono", rate=rate)
            for f in resampler.resample(frame):
                for packet in stream.encode(f):  # type: ignore[union-attr, arg-type]
                    container.mux(packet)
        if resampler is not None:
            for f in resampler.resample(None):
                for packet in stream.encode(f):  # type: ignore[union-attr, arg-type]
                    container.mux(packet)
        for packet in stream.encode(None):  # type: ignore[union-attr]
            container.mux(packet)
    return path


# --- Music without a steady beat (for confidence tests and benchmarks) ---


def warp_tempo(
    samples: np.ndarray, depth: float = 0.2, period_s: float = 7.0, seed: int = 0, sr: int = SR
) -> tuple[np.ndarray, np.ndarray]:
    """Rubato: play `samples` at a speed that drifts smoothly by +-`depth` (varispeed).

    Returns (warped samples, source time of each output sample). The speed is a sum of two
    slow sinusoids with random phases (periods `period_s` and 2.3x that), so the tempo keeps
    moving, as in free, expressive playing; beats at source time b land at the output time
    where the returned map first reaches b.
    """
    rng = np.random.default_rng(seed)
    n_out = int(len(samples) / (1.0 + depth))
    t = np.arange(n_out) / sr
    p1, p2 = rng.uniform(0, 2 * np.pi, 2)
    speed = 1.0 + depth * (
        0.6 * np.sin(2 * np.pi * t / period_s + p1)
        + 0.4 * np.sin(2 * np.pi * t / (2.3 * period_s) + p2)
    )
    src = np.cumsum(speed) / sr  # source seconds at each output sample
    src = src[src < (len(samples) - 1) / sr]
    out = np.interp(src * sr, np.arange(len(samples)), samples).astype(np.float32)
    return out, src


def beatless_drone(duration: float = 60.0, seed: int = 0, sr: int = SR) -> np.ndarray:
    """Ambient pad without a pulse: slow-attack chords changing at random times, a drone
    below, soft noise; nothing recurs at a regular interval."""
    rng = np.random.default_rng(seed)
    n = int(duration * sr)
    out = np.zeros(n, np.float32)
    t0 = 0.0
    root = 110.0
    while t0 < duration:
        length = float(rng.uniform(3.0, 9.0))
        m = int(min(length + 3.0, duration - t0) * sr)
        if m <= 0:
            break
        tt = np.arange(m) / sr
        # Slow swell in and out (seconds): no attack to hear as an onset.
        fade_out = np.maximum(0.0, (length + 3.0 - tt) / 3.0)
        env = np.minimum(1.0, tt / 2.0) * np.minimum(1.0, fade_out)
        chord = rng.choice([0, 2, 3, 5, 7, 9, 10], size=3, replace=False)
        tone = sum(np.sin(2 * np.pi * root * 2 ** ((c + 12) / 12) * tt) for c in chord)
        a = int(t0 * sr)
        out[a : a + m] += (0.15 * env * tone).astype(np.float32)
        t0 += length
    tt = np.arange(n) / sr
    out += (0.2 * np.sin(2 * np.pi * root / 2 * tt)).astype(np.float32)
    out += (0.01 * rng.standard_normal(n)).astype(np.float32)
    return out


def free_time_plucks(duration: float = 60.0, seed: int = 0, sr: int = SR) -> np.ndarray:
    """Free-time playing: plucked notes at irregular intervals (0.15..1.6 s, no grid)."""
    rng = np.random.default_rng(seed)
    n = int(duration * sr)
    out = np.zeros(n, np.float32)
    t = 0.3
    while t < duration - 1.0:
        f = 220.0 * 2 ** (int(rng.choice([0, 2, 4, 5, 7, 9, 11, 12])) / 12)
        _add(out, _pluck(f, 0.8, sr), t, float(rng.uniform(0.3, 0.8)), sr)
        t += float(rng.uniform(0.15, 1.6))
    tt = np.arange(n) / sr
    out += (0.1 * np.sin(2 * np.pi * 110.0 * tt)).astype(np.float32)
    return out
