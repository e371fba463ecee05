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
    """structlog for our lines; the standard library's (FastStream, aiokafka, asyncpg) rendered the same way."""
    global _configured
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, _redact_certno, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _redact_certno,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)  # libraries speak up only when something is wrong
    library_logger().setLevel(logging.INFO)
    _configured = True


def library_logger() -> logging.Logger:
    """The standard-library logger handed to FastStream (app and broker lines, JSON like ours)."""
    return logging.getLogger("medaid.faststream")


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
