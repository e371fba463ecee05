"""The torture run's summary: the seed, what was sent (each type, with resends) and how the platform answered, the
episodes the families played, what was done to the stack, and each invariant ok or FAILED with examples."""

from __future__ import annotations

from collections import Counter, defaultdict

from rich.console import Console
from rich.table import Table

from tools.torture.checks import Verdict
from tools.torture.wire import Wire

EXAMPLES = 3


def label(answer: dict[str, object] | None) -> str:
    if answer is None:
        return "(no answer)"
    return str(answer["status"]) if answer["status"] != "rejected" else f"rejected {answer['reason_code']}"


def operations(wire: Wire) -> Table:
    sent: Counter[str] = Counter()
    answers: dict[str, Counter[str]] = defaultdict(Counter)
    for msgid, s in wire.sent.items():
        sent[s.type] += 1
        answers[s.type][label(wire.traffic.answer(msgid))] += 1
    table = Table(title="What the provinces sent, and the answers", title_justify="left")
    for column in ("type", "sent", "resends", "answers"):
        table.add_column(column, justify="right" if column in ("sent", "resends") else "left")
    for type_ in sorted(sent):
        told = ", ".join(f"{n} {what}" for what, n in answers[type_].most_common())
        table.add_row(type_, str(sent[type_]), str(wire.resends[type_]), told)
    table.add_row("all", str(sum(sent.values())), str(sum(wire.resends.values())), "", style="bold")
    return table


def invariants(v: Verdict) -> Table:
    table = Table(title="Invariants", title_justify="left")
    table.add_column("where")
    table.add_column("invariant")
    table.add_column("holds")
    table.add_column("examples", overflow="fold")
    for name, offenders in v.checks.items():
        where = "outside" if name in v.outside else "inside"
        mark = "[green]ok[/]" if not offenders else f"[bold red]FAILED ({len(offenders)})[/]"
        table.add_row(where, name, mark, "; ".join(offenders[:EXAMPLES]))
    return table


def summary(
    console: Console,
    *,
    head: list[str],
    wire: Wire,
    episodes: Counter[str],
    stack_log: list[tuple[float, str]],
    v: Verdict,
) -> None:
    console.rule("torture")
    for line in head:
        console.print(line, highlight=False)
    console.print(operations(wire))
    console.print(
        "episodes: " + ", ".join(f"{n} {name}" for name, n in episodes.most_common()),
        highlight=False,
    )
    console.print("the stack:", highlight=False)
    for at, what in stack_log:
        console.print(f"  {at:7.1f} s  {what}", highlight=False)
    if v.books is not None:
        console.print(
            f"platform books: spent {v.books.spent}, across regions {v.books.cross_region}, cleared {v.books.cleared}",
            highlight=False,
        )
    console.print(invariants(v))
    failed = [name for name, offenders in v.checks.items() if offenders]
    if failed:
        console.print(f"FAILED: {len(failed)} of {len(v.checks)} invariants: {', '.join(failed)}", highlight=False)
    else:
        console.print(f"OK: all {len(v.checks)} invariants hold", highlight=False)
