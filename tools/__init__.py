"""tools: the application layer — one module per job, each a library function plus a CLI command."""
