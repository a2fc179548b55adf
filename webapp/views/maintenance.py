"""`POST /api/v3/process`: the cron endpoint of the original plan, for deployments
that want an outside clock to reap stalled jobs (workers also do it themselves).

It needs `Authorization: Bearer $CRON_SECRET`; with no CRON_SECRET configured it
refuses everyone. Reaping: jobs whose worker stopped renewing its lease lose the
lease and their URLs left processing go back to pending; the next claim (by any
worker, or this app's own) resumes them from the stored frontier.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from webapp.guards.errors import Unauthorized
from webapp.guards.security import bearer_matches


async def process(request: Request) -> JSONResponse:
    secret = request.state.settings.cron_secret
    if not bearer_matches(request, secret):
        raise Unauthorized("a valid `Authorization: Bearer <CRON_SECRET>` header is required"
                           + ("" if secret else " (CRON_SECRET is not set on the server)"), field="authorization")
    store = request.state.store
    reaped = await store.reap()
    waiting = await store.claimable_ids()
    launcher = request.state.launcher
    if launcher is not None:
        for job_id in waiting:
            launcher.submit(job_id)
    return JSONResponse({"success": True, "data": {
        "reapedJobs": reaped["jobs"], "requeuedUrls": reaped["urls"],
        "claimableJobs": [str(job_id) for job_id in waiting],
        "submitted": len(waiting) if launcher is not None else 0,
    }})
