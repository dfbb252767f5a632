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


def test_plots_drawn_in_forked_children_are_the_bytes_drawn_here(tmp_path) -> None:
    """Plots are drawn one per forked child (issue 17): each must come out as drawn serially.
    In a fresh interpreter: this one may run threads (pytest-xdist's), and then nothing forks."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from report_synthetic import make_run

    run_dir = make_run(tmp_path / "run", seed=7, documents=300)
    code = (
        "import sys\n"
        "from corpus_audit.forking import can_fork\n"
        "from corpus_audit.report.plots import render_plots\n"
        "from corpus_audit.report.run import load_run\n"
        "assert can_fork()\n"
        "run = load_run(sys.argv[1])\n"
        "serial = render_plots(run, ('png', 'svg'), processes=1)\n"
        "forked = render_plots(run, ('png', 'svg'), processes=3)\n"
        "assert sorted(forked) == sorted(serial) and len(serial) >= 8, sorted(serial)\n"
        "assert all(forked[name] == serial[name] for name in serial)\n"
        "print('SAME', len(serial))\n"
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code, str(run_dir)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0 and "SAME" in proc.stdout, proc.stderr
