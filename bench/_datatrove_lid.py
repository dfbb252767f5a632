#!/usr/bin/env python
"""datatrove's LID step for bench/peers.py: JsonlReader → LanguageFilter, one task, local model.

datatrove is not a dependency of corpus-audit; install it yourself to compare
(``.venv/bin/pip install datatrove``, tested with 0.10.x; it needs ``fasttext`` importable,
which ``fasttext-predict`` provides). Its LanguageFilter downloads lid.176.bin on first use;
here its model object is given the pipeline's own ``lid.176.ftz`` and k=1 instead (``--k -1``:
datatrove's default, every label's score). Nothing is written but datatrove's logs in OUT.

    python bench/_datatrove_lid.py DIR MODEL OUT [--k 1]
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    import fasttext
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import LanguageFilter
    from datatrove.pipeline.readers import JsonlReader

    directory, model_path, out = argv[0], argv[1], argv[2]
    k = int(argv[argv.index("--k") + 1]) if "--k" in argv else 1
    try:
        step = LanguageFilter(languages=None, language_threshold=0.5)
    except TypeError:  # older datatrove: languages must be a tuple
        step = LanguageFilter(language_threshold=0.5)
    lid = step.model
    lid._model = fasttext.load_model(model_path)  # the local lid.176.ftz, not a download
    if hasattr(lid, "k"):
        lid.k = k
    reader = JsonlReader(directory, glob_pattern="*.jsonl.gz", compression="gzip")
    LocalPipelineExecutor(pipeline=[reader, step], tasks=1, workers=1, logging_dir=out).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
