"""``python -m nstheory`` is the same as the ``nstheory`` command."""

import sys

from nstheory.cli import main

if __name__ == "__main__":
    sys.exit(main())
