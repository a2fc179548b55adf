"""The HTML pages and their HTMX fragments.

Form errors render in one place: `_form.html` with status 422, which the page's
htmx config swaps (htmx ignores 4xx by default); a browser without JavaScript
gets the whole page with the same form, also 422.
"""
from __future__ import annotations

import asyncio
from functools import partial
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from spiders.jobs.options import DEFAULTS, FORM, OPTION, CrawlOptions
from spiders.jobs.status import job_data
from spiders.jobs.store import kept_counts
from webapp.guards import csrf
from webapp.guards.errors import ApiError, AtCapacity, InvalidInput, JobConflict, JobNotFound, TooManyRequests
from webapp.guards.security import client_address
from webapp.views import sse
from webapp.views.fates import PageFilter, pages_context, row_view
from webapp.views.jobs import cancel_job, create_job, load_job, parse_job_id, with_document
from webapp.views.names import site_slug
from webapp.views.outline import outline_context
from webapp.views.refresh import refresh_context

PREVIEW_CHARS = 6000  # of the document, on the job page (the whole of it is a download)
SECRET_FIELDS = tuple(FORM.names[option.name] for option in OPTION.values() if option.secret)


def _field_text(value: Any) -> str:
    """An option's value as the form's field shows it: lists comma-separated, no value empty."""
    if value is None:
        return ""
    return ", ".join(value) if isinstance(value, (list, tuple)) else str(value)


FORM_DEFAULTS = {FORM.names[name]: _field_text(default) for name, default in DEFAULTS.items()}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None  # an uploaded file is no token


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _render(request: Request, name: str, context: dict[str, Any], status_code: int = 200,
            headers: dict[str, str] | None = None) -> HTMLResponse:
    token, new_nonce = request.state.csrf.page_token(request)
    response = request.state.templates.TemplateResponse(request, name, {**context, "csrf_token": token},
                                                        status_code=status_code, headers=headers)
    if new_nonce:
        csrf.set_cookie(request, response, new_nonce)
    return response


async def index(request: Request) -> HTMLResponse:
    """The form and the recent jobs; `?rerun=<job>` fills the form in with that job's settings,
    `?page=N` pages the jobs, and an htmx request for `#recent-jobs` (a page, or its poll) gets that list alone."""
    if _htmx(request) and request.headers.get("hx-target") == "recent-jobs":
        return _render(request, "_jobs.html", await jobs_context(request))
    form, rerun_of = dict(FORM_DEFAULTS), None
    if rerun := request.query_params.get("rerun"):
        try:
            row = await load_job(request.state, parse_job_id(rerun))
        except JobNotFound:
            row = None  # an old link to a job that is gone: an empty form
        if row is not None:
            rerun_of = job_data(row)
            form.update({FORM.names[name]: _field_text(value) for name, value in CrawlOptions.from_job(row).settings().items()})
    return await _index(request, form, None, rerun_of=rerun_of)


async def jobs_context(request: Request) -> dict[str, Any]:
    """The recent jobs, newest first, a page at a time (`?page=N`)."""
    per_page = request.state.settings.recent_jobs
    total = await request.state.store.count_jobs()
    last_page = max((total + per_page - 1) // per_page, 1)
    try:
        page = min(max(int(request.query_params.get("page", "1")), 1), last_page)
    except ValueError:
        page = 1
    jobs = [job_data(row) for row in await request.state.store.recent(per_page, (page - 1) * per_page)]
    return {"jobs": jobs, "jobs_page": page, "jobs_last_page": last_page, "jobs_total": total,
            "jobs_live": any(job["status"] in ("pending", "running") for job in jobs)}


async def _index(request: Request, form: dict[str, str], error: ApiError | None, *,
                 secrets_given: bool = False, rerun_of: dict[str, Any] | None = None) -> HTMLResponse:
    context = {"form": form, "error": error, "settings": request.state.settings, "secrets_given": secrets_given,
               "rerun_of": rerun_of}
    status = error.status_code if error else 200  # 422, or 429/503 for the limits (with Retry-After)
    headers = {"Retry-After": str(error.retry_after)} if error and error.retry_after is not None else None
    if error and _htmx(request):
        return _render(request, "_form.html", context, status, headers)
    return _render(request, "index.html", {**context, **await jobs_context(request)}, status, headers)


async def submit(request: Request) -> Response:
    form = await request.form()
    request.state.csrf.check(request, _text(form.get(csrf.FIELD)))
    values = {name: str(form.get(name, "")).strip() for name in FORM_DEFAULTS}
    data = {name: value for name, value in values.items() if value != ""}  # the other fields: csrf_token
    try:
        row = await create_job(request.state, data, FORM,
                               client=client_address(request, request.state.settings.trust_proxy))
    except (InvalidInput, TooManyRequests, AtCapacity) as error:
        # Headers and cookies are never shown back, not even in the form that sent them: asked for again.
        shown = {**FORM_DEFAULTS, **values, **{name: "" for name in SECRET_FIELDS}}
        return await _index(request, shown, error, secrets_given=any(values[name] for name in SECRET_FIELDS))
    location = request.url_for("job_page", job_id=str(row["id"])).path
    if _htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


async def state_context(request: Request, job_id: UUID, row: Any = None) -> dict[str, Any]:
    """What `_job_state.html` shows; `row`: the job, with its document, if already read."""
    state = request.state
    row = row if row is not None else await with_document(state, await load_job(state, job_id))
    # a document exists once it has a token count: only then is its preview read
    document = await state.store.preview(job_id, PREVIEW_CHARS) if row["final_token_count"] is not None else None
    job = job_data(row)
    return {
        "job": job, "error": row["error_details"], "live": job["status"] in ("pending", "running"),
        "preview": document["preview"] if document and document["preview"] else None,
        "document_bytes": document["bytes"] if document else 0, "preview_cut": bool(document and document["more"]),
        "site": site_slug(job["url"]), "kept_counts": kept_counts(row),
        **await refresh_context(state, row, job["status"] in ("pending", "running")),
    }


async def live_parts_context(request: Request, job_id: UUID, filt: PageFilter, job: dict[str, Any],
                             kept: dict[str, int] | None) -> dict[str, Any]:
    """Everything the job's live part shows besides its state: the pages under the filter, and the outline.
    `kept`: an ended job's fate counts, from its row."""
    # independent reads, on connections of their own: a page's wait is the longest, not the sum
    pages, outline = await asyncio.gather(
        pages_context(request.state.store, job_id, filt, request.state.settings.log_lines, kept),
        outline_context(request.state, job, kept))
    return {**pages, **outline}


async def job_page(request: Request) -> HTMLResponse:
    """The whole page, or (htmx, a filter chosen) its live part: the state and the list under the filter;
    once the job has ended, its pages' section alone (nothing else on the page changes any more)."""
    filt = PageFilter.from_query(request.query_params)
    target = request.headers.get("hx-target") if _htmx(request) else None
    try:
        job_id = parse_job_id(request.path_params["job_id"])
        if target == "pages-section":
            row = await load_job(request.state, job_id)
            job = job_data(row)
            context = {"job": job, "live": job["status"] in ("pending", "running"),
                       **await pages_context(request.state.store, job_id, filt, request.state.settings.log_lines,
                                             kept_counts(row))}
            return _render(request, "_pages_section.html", context)
        row = await with_document(request.state, await load_job(request.state, job_id))
        context, parts = await asyncio.gather(
            state_context(request, job_id, row),
            live_parts_context(request, job_id, filt, job_data(row), kept_counts(row)))
        context.update(parts)
    except JobNotFound:
        return _render(request, "not_found.html", {"what": request.path_params["job_id"]}, 404)
    if target == "job-live":
        return _render(request, "_job_live.html", context)
    return _render(request, "job.html", context)


async def page_detail(request: Request) -> HTMLResponse:
    """One URL of a job: its extracted Markdown (as text), and why it is or is not in the document."""
    job_id = parse_job_id(request.path_params["job_id"])
    row = await request.state.store.page(job_id, request.path_params["page_id"])
    if row is None:
        return _render(request, "not_found.html", {"what": f"page {request.path_params['page_id']} in this job"}, 404)
    job = job_data(await load_job(request.state, job_id))
    return _render(request, "page.html", {"job": job, "page": row_view(row)})


async def job_events(request: Request) -> StreamingResponse:
    state = request.state
    job_id = parse_job_id(request.path_params["job_id"])
    await load_job(state, job_id)  # 404 before the stream starts
    filt = PageFilter.from_query(request.query_params)  # the filter the page shows, kept on every update
    env = {"request": request}
    template = state.templates.get_template("_job_state.html")
    pages_template = state.templates.get_template("_pages.html")
    outline_template = state.templates.get_template("_outline.html")

    token, _ = state.csrf.page_token(request)  # the page set the cookie; without one, Cancel is refused (403)

    async def render() -> str:
        return template.render({**env, "csrf_token": token, **await state_context(request, job_id)})

    async def parts() -> dict[str, str]:
        row = await load_job(state, job_id)
        job = job_data(row)
        context = {**env, "job": job, "live": job["status"] in ("pending", "running"),
                   **await live_parts_context(request, job_id, filt, job, kept_counts(row))}
        return {"pages": pages_template.render(context), "outline": outline_template.render(context)}

    batches = sse.job_events(partial(load_job, state), state.redis, state.settings.redis_prefix, job_id,
                             request.headers.get("last-event-id"))
    return StreamingResponse(state.metrics.track_stream(sse.fragment_stream(batches, render, parts)),
                             media_type="text/event-stream", headers=sse.HEADERS)


async def cancel(request: Request) -> Response:
    job_id = parse_job_id(request.path_params["job_id"])
    form = await request.form()
    request.state.csrf.check(request, _text(form.get(csrf.FIELD)))
    await cancel_job(request.state, job_id)
    if _htmx(request):
        return _render(request, "_job_state.html", await state_context(request, job_id))
    return RedirectResponse(request.url_for("job_page", job_id=str(job_id)).path, status_code=303)


async def rerun(request: Request) -> Response:
    """A new job with an ended job's settings, and its page; a private job's form instead, filled in, since
    its headers and cookies were not kept."""
    job_id = parse_job_id(request.path_params["job_id"])
    form = await request.form()
    request.state.csrf.check(request, _text(form.get(csrf.FIELD)))
    row = await load_job(request.state, job_id)
    if row["status"] in ("pending", "running"):
        raise JobConflict(f"the job is still {row['status']}; run it again once it has ended", field="status")
    if row["private_headers"] or row["private_cookies"]:
        location = request.url_for("index").path + "?rerun=" + str(job_id)
    else:
        new = await create_job(request.state, CrawlOptions.from_job(row).settings(), FORM,
                               client=client_address(request, request.state.settings.trust_proxy))
        location = request.url_for("job_page", job_id=str(new["id"])).path
    if _htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)
