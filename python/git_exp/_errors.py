"""The exceptions the client raises: one type, `Error`, and its config subtype."""


class Error(Exception):
    """Raised when git-exp cannot do what was asked; the message says why and what to do."""


class ConfigError(Error):
    """Raised by the W&B-compatible config when a key would change without allow_val_change."""
