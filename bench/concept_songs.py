"""The concept benchmark's ground-truth set: synthesized songs with known beats and sections.

Each song is rendered by `services.devstack.synth` (drums, bass, chords changing on bars, sections
of different loudness and instrumentation). The set covers 70-180 BPM, 4/4 and 3/4, swing, a tempo
change, drumless intros/outros, breakdowns and drops, and a bridge with different harmony.
Five songs are "played by humans": hits land N(0, 6-12 ms) off the grid with velocity
variation (the truth stays the nominal grid), two with a noise floor. The analysis never sees
these specs: it gets the rendered samples only.
"""

from __future__ import annotations

from services.devstack.synth import SectionSpec as S
from services.devstack.synth import SongSpec, pop_form


def benchmark_songs() -> list[SongSpec]:
    return [
        SongSpec(
            "pop_120",
            120.0,
            pop_form(),
            humanize_ms=8.0,
            noise_level=0.01,
            seed=1,
        ),
        SongSpec(
            "ballad_72_minor",
            72.0,
            (
                S("intro", 2, 0.25, drums=False),
                S("verse", 8, 0.5),
                S("chorus", 8, 0.9, lead=True),
                S("bridge", 4, 0.6, progression="alt"),
                S("chorus", 8, 0.95, lead=True),
                S("outro", 2, 0.25, drums=False),
            ),
            minor=True,
            key_root_hz=98.0,
            humanize_ms=12.0,
            seed=2,
        ),
        SongSpec(
            "waltz_96",
            96.0,
            (
                S("intro", 4, 0.3, drums=False),
                S("verse", 12, 0.55),
                S("chorus", 12, 1.0, lead=True),
                S("verse", 12, 0.55),
                S("outro", 4, 0.3, drums=False),
            ),
            beats_per_bar=3,
            humanize_ms=8.0,
            seed=3,
        ),
        SongSpec(
            "waltz_150",
            150.0,
            (
                S("verse", 16, 0.55),
                S("chorus", 16, 1.0, lead=True),
                S("bridge", 8, 0.6, progression="alt"),
                S("chorus", 16, 1.0, lead=True),
            ),
            beats_per_bar=3,
            key_root_hz=123.5,
            seed=4,
        ),
        SongSpec(
            "swing_100",
            100.0,
            (
                S("intro", 4, 0.35, drums=False),
                S("verse", 8, 0.6),
                S("chorus", 8, 1.0, lead=True),
                S("verse", 8, 0.6),
                S("chorus", 8, 1.0, lead=True),
            ),
            swing=0.33,
            humanize_ms=10.0,
            seed=5,
        ),
        SongSpec(
            "tempo_change_110_128",
            110.0,
            (
                S("verse", 8, 0.55),
                S("chorus", 8, 0.95, lead=True),
                S("bridge", 8, 0.5, progression="alt"),
                S("verse", 4, 0.6, bpm=128.0),
                S("chorus", 12, 1.0, lead=True),
            ),
            seed=6,
        ),
        SongSpec(
            "dnb_174_breakdown",
            174.0,
            (
                S("intro", 8, 0.4, drums=False),
                S("drop", 16, 1.0, lead=True),
                S("breakdown", 8, 0.35, drums=False, progression="alt"),
                S("drop", 16, 1.0, lead=True),
                S("outro", 8, 0.35, drums=False),
            ),
            minor=True,
            seed=7,
        ),
        SongSpec(
            "house_126_breakdown",
            126.0,
            (
                S("intro", 8, 0.5),
                S("verse", 8, 0.7),
                S("drop", 16, 1.0, lead=True),
                S("breakdown", 8, 0.3, drums=False),
                S("drop", 16, 1.0, lead=True),
                S("outro", 8, 0.5),
            ),
            seed=8,
        ),
        SongSpec(
            "slow_70",
            70.0,
            (
                S("verse", 8, 0.5),
                S("chorus", 8, 0.9, lead=True),
                S("verse", 8, 0.5),
                S("chorus", 8, 0.9, lead=True),
            ),
            key_root_hz=103.8,
            seed=9,
        ),
        SongSpec(
            "rock_140",
            140.0,
            (
                S("intro", 4, 0.6),
                S("verse", 16, 0.6),
                S("chorus", 16, 1.0, lead=True),
                S("verse", 16, 0.6),
                S("chorus", 16, 1.0, lead=True),
                S("outro", 4, 0.3, drums=False),
            ),
            key_root_hz=82.4,
            humanize_ms=6.0,
            noise_level=0.02,
            seed=10,
        ),
        SongSpec(
            "fast_180",
            180.0,
            (
                S("verse", 16, 0.6),
                S("chorus", 16, 1.0, lead=True),
                S("bridge", 8, 0.55, progression="alt"),
                S("chorus", 16, 1.0, lead=True),
            ),
            minor=True,
            seed=11,
        ),
        SongSpec(
            "minor_85_drumless_ends",
            85.0,
            (
                S("intro", 4, 0.3, drums=False),
                S("verse", 8, 0.6),
                S("chorus", 8, 1.0, lead=True),
                S("outro", 4, 0.3, drums=False),
            ),
            minor=True,
            key_root_hz=116.5,
            seed=12,
        ),
    ]


def three_minute_song() -> SongSpec:
    """~3 min at 120 BPM for the speed measurement."""
    return SongSpec(
        "pop_3min",
        120.0,
        (
            S("intro", 8, 0.3, drums=False),
            S("verse", 16, 0.55),
            S("chorus", 16, 0.95, lead=True),
            S("verse", 16, 0.55),
            S("chorus", 16, 0.95, lead=True),
            S("bridge", 8, 0.5, progression="alt"),
            S("chorus", 8, 1.0, lead=True),
            S("outro", 2, 0.3, drums=False),
        ),
        seed=13,
    )


def heldout_songs(seed: int = 100, count: int = 12) -> list[SongSpec]:
    """Random songs the analysis was NOT tuned on: tempo 70-180, 3/4 or 4/4, random swing,
    humanisation, key, section lengths (4-16 bars) and levels (+-15 %)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    order = ["intro", "verse", "chorus", "verse", "chorus", "bridge", "chorus", "outro"]
    level = {"intro": 0.3, "verse": 0.55, "chorus": 0.95, "bridge": 0.6, "outro": 0.3}
    songs = []
    for k in range(count):
        bpm = float(rng.uniform(70, 180))
        bpb = int(rng.choice([3, 4], p=[0.3, 0.7]))
        n = int(rng.integers(4, 8))
        secs = []
        for i in range(n):
            role = order[i] if i < n - 1 else "outro"
            secs.append(
                S(
                    role,
                    int(rng.choice([4, 8, 8, 16])),
                    min(1.0, level[role] * float(rng.uniform(0.85, 1.1))),
                    drums=role not in ("intro", "outro") or bool(rng.random() < 0.3),
                    lead=role == "chorus",
                    progression="alt" if role == "bridge" else "main",
                )
            )
        songs.append(
            SongSpec(
                f"heldout_{k:02d}",
                bpm,
                tuple(secs),
                beats_per_bar=bpb,
                swing=float(rng.choice([0.0, 0.0, 0.33])),
                minor=bool(rng.random() < 0.4),
                key_root_hz=float(110 * 2 ** (int(rng.integers(-5, 5)) / 12)),
                humanize_ms=float(rng.choice([0.0, 6.0, 10.0])),
                seed=int(rng.integers(1000)),
            )
        )
    return songs
