"""The console's own settings checks (issue 29, item 6): what it refuses to start with outside a developer's
machine. `problems` returns (setting, problem) pairs, so a platform-wide check can list them with its own."""

from __future__ import annotations

import stat
from pathlib import Path

from shared.settings import PlatformSettings, state_dir

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def password_file(settings: PlatformSettings) -> Path:
    """Where the first operator's password is read from (and written, if missing)."""
    if settings.console_password_file:
        return Path(settings.console_password_file)
    return state_dir() / "secrets" / "console.json"


def allowed_hosts(settings: PlatformSettings) -> list[str]:
    """The Host names the console answers; unset, the loopback names (a page a browser reaches by another name, such
    as a DNS rebinding attack's, is answered 400)."""
    named = [h.strip() for h in settings.console_allowed_hosts.split(",") if h.strip()]
    return named or list(LOCAL_HOSTS)


def problems(settings: PlatformSettings) -> list[tuple[str, str]]:
    """What the console must not start with in production (any MEDAID_ENVIRONMENT but `local`), by setting."""
    if settings.environment == "local":
        return []
    found: list[tuple[str, str]] = []
    if not settings.console_secure_cookies:
        found.append(
            ("MEDAID_CONSOLE_SECURE_COOKIES", "false: the session cookie would be sent without TLS; set it to true")
        )
    hosts = [h.strip() for h in settings.console_allowed_hosts.split(",") if h.strip()]
    if not hosts:
        found.append(("MEDAID_CONSOLE_ALLOWED_HOSTS", "unset: name the host names operators reach the console by"))
    elif "*" in hosts:
        found.append(("MEDAID_CONSOLE_ALLOWED_HOSTS", "a wildcard that allows any host: name the hosts"))
    if not settings.console_password_file:
        found.append(
            (
                "MEDAID_CONSOLE_PASSWORD_FILE",
                "unset: the local stack's $MEDAID_STATE_DIR/secrets/console.json; name a secret file of your own",
            )
        )
    else:
        path = Path(settings.console_password_file)
        if path.resolve().is_relative_to(state_dir().resolve()):
            found.append(("MEDAID_CONSOLE_PASSWORD_FILE", f"{path} is in the local state folder"))
        elif path.exists() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            found.append(("MEDAID_CONSOLE_PASSWORD_FILE", f"{path} is readable by others than its owner (chmod 600)"))
    return found
