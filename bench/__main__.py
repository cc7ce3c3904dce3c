"""`make bench`: the gateway's cost per composition, against a bare scatter-gather.

    .venv/bin/python -m bench [--levels 1,4,16,64,256] [--calls 200] [--calls-per-worker 4]
        [--min-window 3] [--max-window 30] [--min-warmup 1] [--inflight 1000]
        [--skip memory,auth-off,workers,variants,records,bookings] …

Prints progress, a table, the targets, and as its very last line one JSON object with the
headline figures. What each number means: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from bench._closed_loop import WindowRule
from bench.report import summary, table
from bench.suite import DEFAULT_DSN, REFERENCE_RULE, VARIANT_RULE, Group, Options, run_suite


def _groups(text: str) -> frozenset[Group]:
    try:
        return frozenset(Group(name.strip()) for name in text.split(",") if name.strip())
    except ValueError as exc:
        choices = ", ".join(g.value for g in Group)
        raise argparse.ArgumentTypeError(f"{exc}; choose from {choices}") from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--levels", default="1,4,16,64,256", help="concurrencies, ascending")
    window = parser.add_argument_group(
        "windows",
        "after a warm-up (until `concurrency` calls have completed, at least --min-warmup s), "
        "a row's window closes once max(--calls, --calls-per-worker × concurrency) calls have "
        "completed in it and --min-window s have passed, or at --max-window s (the row is then "
        "marked capped)",
    )
    window.add_argument(
        "--calls", type=int, default=REFERENCE_RULE.min_calls, help="fewest calls in a window"
    )
    window.add_argument(
        "--calls-per-worker",
        type=int,
        default=REFERENCE_RULE.calls_per_worker,
        help="calls per worker (concurrency) in a window, if more",
    )
    window.add_argument(
        "--variant-calls", type=int, default=VARIANT_RULE.min_calls, help="--calls of variants"
    )
    window.add_argument(
        "--variant-calls-per-worker",
        type=int,
        default=VARIANT_RULE.calls_per_worker,
        help="--calls-per-worker of variant rows (auth off, uvloop, telemetry, httpx2)",
    )
    window.add_argument("--min-window", type=float, default=REFERENCE_RULE.min_s, help="seconds")
    window.add_argument("--max-window", type=float, default=REFERENCE_RULE.cap_s, help="seconds")
    window.add_argument(
        "--min-warmup", type=float, default=REFERENCE_RULE.warmup_min_s, help="seconds"
    )
    parser.add_argument("--inflight", type=int, default=1000, help="compositions held (0: skip)")
    parser.add_argument(
        "--inflight-hold", type=float, default=20.0, help="seconds the stubs may hold them"
    )
    parser.add_argument("--token-ttl", type=int, default=90, help="expires_in of stub tokens")
    parser.add_argument(
        "--worker-channels",
        type=int,
        default=16,
        help="gRPC connections of the workers' rows (the kernel spreads connections)",
    )
    parser.add_argument("--bookings", type=int, default=20, help="bookings per store (0: skip)")
    parser.add_argument(
        "--bookings-concurrency", type=int, default=8, help="bookings under way at once"
    )
    parser.add_argument(
        "--bookings-dsn", default=DEFAULT_DSN, help="PostgreSQL for the bookings ('': SQLite only)"
    )
    parser.add_argument(
        "--record-count", type=int, default=300, help="store writes per consent/audit figure"
    )
    parser.add_argument(
        "--skip",
        type=_groups,
        default="",
        help=f"rows to leave out, comma-separated: {', '.join(g.value for g in Group)}",
    )
    parser.add_argument("--no-variants", action="store_true", help="same as --skip variants")
    return parser


def main() -> None:
    args = _parser().parse_args()
    common = {"min_s": args.min_window, "cap_s": args.max_window, "warmup_min_s": args.min_warmup}
    options = Options(
        levels=tuple(sorted(int(level) for level in args.levels.split(","))),
        rule=WindowRule(min_calls=args.calls, calls_per_worker=args.calls_per_worker, **common),
        variant_rule=WindowRule(
            min_calls=args.variant_calls,
            calls_per_worker=args.variant_calls_per_worker,
            **common,
        ),
        inflight=args.inflight,
        inflight_hold_s=args.inflight_hold,
        token_ttl_s=args.token_ttl,
        skip=args.skip | ({Group.VARIANTS} if args.no_variants else set()),
        worker_channels=args.worker_channels,
        bookings=args.bookings,
        bookings_concurrency=args.bookings_concurrency,
        bookings_dsn=args.bookings_dsn or None,
        record_count=args.record_count,
    )
    results = asyncio.run(run_suite(options))
    print(table(results))
    print(json.dumps(summary(results)))


if __name__ == "__main__":
    main()
