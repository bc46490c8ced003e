import sys

from rsic_core.cli import main

sys.exit(main())
