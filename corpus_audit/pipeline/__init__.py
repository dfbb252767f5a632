"""The Beam pipeline: assembly, the audit DoFn, combines, readers, documents/ and tables/
writers, summary.json, checkpoints and Dataflow checks (the command line is `corpus_audit.cli`)."""
