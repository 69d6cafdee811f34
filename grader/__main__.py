"""``python -m grader``: the same as the ``nngrade`` command."""

import sys

from grader.cli import main

sys.exit(main())
