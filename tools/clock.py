"""The local platform's one business clock (ADR 0011): show it, or move the whole platform forward.

    python -m tools.clock show                     # the stack's offset, business time, each service's record
    python -m tools.clock advance-to 2026-12-31T23:59:30+08:00
    python -m tools.clock advance --hours 8        # (--days, --minutes)
    python -m tools.clock daytime                  # out of 06:00-21:00: on to the next 10:00; else nothing

The stack keeps its offset in $MEDAID_STATE_DIR/clock-offset (written by the first `make up`, 0 = real time;
`make wipe` removes it). Moving the clock stops the running services, writes the new offset and starts them
again, so no service ever runs on another clock than the others, and business time only moves forward.
`show` exits 1 when a service records another offset than the stack's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.clock import BUSINESS_TZ, BusinessClock, offset_for
from shared.db.business_clock import recorded_clock
from shared.db.pool import connect
from shared.settings import SERVICES, PlatformSettings

REPO = Path(__file__).resolve().parents[1]
SERVICES_SCRIPT = REPO / "deploy" / "local" / "services.sh"
CLOCK_FILE = "clock-offset"
DAY_STARTS, DAY_ENDS, MORNING = 6, 21, 10
"""Business daytime for `daytime`: at least an hour before the 22:00 quiet hours begin."""


def state_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("MEDAID_STATE_DIR") or REPO / ".run")


def stack_offset(env: Mapping[str, str]) -> float:
    """The stack's offset: its clock file, else what the environment says, else 0 (real time)."""
    path = state_dir(env) / CLOCK_FILE
    if path.exists():
        return float(path.read_text().strip())
    return float(env.get("MEDAID_CLOCK_OFFSET_SECONDS") or 0)


def stack_now() -> datetime:
    """The business time of the stack this process points at (MEDAID_STATE_DIR): what its senders stamp `sent_at`
    with (a signed record's sent_at must be near the platform's business time: docs/signing.md)."""
    return BusinessClock(stack_offset(os.environ)).now()


def set_stack_offset(env: Mapping[str, str], offset: float) -> dict[str, str]:
    """Write the stack's clock (while nothing runs); returns the environment to start services with. The file
    is replaced whole, so a reader never sees half of it."""
    folder = state_dir(env)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{CLOCK_FILE}.{os.getpid()}"
    partial.write_text(f"{offset!r}\n")
    os.replace(partial, folder / CLOCK_FILE)
    return {**env, "MEDAID_CLOCK_OFFSET_SECONDS": repr(offset)}


@contextlib.contextmanager
def _moving(env: Mapping[str, str]) -> Iterator[None]:
    """One mover at a time per stack (`make clock` beside `make run`): the later one waits."""
    folder = state_dir(env)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "clock.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _services(action: str, names: list[str], env: Mapping[str, str]) -> str:
    proc = subprocess.run(
        [str(SERVICES_SCRIPT), action, *names], env=dict(env), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"services.sh {action} {' '.join(names)} failed:\n{proc.stderr}")
    return proc.stdout


def running_services(env: Mapping[str, str]) -> list[str]:
    out = _services("status", list(SERVICES), env)
    return [line.split(":")[0] for line in out.splitlines() if ": running" in line]


def next_daytime(now: datetime) -> datetime | None:
    """None when `now` is business daytime (06:00 to 21:00); else the next 10:00."""
    if DAY_STARTS <= now.hour < DAY_ENDS:
        return None
    morning = now.replace(hour=MORNING, minute=0, second=0, microsecond=0)
    return morning if now.hour < DAY_STARTS else morning + timedelta(days=1)


def move_to(to: datetime, env: Mapping[str, str]) -> dict[str, str]:
    """Move the whole local platform's business time forward to `to`: stop what runs, write the new offset,
    start it again. Returns the environment with the new offset (for the caller's own clock). Stopping takes
    time: a `to` the clock has passed meanwhile becomes the time it stopped at, never earlier."""
    if to.tzinfo is None:
        raise ValueError(f"{to.isoformat()} needs its UTC offset, e.g. +08:00")
    with _moving(env):
        current = {**env, "MEDAID_CLOCK_OFFSET_SECONDS": repr(stack_offset(env))}
        now = BusinessClock(stack_offset(env)).now()
        if to < now:
            raise ValueError(
                f"business time only moves forward: {to.isoformat()} is before {now.isoformat()} "
                "(make wipe starts a stack over on real time)"
            )
        running = running_services(current)
        if running:
            _services("stop", running, current)
        moved = set_stack_offset(env, offset_for(max(to, BusinessClock(stack_offset(env)).now())))
        if running:
            _services("start", running, moved)
    return moved


async def recorded_clocks(settings: PlatformSettings) -> dict[str, dict[str, Any] | str | None]:
    """Each service's record of its clock (None: never started on this version; text: unreachable)."""
    out: dict[str, dict[str, Any] | str | None] = {}
    for service in SERVICES:
        try:
            conn = await connect(settings.dsn(service))
        except Exception as exc:  # noqa: BLE001 - an operator's view: say what is unreachable
            out[service] = f"unreachable: {exc}"
            continue
        try:
            out[service] = await recorded_clock(conn)
        finally:
            await conn.close()
    return out


def on_another_clock(records: Mapping[str, dict[str, Any] | str | None], offset: float) -> list[str]:
    """The services whose recorded offset is not `offset`: the platform has one clock."""
    return [s for s, row in records.items() if isinstance(row, dict) and abs(row["offset_seconds"] - offset) >= 0.001]


async def show(settings: PlatformSettings, env: Mapping[str, str]) -> int:
    offset = stack_offset(env)
    clock = BusinessClock(offset)
    print(f"business clock of {state_dir(env)}: {clock.describe()}")
    print(f"business time now: {clock.now().isoformat(timespec='seconds')}  (Asia/Shanghai)")
    records = await recorded_clocks(settings)
    wrong = on_another_clock(records, offset)
    for service, row in records.items():
        if not isinstance(row, dict):
            print(f"  {service:<13} {row or 'never started'}")
            continue
        print(
            f"  {service:<13} offset {row['offset_seconds']:+.3f} s"
            f"  started {row['started_at'].astimezone(BUSINESS_TZ):%Y-%m-%d %H:%M:%S} (real)"
            f"  reached {row['reached'].astimezone(BUSINESS_TZ):%Y-%m-%d %H:%M:%S} (business)"
            f"  {'ANOTHER CLOCK THAN THE STACK' if service in wrong else 'ok'}"
        )
    return 1 if wrong else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.clock", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("show", help="the stack's clock and each service's record of it")
    to = sub.add_parser("advance-to", help="move the platform forward to an instant (ISO 8601 with offset)")
    to.add_argument("instant", type=datetime.fromisoformat)
    by = sub.add_parser("advance", help="move the platform forward by an amount")
    by.add_argument("--days", type=float, default=0)
    by.add_argument("--hours", type=float, default=0)
    by.add_argument("--minutes", type=float, default=0)
    sub.add_parser("daytime", help="outside 06:00-21:00 business time: move on to the next 10:00")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.command == "show":
        return asyncio.run(show(PlatformSettings(clock_offset_seconds=stack_offset(env)), env))
    now = BusinessClock(stack_offset(env)).now()
    if args.command == "advance-to":
        target: datetime | None = args.instant
    elif args.command == "advance":
        target = now + timedelta(days=args.days, hours=args.hours, minutes=args.minutes)
    else:
        target = next_daytime(now)
        if target is None:
            print(f"business time {now.isoformat(timespec='seconds')} is daytime: the clock stays")
            return 0
    assert target is not None
    try:
        moved = move_to(target, env)
    except ValueError as exc:
        print(f"clock: {exc}", file=sys.stderr)
        return 2
    print(f"business clock now {BusinessClock(float(moved['MEDAID_CLOCK_OFFSET_SECONDS'])).describe()}: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
