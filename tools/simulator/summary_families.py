"""The summary's families and transfers: relationships requested, established and ended (with why), quota moved
into wallets, returned, and still waiting."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from tools.simulator.model import Traffic
from tools.simulator.state import RunState


def families_summary(traffic: Traffic) -> None:
    established = {n["relationship_id"] for n in traffic.notifications["relationship.established"]}
    ended: dict[str, str] = {n["relationship_id"]: n["reason"] for n in traffic.notifications["relationship.ended"]}
    accepted = {
        body["relationship_id"]
        for answers in traffic.results.values()
        for _, body in answers[:1]
        if body["otype"] == "relationship.bind-requested" and body["status"] == "accepted"
    }
    print("\n== Families ==")
    print(f"bind requests accepted: {len(accepted)}; waiting for consent: {len(accepted - established - set(ended))}")
    print(
        f"relationships established: {len(established)} (both provinces told: "
        f"{len(traffic.notifications['relationship.established'])} notifications)"
    )
    for reason, n in Counter(ended.values()).most_common():
        print(f"relationships ended, {reason}: {n}")
    if ended:
        example = (
            next(n for n in traffic.notifications["relationship.ended"] if n["reason"] == "insurance_changed")
            if "insurance_changed" in ended.values()
            else None
        )
        if example:
            print(f"  e.g. {example['relationship_id']}: {example.get('detail')}")


def transfers_summary(state: RunState) -> None:
    traffic = state.traffic
    requested = [
        b
        for a in traffic.results.values()
        for _, b in a[:1]
        if b["otype"] == "transfer.requested" and b["status"] == "accepted"
    ]
    mine = {b["transfer_id"] for b in requested}  # other runs' transfers may come back too
    completed = {n["transfer_id"]: n for n in traffic.notifications["transfer.completed"] if n["transfer_id"] in mine}
    returned = {n["transfer_id"]: n for n in traffic.notifications["transfer.returned"] if n["transfer_id"] in mine}
    moved = sum((Decimal(n["amount"]) for n in completed.values()), Decimal("0.00"))
    print("\n== Transfers (quota into wallets) ==")
    print(f"transfers requested and held: {len(requested)}; completed: {len(completed)} ({moved:.2f} yuan moved)")
    went_back = {t: n for t, n in returned.items() if t not in completed}
    quota_back = {t: n for t, n in returned.items() if t in completed}
    for reason, n in Counter(n["reason"] for n in went_back.values()).most_common():
        print(f"returned before acceptance, {reason}: {n}")
    back = sum((Decimal(n["amount"]) for n in quota_back.values()), Decimal("0.00"))
    print(f"unspent quota returned to providers when relationships ended: {len(quota_back)} lots, {back:.2f} yuan")
    print(
        f"still waiting for the recipient (back at 06:00 the next morning): "
        f"{len(requested) - len(completed) - len(went_back)}"
    )
    if state.transfer_rate:
        print(f"saga throughput here: {state.transfer_rate}")
