"""Plot rendering stays cheap (issue 17): log-scale axes are labelled with plain numbers, so no
plot goes through matplotlib's mathtext (whose parser costs ~1 CPU s to build)."""

from __future__ import annotations

import io

from corpus_audit.report.plots import new_figure, plain_log_ticks


def test_log_axis_labels_are_plain_numbers_without_mathtext() -> None:
    figure = new_figure(4.0, 3.0)
    ax = figure.add_subplot()
    ax.barh([0, 1, 2], [3, 40, 2500])
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlim(0.7, 20000)
    figure.savefig(io.BytesIO(), format="png")
    major = [label.get_text() for label in ax.xaxis.get_majorticklabels() if 0.7 <= label.get_position()[0] <= 20000]
    assert major == ["1", "10", "100", "1,000", "10,000"]
    assert all(label.get_text() == "" for label in ax.xaxis.get_minorticklabels())
    assert not any("$" in text for text in major)


def test_log_scale_plots_of_a_run_use_no_mathtext(tmp_path) -> None:
    from report_synthetic import make_run

    from corpus_audit.report.registry import default_registry
    from corpus_audit.report.run import load_run

    run = load_run(str(make_run(tmp_path / "run", seed=5, documents=300)))
    sections = default_registry()
    for name in ("languages", "toxicity"):  # the two log-scale plots
        figure = sections.get(name).plot(run)
        figure.savefig(io.BytesIO(), format="png")
        ax = figure.axes[0]
        axis = ax.xaxis if name == "languages" else ax.yaxis
        labels = [label.get_text() for label in axis.get_majorticklabels() + axis.get_minorticklabels()]
        assert labels and not any("$" in text for text in labels), (name, labels)
        assert any(text.replace(",", "").isdigit() for text in labels), (name, labels)
