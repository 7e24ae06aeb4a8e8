"""``python -m devhost``: run a Python v2 Functions app with its Durable orchestrations, locally."""

from __future__ import annotations

import asyncio
import logging
import sys

from devhost.config import parse_args
from devhost.host import Host


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    level = logging.WARNING if config.silent else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("devhost.replay").setLevel(logging.DEBUG if config.verbose else logging.WARNING)
    logging.getLogger("azure").setLevel(logging.WARNING)
    host = Host(config)
    asyncio.run(host.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
