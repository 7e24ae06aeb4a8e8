"""``python -m localrun demo [options]``: run the product locally (see ``localrun/demo.py``)."""

import sys

from localrun import demo


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m localrun demo [--help | options]")
        return 0 if argv else 2
    if argv[0] != "demo":
        print(f"unknown command {argv[0]!r}; try: python -m localrun demo --help")
        return 2
    return demo.run(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
