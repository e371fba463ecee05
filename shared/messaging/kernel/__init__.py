"""The consumer kernel: a record, or a partition's batch of records, flows one way through small stages, each a
module with one job, in this order:

  records      what a record is, what classification made of it, how it ended; which errors are the infrastructure's
  position     tracking records: a redelivered record is recognised and skipped (written with the effects)
  verify       the claimed sender's signature (docs/signing.md), judged at the record's arrival on the broker
  classify     whose record it is, and whether it is fit: a typed envelope, or the reason it is not
  dead_letter  a record's dead letter, bounded, personal data masked
  inbox        what a transaction knows of its msgids (answered here, claimed elsewhere) before it handles them
  dispatch     the sender policy, then the handler registered for the type
  answers      the answer recorded in the inbox, and the answer, claim and messages written to the outbox
  runner       batches, one transaction each; retries; dead letters after repeated failure; metrics
  ingress      the stages of an ingress topic (requests: one answer each)
  events       the stages of another service's event stream (nobody to answer)

Each stage imports only stages listed before it (tests/unit/test_layers.py), and nothing here imports a service.
"""

STAGES = (
    "records",
    "position",
    "verify",
    "classify",
    "dead_letter",
    "inbox",
    "dispatch",
    "answers",
    "runner",
    "ingress",
    "events",
)
