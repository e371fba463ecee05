"""Phase 3: recipients consent (most families, every household, the Shandong mother to her first provider); then a
second provider tries Shandong's one-provider rule."""

from __future__ import annotations

from tools.simulator.messages import bind, confirmation
from tools.simulator.model import Person, Plan
from tools.simulator.state import RunState


def consents(state: RunState) -> Plan:
    out: Plan = []
    consenting = state.families[: max(1, len(state.families) * 4 // 5)]  # the rest stay pending
    mother = state.scripted().jinan_mother
    who: list[tuple[Person, str]] = [(recipient, msgid) for _, recipient, msgid in consenting]
    who += [(relative, msgid) for _, relative, msgid in state.households]
    who.append((mother, state.jinan_first))
    for recipient, msgid in who:
        rid = state.relationship_id(msgid)
        if rid:
            out.append(("ingress.relationship.v1", confirmation(state, rid, recipient), recipient.psn_no, "completed"))
    state.established = [f for f in consenting if state.relationship_id(f[2])]
    return out


def second_providers(state: RunState) -> Plan:
    policy = state.scripted()
    second = bind(state, policy.jinan_children[1], policy.jinan_mother, "parent")
    return [("ingress.relationship.v1", second, policy.jinan_children[1].psn_no, "rejected POLICY_LIMIT")]
