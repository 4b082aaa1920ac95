"""`python -m services.devstack` (and `lumiere serve`): the whole stack in the foreground until
Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
import threading

from services.common.settings import get_settings
from services.devstack.processes import LocalStack


def serve(animators: int = 2) -> None:
    settings = get_settings()
    # In sessions of their own: Ctrl-C stops them in order (SIGTERM) instead of all at once.
    stack = LocalStack(settings.data_dir, animators=animators, fixed_ports=True, own_session=True)
    with stack:
        for svc in stack.procs:
            pid = svc.proc.pid if svc.proc else "-"
            print(f"{svc.log_path.stem:14s} {svc.address}  (pid {pid}, log {svc.log_path})")
        print(f"REST API and web page: {stack.gateway_url}/  (Ctrl-C to stop)", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    print("stack stopped")


def main() -> None:
    serve()


if __name__ == "__main__":
    main()
