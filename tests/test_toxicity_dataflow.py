"""``--dry-run`` of a Dataflow job with GPU workers warns when toxicity would load one model per
core (one SDK process per vCPU), and not with one SDK process per worker VM."""

from __future__ import annotations

from pathlib import Path

from corpus_audit.cli import main

REPO_ROOT = Path(__file__).resolve().parent.parent
BUCKET = "gs://corpus-audit-test-bucket"
DATAFLOW = ["run", f"{BUCKET}/corpus/shard-*.jsonl.gz", "--output", f"{BUCKET}/audit", "--dry-run", "--quiet",
            "--runner", "DataflowRunner", "--project", "my-project", "--region", "us-central1",
            "--temp_location", f"{BUCKET}/tmp", "--sdk_container_image", "us-docker.pkg.dev/p/i/corpus-audit-gpu:0.1",
            "--toxicity-model", "/nonexistent-model"]  # offline: the stage is still in the graph
GPU = ["--dataflow_service_options", "worker_accelerator=type:nvidia-l4;count:1;install-nvidia-driver",
       "--machine_type", "g2-standard-8"]


def test_gpu_dry_run_warns_about_one_model_per_core(capsys, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main([*DATAFLOW, *GPU, "--experiments=use_runner_v2"]) == 0
    out = capsys.readouterr().out
    assert "WARNING: GPU workers would load one toxicity model per core (8 models on a g2-standard-8)" in out
    assert "--experiments=no_use_multiple_sdk_containers" in out

    assert main([*DATAFLOW, *GPU, "--experiments=use_runner_v2",
                 "--experiments=no_use_multiple_sdk_containers"]) == 0
    assert "WARNING" not in capsys.readouterr().out
    for other in (["--experiments=use_runner_v2"], [*GPU, "--experiments=use_runner_v2", "--stages", "langid"]):
        assert main([*DATAFLOW, *other]) == 0  # no GPU, or no toxicity stage: nothing to warn about
        assert "WARNING" not in capsys.readouterr().out
