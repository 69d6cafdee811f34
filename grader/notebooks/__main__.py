import sys

from grader.notebooks.cli import main

sys.exit(main())
