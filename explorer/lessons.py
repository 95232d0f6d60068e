"""`python -m explorer.lessons`: see explorer/ui/lessons.py."""

import sys

from explorer.ui.lessons import main

if __name__ == "__main__":
    sys.exit(main())
