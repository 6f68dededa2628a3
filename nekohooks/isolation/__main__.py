"""The processes isolation starts: ``python -m nekohooks.isolation child|forkserver|describe ARG``."""

import sys


def _main() -> None:
    command, argument = sys.argv[1], sys.argv[2]
    if command == "child":
        from ._child import main

        main([argument])
    elif command == "forkserver":
        from ._forkserver import main as serve

        serve(argument)
    elif command == "describe":
        from ._envs import print_description

        print_description(argument)
    else:
        raise SystemExit(f"unknown command {command!r}")


_main()
