"""``python -m corpus_audit`` is the ``corpus-audit`` command."""

import sys

from corpus_audit.pipeline.cli import main

sys.exit(main())
