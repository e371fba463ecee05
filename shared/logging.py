"""structlog, set up once per process: JSON lines (or console on a terminal), every line with
`service`, and with `msgid` and `correlation_id` while a message is being handled."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

from shared.identity import redact

_configured = False


def _redact_certno(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Defence in depth: nothing shaped like a resident ID number reaches a log line."""
    return {k: redact(v) for k, v in event_dict.items()}


def configure_logging(service: str, fmt: str = "auto", level: str = "INFO") -> None:
    global _configured
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_certno,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    # Libraries (aiokafka, faststream) log through the standard library: same stream, same level.
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    _configured = True


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
