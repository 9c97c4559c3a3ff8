"""`python -m sim publish ...` and `python -m sim schema --out docs/events/`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from kit.messaging import QueueSpec, RabbitBus

from sim.eventdocs import check_docs, write_docs
from sim.generator import SimConfig, generate
from sim.publisher import PublishError, publish_events

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
#: SimConfig fields offered as --options (the first few have their own, documented flags).
_KNOBS = ("orders_per_account_month", "postpaid_share", "refund_share", "full_refund_share",
          "voucher_share", "marketplace_share", "transfer_ratio", "linked_share")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sim",
                                     description="Billing-core simulator (tools/sim).")
    sub = parser.add_subparsers(dest="command", required=True)

    pub = sub.add_parser("publish", help="generate a stream and publish it (or print it)")
    defaults = SimConfig()
    pub.add_argument("--seed", type=int, default=defaults.seed)
    pub.add_argument("--accounts", type=int, default=defaults.accounts)
    pub.add_argument("--months", type=int, default=defaults.months)
    pub.add_argument("--end-month", default=defaults.end_month, help="YYYY-MM, last month")
    pub.add_argument("--first-uin", type=int, default=defaults.first_uin)
    for knob in _KNOBS:
        pub.add_argument(f"--{knob.replace('_', '-')}", type=float,
                         default=getattr(defaults, knob))
    pub.add_argument("--amqp-url", default=os.environ.get("AMQP_URL", DEFAULT_AMQP_URL),
                     help="default: $AMQP_URL or %(default)s")
    pub.add_argument("--exchange", default="billing.events")
    pub.add_argument("--dlx", default="billing.dlx")
    pub.add_argument("--batch-size", type=int, default=500)
    pub.add_argument("--max-attempts", type=int, default=5, help="per event, then give up")
    pub.add_argument("--retry-delay", type=float, default=0.5,
                     help="seconds before the first retry, doubling after each")
    pub.add_argument("--declare-queue", metavar="NAME",
                     help="declare a durable queue bound to '#' first, so the stream is routable "
                          "when no service has declared its queues (it keeps every message)")
    pub.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    pub.add_argument("--dry-run", action="store_true",
                     help="print the events as JSON lines on stdout instead of publishing")

    schema = sub.add_parser("schema", help="write docs/events/: JSON Schemas and README")
    schema.add_argument("--out", type=Path, default=Path("docs/events"))
    schema.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when the files differ from the models")
    return parser


def _config(args: argparse.Namespace) -> SimConfig:
    names = {f.name for f in fields(SimConfig)}
    return SimConfig(**{k: v for k, v in vars(args).items() if k in names})


async def _publish(args: argparse.Namespace, config: SimConfig) -> int:
    bus = RabbitBus(args.amqp_url, exchange=args.exchange, dlx=args.dlx,
                    connection_name="sim")
    await bus.connect()
    try:
        if args.declare_queue:
            await bus.declare(QueueSpec(args.declare_queue, ("#",)))
        # Generating is cheap next to publishing: a first pass gives the bar its total.
        total = None if args.no_progress else sum(1 for _ in generate(config))
        report = await publish_events(
            bus, generate(config), batch_size=args.batch_size, max_attempts=args.max_attempts,
            retry_delay=args.retry_delay, progress=not args.no_progress, total=total)
    except PublishError as exc:
        print(f"sim: {exc}", file=sys.stderr)
        if "NO_ROUTE" in str(exc) or "unroutable" in str(exc):
            print("sim: no queue is bound for these events: start the services first, or pass "
                  "--declare-queue NAME", file=sys.stderr)
        return 1
    finally:
        await bus.close()
    print(f"sim: published {report.published} events to {args.exchange} "
          f"({report.retried} retried)", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "schema":
        if args.check:
            stale = check_docs(args.out)
            for name in stale:
                print(f"sim: {args.out / name} is out of date", file=sys.stderr)
            return 1 if stale else 0
        for path in write_docs(args.out):
            print(path)
        return 0
    try:
        config = _config(args)
    except ValueError as exc:
        print(f"sim: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        out = sys.stdout.buffer
        for event in generate(config):
            out.write(event.to_json() + b"\n")
        out.flush()
        return 0
    return asyncio.run(_publish(args, config))


if __name__ == "__main__":
    sys.exit(main())
