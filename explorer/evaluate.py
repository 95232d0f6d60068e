"""`python -m explorer.evaluate`: see explorer/cli/evaluate.py."""

import sys

from explorer.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
