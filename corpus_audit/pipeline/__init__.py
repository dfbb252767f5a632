"""Pipeline assembly, options, input/output and the command-line interface."""
