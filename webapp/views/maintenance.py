"""`POST /api/v3/process`: the cron endpoint of the original plan, for deployments
that want an outside clock to reap stalled jobs and start the scheduled refreshes that
are due (workers also do both themselves).

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


def require_cron_secret(request: Request) -> None:
    """401 unless the request sends `Authorization: Bearer <CRON_SECRET>` (never, while it is unset)."""
    secret = request.state.settings.cron_secret
    if not bearer_matches(request, secret):
        raise Unauthorized("a valid `Authorization: Bearer <CRON_SECRET>` header is required"
                           + ("" if secret else " (CRON_SECRET is not set on the server)"), field="authorization")


async def process(request: Request) -> JSONResponse:
    require_cron_secret(request)
    store = request.state.store
    reaped = await store.reap()
    # scheduled refreshes that are due (README, "Refresh"): pending jobs, submitted below with the others
    refreshes = await store.start_due_refreshes(request.state.settings.max_active_jobs)
    waiting = await store.claimable_ids()
    launcher = request.state.launcher
    if launcher is not None:
        for job_id in waiting:
            launcher.submit(job_id)
    return JSONResponse({"success": True, "data": {
        "reapedJobs": reaped["jobs"], "requeuedUrls": reaped["urls"],
        "refreshesStarted": [str(job_id) for job_id in refreshes],
        "claimableJobs": [str(job_id) for job_id in waiting],
        "submitted": len(waiting) if launcher is not None else 0,
    }})
