"""The dashboard's pages of records: what runs where now (/), the history of deployments,
one deployment's timeline, and the audit log."""
from __future__ import annotations

from datetime import datetime, timezone

from sanic import Sanic

from deploybot.ledger import queries, queue_queries, schedule_queries, web_params
from deploybot.ledger.freezes_now import freezes_now
from deploybot.ledger.periods import period
from deploybot.ledger.web_dashboard import dashboard_of, link, local, page_number
from deploybot.ledger.web_params import text


def register(app: Sanic) -> None:
    app.get("/")(now_page)
    app.get("/history")(history_page)
    app.get("/deployments/<deployment_id:int>")(deployment_page)
    app.get("/audit")(audit_page)


async def now_page(request):
    dashboard = dashboard_of(request)
    tz = dashboard.tz(request)
    zone = period(tz=tz).tz
    at = datetime.now(timezone.utc)
    cells = await dashboard.read(queries.now_matrix, dashboard.apps, dashboard.environments, at)
    freezes = await dashboard.read(freezes_now, dashboard.catalog, at)  # issue 24
    queue = await dashboard.read(queue_queries.waiting)  # the deploy queue (issue 24)
    scheduled = await dashboard.read(schedule_queries.waiting)   # issue 24: scheduled deploys
    return dashboard.render(request, "now.html", cells=cells, at=at, local=lambda m: local(m, zone), tz=tz, freezes=freezes,
                            queue=queue, scheduled=scheduled)


async def history_page(request):
    dashboard = dashboard_of(request)
    args = request.args
    chosen = dashboard.chosen_period(request) if args.get("since") or args.get("until") else None
    where = queries.DeploymentFilter(app=text(args, "app"), environment=text(args, "environment"),
                                     person=text(args, "person"), state=text(args, "state"), period=chosen)
    page = await dashboard.read(queries.history, where, page_number(request))
    people = await dashboard.read(queries.people)
    tz = dashboard.tz(request)
    zone = period(tz=tz).tz
    return dashboard.render(request, "history.html", page=page, people=people, states=queries.STATES, args=args,
                            local=lambda m: local(m, zone), link=lambda **c: link(request, **c), tz=tz)


async def deployment_page(request, deployment_id: int):
    dashboard = dashboard_of(request)
    found = None
    if web_params.deployment_id(deployment_id) is not None:   # beyond 64 bits: an OverflowError in SQLite
        found = await dashboard.read(queries.timeline, deployment_id)
    if found is None:
        return dashboard.render(request, "error.html", status=404, message=f"There is no deployment #{deployment_id}.")
    schedule = await dashboard.read(schedule_queries.of_deployment, deployment_id)   # issue 24: from a schedule
    tz = dashboard.tz(request)
    zone = period(tz=tz).tz
    queued = await dashboard.read(queue_queries.from_queue, deployment_id)  # started by a queue turn (issue 24)
    return dashboard.render(request, "deployment.html", t=found, d=found.deployment, local=lambda m: local(m, zone),
                            tz=tz, queued=queued, schedule=schedule)


async def audit_page(request):
    dashboard = dashboard_of(request)
    args = request.args
    chosen = dashboard.chosen_period(request) if args.get("since") or args.get("until") else None
    where = queries.AuditFilter(actor=text(args, "actor"), action=text(args, "action"), outcome=text(args, "outcome"),
                                app=text(args, "app"), period=chosen)
    page = await dashboard.read(queries.audit_log, where, page_number(request))
    actions = await dashboard.read(queries.audit_actions)
    tz = dashboard.tz(request)
    zone = period(tz=tz).tz
    return dashboard.render(request, "audit.html", page=page, actions=actions, args=args,
                            local=lambda m: local(m, zone), link=lambda **c: link(request, **c), tz=tz)
