"""The adversarial workload, in the spirit of Jepsen's bank test and TigerBeetle's VOPR: provinces
hammering the real stack (Kafka, PostgreSQL, the four services as processes) with random, concurrent, racing
requests while the stack is broken on purpose, then the invariants checked from outside and inside.

    python -m tools.torture --duration 600 --seed 42 --faults kill,broker,postgres --families 40
    make torture DURATION=600 SEED=42 FAULTS=kill,broker,postgres FAMILIES=40      (against `make up`'s stack)

Without --seed it draws one and prints it first; the same seed gives the same plan (each family's episodes and
their parameters, the faults' schedule, the clock moves), though the interleaving on the wire differs.
It moves the stack's business clock forward (tools/clock.py): into the daytime first, to the next month's first
day at 10:00 during the run (then the national operator closes the month that ended), and at the end to 10:00 the
next day, so every transfer nobody accepted goes back. Identities (psn_no, certno) are new in every run.

  world.py     the regions (14 in 10 provinces), the families and their seeded randomness
  episodes.py  what a family does: setup, then episodes (transfer and its answer or a race, pay, cancel,
               reverse, contribute, credit, freeze, move, terminate, rebind, statement, resend)
  wire.py      sending as the provinces (signed; resends byte for byte), answers awaited
  stack.py     faults (SIGKILL a service, restart Kafka or PostgreSQL; tools/crash_run.py's scripts) and clock moves
  checks.py    the invariants, outside and inside (tools/books.py's platform_books, every check)
  report.py    the summary: seed, operations and answers, episodes, the stack's log, invariants
  run.py       the run, in order

Exit status 1 when any invariant fails.
"""
