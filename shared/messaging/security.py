"""How every Kafka client of the platform authenticates: SASL/SCRAM-SHA-512, as one principal of deploy/acls.toml.

A process names the principal it acts as (a service its own name; the tools theirs; MEDAID_KAFKA_USERNAME
overrides it). The password comes from MEDAID_KAFKA_PASSWORD, otherwise from the secrets file
(MEDAID_SECRETS_FILE; on a local stack `$MEDAID_STATE_DIR/secrets/kafka.json`, written by
`python -m tools.acls secrets`). Passwords never come from the repository. SASL_PLAINTEXT is for loopback (the
local stack, the tests); production sets MEDAID_KAFKA_SECURITY_PROTOCOL=SASL_SSL and, for a private CA,
MEDAID_KAFKA_SSL_CAFILE.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

from faststream.security import BaseSecurity, SASLScram512

from shared.settings import PlatformSettings, state_dir

ADMIN = "admin"
"""The cluster's only super user: applies topics and ACLs. No service or outside system uses it."""
CONTROLLER = "controller"
"""The KRaft controller listener's own login (PLAIN, loopback only): the broker's, nobody else's."""
OPERATOR = "operator"
"""Operators' tools (dead letters: tools/dlq.py)."""
SIMULATOR = "simulator"
"""The province simulator and the benchmarks, playing all 31 provincial systems: local stacks and tests only."""
MECHANISM = "SCRAM-SHA-512"


class MissingCredentialsError(RuntimeError):
    pass


def secrets_path(settings: PlatformSettings) -> Path:
    return Path(settings.secrets_file) if settings.secrets_file else state_dir() / "secrets" / "kafka.json"


def credentials(settings: PlatformSettings, principal: str) -> tuple[str, str]:
    """(username, password) of the principal a process acts as: MEDAID_KAFKA_USERNAME if set, else `principal`;
    MEDAID_KAFKA_PASSWORD if set, else that name's entry in the secrets file."""
    username = settings.kafka_username or principal
    if settings.kafka_password is not None:
        return username, settings.kafka_password.get_secret_value()
    path = secrets_path(settings)
    try:
        passwords: dict[str, str] = json.loads(path.read_text())
    except FileNotFoundError:
        raise MissingCredentialsError(
            f"no Kafka password for {username!r}: set MEDAID_KAFKA_PASSWORD, or MEDAID_SECRETS_FILE "
            f"({path} does not exist; `make up` writes it)"
        ) from None
    if username not in passwords:
        raise MissingCredentialsError(f"no Kafka password for {username!r} in {path}")
    return username, passwords[username]


def _ssl_context(settings: PlatformSettings) -> ssl.SSLContext | None:
    if settings.kafka_security_protocol != "SASL_SSL":
        return None
    return ssl.create_default_context(cafile=settings.kafka_ssl_cafile)


def aiokafka_security(settings: PlatformSettings, principal: str) -> dict[str, Any]:
    """Keyword arguments of an aiokafka producer, consumer or admin client acting as `principal`."""
    username, password = credentials(settings, principal)
    options: dict[str, Any] = {
        "security_protocol": settings.kafka_security_protocol,
        "sasl_mechanism": MECHANISM,
        "sasl_plain_username": username,
        "sasl_plain_password": password,
    }
    context = _ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    return options


def kafka_client(settings: PlatformSettings, principal: str) -> dict[str, Any]:
    """`bootstrap_servers` and the security options, for `AIOKafkaProducer(**kafka_client(...))` and the like."""
    return {"bootstrap_servers": settings.kafka_bootstrap.split(","), **aiokafka_security(settings, principal)}


def faststream_security(settings: PlatformSettings, principal: str) -> BaseSecurity:
    username, password = credentials(settings, principal)
    context = _ssl_context(settings)
    return SASLScram512(username=username, password=password, ssl_context=context, use_ssl=context is not None)


CONSOLE = "console"
"""The operators' web console (ADR 0019): reads the event streams, the notifications and the dead letters; replays."""
