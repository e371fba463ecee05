"""Starting one process of the platform as deploy/local/services.sh does, to see it refuse to start."""

from __future__ import annotations

import subprocess
import sys

from tests.support.infra import REPO


def start_process(module: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m <module>` (e.g. services.wallet) to its end; the bound only ends a hung test."""
    return subprocess.run(
        [sys.executable, "-m", module], env=env, cwd=REPO, capture_output=True, text=True, timeout=180, check=False
    )
