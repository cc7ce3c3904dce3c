"""`make bench`: the gateway's cost per composition, against a bare scatter-gather.

    .venv/bin/python -m bench [--levels 1,4,16,64,256] [--measure 5] [--warmup 1.5]
        [--inflight 1000] [--inflight-hold 20] [--token-ttl 90] [--no-variants]

Prints progress, a table, and as its very last line one JSON object with the headline
figures. What each number means: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from bench.report import summary, table
from bench.suite import Options, run_suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="1,4,16,64,256", help="concurrencies, ascending")
    parser.add_argument("--measure", type=float, default=5.0, help="seconds measured per row")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds of warm-up per row")
    parser.add_argument("--inflight", type=int, default=1000, help="compositions held (0: skip)")
    parser.add_argument(
        "--inflight-hold", type=float, default=20.0, help="seconds the stubs may hold them"
    )
    parser.add_argument("--token-ttl", type=int, default=90, help="expires_in of stub tokens")
    parser.add_argument(
        "--no-variants", action="store_true", help="only the gateway and the baseline"
    )
    args = parser.parse_args()
    options = Options(
        levels=tuple(sorted(int(level) for level in args.levels.split(","))),
        warmup_s=args.warmup,
        measure_s=args.measure,
        inflight=args.inflight,
        inflight_hold_s=args.inflight_hold,
        token_ttl_s=args.token_ttl,
        variants=not args.no_variants,
    )
    results = asyncio.run(run_suite(options))
    print(table(results))
    print(json.dumps(summary(results)))


if __name__ == "__main__":
    main()
