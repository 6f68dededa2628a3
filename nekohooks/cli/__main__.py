"""``python -m nekohooks.cli``: the ``neko`` command."""

from . import run

if __name__ == "__main__":
    run()
