"""The deployment ledger: reading deploybot's record of deployments, locks, grants and
the audit log, for people (the web dashboard), for machines (exports) and for numbers
(the four key delivery metrics). Nothing here writes to deploybot's database.

    queries.py   history, the "now" matrix, a deployment's timeline, the audit log
    metrics.py   deployment frequency, request to deployed, change failure rate, time to restore
    periods.py   a period of local dates in a time zone, as UTC instants
    exports.py   CSV and JSON of deployments and of the audit log
    charts.py    the metrics as SVG charts (matplotlib, rendered on the server)
    auth.py      who may look: one-time sign-in links, signed session cookies, an SSO proxy
    web.py       the read-only dashboard (sanic and jinja2)
    __main__.py  `python -m deploybot.ledger export ...`
"""
