"""The charter's beats and bars from a Frets on Fire `notes.mid`.

The chart's tempo map (set_tempo events) and time signature (4/4 when the file has none, as
MIDI specifies) give the beat grid the charter played against; the notes sit on the played
hits, so their times also show where the music is (the grid is only scored there).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np


@dataclass
class Chart:
    beats: np.ndarray  # seconds, one per quarter note of the tempo map
    downbeats: np.ndarray
    beats_per_bar: int
    bpm: float  # median over the beats
    notes: np.ndarray  # seconds of every charted note-on


def read_chart(path: Path) -> Chart:
    mid = mido.MidiFile(str(path))
    tpb = mid.ticks_per_beat
    tempo_changes: list[tuple[int, int]] = [(0, 500000)]  # (tick, microseconds per beat)
    meter_changes: list[tuple[int, int]] = [(0, 4)]  # (tick, beats per bar)
    note_ticks: list[int] = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                tempo_changes.append((tick, msg.tempo))
            elif msg.type == "time_signature":
                # Beats counted in quarter notes: 6/8 -> 3 quarter-note beats per bar.
                meter_changes.append((tick, max(1, msg.numerator * 4 // msg.denominator)))
            elif msg.type == "note_on" and msg.velocity > 0:
                note_ticks.append(tick)
    tempo_changes.sort(key=lambda x: x[0])
    meter_changes.sort(key=lambda x: x[0])
    last_tick = max(note_ticks, default=0) + 4 * tpb

    def seconds(tick: int) -> float:
        t, prev_tick, prev_tempo = 0.0, 0, tempo_changes[0][1]
        for ct, tempo in tempo_changes:
            if ct > tick:
                break
            t += (ct - prev_tick) * prev_tempo / (1e6 * tpb)
            prev_tick, prev_tempo = ct, tempo
        return t + (tick - prev_tick) * prev_tempo / (1e6 * tpb)

    beat_ticks = np.arange(0, last_tick + 1, tpb)
    beats = np.array([seconds(int(k)) for k in beat_ticks])
    down: list[float] = []
    bar_start, per_bar = 0, 4
    for i, k in enumerate(beat_ticks):
        for mt, m in meter_changes:
            if mt == k:
                bar_start, per_bar = i, m
        if (i - bar_start) % per_bar == 0:
            down.append(float(beats[i]))
    bpm = float(60.0 / np.median(np.diff(beats))) if beats.size > 1 else 0.0
    return Chart(
        beats=beats,
        downbeats=np.array(down),
        beats_per_bar=meter_changes[-1][1],
        bpm=bpm,
        notes=np.array(sorted(seconds(k) for k in note_ticks)),
    )
