"""Settings from the environment. The same names are used by deploy/local, docker-compose.yml and the tests."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES: tuple[str, ...] = ("wallet", "relationship", "payment", "clearing")
ServiceName = Literal["wallet", "relationship", "payment", "clearing"]
CONSOLE = "console"
"""The operators' web console (ADR 0019): a process of its own, with its own schema and login role."""
DATABASE_ROLES: tuple[str, ...] = (*SERVICES, CONSOLE)
"""Every PostgreSQL login role and schema of the platform: one each."""


LOCAL_IDENTITY_KEY = "medaid-local-identity-key-change-me"
MIN_IDENTITY_KEY_BYTES = 32


class PlatformSettings(BaseSettings):
    """Everything a service process reads at start-up (prefix MEDAID_)."""

    model_config = SettingsConfigDict(env_prefix="MEDAID_", extra="ignore")

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, comma separated")
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "SASL_PLAINTEXT", description="SASL_PLAINTEXT on loopback (local stack, tests); SASL_SSL in production"
    )
    kafka_ssl_cafile: str | None = Field(None, description="CA bundle of the brokers' certificates (SASL_SSL)")
    kafka_replication_factor: int = Field(
        1, ge=1, description="replicas of every topic tools.topics creates: 1 on one broker, 3 in production"
    )
    kafka_min_insync_replicas: int = Field(
        1,
        ge=1,
        description="min.insync.replicas of every topic: a write (acks=all) needs this many replicas; 2 in production",
    )
    kafka_username: str | None = Field(
        None, description="the Kafka principal to act as; unset: the process's own (a service: its name)"
    )
    kafka_password: SecretStr | None = Field(None, description="its password; unset: from the secrets file")
    secrets_file: str | None = Field(
        None,
        description="JSON {principal: password}; unset: $MEDAID_STATE_DIR/secrets/kafka.json (the local stack's)",
    )
    key_registry_file: str | None = Field(
        None,
        description="the signing keys' registry (docs/signing.md); unset: $MEDAID_STATE_DIR/keys/registry.json",
    )
    key_registry_reload_seconds: float = Field(
        5.0, gt=0, description="how often a service reads the key registry file again (a revocation takes this long)"
    )
    signing_keys_file: str | None = Field(
        None,
        description="private signing keys of this process's senders; unset: $MEDAID_STATE_DIR/secrets/signing.json",
    )
    platform_signing_key_file: str | None = Field(
        None,
        description="the platform's own signing key (its notifications); unset: "
        "$MEDAID_STATE_DIR/secrets/platform-signing.json",
    )
    signature_window_seconds: float = Field(
        900.0, description="how far a signed record's sent_at may be from business time (each way)"
    )
    pg_host: str = "127.0.0.1"
    pg_port: int = 5433
    pg_database: str = "medaid"
    pg_password: SecretStr | None = Field(
        None,
        description="this process's own role's password (production: each service gets only its own); unset: each "
        "role's entry in the PostgreSQL secrets file",
    )
    pg_secrets_file: str | None = Field(
        None,
        description="JSON {role: password}, one password per service role (`python -m tools.dbsetup secrets` makes "
        "missing ones); default $MEDAID_STATE_DIR/secrets/postgres.json",
    )
    pg_sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = Field(
        None,
        description="libpq's sslmode for PostgreSQL (the CA in PGSSLROOTCERT or ~/.postgresql/root.crt); unset: "
        "asyncpg's default (prefer: TLS if the server offers it, unchecked). Production: verify-full",
    )
    pg_pool_size: int = 8
    environment: str = Field(
        "production",
        description="`local` (the local scripts, docker-compose, the tests) allows the local defaults of secrets; "
        "anything else (production, staging, ...) is treated as production: a service refuses to start with them",
    )
    identity_key: SecretStr = Field(
        SecretStr(LOCAL_IDENTITY_KEY),
        description="HMAC key for certificate-number and name hashes; a service starts with this default only "
        "when MEDAID_ENVIRONMENT=local",
    )
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"
    clock_offset_seconds: float = Field(
        0.0,
        description="the business clock is real time plus this many seconds, the same for every service "
        "(ADR 0011); the local stack keeps it in $MEDAID_STATE_DIR/clock-offset",
    )
    # Consumer retry policy: a failing message is retried this often before it is dead-lettered.
    poison_attempts: int = 3
    retry_backoff_seconds: float = 0.2
    outbox_batch_size: int = 500
    consumer_batch_size: int = Field(
        200, ge=1, description="records a consumer takes a poll, in one transaction per partition (ADR 0018)"
    )
    outbox_poll_seconds: float = 1.0
    metrics_port: int | None = Field(
        None,
        ge=0,
        description="the port of this process's Prometheus /metrics (0: none); unset: metrics_port_base + the "
        "service's place in SERVICES (wallet +1 ... clearing +4)",
    )
    metrics_port_base: int = Field(
        9410, ge=0, description="see metrics_port; deploy/local/services.sh adds 10 per extra process (INSTANCES)"
    )
    metrics_host: str = Field("127.0.0.1", description="the address /metrics listens on")
    metrics_refresh_seconds: float = Field(
        5.0, gt=0, description="how often the gauges read from the database (sagas, outbox, books) are refreshed"
    )
    console_host: str = Field("127.0.0.1", description="the address the operators' web console listens on")
    console_port: int = Field(8470, ge=0, description="its port (make up prints the URL)")
    console_metrics_targets: str = Field(
        "",
        description="comma-separated service=URL of every service process's /metrics the console samples; unset: "
        "the local stack's (metrics_port_base + 1..4)",
    )
    console_password_file: str | None = Field(
        None,
        description='JSON {"admin": password}: the console\'s first operator, made at start when it has none '
        "(the file is made if missing); unset: $MEDAID_STATE_DIR/secrets/console.json (local only)",
    )
    console_allowed_hosts: str = Field(
        "",
        description="comma-separated Host names the console answers (others: 400); unset: 127.0.0.1, localhost "
        "and ::1 (local only)",
    )
    console_signing_keys_file: str | None = Field(
        None,
        description="the private key the console signs a month close with, as the national operator (JSON as "
        "MEDAID_SIGNING_KEYS_FILE); unset: the local stack's signing keys (national-local)",
    )
    console_secure_cookies: bool = Field(
        False, description="mark the console's session cookie Secure (set it behind TLS, as production runs)"
    )
    metrics_books_seconds: float = Field(
        30.0, gt=0, description="how often the books checks behind medaid_books_* run (each reads whole tables)"
    )
    trusted_senders: str = Field(
        "", description="comma-separated sender codes that may act for any party (e.g. the national app's gateway)"
    )
    national_operators: str = Field(
        "",
        description="comma-separated sender codes of the national operator's systems: only they close a clearing "
        "month, they may freeze wallets, and send nothing else; only a key registered for exactly that code signs "
        "for one",
    )
    enrolment_max_days_ahead: int = Field(
        31, description="an enrollment.changed whose effective_at is further ahead of business time is refused"
    )
    max_credit_amount: Decimal = Field(
        Decimal("100000.00"), description="an account.credited above this amount is refused AMOUNT_OUT_OF_RANGE"
    )
    retention_days: int = Field(
        30,
        ge=1,
        description="published outbox rows older than this are deleted, and inbox answers keep only their core "
        "(shared/messaging/retention.py); real time",
    )
    retention_sweep_seconds: float = Field(600.0, description="how often the retention purge runs")
    sweep_seconds: float = Field(5.0, description="how often deadline sweeps run (bind-request expiry, ...)")
    clearing_close_after_days: int | None = Field(
        None,
        description="close an ended month on its own this many days after it ended (business time); unset: only "
        "clearing.close-requested or the operator's `make clearing ARGS='close YYYYMM'` close a month",
    )
    catch_up: bool = Field(
        True,
        description="read-your-writes across services (ADR 0012); off only to measure what it costs: answers "
        "may then be judged on copies older than an answer their sender already saw",
    )
    # Fault injection for crash tests, off unless set: `relay_exit_before_publish` makes the process
    # exit (as if killed) after a transaction committed and before its outbox rows are published.
    fault_inject: str | None = None

    @property
    def trusted(self) -> frozenset[str]:
        """The trusted senders' codes (the national app's gateway)."""
        return _codes(self.trusted_senders)

    @property
    def national_operator_codes(self) -> frozenset[str]:
        return _codes(self.national_operators)

    @property
    def exact_senders(self) -> frozenset[str]:
        """Sender codes signed for only by a key registered for exactly that code, never by a province's key."""
        return self.trusted | self.national_operator_codes

    def metrics_port_of(self, service: str) -> int:
        """Where `service`'s /metrics listens (0: nowhere)."""
        if self.metrics_port is not None:
            return self.metrics_port
        return self.metrics_port_base + 1 + SERVICES.index(service)

    def dsn(self, service: str) -> str:
        """DSN of a service's own login role (role name = schema name = service name), with that role's own
        password: MEDAID_PG_PASSWORD if set, else the role's entry in the PostgreSQL secrets file."""
        if self.pg_password is not None:
            password = self.pg_password.get_secret_value()
        else:
            path = pg_secrets_path(self)
            try:
                password = json.loads(path.read_text())[service]
            except (FileNotFoundError, KeyError) as exc:
                raise RuntimeError(
                    f"no PostgreSQL password for role {service!r}: set MEDAID_PG_PASSWORD, or MEDAID_PG_SECRETS_FILE "
                    f"({path}: `make up` or `python -m tools.dbsetup secrets` writes it)"
                ) from exc
        tls = f"?sslmode={self.pg_sslmode}" if self.pg_sslmode else ""
        return (
            f"postgresql://{service}:{quote(password, safe='')}@{self.pg_host}:{self.pg_port}/{self.pg_database}{tls}"
        )


def _codes(text: str) -> frozenset[str]:
    return frozenset(c.strip() for c in text.split(",") if c.strip())


_REPO = Path(__file__).resolve().parents[1]


class StartRefusedError(RuntimeError):
    """A process refuses to start on what it was given (a setting, the key registry): the message names it, and
    `python -m services.<name>` (and the console) exit with START_REFUSED_EXIT."""


START_REFUSED_EXIT = 4
"""Exit status of a process that refused to start on its settings or its key registry (the reason on stderr, and in
a service's log as start_refused)."""


Unsafe = tuple[str, str]
"""One unsafe setting of a production process: (the setting's name as it is set, what is wrong with it)."""

UnsafeCheck = Callable[["PlatformSettings"], Iterable[Unsafe]]
"""A check of more settings (the console's own: its cookies, Host allow-list, operators' passwords): passed to
`unsafe_settings` / `refuse_unsafe_settings` by the process that has them."""

MIN_PASSWORD_CHARS = 16
MAX_SIGNATURE_WINDOW_SECONDS = 3600
MAX_KEY_REGISTRY_RELOAD_SECONDS = 60
ADMIN_PRINCIPALS = frozenset({"admin", "operator"})
SAFE_PG_SSLMODES = ("verify-ca", "verify-full")
PUBLISHED_PASSWORDS = frozenset({"medaid-admin"})
"""Passwords written in this repository (the local PostgreSQL superuser's)."""


class UnsafeSettingsError(StartRefusedError):
    def __init__(self, environment: str, unsafe: list[Unsafe]) -> None:
        self.unsafe = unsafe
        lines = "".join(f"\n  {name}: {problem}" for name, problem in unsafe)
        super().__init__(
            f"unsafe settings for MEDAID_ENVIRONMENT={environment} (docs/operations.md says what production needs; "
            f"MEDAID_ENVIRONMENT=local only on a developer's machine):{lines}"
        )


def _local_file(path: Path) -> bool:
    """A file of a local stack: in this checkout's .run/ or in the state folder (MEDAID_STATE_DIR)."""
    resolved = path.resolve()
    return any(resolved.is_relative_to(d.resolve()) for d in (_REPO / ".run", state_dir()))


def _local_key_ids(path: Path, field: str | None) -> list[str]:
    """Key ids a local stack's tools.keys made (`<code>-local`, `national-local`, `platform-local`) in a signing key
    file ({key_id: ...}) or a registry ({"keys": [{"key_id": ...}]}); [] when the file cannot be read (the start
    fails on it anyway)."""
    try:
        data = json.loads(path.read_text())
        ids = [str(k.get("key_id")) for k in data[field]] if field else [str(k) for k in data]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
    return sorted(i for i in ids if i.endswith("-local"))


def _password_problem(given: SecretStr | None, local_file: Path, role: str) -> str | None:
    if given is None:
        return (
            "unset, so the password comes from a file holding every role's password; give each process only "
            "its own (from a secret store)"
        )
    password = given.get_secret_value()
    if password in PUBLISHED_PASSWORDS:
        return "is a password written in this repository"
    if len(password) < MIN_PASSWORD_CHARS:
        return f"is shorter than {MIN_PASSWORD_CHARS} characters"
    try:
        local = json.loads(local_file.read_text()).get(role)
    except (OSError, ValueError, AttributeError):
        local = None
    if local == password:
        return f"is the local stack's password ({local_file})"
    return None


def _signing_file_problem(given: str | None, path: Path, field: str | None) -> str | None:
    if given is None:
        return f"unset, so the local stack's file is used ({path})"
    if _local_file(path):
        return f"{path} is a local stack's file"
    local = _local_key_ids(path, field)
    if local:
        return f"{path} holds keys a local stack made ({', '.join(local[:3])}{', ...' if len(local) > 3 else ''})"
    return None


def unsafe_settings(settings: PlatformSettings, process: str, *more: UnsafeCheck) -> list[Unsafe]:
    """Every setting a production process (MEDAID_ENVIRONMENT other than `local`) must not start with, by name:
    a plaintext or unchecked connection, a secret that is a default, written in this repository, or a local
    stack's, and the switches that are for tests and measurements only. `process` is a service's name or
    `console`; `more` adds the checks of settings only that process has. [] in the local environment."""
    if settings.environment == "local":
        return []
    found: list[Unsafe] = []

    def unsafe(name: str, problem: str | None) -> None:
        if problem is not None:
            found.append((name, problem))

    if settings.kafka_security_protocol != "SASL_SSL":
        unsafe(
            "MEDAID_KAFKA_SECURITY_PROTOCOL",
            f"{settings.kafka_security_protocol} sends every record and the SCRAM exchange in clear: use SASL_SSL",
        )
    key = settings.identity_key.get_secret_value()
    if key == LOCAL_IDENTITY_KEY:
        unsafe("MEDAID_IDENTITY_KEY", "is the repository's local default: set a secret of your own")
    elif len(key.encode()) < MIN_IDENTITY_KEY_BYTES:
        unsafe(
            "MEDAID_IDENTITY_KEY",
            f"is shorter than {MIN_IDENTITY_KEY_BYTES} bytes: use a random secret "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')",
        )
    local = state_dir() / "secrets"
    principal = settings.kafka_username or process
    unsafe("MEDAID_KAFKA_PASSWORD", _password_problem(settings.kafka_password, local / "kafka.json", principal))
    unsafe("MEDAID_PG_PASSWORD", _password_problem(settings.pg_password, local / "postgres.json", process))
    if settings.pg_sslmode not in SAFE_PG_SSLMODES:
        unsafe(
            "MEDAID_PG_SSLMODE",
            f"{settings.pg_sslmode or 'unset'}: PostgreSQL's connection is not TLS with a checked certificate "
            "(verify-full)",
        )
    unsafe(
        "MEDAID_KEY_REGISTRY_FILE",
        _signing_file_problem(settings.key_registry_file, key_registry_path(settings), "keys"),
    )
    if process in SERVICES:
        unsafe(
            "MEDAID_PLATFORM_SIGNING_KEY_FILE",
            _signing_file_problem(settings.platform_signing_key_file, platform_signing_key_path(settings), None),
        )
    if process == CONSOLE:  # the key the console signs a month close with, as the national operator
        console_keys = settings.console_signing_keys_file
        path = Path(console_keys) if console_keys else signing_keys_path(settings)
        unsafe("MEDAID_CONSOLE_SIGNING_KEYS_FILE", _signing_file_problem(console_keys, path, None))
    if settings.clock_offset_seconds != 0:
        unsafe(
            "MEDAID_CLOCK_OFFSET_SECONDS",
            f"{settings.clock_offset_seconds:g}: production runs on real time (ADR 0011); an offset is for tests "
            "and demos",
        )
    if settings.signature_window_seconds > MAX_SIGNATURE_WINDOW_SECONDS:
        unsafe(
            "MEDAID_SIGNATURE_WINDOW_SECONDS",
            f"{settings.signature_window_seconds:g} s: a key past its not_after would keep signing with a backdated "
            f"sent_at; at most {MAX_SIGNATURE_WINDOW_SECONDS} s",
        )
    if settings.key_registry_reload_seconds > MAX_KEY_REGISTRY_RELOAD_SECONDS:
        unsafe(
            "MEDAID_KEY_REGISTRY_RELOAD_SECONDS",
            f"{settings.key_registry_reload_seconds:g} s: a revocation would wait that long; at most "
            f"{MAX_KEY_REGISTRY_RELOAD_SECONDS} s",
        )
    if settings.kafka_username in ADMIN_PRINCIPALS:
        unsafe(
            "MEDAID_KAFKA_USERNAME", f"{settings.kafka_username}: a process acts as its own principal, never an admin"
        )
    for name, codes in (
        ("MEDAID_TRUSTED_SENDERS", settings.trusted),
        ("MEDAID_NATIONAL_OPERATORS", settings.national_operator_codes),
    ):
        for code in sorted(codes):
            if not (len(code) == 6 and code.isascii() and code.isdigit()) or code.endswith("0000"):
                unsafe(name, f"{code!r}: a 6-digit code of its own, never a province's (a province's key signs for it)")
    if settings.trusted & settings.national_operator_codes:
        unsafe(
            "MEDAID_NATIONAL_OPERATORS", "shares a code with MEDAID_TRUSTED_SENDERS: the gateway is not the operator"
        )
    if settings.fault_inject:
        unsafe("MEDAID_FAULT_INJECT", f"{settings.fault_inject!r}: fault injection is for crash tests")
    if not settings.catch_up:
        unsafe("MEDAID_CATCH_UP", "false: requests would be judged on stale copies (ADR 0012); for measurements")
    for check in more:
        found.extend(check(settings))
    return found


def refuse_unsafe_settings(settings: PlatformSettings, process: str, *more: UnsafeCheck) -> None:
    """At the start of a service and of the console: refuse to start on any unsafe setting, naming each."""
    unsafe = unsafe_settings(settings, process, *more)
    if unsafe:
        raise UnsafeSettingsError(settings.environment, unsafe)


GONE_SETTINGS = {
    "MEDAID_CLOCK_START": "the business clock is real time plus MEDAID_CLOCK_OFFSET_SECONDS, the same for every "
    "service (ADR 0011): unset MEDAID_CLOCK_START and give the offset instead (`make clock` moves a local stack's)",
}
"""Settings that were removed: a service refuses to start with one rather than silently run otherwise than asked."""


def refuse_gone_settings(environ: Mapping[str, str] = os.environ) -> None:
    for name, instead in GONE_SETTINGS.items():
        if name in environ:
            raise StartRefusedError(f"{name} is gone: {instead}")


def state_dir() -> Path:
    """The local stack's state folder (MEDAID_STATE_DIR; `make up` uses .run/ of the checkout)."""
    return Path(os.environ.get("MEDAID_STATE_DIR") or str(_REPO / ".run"))


def pg_secrets_path(settings: PlatformSettings) -> Path:
    return Path(settings.pg_secrets_file) if settings.pg_secrets_file else state_dir() / "secrets" / "postgres.json"


def key_registry_path(settings: PlatformSettings) -> Path:
    return Path(settings.key_registry_file) if settings.key_registry_file else state_dir() / "keys" / "registry.json"


def signing_keys_path(settings: PlatformSettings) -> Path:
    return Path(settings.signing_keys_file) if settings.signing_keys_file else state_dir() / "secrets" / "signing.json"


def platform_signing_key_path(settings: PlatformSettings) -> Path:
    if settings.platform_signing_key_file:
        return Path(settings.platform_signing_key_file)
    return state_dir() / "secrets" / "platform-signing.json"
