"""Short synthesized songs for tests that run the real stages (a few seconds of music is enough)."""

from __future__ import annotations

from pathlib import Path

from services.devstack.synth import SectionSpec, SongSpec, synth_song, write_audio


def write_short_song(path: Path, seed: int) -> float:
    """Write a 5-bar song at 120 BPM (quiet intro without drums, verse, loud chorus with a lead)
    to `path` (format by suffix); returns its duration in seconds."""
    spec = SongSpec(
        name="short",
        bpm=120.0,
        sections=(
            SectionSpec("intro", 1, level=0.3, drums=False),
            SectionSpec("verse", 2, level=0.6),
            SectionSpec("chorus", 2, level=1.0, lead=True),
        ),
        seed=seed,
    )
    samples, truth = synth_song(spec)
    write_audio(path, samples)
    return truth.duration
