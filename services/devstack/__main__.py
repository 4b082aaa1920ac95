"""`python -m services.devstack`: run the whole stack in the foreground until Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
import threading

from services.common.settings import get_settings
from services.devstack.processes import LocalStack


def main() -> None:
    settings = get_settings()
    stack = LocalStack(settings.data_dir, animators=2, fixed_ports=True)
    with stack:
        for svc in stack.procs:
            pid = svc.proc.pid if svc.proc else "-"
            print(f"{svc.log_path.stem:14s} {svc.address}  (pid {pid}, log {svc.log_path})")
        print(f"REST API and web page: {stack.gateway_url}/  (Ctrl-C to stop)")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    print("stack stopped")


if __name__ == "__main__":
    main()
