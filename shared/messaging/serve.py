"""How a service process runs: `python -m services.<name>` on uvloop, and how it exits when it will not start."""

from __future__ import annotations

import sys
from typing import Any

import uvloop
from faststream import FastStream

from shared.db.business_clock import ClockBehindError
from shared.logging import get_logger
from shared.settings import START_REFUSED_EXIT, StartRefusedError

log = get_logger(__name__)

CLOCK_BEHIND_EXIT = 3
"""Exit status of a service that refused to start on a business clock behind the time it reached."""


def serve(create_app: Any) -> None:
    """Entry point of `python -m services.<name>`."""
    try:
        app: FastStream = create_app()
        # uvloop: the event loop in C (libuv). A service spends much of its CPU in the loop's socket reads and writes
        # (asyncpg round trips, Kafka fetches and sends); see BENCHMARKS.md for what it bought.
        uvloop.run(app.run())
    except ClockBehindError:
        sys.exit(CLOCK_BEHIND_EXIT)  # logged as business_clock_behind; services.sh tells the operator
    except StartRefusedError as exc:
        refused(exc)


def refused(exc: StartRefusedError) -> None:
    """A process that will not start on what it was given: the reason in its log and on stderr, and a status of
    its own, not a traceback."""
    log.error("start_refused", error=str(exc))
    print(f"refusing to start: {exc}", file=sys.stderr)  # for whoever started it, whatever the log format
    sys.exit(START_REFUSED_EXIT)
