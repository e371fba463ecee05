"""The run: the phases in order (each a function of the run's state, published by the provinces and waited for),
then the clock moves the options ask for, then the summary.

The package, one module per phase:
  registry.py (1: registry, enrolments, credits and mistakes), binding.py (2), consent.py (3), transfers.py
  (4: transfers, answers, endings), paying.py (5), undoing.py (6: cancellations, reversals, contributions),
  interface_v11.py (7: freezing, statements), clock_moves.py (--daytime, --night), month_end.py (--month-end);
  and the shared parts: model.py (the vocabulary), state.py (the run's state), messages.py (the message factory),
  provinces.py (the Kafka clients, waiting for answers), books_check.py, summary*.py, __main__.py (the CLI).
"""

from __future__ import annotations

import asyncio
import sys

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tools.books import PlatformBooks
from tools.simulator import binding, consent, interface_v11, paying, registry, transfers, undoing
from tools.simulator.books_check import quiet
from tools.simulator.clock_moves import into_the_daytime, pass_the_night, same_clock_as_the_services
from tools.simulator.month_end import closed_months, end_the_month
from tools.simulator.provinces import STDERR, Phase, on_the_wire
from tools.simulator.state import RunState
from tools.simulator.summary import summary

PHASES: tuple[tuple[str, Phase], ...] = (
    ("registry, enrolments", registry.registry_and_people),
    ("credits", registry.credits),
    ("bind requests", binding.bind_requests),
    ("consents", consent.consents),
    ("second providers", consent.second_providers),
    ("transfers", transfers.request_transfers),
    ("answers", transfers.answer_transfers),
    ("a wallet frozen (v1.1)", interface_v11.freeze),
    ("a transfer to it", interface_v11.transfer_while_frozen),
    ("unfrozen by the national operator", interface_v11.unfreeze),
    ("endings", transfers.end_relationships),
    ("settlements at hospitals and pharmacies", paying.settlements),
    ("cancellations, reversals, contributions", undoing.undo_and_contribute),
    ("late reversals", undoing.late_reversals),
    ("statements (v1.1)", interface_v11.statement_requests),
)


class Simulator:
    """Plays the provincial systems against a running platform: `execute`, then `summary`."""

    def __init__(self, state: RunState) -> None:
        """`state`: RunState.start(...), what the run is asked to do."""
        self.state = state
        self.platform: PlatformBooks | None = None  # the platform's books once the run is quiet

    @property
    def close_clock(self) -> str:
        """The business time the month was closed at ('' without --month-end)."""
        return self.state.close_clock

    async def execute(self, wait_seconds: float) -> bool:
        """Every phase, and the clock moves asked for; False if some answers did not come in time."""
        state = self.state
        wrong = await same_clock_as_the_services(state)
        if wrong:
            print(
                f"the services run on another business clock than this simulator "
                f"(real time {state.settings.clock_offset_seconds:+.0f} s): {', '.join(wrong)}; run it with the "
                "platform's MEDAID_CLOCK_OFFSET_SECONDS (make simulate does)",
                file=sys.stderr,
            )
            return False
        if state.daytime:
            await into_the_daytime(state)
        print(f"  business time {state.business_now().isoformat(timespec='seconds')}", file=sys.stderr)
        complete = True
        async with on_the_wire(state, wait_seconds) as provinces:
            state.closed_at_start = await closed_months(state)
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=STDERR,
                transient=True,
            ) as progress:
                task = progress.add_task("phases", total=len(PHASES))
                for name, phase in PHASES:
                    progress.update(task, description=name)
                    complete = await provinces.run_phase(name, phase) and complete
                    progress.advance(task)
            if state.night:
                await pass_the_night(state, provinces.deadline)
            if state.month_end:
                complete = await end_the_month(state, provinces) and complete
            await asyncio.sleep(1.0)  # late duplicates and notifications would show up here
            self.platform = await quiet(state, provinces.deadline)
        return complete

    async def summary(self, complete: bool) -> bool:
        """Prints the summary; True when every answer was as expected and the books balance."""
        return await summary(self.state, self.platform, complete)
