"""Errors raised by the application layer for bad command-line input."""


class ToolError(Exception):
    """A job cannot run with the given input; the message says what was wrong."""
