"""corpus-audit: audit an LLM pretraining corpus (Llama 2 §4.1 and beyond) on Apache Beam."""

__version__ = "0.1.0"
