"""Latency of the status endpoint (GET /api/v1/projects/{id}) while a real render runs.

Starts the whole stack as processes (LocalStack), uploads a synthesized song through the REST
API, measures the status endpoint at idle (the baseline, same run), then polls it every 50 ms
while the project renders, and reports median / p90 / p99 / max for both phases and their ratio.

    .venv/bin/python -m bench.gateway_status_latency [--width 960 --height 540 --fps 24]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from services.devstack.stack import LocalStack

from services.devstack.synth import SR, demo_spec, synth_song, write_audio

RESULTS = Path(__file__).parent / "results" / "gateway_status_latency.md"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def row(name: str, ms: list[float]) -> str:
    return (
        f"| {name} | {len(ms)} | {statistics.median(ms):.2f} | {pct(ms, 0.9):.2f} | "
        f"{pct(ms, 0.99):.2f} | {max(ms):.2f} |"
    )


def timed_get(client: httpx.Client, url: str) -> tuple[float, dict]:
    t = time.perf_counter()
    resp = client.get(url)
    elapsed = (time.perf_counter() - t) * 1000
    resp.raise_for_status()
    return elapsed, resp.json()


def renice_tree(pid: int, niceness: int) -> int:
    """Lower the priority of a process, all its threads and descendants; returns tasks changed.

    On Linux, nice is per thread, so every /proc/<pid>/task/<tid> is set (new threads inherit).
    """
    changed = 0
    children: list[int] = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(proc.name))
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.setpriority(os.PRIO_PROCESS, int(task.name), niceness)
        changed += 1
    for child in children:
        changed += renice_tree(child, niceness)
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--width", type=int, default=960)
    parser.add_argument("--height", type=int, default=540)
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--animators", type=int, default=2)
    parser.add_argument("--idle-samples", type=int, default=300)
    parser.add_argument(
        "--nice-stages",
        type=int,
        default=0,
        help="run concept/seeder/animator at this nice level (0 = as started)",
    )
    parser.add_argument("--interval", type=float, default=0.05, help="poll interval, seconds")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lumiere-bench-") as tmp:
        data = Path(tmp)
        samples, truth = synth_song(demo_spec())
        song = write_audio(data / "song.mp3", samples, SR)
        # Polling at 20 Hz is over the default per-client rate limit: switch it off here.
        env = {"LUMIERE_GATEWAY_RATE_LIMIT_PER_MINUTE": "0"}
        with LocalStack(data / "stack", animators=args.animators, extra_env=env) as stack:
            client = httpx.Client(base_url=stack.gateway_url, timeout=30)
            with song.open("rb") as fh:
                resp = client.post(
                    "/api/v1/projects",
                    data={
                        "prompt": "neon city at night, rain, a lone dancer",
                        "width": str(args.width),
                        "height": str(args.height),
                        "fps": str(args.fps),
                    },
                    files={"audio": ("song.mp3", fh, "audio/mpeg")},
                )
            resp.raise_for_status()
            pid = resp.json()["id"]
            if args.nice_stages:
                for name, svc in stack.services.items():
                    if name.split("-")[0] in ("concept", "seeder", "animator") and svc.proc:
                        renice_tree(svc.proc.pid, args.nice_stages)
            url = f"/api/v1/projects/{pid}"

            for _ in range(20):  # warm up connections and code paths
                timed_get(client, url)
            idle = [timed_get(client, url)[0] for _ in range(args.idle_samples)]

            client.post(f"{url}/process").raise_for_status()
            busy: list[float] = []
            by_state: dict[str, list[float]] = {}
            started = time.monotonic()
            status = "processing"
            while status not in ("completed", "failed", "cancelled"):
                ms, project = timed_get(client, url)
                status = project["status"]
                busy.append(ms)
                by_state.setdefault(status, []).append(ms)
                time.sleep(args.interval)
            render_s = time.monotonic() - started
            client.close()
    if status != "completed":
        raise SystemExit(f"render ended {status}: {project.get('error')}")

    ratio = statistics.median(busy) / statistics.median(idle)
    lines = [
        "| phase | n | median ms | p90 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|",
        row("idle (baseline)", idle),
        row("while rendering", busy),
        *(row(f"  during {s}", v) for s, v in by_state.items() if len(v) >= 5),
    ]
    table = "\n".join(lines)
    summary = (
        f"Render: {truth.duration:.0f} s song at {args.width}x{args.height} {args.fps} fps, "
        f"{args.animators} animators, stage services at nice {args.nice_stages}, "
        f"{render_s:.1f} s wall. Median while rendering / idle: "
        f"{ratio:.2f}x."
    )
    print(table)
    print(summary)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Status endpoint latency while a render runs\n\n"
        "`.venv/bin/python -m bench.gateway_status_latency [--nice-stages 10]` — "
        "GET /api/v1/projects/{id} through the gateway (HTTP keep-alive client, one request at a "
        "time, every 50 ms) on the 2-core dev machine, all services and the render sharing the "
        "cores. Idle = the same request before the render starts (answered by the orchestrator); "
        "while rendering, the gateway answers from its watch-backed copy of the project.\n"
    )
    sections = {}
    if RESULTS.exists():
        for block in RESULTS.read_text().split("\n## ")[1:]:
            sections[block.split("\n", 1)[0]] = block
    title = f"stage services at nice {args.nice_stages}"
    sections[title] = f"{title}\n\n{table}\n\n{summary}\n"
    RESULTS.write_text(header + "".join("\n## " + b for _, b in sorted(sections.items())))


if __name__ == "__main__":
    main()
