"""One module per analysis stage, each holding that stage's report: its row selectors, its plot
and its datasheet section (a ``SECTION``, see `corpus_audit.report.registry.ReportSection`).

An analysis names its module itself (``Analysis.REPORT_SECTION`` in its transforms/ module):
nothing is listed here. A stage without one gets `generic.generic_section`. The order of the
sections is the stages' (`corpus_audit.transforms.STAGES`).
"""
