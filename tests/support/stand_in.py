"""A local AWS stand-in: moto's server on a loopback port, with an optional WSGI layer in front.

Used by the tests (in-process, ``StandIn``), by ``make demo`` and by the benchmark (as a
subprocess: ``python -m tests.support.stand_in --port-file F``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Callable

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

# re-exported: the tests import them from here; the benchmark's virtualenv has no moto, so the
# definitions live in a module without it
from tests.support.aws_env import aws_env, point_environment_at  # noqa: F401

Middleware = Callable[[Callable], Callable]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # one line per API call would drown the output
        pass


class StandIn:
    """moto on 127.0.0.1:<free port>, optionally wrapped by ``middleware(app) -> app``."""

    def __init__(self, middleware: Middleware | None = None, port: int = 0) -> None:
        self.app = DomainDispatcherApplication(create_backend_app)
        self.wsgi = middleware(self.app) if middleware else self.app
        self._server = make_server("127.0.0.1", port, self.wsgi, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="stand-in", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the chosen port here once listening")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every API call")
    parser.add_argument(
        "--aws-like-regions",
        action="store_true",
        help="answer DescribeRegions with the enabled regions of the caller's partition only",
    )
    args = parser.parse_args(argv)
    middleware = None
    if args.latency_ms or args.aws_like_regions:
        from tests.support.faults import FaultLayer

        def middleware(app):
            return FaultLayer(app, latency_ms=args.latency_ms, aws_like_regions=args.aws_like_regions)

    server = StandIn(middleware=middleware, port=args.port)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(str(server.port))
        os.replace(tmp, args.port_file)
    print(f"stand-in listening on {server.endpoint}", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    server.start()
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
