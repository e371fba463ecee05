"""The key registry a service verifies signatures with (docs/signing.md, docs/security.md): read at start (a service
does not start without a valid one), and again whenever it changes or every reload interval; a broken version is
logged, counted and shown, and the last good one stays in force."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from shared.logging import get_logger
from shared.observability import metrics
from shared.settings import PlatformSettings, StartRefusedError, key_registry_path
from shared.signing import EnvelopeVerifier, RegistryError, RegistryFile, RegistryStatus

log = get_logger(__name__)


def load_registry(settings: PlatformSettings) -> tuple[RegistryFile, EnvelopeVerifier]:
    path = key_registry_path(settings)
    if not path.exists():
        raise StartRefusedError(f"no key registry at {path} (MEDAID_KEY_REGISTRY_FILE; `make up` writes one)")
    try:
        # a trusted sender (the national app's gateway) or a national operator is signed for only by its own
        # key, never by the key of the province its code lies in
        registry = RegistryFile(
            path,
            seconds=settings.key_registry_reload_seconds,
            exact_only=settings.exact_senders,
            on_change=registry_changed,
        )
    except (RegistryError, OSError) as exc:
        raise StartRefusedError(f"the key registry {path} (MEDAID_KEY_REGISTRY_FILE) is not valid: {exc}") from exc
    registry_changed(registry.status)
    verifier = EnvelopeVerifier(registry, timedelta(seconds=settings.signature_window_seconds))
    log.info("signatures_verified", registry=str(path), keys=len(verifier.registry().keys))
    return registry, verifier


async def watch_registry(registry: RegistryFile) -> None:
    """The registry file is read again every reload interval even when no record comes to be verified, so a
    broken file is seen (and alarms) at once, and a revocation is in force before the next record."""
    while True:
        await asyncio.sleep(registry.seconds)
        try:
            registry.check()
        except Exception as exc:  # noqa: BLE001 - the next round tries again; the last good registry stays
            log.error("key_registry_check_failed", file=str(registry.path), error=repr(exc))


def registry_changed(status: RegistryStatus) -> None:
    """The key registry file was loaded, or a version of it refused: say so in the log and the metrics."""
    refused = not status.valid
    metrics.set_key_registry(status.valid, status.sha256, status.loaded_at, status.keys, status.revoked, refused)
    if refused:
        log.error(
            "key_registry_invalid",
            file=str(status.path),
            error=status.error,
            in_force_sha256=status.sha256,
            meaning="the last good key registry stays in force: a key this file adds or revokes is not",
        )
    else:
        log.info(
            "key_registry_loaded",
            file=str(status.path),
            sha256=status.sha256,
            keys=status.keys,
            revoked=status.revoked,
            **status.changes,
        )
        if status.changes.get("unrevoked"):
            log.warning("key_registry_revocation_taken_back", file=str(status.path), keys=status.changes["unrevoked"])
