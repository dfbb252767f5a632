"""Dataflow: check a job before it is submitted, and ``--dry-run`` (build and validate, never run).

``corpus-audit run gs://... --output gs://... --runner DataflowRunner --dry-run`` builds the
whole graph with the Dataflow options, validates those options the way Beam does before a
submission (project, region, job name, temp/staging locations, worker options), converts the
graph to the Beam runner API (every DoFn and CombineFn pickled, as the service receives
them) and back (unpickled, as a worker would), and prints a job summary. It contacts no
service and touches no ``gs://`` path: remote inputs are not listed, the output location is
not cleared, the bucket checks Beam does online (default bucket, soft-delete policy) are
left out.

It also warns (`gpu_warnings`) when GPU workers would load one toxicity model per core:
Dataflow starts one SDK worker process per vCPU, and RunInference loads its model once per
process, so without ``--experiments=no_use_multiple_sdk_containers`` (one process per worker
VM, whose threads share one model) a g2-standard-8 puts 8 models and 8 CUDA contexts on its
one GPU.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
from typing import Any, Iterator

from corpus_audit.errors import UsageError
from corpus_audit.readers import InputFile, detect_format, expand_inputs

__all__ = ["ONE_SDK_PROCESS_EXPERIMENT", "SHIPPING_OPTIONS", "check_dataflow_options", "dry_run", "dry_run_inputs",
           "format_summary", "gpu_warnings", "is_dataflow", "make_pipeline", "offline_validation"]

#: The Dataflow experiment that runs one SDK worker process per worker VM (default: one per vCPU).
ONE_SDK_PROCESS_EXPERIMENT = "no_use_multiple_sdk_containers"

#: What Dataflow workers need to import corpus-audit (one of these must be given).
SHIPPING_OPTIONS = ("--setup_file", "--extra_package", "--sdk_container_image")


def is_dataflow(runner: str) -> bool:
    """Whether ``--runner`` names Google Cloud Dataflow."""
    return "dataflow" in runner.lower()


def dry_run_inputs(inputs: list[str]) -> tuple[list[InputFile], list[str]]:
    """Inputs for ``--dry-run``: local ones listed as in a run, remote ones taken as given
    (not listed, so nothing remote is read; their format guessed from the name)."""
    local = [path for path in inputs if "://" not in path]
    found, ignored = expand_inputs(local) if local else ([], [])
    remote = [InputFile(path, detect_format(path) or "listed_at_run_time") for path in inputs if "://" in path]
    return [*found, *remote], ignored


def check_dataflow_options(options) -> None:
    """Fail early (before anything is written) when Dataflow workers could not run the job."""
    from apache_beam.options.pipeline_options import DebugOptions, SetupOptions, WorkerOptions

    setup = options.view_as(SetupOptions)
    worker = options.view_as(WorkerOptions)
    image = worker.sdk_container_image
    if not (setup.setup_file or setup.extra_packages or image):
        raise UsageError("DataflowRunner workers need corpus-audit installed: pass --setup_file "
                         "/path/to/corpus-audit/pyproject.toml (builds an sdist; needs the `build` package), "
                         "--extra_package dist/corpus_audit-<version>-py3-none-any.whl, or --sdk_container_image "
                         "IMAGE (see the Dockerfile); see README 'Running on Dataflow'")
    if setup.setup_file:
        if os.path.basename(setup.setup_file) not in ("setup.py", "pyproject.toml"):
            raise UsageError(f"--setup_file must name a setup.py or pyproject.toml, got {setup.setup_file}")
        if not os.path.isfile(setup.setup_file):
            raise UsageError(f"--setup_file not found: {setup.setup_file}")
        if os.path.basename(setup.setup_file) == "pyproject.toml" and importlib.util.find_spec("build") is None:
            # Beam builds the sdist it ships with `python -m build` at submission: fail here, not there.
            raise UsageError("--setup_file pyproject.toml needs the `build` package to make the sdist Dataflow "
                             "workers install: pip install build")
    for package in setup.extra_packages or []:
        if "://" not in package and not os.path.isfile(package):
            raise UsageError(f"--extra_package not found: {package}")
    services = options.view_as(_google_cloud_options()).dataflow_service_options or []
    if any(option.startswith("worker_accelerator=") for option in services):
        experiments = options.view_as(DebugOptions).experiments or []
        if "use_runner_v2" not in experiments:
            raise UsageError("GPU workers (worker_accelerator) need Dataflow Runner v2: add --experiments=use_runner_v2")


def gpu_warnings(options, analyses: list) -> list[str]:
    """Warnings for a Dataflow job whose GPU workers would load one model per core: a scored
    stage (toxicity), ``worker_accelerator``, and not one SDK process per worker VM."""
    from apache_beam.options.pipeline_options import DebugOptions, StandardOptions, WorkerOptions

    from corpus_audit.transforms.base import ScoredAnalysis

    if not is_dataflow(options.view_as(StandardOptions).runner or ""):
        return []
    services = options.view_as(_google_cloud_options()).dataflow_service_options or []
    if not any(option.startswith("worker_accelerator=") for option in services):
        return []
    if not any(isinstance(analysis, ScoredAnalysis) for analysis in analyses):
        return []
    if ONE_SDK_PROCESS_EXPERIMENT in (options.view_as(DebugOptions).experiments or []):
        return []
    machine = options.view_as(WorkerOptions).machine_type or ""
    cores = re.search(r"-(\d+)$", machine)
    per_core = f"{cores.group(1)} models on a {machine}" if cores else "one model per vCPU"
    return [f"GPU workers would load one toxicity model per core ({per_core}): Dataflow starts one SDK worker "
            "process per vCPU and RunInference loads its model once per process, each with its own CUDA context "
            f"on the same GPU; add --experiments={ONE_SDK_PROCESS_EXPERIMENT} (one process per worker VM, its "
            "threads share one model on the GPU; README 'Running on Dataflow')"]


def _google_cloud_options():
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    return GoogleCloudOptions


@contextlib.contextmanager
def offline_validation() -> Iterator[None]:
    """Beam's option validation with the online bucket checks replaced by format checks.

    ``GoogleCloudOptions`` validation looks up the temp/staging buckets (soft-delete
    policy, or creates a default bucket when neither is given); a dry run must not.
    """
    cls = _google_cloud_options()
    online = cls._handle_temp_and_staging_locations  # noqa: SLF001

    def formats_only(self, validator) -> list[str]:
        temp_errors = validator.validate_gcs_path(self, "temp_location")
        staging_errors = validator.validate_gcs_path(self, "staging_location")
        if temp_errors and staging_errors:
            return temp_errors  # Beam would try a default bucket here (online)
        if temp_errors:
            self.temp_location = self.staging_location
        elif staging_errors:
            self.staging_location = self.temp_location
        return []

    cls._handle_temp_and_staging_locations = formats_only  # noqa: SLF001
    try:
        yield
    finally:
        cls._handle_temp_and_staging_locations = online  # noqa: SLF001


def make_pipeline(options, dry_run: bool):
    """``beam.Pipeline(options)``; Beam validates the options here (offline for a dry run)."""
    import apache_beam as beam

    context = offline_validation() if dry_run else contextlib.nullcontext()
    try:
        with context:
            return beam.Pipeline(options=options)
    except ValueError as exc:  # Beam: "Invalid GCS path ...", "Missing required option: project"
        raise UsageError(f"invalid pipeline options: {' '.join(str(exc).split())}") from exc


def dry_run(pipeline, options, config) -> dict[str, Any]:
    """Check the built graph round-trips through the runner API; the job summary."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import (DebugOptions, GoogleCloudOptions, SetupOptions,
                                                      StandardOptions, WorkerOptions)

    proto = pipeline.to_runner_api()  # pickles every DoFn/CombineFn, as a submission does
    with offline_validation():  # from_runner_api validates the options again
        rebuilt = beam.Pipeline.from_runner_api(proto, pipeline.runner, options)  # unpickles them, as a worker does
    leaves = sorted({t.unique_name for t in proto.components.transforms.values() if not t.subtransforms})
    cloud = options.view_as(GoogleCloudOptions)
    worker = options.view_as(WorkerOptions)
    setup = options.view_as(SetupOptions)
    return {
        "runner": options.view_as(StandardOptions).runner,
        "project": cloud.project,
        "region": cloud.region,
        "job_name": cloud.job_name,
        "temp_location": cloud.temp_location,
        "staging_location": cloud.staging_location,
        "service_options": cloud.dataflow_service_options or [],
        "experiments": options.view_as(DebugOptions).experiments or [],
        "workers": {"machine_type": worker.machine_type, "num_workers": worker.num_workers,
                    "max_num_workers": worker.max_num_workers, "sdk_container_image": worker.sdk_container_image},
        "ships": {"setup_file": setup.setup_file, "extra_packages": setup.extra_packages or [],
                  "requirements_file": setup.requirements_file},
        "inputs": [item.path for item in config.inputs],
        "output": config.output_dir,
        "checkpoint_dir": config.checkpoints.directory if config.checkpoints else None,
        "stages": [analysis.name for analysis in config.analyses],
        "transforms": len(proto.components.transforms),
        "primitive_transforms": leaves,
        "rebuilt_transforms": len(rebuilt.to_runner_api().components.transforms),
        "warnings": gpu_warnings(options, config.analyses),
    }


def format_summary(summary: dict[str, Any]) -> str:
    """The dry run's job summary as printed on stdout."""
    lines = ["corpus-audit: dry run: the pipeline was built and validated; nothing was submitted, read or written"]
    for key, value in summary.items():
        if key == "primitive_transforms":
            lines.append(f"  {key}: {len(value)}")
            lines += [f"    {name}" for name in value]
        elif key == "warnings":
            lines += [f"  WARNING: {warning}" for warning in value]
        else:
            lines.append(f"  {key}: {value}")
    return "\n".join(lines)
