"""One module per run kind; each defines `KIND` (see `tools.view.detect`)."""
