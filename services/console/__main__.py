"""`python -m services.console`: the operators' web console (make up starts it: deploy/local/console.sh)."""

import asyncio
import sys

from services.console.app import serve
from shared.settings import START_REFUSED_EXIT, PlatformSettings, StartRefusedError

try:
    asyncio.run(serve(PlatformSettings()))
except StartRefusedError as exc:  # unsafe settings in production: named, and a status of its own
    print(f"refusing to start: {exc}", file=sys.stderr)
    sys.exit(START_REFUSED_EXIT)
