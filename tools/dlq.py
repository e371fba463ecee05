"""Dead letters for operators: list them, and replay them to their source topic once the cause is fixed.

    python -m tools.dlq list ingress.settlement.v1.dlq [--reason PROCESSING_FAILED] [--limit 50]
    python -m tools.dlq replay ingress.settlement.v1.dlq --offset 17 --offset 18 [--dry-run]
    python -m tools.dlq replay payment.events.v1.wallet.dlq --from 100 --to 140
    python -m tools.dlq replay ingress.wallet.v1.dlq --reason PROCESSING_FAILED

A replay re-publishes the ORIGINAL record (its exact bytes and key, read back from the source topic at the
partition and offset the dead letter names, and checked against the hash the dead letter keeps) with a header
`x-replayed-from: <dlq>@<offset>`; the dead letter's own payload is masked and is never sent anywhere.
What it skips unless told: a message whose sender was answered (it has its one answer; the province resends
with a new msgid; `--include-answered` sends it again, and the inbox answers it as before, with no effect), and
a record dead-lettered for its content (`INVALID_MESSAGE`, `WRONG_TOPIC`: it would only be dead-lettered again;
`--include-invalid`). An event dead-lettered without a compensation is applied once; replayed again, the
inbox skips it. A source record past its topic's retention, or another record at its offset (the topic was
recreated), is not replayed; the command says so. `make dlq ARGS=...`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from rich.console import Console
from rich.table import Table

from shared.messaging import dead_letters
from shared.messaging.dead_letters import DeadLetter, partitions_of
from shared.settings import PlatformSettings

CONSOLE = Console(width=180, highlight=False)

__all__ = ["DeadLetter", "main", "partitions_of", "read_dead_letters", "replay", "select"]


async def read_dead_letters(settings: PlatformSettings, dlq: str) -> list[DeadLetter]:
    try:
        return await dead_letters.read_dead_letters(settings, dlq)
    except LookupError as exc:
        raise SystemExit(str(exc)) from None


async def replay(settings: PlatformSettings, dlq: str, selected: list[DeadLetter], dry_run: bool) -> int:
    with CONSOLE.status(f"replaying {len(selected)} dead letters of {dlq}"):
        done = await dead_letters.replay(settings, dlq, selected, dry_run)
    table = Table("dead letter", "source", "reason", "outcome", title=f"Replay of {dlq}", title_justify="left")
    meaning = {
        "gone": "[red]no longer in the topic (retention): cannot be replayed[/]",
        "changed": "[red]another record at its offset now (topic recreated?): not replayed[/]",
    }
    for r in done:
        d = r.letter
        table.add_row(f"@{d.offset}", r.source, d.reason_code, meaning.get(r.outcome, f"[green]{r.outcome}[/]"))
    CONSOLE.print(table)
    return 1 if any(r.outcome in ("gone", "changed") for r in done) else 0


def select(letters: list[DeadLetter], args: argparse.Namespace) -> list[DeadLetter]:
    chosen = letters
    if getattr(args, "command", "list") == "replay":
        if not args.include_answered:
            chosen = [d for d in chosen if not d.answered]
        if not args.include_invalid:
            chosen = [d for d in chosen if not d.for_content]
    if args.offset:
        chosen = [d for d in chosen if d.offset in set(args.offset)]
    if args.start is not None:
        chosen = [d for d in chosen if d.offset >= args.start]
    if args.end is not None:
        chosen = [d for d in chosen if d.offset <= args.end]
    if args.reason:
        chosen = [d for d in chosen if d.reason_code == args.reason]
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dlq", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("list", "replay"):
        p = sub.add_parser(name)
        p.add_argument("dlq", help="a dead-letter topic, e.g. ingress.settlement.v1.dlq")
        p.add_argument("--offset", type=int, action="append", default=[], help="a dead letter's offset (repeatable)")
        p.add_argument("--from", dest="start", type=int, help="first offset of a range")
        p.add_argument("--to", dest="end", type=int, help="last offset of a range")
        p.add_argument("--reason", help="only dead letters with this reason code")
        if name == "list":
            p.add_argument("--limit", type=int, default=50)
        else:
            p.add_argument("--dry-run", action="store_true")
            p.add_argument("--include-answered", action="store_true", help="also messages whose sender was answered")
            p.add_argument("--include-invalid", action="store_true", help="also records dead-lettered for content")
    args = parser.parse_args(argv)
    if not args.dlq.endswith(".dlq"):
        print(f"{args.dlq} is not a dead-letter topic", file=sys.stderr)
        return 2
    settings = PlatformSettings()
    letters = select(asyncio.run(read_dead_letters(settings, args.dlq)), args)
    if args.command == "list":
        table = Table(
            "offset", "reason", "source", "sender:msgid", "type", "why",
            title=f"{len(letters)} dead letters in {args.dlq}", title_justify="left",
        )  # fmt: skip
        for d in letters[-args.limit :]:
            source = f"{d.source_topic}[{d.source_partition}]@{d.source_offset}"
            table.add_row(
                f"@{d.offset}",
                d.reason_code,
                source,
                f"{d.sender or '?'}:{d.msgid or '?'}",
                d.type or "-",
                d.reason[:60],
            )
        CONSOLE.print(table)
        return 0
    if not (args.offset or args.start is not None or args.end is not None or args.reason):
        print("choose what to replay: --offset N, --from A --to B, or --reason CODE", file=sys.stderr)
        return 2
    print(f"{'dry run: ' if args.dry_run else ''}{len(letters)} dead letters of {args.dlq} to replay")
    return asyncio.run(replay(settings, args.dlq, letters, args.dry_run))


if __name__ == "__main__":
    sys.exit(main())
