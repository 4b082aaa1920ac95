"""Which gateway the command talks to: the one named (`--url`), the local one if it answers, or
a local stack started for this command and stopped after it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from services.cli.api import LumiereAPI
from services.common.settings import get_settings


class NoGateway(Exception):
    pass


def local_url() -> str:
    return f"http://127.0.0.1:{get_settings().gateway_port}"


@contextmanager
def connect(
    url: str | None, api_key: str | None, log: Console, start_stack: bool = False
) -> Iterator[LumiereAPI]:
    """The API at `url`; without one, the local gateway, started here (`start_stack`) if none
    answers. A stack started here runs in its own sessions (Ctrl-C reaches only us) and is
    stopped on the way out, however the command ends."""
    target = url or local_url()
    api = LumiereAPI(target, api_key)
    try:
        if api.reachable():
            yield api
            return
        if url or not start_stack:
            hint = "" if url else "; start one with `lumiere serve`"
            raise NoGateway(f"no Lumiere gateway answers at {target}{hint}")
        from services.devstack.processes import LocalStack

        settings = get_settings()
        log.print(f"no gateway at {target}: starting a local stack (data in {settings.data_dir})")
        with LocalStack(settings.data_dir, animators=2, own_session=True) as stack:
            log.print(f"local stack up; REST API at {stack.gateway_url}")
            with LumiereAPI(stack.gateway_url, api_key) as local:
                yield local
            log.print("stopping the local stack")
    finally:
        api.close()
