"""Pooled connections are given back without asyncpg's reset query (shared/db/pool.py): that is safe only while no
code changes a session. A session-level `SET`, `LISTEN` or advisory lock is allowed only on a connection of its own
(`connect`, never the pool): the migrations' lock and the outbox relay's `LISTEN`."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SESSION_STATE = re.compile(
    r"""\bpg_advisory_lock(_shared)?\s*\(|add_listener\(|set_config\([^)]*,\s*false\)"""
    r"""|["']\s*(LISTEN\b|SET\s+(?!LOCAL\b)(SESSION\s+)?[a-z_.]+\s*(=|TO\b))"""
)
OWN_CONNECTIONS = {"shared/db/migrations.py", "shared/messaging/outbox.py", "tools/dbsetup.py"}


def test_only_connections_of_their_own_change_a_session() -> None:
    found = []
    for root in ("shared", "services", "tools"):
        for path in sorted((REPO / root).rglob("*.py")):
            rel = str(path.relative_to(REPO))
            if rel in OWN_CONNECTIONS:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if SESSION_STATE.search(line):
                    found.append(f"{rel}:{number}: {line.strip()}")
    assert found == []
