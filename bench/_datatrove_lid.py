#!/usr/bin/env python
"""datatrove's LID step for bench/peers.py: JsonlReader → LanguageFilter, one task, local model.

datatrove is not a dependency of corpus-audit; install it yourself to compare
(``.venv/bin/pip install datatrove``, tested with 0.10.1). Its LanguageFilter asks for the
``fasttext-numpy2-wheel`` distribution; the ``fasttext`` module of ``fasttext-predict`` (the one
corpus-audit uses) serves the same calls (its scores wrapped in a numpy array, as the official
package returns them), so that distribution check is relaxed here. The
filter downloads lid.176.bin on first use; here its model object is given the pipeline's own
``lid.176.ftz`` and k=1 instead (``--k -1``: datatrove's default, every label's score).
Nothing is written but datatrove's logs in OUT. ``--tasks N``: N tasks on N local workers
(datatrove's own way to use N cores; the files are shared among the tasks).

    python bench/_datatrove_lid.py DIR MODEL OUT [--k 1] [--tasks 1]
"""

from __future__ import annotations

import sys


class NumpyScores:
    """fasttext-predict's model with the official ``fasttext`` package's return type (scores as
    a numpy array, which datatrove calls ``.item()`` on)."""

    def __init__(self, model) -> None:
        self.model = model

    def predict(self, text: str, k: int = 1):
        import numpy

        labels, scores = self.model.predict(text, k=k)
        return labels, numpy.asarray(scores)


def main(argv: list[str]) -> int:
    import fasttext
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import LanguageFilter
    from datatrove.pipeline.readers import JsonlReader

    directory, model_path, out = argv[0], argv[1], argv[2]
    k = int(argv[argv.index("--k") + 1]) if "--k" in argv else 1
    tasks = int(argv[argv.index("--tasks") + 1]) if "--tasks" in argv else 1
    import datatrove.pipeline.base as base

    check = base.check_required_dependencies

    def check_but_fasttext(step_name, dependencies):  # fasttext-predict's module stands in
        check(step_name, [d for d in dependencies if not (isinstance(d, tuple) and d[0] == "fasttext")])

    base.check_required_dependencies = check_but_fasttext
    step = LanguageFilter(languages=None, language_threshold=0.5)
    lid = step.model

    class LocalModel(type(lid)):  # the local lid.176.ftz, loaded in the task, not a download
        @property
        def model(self):
            if self._model is None:
                self._model = NumpyScores(fasttext.load_model(model_path))
            return self._model

    lid.__class__ = LocalModel
    lid.k = k
    reader = JsonlReader(directory, glob_pattern="*.jsonl.gz", compression="gzip")
    # forked tasks inherit the relaxed dependency check (forkserver ones would import datatrove afresh)
    LocalPipelineExecutor(pipeline=[reader, step], tasks=tasks, workers=tasks, logging_dir=out,
                          start_method="fork").run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
