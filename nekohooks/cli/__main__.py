"""``python -m nekohooks.cli``: the ``neko`` command."""

from . import main

if __name__ == "__main__":
    main()
