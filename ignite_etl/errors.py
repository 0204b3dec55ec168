"""Errors that reach an operator: each says what is wrong and what to do about it."""


class ConfigurationError(Exception):
    """The environment or configuration is incomplete or wrong; the message says what to set."""


class DatabaseUnavailable(ConfigurationError):
    """The database URL is malformed or its server does not answer."""
