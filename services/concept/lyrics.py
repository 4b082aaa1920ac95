"""Lyrics files -> timed lines. Pure: text (or bytes) in, `TimedLine`s out.

Formats, detected from the content:
- LRC (`[mm:ss.xx] line`, several stamps per line allowed, `[offset:+/-ms]` honoured): timed;
- SRT (`00:00:12,500 --> 00:00:15,000` cues): timed;
- anything else is plain text: one lyric per non-empty line, spread over the vocal spans the
  caller gives (e.g. the non-intro/outro sections), start snapped to a beat when beats are
  given, and marked `estimated`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.common.errors import InvalidInput

MAX_LYRICS_BYTES = 1_000_000
LAST_LINE_SECONDS = 4.0

_LRC_STAMP = re.compile(r"\[(\d{1,3}):(\d{1,2}(?:[.:]\d{1,3})?)\]")
_LRC_TAG = re.compile(r"^\[([a-zA-Z]+):(.*)\]\s*$")
_SRT_TIME = re.compile(
    r"(\d{1,2}):(\d{2}):(\d{2})[,.](\d{1,3})\s*-->\s*(\d{1,2}):(\d{2}):(\d{2})[,.](\d{1,3})"
)


@dataclass(frozen=True)
class TimedLine:
    start: float
    end: float
    text: str
    estimated: bool


def decode_text(data: bytes) -> str:
    if len(data) > MAX_LYRICS_BYTES:
        raise InvalidInput(f"lyrics file is larger than {MAX_LYRICS_BYTES // 1000} kB")
    if b"\x00" in data[:4096]:
        # UTF-16 with a BOM is still text; other NUL bytes mean a binary file.
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return data.decode("utf-16")
        raise InvalidInput("lyrics file is not text (LRC, SRT or plain text expected)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def detect_format(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if any(_SRT_TIME.search(ln) for ln in lines[:50]):
        return "srt"
    if lines and sum(bool(_LRC_STAMP.match(ln)) for ln in lines) >= max(1, len(lines) // 3):
        return "lrc"
    return "plain"


def _close(lines: list[tuple[float, str]], duration: float | None) -> list[TimedLine]:
    lines.sort(key=lambda x: x[0])
    out: list[TimedLine] = []
    for i, (start, txt) in enumerate(lines):
        end = lines[i + 1][0] if i + 1 < len(lines) else start + LAST_LINE_SECONDS
        if duration is not None:
            end = min(end, duration)
            if start >= duration:
                continue
        out.append(TimedLine(round(start, 3), round(max(end, start), 3), txt, False))
    return out


def parse_lrc(text: str, duration: float | None = None) -> list[TimedLine]:
    offset = 0.0
    lines: list[tuple[float, str]] = []
    for raw in text.splitlines():
        raw = raw.strip()
        tag = _LRC_TAG.match(raw)
        if tag and not _LRC_STAMP.match(raw):
            if tag.group(1).lower() == "offset":
                # LRC: a positive offset shifts lyrics earlier.
                with contextlib.suppress(ValueError):
                    offset = -float(tag.group(2).strip()) / 1000.0
            continue
        stamps = []
        pos = 0
        while True:
            m = _LRC_STAMP.match(raw, pos)
            if not m:
                break
            stamps.append(int(m.group(1)) * 60 + float(m.group(2).replace(":", ".")))
            pos = m.end()
        words = re.sub(r"<\d+:\d+(?:\.\d+)?>", "", raw[pos:]).strip()  # enhanced LRC word stamps
        if not stamps or not words:
            continue
        for s in stamps:
            lines.append((max(0.0, s + offset), words))
    return _close(lines, duration)


def parse_srt(text: str, duration: float | None = None) -> list[TimedLine]:
    out: list[TimedLine] = []
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    for block in blocks:
        rows = [r.strip() for r in block.strip().split("\n") if r.strip()]
        for k, row in enumerate(rows):
            m = _SRT_TIME.search(row)
            if not m:
                continue
            g = [int(x) for x in m.groups()]
            start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 10 ** len(m.group(4))
            end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 10 ** len(m.group(8))
            txt = " ".join(re.sub(r"<[^>]+>", "", r) for r in rows[k + 1 :]).strip()
            if txt and (duration is None or start < duration):
                if duration is not None:
                    end = min(end, duration)
                out.append(TimedLine(round(start, 3), round(max(end, start), 3), txt, False))
            break
    out.sort(key=lambda x: x.start)
    return out


def place_plain(
    text: str,
    spans: Sequence[tuple[float, float]],
    beats: Sequence[float] = (),
) -> list[TimedLine]:
    """Spread plain lines over `spans` (seconds) in proportion to their length."""
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")
    ]
    spans = [(a, b) for a, b in spans if b > a]
    if not lines or not spans:
        return []
    total = sum(b - a for a, b in spans)
    step = total / len(lines)
    out: list[TimedLine] = []
    bt = sorted(beats)
    for i, txt in enumerate(lines):
        # Position i*step along the concatenated spans.
        pos = i * step
        for a, b in spans:
            if pos < b - a or (a, b) == spans[-1]:
                start = a + min(pos, b - a)
                end = min(b, start + step)
                break
            pos -= b - a
        if bt:
            near = min(bt, key=lambda x: abs(x - start))
            if abs(near - start) < step / 2:
                start = near
        out.append(TimedLine(round(start, 3), round(max(end, start + 0.1), 3), txt, True))
    # Ends never run past the next line's start.
    fixed = []
    for i, ln in enumerate(out):
        end = min(ln.end, out[i + 1].start) if i + 1 < len(out) else ln.end
        fixed.append(TimedLine(ln.start, max(end, ln.start), ln.text, True))
    return fixed


def parse_lyrics(
    data: bytes | str,
    duration: float | None = None,
    vocal_spans: Sequence[tuple[float, float]] = (),
    beats: Sequence[float] = (),
) -> list[TimedLine]:
    """Parse LRC/SRT/plain lyrics; plain lines are placed over `vocal_spans` (estimated)."""
    text = decode_text(data) if isinstance(data, bytes) else data
    fmt = detect_format(text)
    if fmt == "lrc":
        return parse_lrc(text, duration)
    if fmt == "srt":
        return parse_srt(text, duration)
    spans = list(vocal_spans) or ([(0.0, duration)] if duration else [])
    return place_plain(text, spans, beats)
