"""Errors the user sees. The CLI prints the message and exits with status 1."""


class SwarmletError(Exception):
    """An error with a message meant for the user, in Docker's words where Docker has some."""
