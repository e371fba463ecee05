"""Settlement benchmark: `python -m tools.bench_settlements [--families N] [--rate R]` against a running
platform (make up).

Sets up N families as tools.bench_saga does (the provider in Shenzhen, the recipient in Chengdu with
100.00 of quota in the wallet), registers a hospital in Chengdu, then measures the paying saga alone:
N `settlement.requested` (payment checks -> payment.payment-opened -> the wallet takes the lot ->
wallet.payment-debited -> `completed` with setl_id and settlement.completed to both provinces), then N
`settlement.cancel-requested` (the refund the same way back). Each settlement pays 60.00 from the wallet
and 20.00 in cash and makes one cross-region obligation. Reports settlements (and cancellations) per
second from the first request to the last answer, and the request -> answer latency percentiles.
`--rate R` sends at R requests per second instead of in one burst (latency without queueing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.clock import BusinessClock
from shared.settings import PlatformSettings
from tools.bench import percentile
from tools.bench_saga import PROVIDER_REGION, RECIPIENT_REGION, Saga


class Settlements(Saga):
    def __init__(self, settings: PlatformSettings, n: int, rate: float | None) -> None:
        super().__init__(settings, n)
        self.rate = rate
        self.report: dict[str, dict[str, float]] = {}

    async def paced(
        self, producer: AIOKafkaProducer, messages: list[tuple[str, dict[str, Any], str]]
    ) -> dict[str, Any]:
        if self.rate is None:
            return await self.send_all(producer, messages, "completed")
        sent: dict[str, float] = {}
        start = time.monotonic()
        for i, (topic, m, key) in enumerate(messages):
            await asyncio.sleep(max(0.0, start + i / self.rate - time.monotonic()))
            sent[m["msgid"]] = time.monotonic()
            raw = json.dumps(m, ensure_ascii=False).encode()
            await producer.send_and_wait(topic, raw, key=key.encode(), headers=self.keys.record_headers(raw))
        deadline = time.monotonic() + 120
        while not all(m in self.results for m in sent) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return sent

    def figures(self, name: str, sent: dict[str, float]) -> dict[str, float]:
        answered = [m for m in sent if m in self.results]
        bad = [self.results[m][1] for m in answered if self.results[m][1]["status"] != "completed"]
        if bad or len(answered) < len(sent):
            raise SystemExit(f"{name}: {len(answered)} of {len(sent)} answered, e.g. {bad[:2]}")
        latencies = sorted(self.results[m][0] - sent[m] for m in sent)
        elapsed = max(self.results[m][0] for m in sent) - min(sent.values())
        return {
            "count": len(sent),
            "seconds": elapsed,
            "per_second": len(sent) / elapsed,
            "p50_ms": percentile(latencies, 0.5) * 1000,
            "p95_ms": percentile(latencies, 0.95) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
        }

    async def measure(self, producer: AIOKafkaProducer) -> dict[str, float]:
        transfers = await super().measure(producer)
        if transfers["completed"] != self.n:
            raise SystemExit("setup failed: not every transfer completed")
        pr, rr = PROVIDER_REGION, RECIPIENT_REGION
        recipients = [f"{rr}9{self.run}{i:07d}" for i in range(self.n)]
        hospital = f"H{rr}{random.randrange(10**5):05d}"
        institution = {
            "fixmedins_code": hospital,
            "fixmedins_name": "成都市第一人民医院",
            "fixmedins_type": "1",
            "admdvs": rr,
            "wallet_enabled": True,
        }
        await self.send_all(producer, [("ingress.registry.v1", self.msg("institution.upserted", institution, rr), rr)])
        # now on the platform's one business clock (MEDAID_CLOCK_OFFSET_SECONDS, as the services run)
        setl_time = BusinessClock(self.settings.clock_offset_seconds).now().isoformat(timespec="seconds")
        settlements = [
            (
                "ingress.settlement.v1",
                self.msg(
                    "settlement.requested",
                    {
                        "mdtrt_id": f"{rr}{self.run}{i:012d}",
                        "psn_no": r,
                        "fixmedins_code": hospital,
                        "mdtrtarea_admvs": rr,
                        "med_type": "11",
                        "medfee_sumamt": "200.00",
                        "fund_pay_sumamt": "120.00",
                        "psn_part_amt": "80.00",
                        "acct_used_flag": "0",
                        "use_wallet": True,
                        "setl_time": setl_time,
                    },
                    rr,
                ),
                r,
            )
            for i, r in enumerate(recipients)
        ]
        settled = self.figures("settlements", await self.paced(producer, settlements))
        cancels = [
            (
                "ingress.settlement.v1",
                self.msg(
                    "settlement.cancel-requested",
                    {"setl_id": self.results[m["msgid"]][1]["setl_id"], "mdtrt_id": m["body"]["mdtrt_id"], "psn_no": r},
                    rr,
                ),
                r,
            )
            for (_, m, r) in settlements
        ]
        cancelled = self.figures("cancellations", await self.paced(producer, cancels))
        del pr
        self.report = {"settled": settled, "cancelled": cancelled}
        return transfers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", type=int, default=300)
    parser.add_argument("--rate", type=float, default=None, help="requests per second (default: one burst)")
    args = parser.parse_args()
    bench = Settlements(PlatformSettings(), args.families, args.rate)
    asyncio.run(bench.go())
    r = bench.report
    how = f"at {args.rate:g}/s offered" if args.rate else "in one burst"
    for name, f in (("settlements", r["settled"]), ("cancellations", r["cancelled"])):
        print(
            f"{name} x{f['count']:.0f} {how}: {f['per_second']:.0f}/s ({f['seconds']:.1f} s); request -> answer "
            f"p50 {f['p50_ms']:.0f} ms p95 {f['p95_ms']:.0f} ms p99 {f['p99_ms']:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
