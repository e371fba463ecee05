"""The province interface is binding: golden examples, committed schemas, topics and codes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from shared.contracts.envelope import RawEnvelope
from shared.contracts.province import ALL_MESSAGES, INGRESS, NOTIFICATIONS, RequestResult
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import EVENT_TOPICS, INGRESS_TOPICS, PROVINCE_TOPICS, dlq_topic
from tools.contracts import OUT, generate
from tools.topics import load_manifest

REPO = Path(__file__).resolve().parents[2]
CONTRACT = REPO.parent / "shared" / "contract"
# The interface's golden examples, and ours of the v1.1 types (the interface gives none)
EXAMPLES = sorted((CONTRACT / "examples").glob("*.json")) + sorted((REPO / "docs" / "examples").glob("*.json"))
INTERFACE = CONTRACT / "PROVINCE_INTERFACE.md"


def test_the_golden_examples_are_there() -> None:
    assert len(EXAMPLES) >= 11, (
        f"expected the golden examples in {CONTRACT / 'examples'} and {REPO / 'docs' / 'examples'}"
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_golden_example_parses_with_the_models(path: Path) -> None:
    raw = RawEnvelope.model_validate_json(path.read_text())
    body = ALL_MESSAGES[raw.type].model_validate(raw.body)
    assert body is not None


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_golden_example_validates_against_the_committed_json_schema(path: Path) -> None:
    message = json.loads(path.read_text())
    schema = json.loads((OUT / "jsonschema" / f"{message['type']}.json").read_text())
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(message)]
    assert errors == []


def test_committed_contracts_are_what_the_code_generates() -> None:
    for name, text in generate().items():
        committed = OUT / name
        assert committed.exists(), f"docs/contracts/{name} missing: run make contracts"
        assert committed.read_text() == text, f"docs/contracts/{name} is stale: run make contracts"


def test_every_type_of_the_interface_has_a_model_and_an_owner() -> None:
    text = INTERFACE.read_text()
    ingress_section = text.split("## Ingress topics")[1].split("## Egress topics")[0]
    table_rows = [line for line in ingress_section.splitlines() if line.startswith("| `ingress.")]
    named = {t for row in table_rows for t in re.findall(r"`([a-z]+\.[a-z-]+)`", row.split("|")[2])}
    v11 = text.split("## v1.1 additions")[1]
    v11_rows = [line for line in v11.split("Egress")[0].splitlines() if line.startswith("| `ingress.")]
    v11_named = {t for row in v11_rows for t in re.findall(r"`([a-z]+\.[a-z-]+)`", row.split("|")[2])}
    assert named <= set(INGRESS) <= named | v11_named
    assert v11_named <= set(INGRESS)
    egress = text.split("Province notifications use the same envelope")[1].split("## Rejection")[0]
    notes = set(re.findall(r"^- `([a-z]+\.[a-z-]+)`", egress, re.MULTILINE))
    notes |= set(re.findall(r", `([a-z]+\.[a-z-]+)`", egress))
    assert notes <= set(NOTIFICATIONS)
    assert {"request.result", "transfer.pending", "settlement.completed"} <= notes


def test_every_reason_code_of_the_interface_exists_with_its_meaning() -> None:
    section = INTERFACE.read_text().split("## Rejection reason codes")[1].split("##")[0]
    codes = set(re.findall(r"`([A-Z_]+)`", section))
    assert codes <= {c.value for c in ReasonCode}
    assert len(codes) == 23


def test_every_topic_the_code_uses_is_in_the_manifest() -> None:
    manifest = {t.name for t in load_manifest()}
    used = (
        set(INGRESS_TOPICS) | {dlq_topic(t) for t in INGRESS_TOPICS} | set(EVENT_TOPICS.values()) | set(PROVINCE_TOPICS)
    )
    assert used <= manifest
    assert len(PROVINCE_TOPICS) == 31


def test_request_result_wire_form_matches_the_golden_example() -> None:
    example: dict[str, Any] = json.loads((CONTRACT / "examples" / "request.result.json").read_text())
    result = RequestResult.model_validate(example["body"])
    assert result.wire() == example["body"]


def test_no_certno_field_in_anything_the_platform_writes() -> None:
    for type_name in NOTIFICATIONS:
        schema = json.dumps(json.loads((OUT / "jsonschema" / f"{type_name}.json").read_text()))
        assert "certno" not in schema.replace("certno_hash", ""), type_name
    for path in (OUT / "jsonschema").glob("*.json"):
        if path.stem.startswith(("wallet.", "relationship.", "payment.", "clearing.")):
            assert '"certno"' not in path.read_text(), path.name
