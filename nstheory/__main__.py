"""``python -m nstheory`` is the same as the ``nstheory`` command."""

import sys

from nstheory.cli import main

sys.exit(main())
