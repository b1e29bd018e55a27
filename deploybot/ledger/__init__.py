"""The deployment ledger: reading deploybot's record of deployments, locks, grants and
the audit log, for people (the web dashboard), for machines (exports) and for numbers
(the four key delivery metrics). Nothing here writes to deploybot's database but the
weekly digest's own rows (digest_posts).

    queries.py   history, the "now" matrix, a deployment's timeline, the audit log
    metrics.py   deployment frequency, request to deployed, change failure rate, time to restore
    fact_store.py  the same metrics from facts kept in memory (the dashboard's long periods)
    chat_periods.py, chat_stats.py  "how many deploys this week?" in chat
    digest.py    the weekly digest to the management channel (its schedule: deploybot/domain/digest_schedule.py)
    periods.py   a period of local dates in a time zone, as UTC instants
    exports.py   CSV and JSON of deployments and of the audit log
    charts.py    the metrics as SVG charts (matplotlib, rendered on the server)
    auth.py      who may look: one-time sign-in links, signed session cookies, an SSO proxy
    web.py       the read-only dashboard (sanic and jinja2)
    __main__.py  `python -m deploybot.ledger export ...`
"""
