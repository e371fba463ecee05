"""`python -m services.console`: the operators' web console (make up starts it: deploy/local/console.sh)."""

import asyncio

from services.console.app import serve
from shared.settings import PlatformSettings

asyncio.run(serve(PlatformSettings()))
