"""`make test` on a fresh machine (issue 29): what the tests need from Debian is installed by
deploy/local/needs.sh as root (or with sudo), or named in one line; the Makefile names all of it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NEEDS = str(REPO / "deploy" / "local" / "needs.sh")


def run_needs(*needs: str) -> subprocess.CompletedProcess[str]:
    as_someone_else = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []  # root would install
    return subprocess.run([*as_someone_else, NEEDS, *needs], capture_output=True, text=True, check=False)


def test_what_is_there_is_left_alone_in_silence() -> None:
    done = run_needs("sh:dash", "/bin/s*:coreutils")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_what_cannot_be_installed_is_named_in_one_line() -> None:
    done = run_needs("sh:dash", "no-such-command-29:no-such-package-29", "/no/such/*/initdb:postgresql")
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert "no-such-package-29 postgresql" in line and "dash" not in line and "apt-get install -y" in line


def test_make_test_needs_what_the_browser_test_drives() -> None:
    from tests.e2e.test_console import CHROMEDRIVER, CHROMIUM

    makefile = (REPO / "Makefile").read_text()
    needs = re.search(r"^TEST_NEEDS \?=(.*?)(?<!\\)$", makefile, re.M | re.S)
    assert needs is not None
    commands = {n.split(":")[0] for n in needs.group(1).replace("\\\n", " ").split()}
    assert {Path(CHROMIUM).name, Path(CHROMEDRIVER).name, "java", "prometheus"} <= commands
    assert "deploy/local/needs.sh $(TEST_NEEDS)" in makefile.split("\ntest:")[1].split("\n\n")[0]
