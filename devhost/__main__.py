"""``python -m devhost``: run a Python v2 Functions app with its Durable orchestrations, locally."""

from __future__ import annotations

import asyncio
import logging
import os
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
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    # Activity threads still blocked in user code (an ARM call) cannot be interrupted; their work items stay
    # in the store and run again on the next start, so do not wait for them.
    os._exit(code)
