"""Province simulator: `python -m tools.simulator [--people N] [--seed S] [--night] [--month-end]` (`make run`).

Plays the provincial systems, in phases that each wait for the platform's answers:
  1. registry (regions' wallet switch, hospitals, pharmacies), enrolments, account credits, with the
     mistakes real integrations make (resends, malformed messages, unknown types);
  2. families bind relatives across provinces, with refused cases (not a close relative, identity
     mismatch, pooling-only provider, suspended recipient, unknown person, duplicates, Tianjin's cap);
  3. recipients consent; second providers try Shandong's one-provider rule;
  4. quota moves into wallets; relationships end: by a party, and by enrolment changes (death, suspension);
  5. patients pay at hospitals and pharmacies of ten regions: with wallet quota, their own account, a bound
     provider's account (also across provinces), or cash; some refused on purpose (med type, wallet outside
     the insured region or at an institution without it, no relationship, unknown institution, wrong sender);
  6. about one in ten is cancelled (one twice), reversals (of a paid settlement, of one not yet arrived, of a
     contribution, of a transfer), contributions (390 from the own wallet, 410 from a provider's account);
  7. interface v1.1 throughout: registry listings, a wallet frozen and unfrozen, and at the end every member
     with money asks for the month's statement (each must add up to its balances, to the fen);
  --daytime: first, outside 06:00-21:00 business time, the platform's clock moves on to the next 10:00;
  --night: the platform's clock moves on to 05:59:58 the next morning (unaccepted transfers go back at 06:00);
  --month-end: the platform's clock moves on to 00:30 on the next month's first day, the month is closed,
     regions confirm or dispute their statements, and one more settlement is cancelled (it nets next month).
The provinces keep the platform's business time (MEDAID_CLOCK_OFFSET_SECONDS, the same as the services'); the
three moves are for the local stack only, and move every service at once, forward (tools/clock.py).
Then a summary: answers per type and reason with latencies, relationships, transfers, payments, the month's
statements, DLQ records, events, the wallet's books check and the platform's books across services.
"""

from __future__ import annotations

from tools.simulator.run import Simulator
from tools.simulator.state import RunState

__all__ = ["RunState", "Simulator"]
