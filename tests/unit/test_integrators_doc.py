"""docs/integrators.md quotes its snippets from the example clients that tests/e2e/test_integrators.py runs: each
quoted block must still be in its file, word for word, so the page never shows code that was not run."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "integrators.md"
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
