"""`python -m explorer.data`: see explorer/cli/data.py."""

import sys

from explorer.cli.data import main

sys.exit(main())
