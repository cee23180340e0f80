"""``python -m pretrainzero ...`` is the ``pretrainzero`` console script."""

import sys

from .cli import main

sys.exit(main())
