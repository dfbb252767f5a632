"""``python -m corpus_audit`` is the ``corpus-audit`` command."""

import sys

from corpus_audit.cli import main

sys.exit(main())
