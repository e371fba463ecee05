"""`python -m tools.contracts [--check]`."""

import sys

from tools.contracts.generate import main

sys.exit(main())
