"""``python -m localrun demo|up [options]``: run the product locally (``localrun/demo.py``, ``localrun/up.py``)."""

import sys

from localrun import demo, up

COMMANDS = {"demo": demo.run, "up": up.run}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m localrun demo|up [--help | options]")
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"unknown command {argv[0]!r}; try: python -m localrun demo --help or python -m localrun up --help")
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
