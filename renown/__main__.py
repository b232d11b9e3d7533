import sys

from renown.cli import main

sys.exit(main())
