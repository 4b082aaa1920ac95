"""Download and unpack the development packages; list the songs they hold.

Cache: $LUMIERE_REAL_MUSIC or ~/.cache/lumiere/real_music (outside the repository). The
packages are downloaded with `apt-get download` and unpacked with `dpkg-deb -x` (never
installed). Only the development packages are named here: the packages reserved for
independent evaluation (see docs/ and the issue) must never be added.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = (
    "fretsonfire-songs-sectoid",
    "hyperrogue-music",
    "fb-music-high",
    "asc-music",
    "drascula-music",
)
AUDIO_SUFFIXES = {".ogg", ".mp3", ".wav", ".flac", ".xm", ".it", ".mod", ".s3m"}


@dataclass
class Song:
    name: str
    package: str
    files: list[Path]  # mixed (summed) into one track
    chart: Path | None = None  # Frets on Fire notes.mid: the charter's tempo map
    notes: list[str] = field(default_factory=list)


def cache_dir() -> Path:
    env = os.environ.get("LUMIERE_REAL_MUSIC")
    return Path(env) if env else Path.home() / ".cache" / "lumiere" / "real_music"


def fetch(cache: Path | None = None) -> Path:
    """Unpacked root (one folder per package); downloads only what is missing."""
    cache = cache or cache_dir()
    debs, root = cache / "debs", cache / "x"
    debs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in PACKAGES if not any(debs.glob(f"{p}_*.deb"))]
    if missing:
        if shutil.which("apt-get") is None:
            raise SystemExit("apt-get is needed to download " + ", ".join(missing))
        subprocess.run(["apt-get", "download", *missing], cwd=debs, check=True)
    for deb in sorted(debs.glob("*.deb")):
        out = root / deb.name.split("_")[0]
        if not out.exists():
            out.mkdir(parents=True)
            subprocess.run(["dpkg-deb", "-x", str(deb), str(out)], check=True)
    return root


def songs(root: Path) -> list[Song]:
    """Charted Frets on Fire songs first (stems mixed), then every music file of the others."""
    out: list[Song] = []
    for pkg in PACKAGES:
        base = root / pkg
        if pkg.startswith("fretsonfire"):
            for ini in sorted(base.rglob("song.ini")):
                stems = sorted(p for p in ini.parent.glob("*.ogg"))
                chart = ini.parent / "notes.mid"
                out.append(Song(ini.parent.name, pkg, stems, chart if chart.exists() else None))
            continue
        seen: set[tuple[str, int]] = set()
        for p in sorted(base.rglob("*")):
            # hyperrogue ships its sound effects next to its music: only music/ counts.
            if p.suffix.lower() not in AUDIO_SUFFIXES or p.parent.name == "sounds":
                continue
            # drascula ships the same tracks once per language folder: score each once.
            key = (p.name, p.stat().st_size)
            if key in seen:
                continue
            seen.add(key)
            out.append(Song(p.stem, pkg, [p]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=None)
    root = fetch(ap.parse_args().cache)
    for s in songs(root):
        print(f"{s.package:26} {s.name:28} {'charted' if s.chart else ''}")


if __name__ == "__main__":
    main()
