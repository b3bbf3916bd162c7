"""One error tree for edgebrain; each error also inherits the built-in it resembles."""

from __future__ import annotations


class EdgebrainError(Exception):
    """Root of every error edgebrain raises on purpose."""

    code = "error"


class ConfigError(EdgebrainError, ValueError):
    """A setting, file or argument is wrong."""

    code = "config"


class RegistryError(EdgebrainError, ValueError):
    """A device registry file breaks the schema or the registry rules."""

    code = "registry"


class CommandError(EdgebrainError, ValueError):
    """A command is not valid against the schema or the registry."""

    code = "invalid_command"


class InputError(EdgebrainError, ValueError):
    """An utterance cannot be taken (empty, binary, too long); ``code`` names the problem for replies."""

    code = "bad_input"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class ModelError(EdgebrainError, RuntimeError):
    """The language model file is missing, corrupt or cannot be loaded."""

    code = "model"
