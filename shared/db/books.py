"""Books checks: named SQL queries that return the offending ids (none = the invariant holds), and how an
operator's CLI prints them. Each service keeps its own queries in `adapters/books.py`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from shared.db.pool import Conn, connect

Problems = dict[str, list[str]]


async def run_checks(conn: Conn, queries: Mapping[str, str]) -> Problems:
    """Each invariant's name with the offending ids; all lists empty = the books balance."""
    return {name: [str(r[0]) for r in await conn.fetch(sql)] for name, sql in queries.items()}


async def print_books(dsn: str, check: Callable[[Conn], Awaitable[Problems]]) -> int:
    """Run a service's books check as that service and print it: exit status 1 when anything fails."""
    conn = await connect(dsn)
    try:
        problems = await check(conn)
    finally:
        await conn.close()
    for name, offenders in problems.items():
        print(f"  {name:<40} {'ok' if not offenders else 'FAILED: ' + ', '.join(offenders[:10])}")
    return 1 if any(problems.values()) else 0
