"""Decoding and validation of audio files (services.concept.audio_decode)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.common.errors import InvalidInput
from services.concept.audio_decode import load_mono, probe_audio
from services.devstack.synth import SR, write_audio


def _tone(seconds: float = 3.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".mp3", ".m4a", ".ogg", ".opus"])
def test_formats_decode_to_mono_22050(tmp_path: Path, suffix: str) -> None:
    path = write_audio(tmp_path / f"tone{suffix}", _tone(3.0))
    info = probe_audio(path)
    assert info.channels == 1
    assert info.duration == pytest.approx(3.0, abs=0.1)
    y = load_mono(path, 22050)
    assert y.dtype == np.float32
    assert y.size / 22050 == pytest.approx(3.0, abs=0.1)
    # The 440 Hz tone survives the codec: its spectrum peaks at 440 Hz.
    spec = np.abs(np.fft.rfft(y[: 22050 * 2]))
    assert np.fft.rfftfreq(22050 * 2, 1 / 22050)[int(np.argmax(spec))] == pytest.approx(440, abs=2)


def test_stereo_44100_is_downmixed_and_resampled(tmp_path: Path) -> None:
    import av

    sr = 44100
    t = np.arange(sr * 2) / sr
    left = (0.4 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    path = tmp_path / "stereo.wav"
    with av.open(str(path), "w") as c:
        s = c.add_stream("pcm_s16le", rate=sr)
        s.layout = "stereo"
        frame = av.AudioFrame.from_ndarray(
            np.repeat(left, 2)[None, :],
            format="flt",
            layout="stereo",  # interleaved L R
        )
        frame.sample_rate = sr
        for f in av.AudioResampler(format="s16", layout="stereo", rate=sr).resample(frame):
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    assert probe_audio(path).channels == 2
    y = load_mono(path, 22050)
    assert y.size == pytest.approx(2 * 22050, abs=64)
    # Downmix keeps the tone (swresample's stereo->mono gain is between 0.7 and 1.4 per side).
    assert 0.3 < float(np.max(np.abs(y))) < 0.8
    spec = np.abs(np.fft.rfft(y))
    assert np.fft.rfftfreq(y.size, 1 / 22050)[int(np.argmax(spec))] == pytest.approx(220, abs=2)


def test_non_audio_bytes_rejected(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp3"
    path.write_bytes(b"this is certainly not an mp3 file\n" * 200)
    with pytest.raises(InvalidInput, match="could not be decoded"):
        probe_audio(path)
    with pytest.raises(InvalidInput, match="could not be decoded"):
        load_mono(path)


def test_image_without_audio_stream_rejected(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "picture.png"
    Image.new("RGB", (32, 32), (200, 10, 10)).save(path)
    with pytest.raises(InvalidInput, match="no audio stream"):
        probe_audio(path)


def test_empty_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(InvalidInput, match="empty"):
        probe_audio(path)
    with pytest.raises(InvalidInput, match="empty"):
        load_mono(path)


def test_truncated_file_rejected_or_partial(tmp_path: Path) -> None:
    full = write_audio(tmp_path / "full.mp3", _tone(3.0))
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full.read_bytes()[:300])  # header and almost nothing else
    with pytest.raises(InvalidInput):
        load_mono(cut)


def test_silent_audio_rejected(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "silence.wav", np.zeros(SR * 2, dtype=np.float32))
    probe_audio(path)  # decodable...
    with pytest.raises(InvalidInput, match="audio is silent"):
        load_mono(path)  # ...but nothing to analyse


def test_too_long_rejected_with_limit_in_message(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "long.flac", _tone(5.0))
    with pytest.raises(InvalidInput, match="longer than the 3-second limit"):
        probe_audio(path, max_seconds=3.0)
    with pytest.raises(InvalidInput, match="longer than the 3-second limit"):
        load_mono(path, max_seconds=3.0)
    with pytest.raises(InvalidInput, match="longer than the 1-minute limit"):
        load_mono(write_audio(tmp_path / "l2.wav", _tone(61.5)), max_seconds=60.0)
    assert load_mono(path, max_seconds=10.0).size > 0
