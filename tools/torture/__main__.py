"""`python -m tools.torture`: the adversarial workload's command line (`make torture`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys

from rich.console import Console

import tools.torture
from shared.settings import PlatformSettings
from tools.clock import stack_offset
from tools.torture.run import Options, torture
from tools.torture.stack import FAULTS


def faults(text: str) -> list[str]:
    kinds = [k for k in text.replace(" ", "").split(",") if k and k != "none"]
    unknown = [k for k in kinds if k not in FAULTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown faults {unknown}: choose from {','.join(FAULTS)}")
    return kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.torture",
        description=tools.torture.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of traffic (default 600)")
    parser.add_argument("--seed", type=int, default=None, help="the plan's seed (default: drawn, and printed first)")
    parser.add_argument(
        "--faults", type=faults, default=[], help=f"comma separated, of {','.join(FAULTS)} (default none)"
    )
    parser.add_argument("--families", type=int, default=40, help="families playing at once (default 40)")
    parser.add_argument(
        "--settle", type=float, default=300.0, help="seconds to wait for every answer once the traffic stops"
    )
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**9)
    print(f"torture: seed {seed}", flush=True)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the clients' reconnect attempts while Kafka is away
    console = Console(width=200, highlight=False)
    opts = Options(args.duration, seed, args.faults, args.families, args.settle)
    settings = PlatformSettings(clock_offset_seconds=stack_offset(os.environ))  # the stack's one clock
    return 0 if asyncio.run(torture(settings, opts, console)) else 1


if __name__ == "__main__":
    sys.exit(main())
