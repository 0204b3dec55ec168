"""Serve a Marketplacer sandbox: `python -m ignite_etl.sandbox.marketplacer --adverts 1000 --port 8081`."""

from __future__ import annotations

import argparse

import uvicorn

from ignite_etl.sandbox.marketplacer import DEFAULT_API_KEY, MarketplacerSandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--adverts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--broken-rate", type=float, default=0.01)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    args = parser.parse_args(argv)
    sandbox = MarketplacerSandbox(api_keys=(args.api_key,))
    report = sandbox.generate(args.adverts, seed=args.seed, broken_rate=args.broken_rate)
    print(f"Marketplacer sandbox: {report.adverts} adverts, {report.variants} variants; "
          f"GraphQL at http://{args.host}:{args.port}/graphql", flush=True)
    uvicorn.run(sandbox.app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
