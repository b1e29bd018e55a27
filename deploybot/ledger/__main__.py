"""The ledger from the command line.

    python -m deploybot.ledger export --since 2026-01-01 --format csv > deployments.csv
    python -m deploybot.ledger export --what audit --since 2026-01-01 --until 2026-03-31 --format json
    python -m deploybot.ledger metrics --since 2026-01-01 --environment production

Reads DEPLOYBOT_DATABASE_URL (default: var/deploybot.db). Dates are days in --tz (UTC by
default), both included.
"""
from __future__ import annotations

import argparse
import sys

from deploybot.ledger import exports, queries
from deploybot.ledger.metrics import duration_text, metrics_by_target
from deploybot.ledger.periods import PeriodError, period
from deploybot.storage.database import Database, database_url


def main(argv=None, out=None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m deploybot.ledger", description="Read deploybot's ledger.")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="deployments or the audit log of a period, as CSV or JSON")
    export.add_argument("--what", choices=sorted(exports.FIELDS), default="deployments")
    export.add_argument("--format", choices=exports.FORMATS, default="csv")
    stats = commands.add_parser("metrics", help="the four key metrics per environment and app")
    for command in (export, stats):
        command.add_argument("--since", help="first day (YYYY-MM-DD); default: 30 days ago")
        command.add_argument("--until", help="last day, included; default: today")
        command.add_argument("--tz", default="UTC", help="the time zone of the days (e.g. Europe/Berlin)")
        command.add_argument("--app")
        command.add_argument("--environment")
    args = parser.parse_args(argv)
    try:
        chosen = period(args.since, args.until, args.tz)
        chosen.start, chosen.end  # noqa: B018 - a day at the calendar's end has no UTC moment
    except PeriodError as error:
        parser.error(str(error))
    except OverflowError:
        parser.error(f"the period {chosen.since} to {chosen.until} in {args.tz} reaches past the calendar")
    database = Database(database_url())
    try:
        with database.transaction() as session:
            if args.command == "export":
                if args.what == "deployments":
                    records = queries.deployments(session, queries.DeploymentFilter(
                        app=args.app, environment=args.environment, period=chosen))
                else:
                    records = queries.audit_entries(session, queries.AuditFilter(app=args.app, period=chosen))
                for chunk in exports.export(records, args.what, args.format):
                    out.write(chunk)
            else:
                for (environment, app), numbers in metrics_by_target(session, chosen, args.environment, args.app).items():
                    rate = "–" if numbers.failure_rate is None else f"{numbers.failure_rate:.0%}"
                    out.write(f"{environment:<12} {app or '(all)':<10} {numbers.per_day:6.2f}/day"
                              f"  request to deployed median {duration_text(numbers.deploy_time_median)}, p90 {duration_text(numbers.deploy_time_p90)}"
                              f"  failures {rate}  restore median {duration_text(numbers.restore_median)}\n")
    finally:
        database.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
