"""The run-directory format: manifest and lock (`run_directory`), ``summary.json`` (`summary`),
``tables/`` (`tables`), ``documents/*.parquet`` (`document_writer`) and dolma attribute files
(`attributes`). Reports read a run through this package only; it imports no engine."""
