"""Quality measures that need no downloaded weights (see `gan2d.metrics.frechet`)."""
