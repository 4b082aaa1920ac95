"""Issue 14's closing table: bad-input cases tried, generated requests, faults survived and
projects lost, from one run of the reliability suite (tests/reliability) on real processes.

    .venv/bin/python -m bench.reliability [--outage-s 30]

`--outage-s` is how long the seeder stays down and the S3 server stays frozen (the issue's
figures: 30 s and 20 s; the suite under `make test` uses 12 s, past the old ~8 s window).
Writes bench/results/reliability.md.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "reliability.md"
CORPUS = re.compile(r"bad-input corpus: (\d+) cases, (\d+) wrong")
SCHEMATHESIS = re.compile(r"schemathesis: (\d+) operations, (\d+) requests, (\d+) failing")
FAULT = re.compile(r"^(.+?)\s+(\d+)\s+(\d+)\s+(\d+)$")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outage-s", type=float, default=30.0)
    args = parser.parse_args()
    env = {**os.environ, "LUMIERE_RELIABILITY_OUTAGE_S": str(args.outage_s)}
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/reliability"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    out = run.stdout
    corpus = CORPUS.search(out)
    st = SCHEMATHESIS.search(out)
    table = out.split("fault ", 1)[1].splitlines()[1:] if "fault " in out else []
    faults = [m.groups() for line in table if (m := FAULT.match(line.strip()))]
    summary = out.strip().splitlines()[-1] if out.strip() else "no output"
    lines = [
        "# Reliability (issue 14)",
        "",
        f"`.venv/bin/python -m bench.reliability --outage-s {args.outage_s:g}` — "
        f"{wall:.0f} s wall, pytest: {summary}",
        "",
        "| what | tried | wrong / failed |",
        "| --- | --- | --- |",
    ]
    if corpus:
        lines.append(
            f"| bad-input corpus cases (each its specific 4xx) | {corpus[1]} | {corpus[2]} |"
        )
    if st:
        lines.append(
            f"| schemathesis requests ({st[1]} operations, valid + invalid) | {st[2]} | {st[3]} |"
        )
    lines += [
        "",
        "| fault (real processes) | projects | completed | lost |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {name} | {n} | {done} | {lost} |" for name, n, done, lost in faults]
    survived = sum(1 for _, n, done, _ in faults if n == done)
    lost = sum(int(x[3]) for x in faults)
    lines += ["", f"Faults survived: {survived} of {len(faults)}; projects lost: {lost}.", ""]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))
    if run.returncode:
        print(out[-4000:], run.stderr[-2000:], sep="\n")
        raise SystemExit(run.returncode)


if __name__ == "__main__":
    main()
