"""The engines that run an audit: in process (`corpus_audit.engine.local`, forked workers) and on
Apache Beam (`corpus_audit.engine.assembly`: Direct, Portable, Dataflow), and what both share
below them: per-document work (`work`), accumulator merging (`combine`), scoring, checkpoints and
progress. Engines write through `corpus_audit.rundir`, never the other way round."""
