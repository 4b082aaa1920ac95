"""Real-music development set for the concept stage (run by hand, not in CI).

`python -m bench.real_music.fetch` downloads the Debian game-music packages with
`apt-get download` into a cache outside the repository and unpacks them with `dpkg-deb -x`
(never installed); `python -m bench.real_music` scores the concept on them and writes
bench/results/real_music.md. The audio is never committed.
"""
