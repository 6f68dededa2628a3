"""nekohooks: plugins as packages, pluggy hooks, a trio runner."""

__version__ = "0.1.0"
