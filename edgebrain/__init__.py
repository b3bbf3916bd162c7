"""edgebrain: an offline brain for the smart home."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("edgebrain")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
