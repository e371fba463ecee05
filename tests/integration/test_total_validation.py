"""Total validation before any handler (issue 29, item 1): boundary values thrown at every ingress type through the
consumer kernel of the service that answers it (classification, then the real handler on PostgreSQL). A value out of
its domain is INVALID_MESSAGE at classification; one within it is judged by the handler. No record may make a handler
raise: poison_attempts is 1, so a raise would be dead-lettered PROCESSING_FAILED at once, and every raise is
recorded and fails the test. Kafka is not needed: the kernel is driven record by record, as its runner would."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.payment.domain import commands as payment_commands
from services.payment.entrypoints.unit_of_work import postgres_context as payment_context
from services.payment.service_layer.record_insured_person import record_insured_person
from services.wallet.domain.transfers import Party, RelationshipCopy
from services.wallet.entrypoints.unit_of_work import postgres_context as wallet_context
from shared.caller import Caller
from shared.clock import BUSINESS_TZ, BusinessClock
from shared.contracts.envelope import Envelope
from shared.contracts.province import INGRESS, ingress_topics_of
from shared.db.migrations import migrate
from shared.db.pool import connect, create_pool
from shared.identity import certno_hash, name_hash
from shared.messaging.consumer import Handler, MessageContext, Outcome, Pipeline
from shared.messaging.messages import Decision
from shared.money import AMOUNT_PATTERN
from tests.conftest import new_database
from tests.support.infra import Infra
from tests.support.kernel import ingress

pytestmark = pytest.mark.integration

SERVICES = Path(__file__).resolve().parents[2] / "services"
KEY = b"total-validation-identity-key"
NATIONAL, GATEWAY = "110102", "100000"
P, R = "44030000000000000001", "61010000000000000001"  # a provider in Shenzhen, a recipient in Xi'an
P_CERT, R_CERT = "440301198001010011", "610102195503031234"
HOSPITAL = "H61010300012"
T = TypeVar("T")
ANSWERED = ("completed", "accepted", "rejected", "deferred")
"""An answer, now or when the wallet has answered (a payment waits for it)."""


def _make_handlers(service: str) -> dict[str, Handler]:
    trusted = frozenset({GATEWAY})
    if service == "wallet":
        from services.wallet.entrypoints.ingress import make_handlers as wallet

        return wallet(KEY, trusted, Decimal("100000.00"), frozenset({NATIONAL}))
    if service == "relationship":
        from services.relationship.entrypoints.ingress import make_handlers as relationship

        return relationship(KEY, trusted)
    if service == "payment":
        from services.payment.entrypoints.ingress import make_handlers as payment

        return payment(KEY, trusted)
    from services.clearing.entrypoints.ingress import make_handlers as clearing

    return clearing(trusted, frozenset({NATIONAL}))


@dataclass
class Kernels:
    """The four services' ingress consumers on one fresh database, on an event loop of their own (hypothesis runs
    its examples synchronously)."""

    loop: asyncio.AbstractEventLoop
    consumers: dict[tuple[str, str], Pipeline] = field(default_factory=dict)
    pools: list[Any] = field(default_factory=list)
    raised: list[str] = field(default_factory=list)
    offsets: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    clock: BusinessClock = field(default_factory=BusinessClock)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    def recording(self, type_name: str, handler: Handler) -> Handler:
        async def handle(ctx: MessageContext, env: Envelope[Any]) -> Decision:
            try:
                return await handler(ctx, env)
            except Exception as exc:
                self.raised.append(f"{type_name}: {type(exc).__name__}: {exc} <- {env.body!r}")
                raise

        return handle

    async def setup(self, infra: Infra) -> None:
        s = await new_database(infra, "tv")
        now = datetime.now(BUSINESS_TZ)  # business hours (transfers have quiet hours): 10:00 of a day to come
        ten = (now + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        clock = self.clock = BusinessClock((ten - now).total_seconds())
        for service in ("relationship", "wallet", "payment", "clearing"):
            conn = await connect(s.dsn(service))
            try:
                await migrate(conn, service, SERVICES / service)
            finally:
                await conn.close()
            pool = await create_pool(s.dsn(service))
            self.pools.append(pool)
            handlers = _make_handlers(service)
            for topic in ingress_topics_of(service):
                mine = {t: self.recording(t, h) for t, h in handlers.items() if INGRESS[t].topic == topic}
                consumer = ingress(
                    service,
                    topic,
                    mine,
                    pool=pool,
                    clock=clock,
                    national_operators=frozenset({NATIONAL}),
                    poison_attempts=1,
                    retry_backoff_seconds=0.01,
                )
                self.consumers[(service, topic)] = consumer
        await self.seed(clock)

    async def seed(self, clock: BusinessClock) -> None:
        """Two people enrolled (in every service's copy), their relationship, wallets switched on, a wallet, money,
        a hospital: so that the handlers get past 'unknown' and reach their arithmetic."""
        for who, cert, name, region, insutype in (
            (P, P_CERT, "张三", "440300", "310"),
            (R, R_CERT, "王秀英", "610100", "390"),
        ):
            enrolment = {
                "psn_no": who, "psn_name": name, "psn_cert_type": "01", "certno": cert, "insutype": insutype,
                "psn_insu_stas": "1", "insuplc_admdvs": region, "has_personal_account": insutype == "310",
                "change_reason": "enrol", "effective_at": "2026-01-01T00:00:00+08:00",
            }  # fmt: skip
            assert await self.answer("enrollment.changed", enrolment, region) == "completed"
        wallet_pool, payment_pool = self.pools[1], self.pools[2]
        async with wallet_pool.acquire() as conn, conn.transaction():
            members = wallet_context(conn, Caller(clock)).members
            at = datetime(2026, 1, 1, tzinfo=BUSINESS_TZ)
            await members.upsert_person(
                Party(P, certno_hash(P_CERT, KEY), name_hash("张三", KEY), "440300", True, False), at, 1
            )
            await members.upsert_person(
                Party(R, certno_hash(R_CERT, KEY), name_hash("王秀英", KEY), "610100", False, True), at, 1
            )
            await members.relationship_established(RelationshipCopy("rel-seed", P, R, "440300", "610100", version=1))
        async with payment_pool.acquire() as conn, conn.transaction():
            for who, region in ((P, "440300"), (R, "610100")):
                await record_insured_person(
                    payment_commands.RecordInsuredPerson(who, region, 1), payment_context(conn, Caller(clock))
                )
        for region in ("440300", "610100"):
            assert (
                await self.answer("region.wallet-status-changed", {"admdvs": region, "wallet_enabled": True}, region)
                == "completed"
            )
        assert await self.answer("wallet.open-requested", BASE["wallet.open-requested"][0], "610100") == "completed"
        credit = {"psn_no": P, "amount": "5000.00", "period": "202601"}
        assert await self.answer("account.credited", credit, "440300") == "completed"
        assert await self.answer("institution.upserted", BASE["institution.upserted"][0], "610100") == "completed"

    async def answer(self, type_name: str, body: Any, sender: str, sent_at: Any = None) -> str | None:
        """Process one record of `type_name` through its owner's kernel; its answer's status, or why it failed."""
        spec = INGRESS[type_name]
        consumer = self.consumers[(spec.owner, spec.topic)]
        msgid = f"TV{uuid.uuid4().hex[:20]}"
        value = {
            "msgid": msgid,
            "type": type_name,
            "sender": sender,
            "sent_at": sent_at if sent_at is not None else self.clock.now().isoformat(timespec="seconds"),
            "body": body,
        }
        raw = json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8", errors="surrogatepass")
        record = _Record(raw, spec.topic, next(self.offsets))
        outcome = await consumer.process(record)
        async with consumer.pool.acquire() as conn:
            result = await conn.fetchval("SELECT result FROM inbox WHERE sender = $1 AND msgid = $2", sender, msgid)
        if outcome is Outcome.DEAD_LETTERED and result is None:
            return "dead-lettered without an answer"
        if result is None:
            return None
        if result.get("reason_code") == "PROCESSING_FAILED":
            return f"PROCESSING_FAILED: {result.get('reason')}"
        return str(result.get("status"))


@dataclass
class _Record:
    value: bytes | None
    topic: str
    offset: int
    partition: int = 0
    key: bytes | None = b"k"
    timestamp: int = 0
    headers: tuple[tuple[str, bytes], ...] = ()


BASE: dict[str, tuple[dict[str, Any], str]] = {
    "enrollment.changed": (
        {
            "psn_no": P, "psn_name": "张三", "psn_cert_type": "01", "certno": P_CERT, "insutype": "310",
            "psn_insu_stas": "1", "insuplc_admdvs": "440300", "has_personal_account": True, "change_reason": "resume",
            "effective_at": "2026-01-02T00:00:00+08:00",
        },
        "440300",
    ),
    "account.credited": ({"psn_no": P, "amount": "10.00", "period": "202601", "kind": "interest"}, "440300"),
    "region.wallet-status-changed": ({"admdvs": "610100", "wallet_enabled": True}, "610100"),
    "institution.upserted": (
        {"fixmedins_code": HOSPITAL, "fixmedins_name": "西安市第一医院", "fixmedins_type": "1", "admdvs": "610100",
         "wallet_enabled": True},
        "610100",
    ),
    "registry.query-requested": (
        {"what": "institutions", "admdvs": "610000", "cursor": f"610100:{HOSPITAL}"}, "610100"
    ),
    "relationship.bind-requested": (
        {"provider_psn_no": P, "recipient_psn_no": R, "kinship": "parent", "recipient_certno": R_CERT,
         "recipient_name": "王秀英"},
        "440300",
    ),
    "relationship.bind-confirmed": ({"relationship_id": "rel-seed", "recipient_psn_no": R}, "610100"),
    "relationship.terminate-requested": ({"relationship_id": "rel-seed", "requested_by_psn_no": R}, "610100"),
    "wallet.open-requested": ({"psn_no": R, "usage_admdvs": "610100", "phone": "13800000000"}, "610100"),
    "transfer.requested": (
        {"from_psn_no": P, "to_psn_no": R, "to_certno": R_CERT, "to_name": "王秀英", "amount": "10.00",
         "verification": "face", "verified": True},
        "440300",
    ),
    "transfer.accepted": ({"transfer_id": "00000000-0000-4000-8000-000000000000", "psn_no": R}, "610100"),
    "transfer.declined": ({"transfer_id": "00000000-0000-4000-8000-000000000000", "psn_no": R}, "610100"),
    "wallet.statement-requested": ({"psn_no": R, "from_date": "2026-01-01", "to_date": "2026-12-31"}, "610100"),
    "wallet.freeze-requested": ({"psn_no": R, "reason": "misuse"}, "610100"),
    "wallet.unfreeze-requested": ({"psn_no": R, "reason": "cleared"}, "610100"),
    "settlement.requested": (
        {"mdtrt_id": "MD1", "psn_no": R, "fixmedins_code": HOSPITAL, "mdtrtarea_admvs": "610100", "med_type": "11",
         "medfee_sumamt": "100.00", "fund_pay_sumamt": "60.00", "psn_part_amt": "40.00", "acct_used_flag": "2",
         "provider_psn_no": P, "use_wallet": True, "setl_time": "2026-06-01T10:00:00+08:00"},
        "610100",
    ),
    "settlement.cancel-requested": ({"setl_id": "S1", "mdtrt_id": "MD1", "psn_no": R}, "610100"),
    "reversal.requested": ({"omsgid": "TVX1", "otype": "settlement.requested"}, "610100"),
    "contribution.requested": (
        {"payer_psn_no": P, "insured_psn_no": R, "insutype": "390", "amount": "100.00", "year": 2026},
        "610100",
    ),
    "clearing.close-requested": ({"period": "202501"}, NATIONAL),
    "statement.confirmed": ({"statement_id": "CS202501610100", "admdvs": "610100"}, "610100"),
    "statement.disputed": ({"statement_id": "CS202501610100", "admdvs": "610100", "reason": "?"}, "610100"),
}  # fmt: skip

DATES = ["9999-12-31", "0001-01-01", "2099-12-31", "2000-01-01", "2100-01-01", "1999-12-31", "2026-02-30",
         "２０２６-01-01", "٢٠٢٦-01-01", "2026-01-01T00:00:00", "20260101", 20260101]  # fmt: skip
TIMES = ["9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00",
         "0001-01-01T00:00:00+00:00", "2099-12-31T23:59:59-14:00", "2000-01-01T00:00:00+14:00",
         "2026-01-01T00:00:00+23:59", "2026-01-01T00:00:00", "２０２６-01-01T00:00:00+08:00", 1e12, 0,
         -62135596800, 253402300799]  # fmt: skip
MONEY = ["99999999999999.99", "100000000000000.00", "0.00", "-0.01", "-99999999999999.99", "NaN", "Infinity",
         "1.001", "1e3", "１０.００", "١٠.٠٠", 10, 10.5, "0.01"]  # fmt: skip
INTS = [2**63, -(2**63) - 1, 2**31, -1, 0, 1999, 2000, 2100, 2101, "2026", "２０２６", 2026.0, True]
TEXT = ["", "x" * 10_000, "１２３４５６", "٤٤٠٣٠٠", "440300:" + "Z" * 300, "𝟘𝟙𝟚", " ", "\u200b", "9" * 40,
        "H6101030001２"]  # fmt: skip
OTHER: list[Any] = [None, True, [], {}, 1e308, -1]


def _kind(type_name: str, name: str) -> str:
    schema = INGRESS[type_name].body.model_json_schema()
    prop = schema["properties"].get(name, {})
    alternatives = prop.get("anyOf", [prop])
    for alt in alternatives:
        if alt.get("format") == "date":
            return "date"
        if alt.get("format") == "date-time":
            return "time"
        if alt.get("pattern") in (AMOUNT_PATTERN, "^-?[0-9]{1,14}\\.[0-9]{2}$"):
            return "money"
        if alt.get("type") == "integer":
            return "int"
    return "text"


def boundaries(type_name: str, name: str) -> list[Any]:
    """Values at and beyond the edges of a field's domain (of its kind), then values of no kind it takes and texts
    (the hypothesis test below mixes every kind into every field)."""
    kinds: dict[str, list[Any]] = {"date": DATES, "time": TIMES, "money": MONEY, "int": INTS, "text": TEXT}
    own = kinds[_kind(type_name, name)]
    texts = [t if len(t) < 500 else t[:64] for t in TEXT]
    return [*own, *OTHER, *(v for v in texts if v not in own)]


def cases() -> Iterator[tuple[str, dict[str, Any]]]:
    """(type, the fields changed): each field alone at each of its boundaries; then every field of one kind at once
    at the same boundary (two dates both 9999-12-31 pass a check of their distance, as amounts that add up do)."""
    for type_name, (body, _sender) in BASE.items():
        for name in body:
            for value in boundaries(type_name, name):
                yield type_name, {name: value}
        for value in TIMES:
            yield type_name, {"sent_at": value}
        by_kind: dict[str, list[str]] = {}
        for name in body:
            by_kind.setdefault(_kind(type_name, name), []).append(name)
        for kind, names in by_kind.items():
            if kind != "text" and len(names) > 1:
                for value in boundaries(type_name, names[0]):
                    yield type_name, dict.fromkeys(names, value)


@pytest.fixture(scope="module")
def kernels(infra: Infra) -> Iterator[Kernels]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    k = Kernels(loop)
    try:
        k.run(k.setup(infra))
        yield k
    finally:
        for pool in k.pools:
            k.run(pool.close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def _send(k: Kernels, type_name: str, changed: dict[str, Any]) -> str | None:
    body, sender = BASE[type_name]
    fields = {**body, **changed}
    sent_at = fields.pop("sent_at", None)
    return k.run(k.answer(type_name, fields, sender, sent_at=sent_at))


def test_every_ingress_type_was_seeded_with_a_body_that_is_judged(kernels: Kernels) -> None:
    """The base bodies are valid: the boundary values below replace one field of a message that gets that far."""
    assert set(BASE) == set(INGRESS)
    for type_name, (body, sender) in BASE.items():
        status = kernels.run(kernels.answer(type_name, body, sender))
        assert status in ANSWERED, (type_name, status)
    assert kernels.raised == []


def test_boundary_values_in_every_field_of_every_ingress_type_never_make_a_handler_raise(kernels: Kernels) -> None:
    failures = []
    for type_name, changed in cases():
        status = _send(kernels, type_name, changed)
        if status not in ANSWERED:
            failures.append((type_name, repr(changed)[:120], status))
    assert (kernels.raised, failures) == ([], [])


_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-14)), BUSINESS_TZ])
ANY_VALUE = st.one_of(
    st.sampled_from([*DATES, *TIMES, *MONEY, *INTS, *TEXT, *OTHER]),
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes(timezones=_ZONES).map(lambda d: d.isoformat()),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(min_value=-(10**16), max_value=10**16, places=2).map(str),
    st.integers(),
    st.text(alphabet=st.sampled_from("0123456789０１２٣٤٥۶७８९-:.Tx+ZH"), max_size=24),
    st.text(max_size=60),
)


@st.composite
def hostile_message(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    type_name = draw(st.sampled_from(sorted(BASE)))
    body = dict(BASE[type_name][0])
    for name in draw(st.lists(st.sampled_from([*body, "sent_at"]), min_size=1, max_size=3, unique=True)):
        body[name] = draw(
            st.one_of(st.sampled_from(boundaries(type_name, name) if name != "sent_at" else TIMES), ANY_VALUE)
        )
    return type_name, body


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(hostile_message())
def test_any_combination_of_boundary_values_is_answered_without_a_raise(
    kernels: Kernels, message: tuple[str, dict[str, Any]]
) -> None:
    type_name, body = message
    sent_at = body.pop("sent_at", None)
    status = kernels.run(kernels.answer(type_name, body, BASE[type_name][1], sent_at=sent_at))
    assert kernels.raised == []
    assert status in ANSWERED, (type_name, body, sent_at, status)
