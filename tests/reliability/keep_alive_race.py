"""`python -m tests.reliability.keep_alive_race URL`: pooled clients that send again right at
their pool's idle expiry, counting the requests lost to a connection reset.

Each round, `--clients` httpx clients (default pool settings: idle connections kept 5 s) each
ask `/healthz`, stay idle for 5 s ± 15 ms, then send a one-text `/v1/embed` on the connection
they kept, all at once, so that the server is busy at that moment. A server whose own idle
timeout is also 5 s (uvicorn's default) closes some of those connections as the requests
arrive: they fail with `ReadError`. With `POLYSEARCH_KEEP_ALIVE_S` above the clients' expiry,
none should. Prints the outcomes (HTTP statuses, or the transport error's name) as JSON; 503s
are the encoder queue refusing the burst, answered, not lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from collections import Counter
from collections.abc import Sequence

import httpx

CLIENT_EXPIRY_S = httpx.Limits().keepalive_expiry or 5.0


async def _client(url: str, idle_s: float, outcomes: Counter[str]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        try:
            (await http.get("/healthz")).raise_for_status()
            await asyncio.sleep(idle_s)
            response = await http.post("/v1/embed", json={"texts": ["hello"], "kind": "query"})
            outcomes[str(response.status_code)] += 1
        except httpx.TransportError as error:
            outcomes[type(error).__name__] += 1


async def race(url: str, rounds: int, clients: int, seed: int = 7) -> Counter[str]:
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    for _ in range(rounds):
        idle = [CLIENT_EXPIRY_S + rng.uniform(-0.015, 0.015) for _ in range(clients)]
        await asyncio.gather(*(_client(url, seconds, outcomes) for seconds in idle))
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.reliability.keep_alive_race", description=__doc__
    )
    parser.add_argument("url", help="a running service, e.g. http://127.0.0.1:8000")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--clients", type=int, default=30)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.clients < 1:
        parser.error("--rounds and --clients must be positive")
    outcomes = asyncio.run(race(args.url, args.rounds, args.clients))
    print(json.dumps(dict(outcomes)))
    return 0 if set(outcomes) <= {"200", "503"} else 1


if __name__ == "__main__":
    sys.exit(main())
