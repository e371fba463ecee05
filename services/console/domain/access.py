"""Who the console lets in, without I/O (ADR 0024): login throttling and lockout, how long a session lives, and
what the audit log may say about a refused login.

Every rule takes the time it is judged at (`now`), so the tests give it a clock of their own. The console judges
them all on the platform's business clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.console.domain.model import Role


@dataclass(frozen=True)
class Throttle:
    """`limit` failed logins within `window` lock what they came from (a name, an address) for `lockout`."""

    limit: int
    window: timedelta
    lockout: timedelta

    @property
    def horizon(self) -> timedelta:
        """How far back a failure can still matter."""
        return self.window + self.lockout


BY_NAME = Throttle(limit=5, window=timedelta(minutes=15), lockout=timedelta(minutes=15))
"""An operator's name: five wrong passwords in 15 minutes lock it for 15 minutes."""
BY_ADDRESS = Throttle(limit=20, window=timedelta(minutes=15), lockout=timedelta(minutes=15))
"""One address, whatever names it types: a higher bound (several operators may share a proxy or a NAT)."""


def locked_until(failures: Sequence[datetime], now: datetime, throttle: Throttle) -> datetime | None:
    """Until when a name or an address may not try again, or None when it may try now.

    A lock starts at a failure that is the `limit`-th within `window` (counting back from it) and lasts `lockout`.
    Attempts made while locked are refused without being tried, so they are not failures and do not extend it.
    """
    at = sorted(failures)
    until: datetime | None = None
    for i in range(throttle.limit - 1, len(at)):
        if at[i] - at[i - throttle.limit + 1] <= throttle.window:
            end = at[i] + throttle.lockout
            if end > now and (until is None or end > until):
                until = end
    return until


SESSION_LIFETIME = timedelta(hours=8)
"""A session ends 8 hours after its login, or earlier: at its logout, or when its operator is disabled."""


@dataclass(frozen=True)
class SessionRecord:
    """A session as the console keeps it, with its operator as the operators' table says now."""

    operator: str
    role: str
    csrf: str
    expires_at: datetime
    revoked_at: datetime | None
    operator_disabled_at: datetime | None


@dataclass(frozen=True)
class Who:
    """The operator a request comes from: name and role as they are now, and the session's CSRF token."""

    name: str
    role: Role
    csrf: str


def who_is(session: SessionRecord | None, now: datetime) -> Who | None:
    """The operator behind a session, or None: no such session, logged out, expired, or its operator disabled
    (or given a role the console does not know). The role is the operator's current one, never the one at login."""
    if session is None or session.revoked_at is not None or session.operator_disabled_at is not None:
        return None
    if now >= session.expires_at or session.role not in Role.__members__.values():
        return None
    return Who(session.operator, Role(session.role), session.csrf)


UNKNOWN_NAME = "an unknown name"


def refused_login_subject(known_operator: str | None) -> str:
    """Who the audit log names for a refused login: the operator when the typed name is one, else
    `an unknown name`. Never the typed text: people type their password into the name field."""
    return known_operator if known_operator is not None else UNKNOWN_NAME
