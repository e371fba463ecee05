"""`python -m tools.simulator`: the province simulator's command line (`make run`, `make simulate`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import tools.simulator
from shared.settings import PlatformSettings
from tools.simulator.run import Simulator
from tools.simulator.state import RunState


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.simulator",
        description=tools.simulator.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--people", type=int, default=200, help="people to enrol (default 200)")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed (default: the time)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for all answers")
    parser.add_argument(
        "--daytime",
        action="store_true",
        help="local stack only: first, outside 06:00-21:00 business time, move the platform's clock on to the "
        "next 10:00, so transfers are not refused for the quiet hours (make run does this)",
    )
    parser.add_argument(
        "--night",
        action="store_true",
        help="local stack only: afterwards move the platform's clock on to 05:59:58 the next morning, "
        "so transfers nobody accepted go back (make run does this)",
    )
    parser.add_argument(
        "--month-end",
        action="store_true",
        help="local stack only: afterwards move the platform's clock on to 00:30 on the first day of the next "
        "month, close the month and let regions answer their statements (make run does this)",
    )
    args = parser.parse_args()
    sim = Simulator(
        RunState.start(
            PlatformSettings(), args.people, args.seed, night=args.night, month_end=args.month_end, daytime=args.daytime
        )
    )
    print(f"province simulator: {args.people} people, seed {args.seed}", file=sys.stderr)

    async def go() -> bool:
        complete = await sim.execute(args.timeout)
        return await sim.summary(complete)

    return 0 if asyncio.run(go()) else 1


if __name__ == "__main__":
    sys.exit(main())
