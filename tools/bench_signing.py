"""What signing and verifying an envelope costs: `python -m tools.bench_signing [--messages N]`.

Signs N records of the size provinces send (a `settlement.requested` of about 450 bytes) with Ed25519
(shared/signing.py), verifies each against a registry, and, as the baseline in the same run, parses each with
`json.loads` (which the kernel does for every record anyway). One core, one process; per-message figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.signing import KeyRegistry, Verdict, registry_entry, sign
from tools.bench import percentile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20000)
    args = parser.parse_args()
    key = Ed25519PrivateKey.generate()
    now = datetime.fromisoformat("2026-12-02T10:30:15+08:00")
    entry = registry_entry("440000-bench", "440000", key.public_key(), now - timedelta(days=1), now + timedelta(days=1))
    registry = KeyRegistry.from_json(json.dumps({"keys": [entry]}))
    records: list[tuple[dict[str, str], bytes]] = []
    for i in range(args.messages):
        body = {
            "setl_id": f"S440300{i:012d}",
            "psn_no": "44030000000000012345",
            "fixmedins_code": "H44030000001",
            "medfee_sumamt": "356.20",
            "acct_pay": "120.00",
            "acct_used_flag": "2",
            "med_type": "11",
            "insutype": "310",
            "setl_time": now.isoformat(),
            "items": [{"name": "outpatient", "amount": "356.20"}],
        }
        envelope = {
            "msgid": f"440300202612021030{i:012d}",
            "type": "settlement.requested",
            "sender": "440300",
            "sent_at": now.isoformat(),
        }
        value = json.dumps({**envelope, "body": body}, ensure_ascii=False).encode()
        records.append((envelope, value))
    timings: dict[str, list[float]] = {"sign": [], "verify": [], "json.loads (baseline)": []}
    signed = []
    for envelope, value in records:
        t = time.perf_counter()
        headers = sign(key, "440000-bench", envelope["msgid"], envelope["type"], "440300", envelope["sent_at"], value)
        timings["sign"].append(time.perf_counter() - t)
        signed.append((envelope, value, headers))
    for envelope, value, headers in signed:
        t = time.perf_counter()
        verdict = registry.verify(
            headers,
            envelope["msgid"],
            envelope["type"],
            "440300",
            envelope["sent_at"],
            value,
            now,
            timedelta(minutes=15),
        )
        timings["verify"].append(time.perf_counter() - t)
        assert verdict is Verdict.VALID
    for _envelope, value in records:
        t = time.perf_counter()
        json.loads(value)
        timings["json.loads (baseline)"].append(time.perf_counter() - t)
    size = sum(len(v) for _e, v in records) / len(records)
    print(f"{args.messages} records of {size:.0f} bytes, Ed25519 (cryptography), one core:")
    for name, values in timings.items():
        values.sort()
        total = sum(values)
        print(
            f"  {name:<22} {len(values) / total:9.0f}/s  p50 {percentile(values, 0.5) * 1e6:6.1f} us  "
            f"p99 {percentile(values, 0.99) * 1e6:6.1f} us"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
