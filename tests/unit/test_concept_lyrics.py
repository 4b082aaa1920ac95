"""Lyrics parsing: LRC and SRT are timed, plain text is placed over vocal spans (estimated)."""

from __future__ import annotations

import pytest

from services.common.errors import InvalidInput
from services.concept.lyrics import detect_format, parse_lyrics


def test_lrc_with_metadata_multi_stamps_and_offset() -> None:
    text = (
        "[ar:Someone]\n[ti:A song]\n[offset:+500]\n"
        "[00:12.00]First line\n"
        "[00:20.50][01:05.25]Chorus line\n"
        "[00:30.00]<00:30.10>Enhanced <00:30.50>words\n"
        "[00:40.00]\n"
    )
    assert detect_format(text) == "lrc"
    lines = parse_lyrics(text.encode(), duration=90.0)
    # offset +500 ms shifts everything 0.5 s earlier.
    assert [(ln.start, ln.text) for ln in lines] == [
        (11.5, "First line"),
        (20.0, "Chorus line"),
        (29.5, "Enhanced words"),
        (64.75, "Chorus line"),
    ]
    assert lines[0].end == 20.0  # until the next line
    assert lines[-1].end == pytest.approx(68.75)  # last line: 4 s
    assert not any(ln.estimated for ln in lines)


def test_srt_cues() -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:03,500\nHello <i>there</i>\n\n"
        "2\n00:00:04,000 --> 00:00:06,000\nTwo\nrows\n\n"
        "3\n00:02:00,000 --> 00:02:03,000\nafter the end\n"
    )
    assert detect_format(text) == "srt"
    lines = parse_lyrics(text.encode("utf-8-sig"), duration=60.0)
    assert [(ln.start, ln.end, ln.text) for ln in lines] == [
        (1.0, 3.5, "Hello there"),
        (4.0, 6.0, "Two rows"),
    ]


def test_plain_text_spread_over_vocal_spans_and_snapped_to_beats() -> None:
    text = "one\n\ntwo\nthree\nfour\n"
    spans = [(10.0, 20.0), (30.0, 40.0)]
    beats = [i * 0.5 for i in range(120)]
    lines = parse_lyrics(text, duration=60.0, vocal_spans=spans, beats=beats)
    assert [ln.text for ln in lines] == ["one", "two", "three", "four"]
    assert all(ln.estimated for ln in lines)
    starts = [ln.start for ln in lines]
    assert starts == sorted(starts)
    assert starts == [10.0, 15.0, 30.0, 35.0]
    for ln in lines:
        assert any(a <= ln.start < b for a, b in spans)
        assert ln.end > ln.start


def test_plain_text_without_sections_uses_whole_song() -> None:
    lines = parse_lyrics("a\nb", duration=20.0)
    assert [ln.start for ln in lines] == [0.0, 10.0]


def test_binary_lyrics_rejected() -> None:
    with pytest.raises(InvalidInput, match="not text"):
        parse_lyrics(b"\x89PNG\r\n\x1a\n\x00\x00\x00", duration=10.0)


def test_latin1_text_accepted() -> None:
    lines = parse_lyrics("caf\xe9 au lait".encode("latin-1"), duration=10.0)
    assert lines[0].text == "caf\xe9 au lait"
