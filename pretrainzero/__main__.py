import sys

from pretrainzero.cli import main

sys.exit(main())
