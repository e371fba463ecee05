"""docs/integrators.md quotes its snippets from the example clients that tests/e2e/test_integrators.py runs: each
quoted block must still be in its file, word for word, so the page never shows code that was not run."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "integrators.md"
EXAMPLES = REPO / "docs" / "examples" / "integrators"
QUOTED = re.compile(r"<!-- from (\S+) -->\n```\w*\n(.*?)```\n", re.S)


def test_every_snippet_of_the_integrators_page_is_quoted_from_an_example_that_is_run() -> None:
    quotes = QUOTED.findall(DOC.read_text())
    assert len(quotes) >= 10
    for path, block in quotes:
        assert path.startswith("docs/examples/integrators/"), path
        assert block in (REPO / path).read_text(), (
            f"docs/integrators.md quotes from {path} what it no longer says:\n{block}"
        )


def test_the_examples_the_page_names_exist() -> None:
    for path in re.findall(r"docs/examples/integrators/[\w.]+", DOC.read_text()):
        assert (REPO / path).is_file(), path


def example_client() -> ModuleType:
    spec = importlib.util.spec_from_file_location("integrators_client", EXAMPLES / "client.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def test_the_python_example_believes_only_answers_the_platform_signed() -> None:
    """An answer is matched by its omsgid, so a forged one naming the integrator's msgid must fail the check: the
    example's `verified` takes the platform's key only, over the exact bytes."""
    client = example_client()
    platform, province = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys = {"platform-1": platform.public_key()}
    answer = {"msgid": "000000202612071015000001", "type": "request.result", "sender": "000000"}
    value = json.dumps({**answer, "sent_at": "2026-12-07T10:15:00+08:00", "body": {"omsgid": "x"}}).encode()

    def signed(key: Ed25519PrivateKey, key_id: str, data: bytes = value) -> dict[str, bytes]:
        envelope = json.loads(data)
        fields = (envelope["msgid"], envelope["type"], envelope["sender"], envelope["sent_at"])
        signature = key.sign(client.signing_input(key_id, *fields, data))
        return {
            "medaid-sig-alg": b"ed25519",
            "medaid-key-id": key_id.encode(),
            "medaid-signature": client.b64url_encode(signature).encode(),
        }

    assert client.verified(value, signed(platform, "platform-1"), keys)
    assert not client.verified(value, signed(province, "platform-1"), keys), "another key under the platform's id"
    assert not client.verified(value, signed(province, "440000-local"), keys), "a key that is not the platform's"
    assert not client.verified(value, {}, keys), "unsigned"
    tampered = value.replace(b'"omsgid": "x"', b'"omsgid": "y"')
    assert not client.verified(tampered, signed(platform, "platform-1"), keys), "a changed byte"
    as_province = value.replace(b'"sender": "000000"', b'"sender": "440300"')
    assert not client.verified(as_province, signed(platform, "platform-1", as_province), keys), "not the platform's"
