"""Phase 2: families bind relatives across provinces, and recipients open wallets; with refused cases (not a close
relative, identity mismatch, pooling-only provider, suspended recipient, unknown person, duplicates, Tianjin's
cap)."""

from __future__ import annotations

from tools.simulator.messages import bind, envelope
from tools.simulator.model import KINSHIPS, REGIONS, Person, Plan
from tools.simulator.state import RunState


def bind_requests(state: RunState) -> Plan:
    crowd = state.people[: state.people_wanted]  # the scripted policy families stay out of the random ones
    providers = [p for p in crowd if p.may_provide and p.region != "120100"][: max(4, len(crowd) // 5)]
    taken = {p.psn_no for p in providers}
    receivers = [p for p in crowd if p.may_receive and p.psn_no not in taken]
    state.rng.shuffle(receivers)
    out: Plan = []
    state.families = []
    for provider in providers:
        # Each recipient once, in another province: no regional rule (one provider per recipient) is hit.
        recipient = next((r for r in receivers if r.region != provider.region), None)
        if recipient is None:
            break
        receivers.remove(recipient)
        kinship = state.rng.choice(KINSHIPS)
        msg = bind(state, provider, recipient, kinship)
        state.families.append((provider, recipient, msg["msgid"]))
        out.append(("ingress.relationship.v1", msg, provider.psn_no, "accepted"))
    state.households = []
    for head, relative, kinship in state.household_members:
        msg = bind(state, head, relative, kinship)
        state.households.append((head, relative, msg["msgid"]))
        out.append(("ingress.relationship.v1", msg, head.psn_no, "accepted"))
    return out + open_wallets(state) + refused(state) + policy_limits(state)


def open_wallets(state: RunState) -> Plan:
    """Recipients open wallets (most of them; a Lanzhou one where the wallet function is off is refused)."""
    out: Plan = []
    state.with_wallet = set()
    for _, recipient, _ in state.families[: len(state.families) * 9 // 10]:
        enabled = REGIONS[recipient.region][1]
        body = {"psn_no": recipient.psn_no, "usage_admdvs": recipient.region, "phone": "13800000000"}
        msg = envelope(state, "wallet.open-requested", body, recipient.region)
        out.append(
            ("ingress.wallet.v1", msg, recipient.psn_no, "completed" if enabled else "rejected REGION_NOT_ENABLED")
        )
        if enabled:
            state.with_wallet.add(recipient.psn_no)
    return out


def refused(state: RunState) -> Plan:
    """Bind requests refused, each with its reason."""
    p0, r0, _ = state.families[0]
    pooling_only = next(p for p in state.people if p.insutype == "310" and not p.account and p.status == "1")
    suspended = next(p for p in state.people if p.status != "1")
    stranger = Person("99" + "0" * 18, "0", "无名", "440300", "390", False, "1")
    return [
        ("ingress.relationship.v1", msg, key, expect)
        for msg, key, expect in (
            (bind(state, p0, r0, "friend"), p0.psn_no, "rejected NOT_CLOSE_RELATIVE"),
            (bind(state, p0, r0, "parent", name="别人"), p0.psn_no, "rejected IDENTITY_MISMATCH"),
            (bind(state, pooling_only, r0, "sibling"), pooling_only.psn_no, "rejected NOT_ELIGIBLE_PROVIDER"),
            (bind(state, p0, suspended, "spouse"), p0.psn_no, "rejected NOT_ELIGIBLE_RECIPIENT"),
            (bind(state, p0, stranger, "child"), p0.psn_no, "rejected UNKNOWN_PERSON"),
            (bind(state, p0, r0, "child"), p0.psn_no, "rejected RELATIONSHIP_EXISTS"),
        )
    ]


def policy_limits(state: RunState) -> Plan:
    """Tianjin: at most four children, siblings and grandchildren together (same provider, same partition).
    Shandong: the mother's first provider (the second tries after her consent)."""
    out: Plan = []
    policy = state.scripted()
    for i, relative in enumerate(policy.tianjin_family):
        msg = bind(state, policy.tianjin, relative, "child")
        expect = "accepted" if i < 4 else "rejected POLICY_LIMIT"
        out.append(("ingress.relationship.v1", msg, policy.tianjin.psn_no, expect))
    first = bind(state, policy.jinan_children[0], policy.jinan_mother, "parent")
    state.jinan_first = first["msgid"]
    out.append(("ingress.relationship.v1", first, policy.jinan_children[0].psn_no, "accepted"))
    return out
