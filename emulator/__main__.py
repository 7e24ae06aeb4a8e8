"""``python -m emulator``: start the local ARM emulator (see emulator/README.md)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from emulator.app import Emulator
from emulator.certs import server_context
from emulator.config import Config, parse_args

logger = logging.getLogger("emulator")


def _banner(em: Emulator) -> str:
    info = em.ready_info(os.getpid())
    return "\n".join(
        [
            f"ARM emulator listening on {info['armEndpoint']} (clock: {info['clock']}, "
            f"state: {info['stateDir'] or 'in memory'})",
            f"  control plane:      {info['controlUrl']}",
            f"  identity endpoint:  IDENTITY_ENDPOINT={info['identityEndpoint']}",
            f"  identity header:    IDENTITY_HEADER={info['identityHeader']}",
            f"  CA bundle:          REQUESTS_CA_BUNDLE={info['caBundle']}  (also SSL_CERT_FILE)",
            f"  SDK base_url:       {info['armEndpoint']}  (credential_scopes=['https://management.azure.com/.default'])",
        ]
    )


async def serve(config: Config) -> None:
    em = Emulator(config)
    runner = web.AppRunner(em.build_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, ssl_context=server_context(em.cert_paths))
    await site.start()
    server = site._server  # the bound socket tells the real port when --port 0
    if server is not None and getattr(server, "sockets", None):
        em.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    if not config.silent:
        print(_banner(em), flush=True)
    if config.ready_file:
        tmp = config.ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(em.ready_info(os.getpid()), indent=2))
        os.replace(tmp, config.ready_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    if not config.silent:
        print("ARM emulator stopping", flush=True)
    await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    level = logging.WARNING if config.silent else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stdout)
    asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
