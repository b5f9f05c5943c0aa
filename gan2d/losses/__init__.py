"""Losses and regularizers: pure functions of logits, features and images (plus small stateful helpers)."""
