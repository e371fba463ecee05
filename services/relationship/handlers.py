"""The relationship service's handlers: one plain function per command, explicit dependencies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.relationship.adapters.people_repository import PeopleRepository
from services.relationship.adapters.policy_repository import PolicyRepository
from services.relationship.adapters.relationship_repository import RelationshipRepository
from services.relationship.domain import commands, events
from services.relationship.domain.people import may_record, supersedes
from services.relationship.domain.relationships import (
    KINSHIP_GROUP,
    EndReason,
    Refusal,
    Relationship,
    Status,
    check_eligibility,
    check_identity,
    check_kinship,
    check_policy,
    ends_on_enrolment_change,
    ends_on_late_change,
    may_act_for,
)
from shared.clock import BusinessClock
from shared.contracts import province as p
from shared.contracts.policy import effective_policy, validate_override
from shared.contracts.reasons import ReasonCode
from shared.db.pool import Conn
from shared.identity import redact_text
from shared.messaging.messages import Decision, Outgoing, published, to_provinces
from shared.messaging.outbox import Outbox


def to_both_provinces(rel: Relationship, type_: str, body: p.Body) -> list[Outgoing]:
    return to_provinces((rel.provider_admdvs, rel.recipient_admdvs), type_, body, rel.provider_psn_no)


def refused(
    cmd: commands.RequestBind | commands.ConfirmBind,
    rel: Relationship | None,
    refusal: Refusal,
    clock: BusinessClock,
    *,
    provider: str = "",
    recipient: str = "",
    kinship: str = "",
) -> Decision:
    e = events.RelationshipRefused(
        relationship_id=rel.relationship_id if rel else None,
        provider_psn_no=rel.provider_psn_no if rel else provider,
        recipient_psn_no=rel.recipient_psn_no if rel else recipient,
        kinship=rel.kinship if rel else redact_text(kinship[:40]),
        reason_code=refusal.code.value,
        occurred_at=clock.now(),
    )
    return Decision.rejected(refusal.code, refusal.reason, [published(e, e.provider_psn_no)])


async def end_relationship(
    repo: RelationshipRepository, rel: Relationship, reason: EndReason, detail: str | None, clock: BusinessClock
) -> list[Outgoing]:
    now = clock.now()
    version = await repo.end(rel.relationship_id, now, reason.value, detail)
    ended = events.RelationshipEndedEvent(
        relationship_id=rel.relationship_id,
        version=version,
        provider_psn_no=rel.provider_psn_no,
        recipient_psn_no=rel.recipient_psn_no,
        kinship=rel.kinship,
        reason=reason.value,
        detail=detail,
        was_established=rel.status is Status.ESTABLISHED,
        provider_admdvs=rel.provider_admdvs,
        recipient_admdvs=rel.recipient_admdvs,
        occurred_at=now,
    )
    notice = p.RelationshipEnded(
        relationship_id=rel.relationship_id,
        provider_psn_no=rel.provider_psn_no,
        recipient_psn_no=rel.recipient_psn_no,
        reason=reason.value,
        detail=detail,
    )
    return [*to_both_provinces(rel, "relationship.ended", notice), published(ended, rel.provider_psn_no)]


async def record_enrolment(
    cmd: commands.RecordEnrolment,
    people: PeopleRepository,
    repo: RelationshipRepository,
    identity_key: bytes,
    clock: BusinessClock,
    max_ahead: timedelta = timedelta(days=31),
) -> Decision:
    person = cmd.person
    if person.effective_at > clock.now() + max_ahead:
        return Decision.rejected(
            ReasonCode.EFFECTIVE_AT_OUT_OF_RANGE,
            f"effective_at {person.effective_at.isoformat()} is more than {max_ahead.days} days ahead",
        )
    current = await people.get_for_update(person.psn_no)
    if (why := may_record(cmd.sender, person, current)) is not None:
        return Decision.rejected(ReasonCode.SENDER_NOT_ALLOWED, why)
    messages: list[Outgoing] = []
    late = not supersedes(person, current)
    if not late:
        version = await people.save(person, cmd.change_reason)
        changed = events.PersonEnrolmentChanged(
            psn_no=person.psn_no,
            version=version,
            certno_hash=person.certno_hash,
            name_hash=person.name_hash,
            psn_cert_type=person.psn_cert_type,
            insutype=person.insutype,
            psn_insu_stas=person.psn_insu_stas,
            insuplc_admdvs=person.insuplc_admdvs,
            has_personal_account=person.has_personal_account,
            change_reason=cmd.change_reason,
            may_provide=person.may_provide,
            may_receive=person.may_receive,
            effective_at=person.effective_at,
        )
        messages.append(published(changed, person.psn_no))
    for rel in await repo.active_of(person.psn_no):
        if late:
            assert current is not None  # late means older than what is recorded
            ends = ends_on_late_change(rel, person, cmd.change_reason, current)
        else:
            ends = ends_on_enrolment_change(rel, person, cmd.change_reason)
        if ends:
            detail = f"{person.psn_no}: {cmd.change_reason}, status {person.psn_insu_stas}, insutype {person.insutype}"
            messages += await end_relationship(repo, rel, EndReason.INSURANCE_CHANGED, detail, clock)
    return Decision.completed(messages)


async def request_bind(
    cmd: commands.RequestBind,
    repo: RelationshipRepository,
    clock: BusinessClock,
    trusted_senders: frozenset[str] = frozenset(),
) -> Decision:
    def refuse(refusal: Refusal) -> Decision:
        return refused(
            cmd, None, refusal, clock, provider=cmd.provider_psn_no, recipient=cmd.recipient_psn_no, kinship=cmd.kinship
        )

    refusal = check_kinship(cmd.provider_psn_no, cmd.recipient_psn_no, cmd.kinship)
    if refusal:
        return refuse(refusal)
    people = await repo.lock_people(cmd.provider_psn_no, cmd.recipient_psn_no)
    provider, recipient = people.get(cmd.provider_psn_no), people.get(cmd.recipient_psn_no)
    refusal = check_eligibility(provider, recipient)
    if refusal:
        return refuse(refusal)
    assert provider is not None
    assert recipient is not None
    if not may_act_for(cmd.sender, provider.insuplc_admdvs, trusted_senders):
        return refuse(Refusal(ReasonCode.NOT_A_PARTY, "a bind request comes from the provider's insured province"))
    refusal = check_identity(recipient, cmd.recipient_certno_hash, cmd.recipient_name_hash)
    if refusal:
        return refuse(refusal)
    rows = await repo.policy_rows(provider.insuplc_admdvs, recipient.insuplc_admdvs)
    provider_policy = effective_policy(provider.insuplc_admdvs, rows)
    recipient_policy = effective_policy(recipient.insuplc_admdvs, rows)
    standing = await repo.standing(provider.psn_no, recipient.psn_no)
    refusal = check_policy(cmd.kinship, standing, provider_policy, recipient_policy)
    if refusal:
        return refuse(refusal)
    now = clock.now()
    rel = Relationship(
        cmd.relationship_id,
        provider.psn_no,
        recipient.psn_no,
        cmd.kinship,
        Status.PENDING,
        provider.insuplc_admdvs,
        recipient.insuplc_admdvs,
        now + timedelta(seconds=provider_policy.bind_request_ttl_seconds),
    )
    await repo.insert_pending(rel, now, cmd.msgid)
    requested = events.RelationshipRequested(
        relationship_id=rel.relationship_id,
        version=1,
        provider_psn_no=rel.provider_psn_no,
        recipient_psn_no=rel.recipient_psn_no,
        kinship=rel.kinship,
        kinship_group=KINSHIP_GROUP[rel.kinship],
        provider_admdvs=rel.provider_admdvs,
        recipient_admdvs=rel.recipient_admdvs,
        expires_at=rel.expires_at,
        occurred_at=now,
    )
    return Decision.accepted([published(requested, rel.provider_psn_no)], relationship_id=rel.relationship_id)


async def confirm_bind(
    cmd: commands.ConfirmBind,
    repo: RelationshipRepository,
    clock: BusinessClock,
    trusted_senders: frozenset[str] = frozenset(),
) -> Decision:
    # Lock order everywhere: people first, then relationships (as an enrolment change does): no deadlock.
    seen = await repo.get(cmd.relationship_id)
    if seen is None:
        return Decision.rejected(ReasonCode.NO_RELATIONSHIP, "no bind request has this relationship_id")
    people = await repo.lock_people(seen.provider_psn_no, seen.recipient_psn_no)
    rel = await repo.get_for_update(cmd.relationship_id)
    assert rel is not None
    if rel.recipient_psn_no != cmd.recipient_psn_no:
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "only the recipient named in the request can consent")
    recipient_now = people.get(rel.recipient_psn_no)
    if not may_act_for(
        cmd.sender, recipient_now.insuplc_admdvs if recipient_now else rel.recipient_admdvs, trusted_senders
    ):
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "a consent comes from the recipient's insured province")
    if rel.status is Status.ESTABLISHED:
        return Decision.completed(relationship_id=rel.relationship_id)  # consent was already given
    if rel.status is Status.ENDED:
        return Decision.rejected(ReasonCode.NO_RELATIONSHIP, "the bind request has ended")
    if rel.expires_at <= clock.now():
        ended = await end_relationship(repo, rel, EndReason.BIND_REQUEST_EXPIRED, None, clock)
        return Decision.rejected(ReasonCode.NO_RELATIONSHIP, "the bind request expired", ended)
    refusal = check_eligibility(people.get(rel.provider_psn_no), people.get(rel.recipient_psn_no))
    if refusal is None:
        rows = await repo.policy_rows(rel.provider_admdvs, rel.recipient_admdvs)
        standing = await repo.standing(rel.provider_psn_no, rel.recipient_psn_no, exclude=rel.relationship_id)
        refusal = check_policy(
            rel.kinship,
            standing,
            effective_policy(rel.provider_admdvs, rows),
            effective_policy(rel.recipient_admdvs, rows),
        )
    if refusal:
        return refused(cmd, rel, refusal, clock)
    now = clock.now()
    version = await repo.establish(rel.relationship_id, now)
    established = events.RelationshipEstablishedEvent(
        relationship_id=rel.relationship_id,
        version=version,
        provider_psn_no=rel.provider_psn_no,
        recipient_psn_no=rel.recipient_psn_no,
        kinship=rel.kinship,
        kinship_group=KINSHIP_GROUP[rel.kinship],
        provider_admdvs=rel.provider_admdvs,
        recipient_admdvs=rel.recipient_admdvs,
        occurred_at=now,
    )
    notice = p.RelationshipEstablished(
        relationship_id=rel.relationship_id,
        provider_psn_no=rel.provider_psn_no,
        recipient_psn_no=rel.recipient_psn_no,
        kinship=rel.kinship,
    )
    messages = [
        *to_both_provinces(rel, "relationship.established", notice),
        published(established, rel.provider_psn_no),
    ]
    return Decision.completed(messages, relationship_id=rel.relationship_id)


async def terminate(
    cmd: commands.TerminateRelationship,
    repo: RelationshipRepository,
    clock: BusinessClock,
    trusted_senders: frozenset[str] = frozenset(),
) -> Decision:
    rel = await repo.get_for_update(cmd.relationship_id)
    if rel is None:
        return Decision.rejected(ReasonCode.NO_RELATIONSHIP, "no relationship has this relationship_id")
    if cmd.requested_by_psn_no not in (rel.provider_psn_no, rel.recipient_psn_no):
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "only the provider or the recipient can end it")
    if rel.status is Status.ENDED:
        return Decision.rejected(ReasonCode.NO_RELATIONSHIP, "the relationship has already ended")
    by_provider = cmd.requested_by_psn_no == rel.provider_psn_no
    if not may_act_for(cmd.sender, rel.provider_admdvs if by_provider else rel.recipient_admdvs, trusted_senders):
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "a termination comes from the requester's insured province")
    reason = EndReason.TERMINATED_BY_PROVIDER if by_provider else EndReason.TERMINATED_BY_RECIPIENT
    messages = await end_relationship(repo, rel, reason, None, clock)
    return Decision.completed(messages, relationship_id=rel.relationship_id)


async def expire_bind_requests(conn: Conn, outbox: Outbox, clock: BusinessClock, limit: int = 100) -> int:
    """The sweep: bind requests nobody consented to in time end, and both provinces are told."""
    repo = RelationshipRepository(conn)
    expired = await repo.expired_pending(clock.now(), limit)
    messages: list[Outgoing] = []
    for rel in expired:
        messages += await end_relationship(repo, rel, EndReason.BIND_REQUEST_EXPIRED, None, clock)
    await outbox.enqueue(conn, messages)
    return len(expired)


async def set_policy(cmd: commands.SetPolicy, conn: Conn, outbox: Outbox, clock: BusinessClock) -> dict[str, Any]:
    """Operators change a region's row; validated before it is stored; the change is an event."""
    policies = PolicyRepository(conn)
    current, version = await policies.for_update(cmd.admdvs, cmd.changed_by)
    merged = {**({} if cmd.replace else current), **cmd.settings}
    for field in cmd.unset:
        merged.pop(field, None)
    stored = validate_override(merged)
    effective_policy(cmd.admdvs, {cmd.admdvs: stored})  # the row must make a valid policy
    version += 1
    await policies.save(cmd.admdvs, stored, version, cmd.changed_by)
    changed = events.PolicyChanged(
        admdvs=cmd.admdvs, settings=stored, version=version, changed_by=cmd.changed_by, occurred_at=clock.now()
    )
    await outbox.enqueue(conn, [published(changed, cmd.admdvs)])
    return stored
