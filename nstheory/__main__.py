"""``python -m nstheory`` is the same as the ``nstheory`` command."""

import sys

from nstheory.cli import entry

if __name__ == "__main__":
    sys.exit(entry())
