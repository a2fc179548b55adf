"""Refresh over HTTP: re-crawl a completed job, its change report, and the refresh schedules.

`POST /api/v3/jobs/{id}/refresh` and the job page's Refresh button both call
`refresh_job`: a new job with the completed job's settings and site label, linked to
it (`refresh_of`), within the same limits as any job. `GET /api/v3/jobs/{id}/changes`
is the refresh's change report (spiders/refresh). Schedules (`/api/v3/schedules`) are
machine endpoints, behind CRON_SECRET like `POST /api/v3/process`.
"""
from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from spiders.jobs.options import CrawlOptions
from spiders.jobs.status import job_data
from spiders.jobs.store import RefreshRunning
from spiders.library.errors import BadParameter, check_int
from spiders.refresh.report import stored_report
from spiders.refresh.schedules import MAX_EVERY, MIN_EVERY, ScheduleStore
from webapp.guards import csrf
from webapp.guards.errors import ApiError, AtCapacity, InvalidInput, JobConflict, TooManyRequests
from webapp.guards.ratelimit import create_within_limits
from webapp.guards.security import client_address
from webapp.views.api import json_object, ok
from webapp.views.jobs import load_job, parse_job_id
from webapp.views.maintenance import require_cron_secret

logger = logging.getLogger(__name__)

PAGE_DIFFS = 50  # changed pages whose diff the job page shows (all of them: GET .../changes)
PAGE_LIST = 200  # pages of each kind the job page lists


class SiteNotFound(ApiError):
    """No completed job carries this site name."""

    status_code = 404


async def refresh_job(state: Any, job_id: UUID, client: str) -> Any:
    """A new pending job refreshing the completed job `job_id`; RefreshRunning if its site has one already."""
    previous = await load_job(state, job_id)
    if previous["status"] != "completed":
        raise JobConflict(f"the job is {previous['status']}; only a completed job can be refreshed", field="status")
    if previous["private_headers"] or previous["private_cookies"]:
        # its headers and cookies went with its end (README, "Private documentation"): a refresh would be refused
        raise JobConflict("the job sent request headers or cookies, which are not kept after a job ends; start a new"
                          " job with them (POST /api/v3/jobs) to crawl the site again", field="jobId")
    row = await create_within_limits(state.store, state.settings, client, CrawlOptions.from_job(previous),
                                     refresh_of=job_id)
    logger.info("job %s: refreshing job %s", row["id"], job_id)
    if state.launcher is not None:
        state.launcher.submit(row["id"])
    return row


async def refresh_context(state: Any, row: Any, live: bool) -> dict[str, Any]:
    """The job page's refresh part: the change report of an ended refresh (diffs of the first few)."""
    if live or row["refresh_of"] is None:
        return {"changes": None}
    return {"changes": await stored_report(state.store, row, diffs=PAGE_DIFFS), "changes_listed": PAGE_LIST,
            "changes_diffs": PAGE_DIFFS}


# -- the API ----------------------------------------------------------------------

async def post_refresh(request: Request) -> JSONResponse:
    job_id = parse_job_id(request.path_params["job_id"])
    if await request.body():  # none needed: a refresh runs with the job's own settings
        if fields := await json_object(request, "{}"):
            raise InvalidInput(f"{next(iter(fields))}: a refresh takes no fields; it runs with the job's own settings",
                               field=next(iter(fields)))
    try:
        row = await refresh_job(request.state, job_id, client_address(request, request.state.settings.trust_proxy))
    except RefreshRunning as exc:
        raise JobConflict(str(exc), field="jobId") from None
    return ok({"jobId": str(row["id"]), "url": row["initial_url"], "status": row["status"], "refreshOf": str(job_id)},
              201, headers={"Location": f"/api/v3/jobs/{row['id']}"})


async def changes(request: Request) -> JSONResponse:
    job = await load_job(request.state, parse_job_id(request.path_params["job_id"]))
    report = await stored_report(request.state.store, job)
    if report is None:
        raise JobConflict("the job refreshes no other job, so it has no change report; refresh a completed job"
                          " with POST /api/v3/jobs/{id}/refresh", field="jobId")
    return ok({"jobId": str(job["id"]), "refreshOf": str(job["refresh_of"]), "status": job["status"],
               **report.as_dict()})


def schedule_data(row: Any) -> dict[str, Any]:
    return {"site": row["site_name"], "refreshEvery": row["every"],
            "latestJobAt": row["latest"].isoformat() if row["latest"] else None,
            "nextDueAt": row["due"].isoformat() if row["due"] else None}


async def list_schedules(request: Request) -> JSONResponse:
    require_cron_secret(request)
    return ok([schedule_data(row) for row in await ScheduleStore(request.state.store.pool).all()])


async def put_schedule(request: Request) -> JSONResponse:
    require_cron_secret(request)
    body = await json_object(request, '{"site": "docs.example.org/3", "refreshEvery": 86400}')
    for name in body:
        if name not in ("site", "refreshEvery"):
            raise InvalidInput(f"{name}: unknown field; the fields are site, refreshEvery", field=name)
    site = body.get("site")
    if not isinstance(site, str) or not site.strip():
        raise InvalidInput("site: missing; give a site's name as GET /api/v3/sites lists it", field="site")
    every = body.get("refreshEvery")
    if isinstance(every, bool) or not isinstance(every, int):
        raise InvalidInput(f"refreshEvery: must be a whole number of seconds from {MIN_EVERY} to {MAX_EVERY},"
                           f" got {every!r}", field="refreshEvery")
    try:
        every = check_int(every, "refreshEvery", MIN_EVERY, MAX_EVERY, MIN_EVERY)
    except BadParameter as exc:
        raise InvalidInput(exc.message, field=exc.field) from None
    row = await ScheduleStore(request.state.store.pool).set(site.strip(), every)
    if row is None:
        raise SiteNotFound(f"site: no completed job of a site named {site.strip()!r}", field="site")
    return ok(schedule_data(row))


async def delete_schedule(request: Request) -> JSONResponse:
    require_cron_secret(request)
    for name in request.query_params:
        if name != "site":
            raise InvalidInput(f"{name}: unknown parameter; the parameter is site", field=name)
    site = (request.query_params.get("site") or "").strip()
    if not site:
        raise InvalidInput("site: missing; e.g. DELETE /api/v3/schedules?site=docs.example.org/3", field="site")
    if not await ScheduleStore(request.state.store.pool).remove(site):
        raise SiteNotFound(f"site: no refresh is scheduled for {site!r}", field="site")
    return ok({"site": site, "removed": True})


# -- the job page's Refresh button ----------------------------------------------------

async def refresh_form(request: Request) -> Response:
    """The Refresh button: to the new job's page (or to the refresh already running); a limit's
    error goes back in the button's fragment, a conflict (409) as the API's error."""
    job_id = parse_job_id(request.path_params["job_id"])
    form = await request.form()
    token = form.get(csrf.FIELD)
    request.state.csrf.check(request, token if isinstance(token, str) else None)
    try:
        row = await refresh_job(request.state, job_id, client_address(request, request.state.settings.trust_proxy))
        target = row["id"]
    except RefreshRunning as exc:
        if exc.job_id is None:
            raise JobConflict(str(exc), field="jobId") from None
        target = exc.job_id  # the user wants to see it: the one already running
    except (TooManyRequests, AtCapacity) as error:
        job = job_data(await load_job(request.state, job_id))
        page_token, _ = request.state.csrf.page_token(request)
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
        return request.state.templates.TemplateResponse(
            request, "_refresh_form.html", {"job": job, "csrf_token": page_token, "refresh_error": error.message},
            status_code=error.status_code, headers=headers)
    location = request.url_for("job_page", job_id=str(target)).path
    if request.headers.get("hx-request") == "true":
        return HTMLResponse("", headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)
