"""The summary: answers per type and reason with latencies, relationships, transfers, payments, the month's
statements, DLQ records, events, the wallet's books check and the platform's books across services. OK only when
every request was answered as expected, resends got the same answer, and the books balance."""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from shared.contracts.topics import PROVINCES, province_of
from tools.books import PlatformBooks, platform_books
from tools.simulator.books_check import wallet_books
from tools.simulator.model import REGIONS, Traffic
from tools.simulator.state import RunState
from tools.simulator.summary_families import families_summary, transfers_summary
from tools.simulator.summary_month import close_summary, statements_summary
from tools.simulator.summary_payments import payments_summary

STDOUT = Console(width=160, highlight=False)
"""The summary's tables (rich), as wide as they need on a terminal or in a log."""


@dataclass
class Tally:
    """The first answer to each request sent, by type: how many of each label, their latencies (ms), and the
    requests answered other than expected; and whether every resend got the same answer."""

    rows: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    unexpected: list[str] = field(default_factory=list)
    resent: int = 0
    same_answer: bool = True


def tally(traffic: Traffic) -> Tally:
    out = Tally()
    for msgid, sent in traffic.sent.items():
        answers = traffic.results.get(msgid, [])
        if not answers:
            out.rows[sent.type]["(no answer)"] += 1
            out.unexpected.append(f"{sent.type} {msgid}: no answer")
            continue
        first_at, body = answers[0]
        label = body["status"] if body["status"] != "rejected" else f"rejected {body['reason_code']}"
        out.rows[sent.type][label] += 1
        out.latencies[sent.type].append((first_at - sent.at) * 1000)
        if label != sent.expect and not (sent.expect == "rejected" and body["status"] == "rejected"):
            out.unexpected.append(f"{sent.type} {msgid}: {label}, expected {sent.expect}")
    resent = {m: a for m, a in traffic.results.items() if len(a) > 1}
    out.resent = len(resent)
    out.same_answer = all(len({json.dumps(b, sort_keys=True) for _, b in a}) == 1 for a in resent.values())
    return out


def answers_table(t: Tally) -> Table:
    table = Table(title="What the platform answered (request.result, one per ingress message)", title_justify="left")
    for column, justify in (("type", "left"), ("answers", "left"), ("p50 ms", "right"), ("p95 ms", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for type_, counter in sorted(t.rows.items()):
        answered = ", ".join(f"{n} {label}" for label, n in counter.most_common())
        lat = sorted(t.latencies[type_]) or [0.0]
        p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))]
        table.add_row(type_, answered, f"{statistics.median(lat):.0f}", f"{p95:.0f}")
    return table


async def summary(state: RunState, platform: PlatformBooks | None, complete: bool) -> bool:
    """Prints the summary; True when the run is OK."""
    traffic = state.traffic
    t = tally(traffic)
    print()
    STDOUT.print(answers_table(t))
    print(
        f"\nresends (same msgid again): {t.resent} answered again, "
        f"{'all with the original answer' if t.same_answer else 'SOME WITH A DIFFERENT ANSWER'}"
    )
    for line in t.unexpected[:10]:
        print(f"  UNEXPECTED {line}")

    families_summary(traffic)
    transfers_summary(state)
    problems = payments_summary(state) + statements_summary(traffic)
    close_summary(state)
    for line in problems:
        print(f"  PROBLEM {line}")

    print(f"\ndead-letter records: {len(traffic.dlq)}")
    for record in traffic.dlq:
        print(
            f"  {record['source']['topic']}@{record['source']['offset']}: {record['reason_code']} "
            f"({record['reason'][:70]}) sender={record['sender']} msgid={record['msgid']}"
        )
    print("events published: " + ", ".join(f"{n} {type_}" for type_, n in sorted(traffic.events.items())))
    provinces = {province_of(s) for s in REGIONS}
    print(
        f"provinces involved: {len(provinces)} of {len(PROVINCES)} "
        f"({', '.join(sorted(PROVINCES[p] for p in provinces))})"
    )

    books_ok = await wallet_books(state)
    platform = platform or await platform_books(state.settings)
    print("\n== Platform books (wallet, payment and clearing, each with its own role, cross-checked) ==")
    for line in platform.lines():
        print(f"  {line}")
    books_ok = books_ok and platform.balanced
    ok = complete and not t.unexpected and t.same_answer and books_ok and not problems
    print(
        f"\n{'OK' if ok else 'PROBLEMS'}: {len(traffic.sent)} requests, {len(t.unexpected)} answered other than "
        f"expected, books {'balance' if books_ok else 'DO NOT BALANCE'}"
    )
    return ok
