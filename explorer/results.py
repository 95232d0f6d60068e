"""`python -m explorer.results`: see explorer/cli/results.py."""

import sys

from explorer.cli.results import main

if __name__ == "__main__":
    sys.exit(main())
