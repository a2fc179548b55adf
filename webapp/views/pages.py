"""The HTML pages and their HTMX fragments.

Form errors render in one place: `_form.html` with status 422, which the page's
htmx config swaps (htmx ignores 4xx by default); a browser without JavaScript
gets the whole page with the same form, also 422.
"""
from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from spiders.jobs.options import DEFAULTS, FORM
from spiders.jobs.status import job_data
from webapp.guards import csrf
from webapp.guards.errors import ApiError, AtCapacity, InvalidInput, JobNotFound, TooManyRequests
from webapp.guards.security import client_address
from webapp.views import sse
from webapp.views.fates import PageFilter, pages_context, row_view
from webapp.views.jobs import cancel_job, create_job, load_job, parse_job_id, with_document
from webapp.views.names import site_slug
from webapp.views.refresh import refresh_context

PREVIEW_CHARS = 6000  # of the document, on the job page (the whole of it is a download)
FORM_DEFAULTS = {FORM.names[name]: "" if default is None else str(default) for name, default in DEFAULTS.items()}


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
    return await _index(request, dict(FORM_DEFAULTS), None)


async def _index(request: Request, form: dict[str, str], error: ApiError | None) -> HTMLResponse:
    jobs = [job_data(row) for row in await request.state.store.recent(request.state.settings.recent_jobs)]
    context = {"form": form, "error": error, "jobs": jobs, "settings": request.state.settings}
    status = error.status_code if error else 200  # 422, or 429/503 for the limits (with Retry-After)
    headers = {"Retry-After": str(error.retry_after)} if error and error.retry_after is not None else None
    if error and _htmx(request):
        return _render(request, "_form.html", context, status, headers)
    return _render(request, "index.html", context, status, headers)


async def submit(request: Request) -> Response:
    form = await request.form()
    request.state.csrf.check(request, _text(form.get(csrf.FIELD)))
    values = {name: str(form.get(name, "")).strip() for name in FORM_DEFAULTS}
    data = {name: value for name, value in values.items() if value != ""}  # the other fields: csrf_token
    try:
        row = await create_job(request.state, data, FORM,
                               client=client_address(request, request.state.settings.trust_proxy))
    except (InvalidInput, TooManyRequests, AtCapacity) as error:
        return await _index(request, {**FORM_DEFAULTS, **values}, error)
    location = request.url_for("job_page", job_id=str(row["id"])).path
    if _htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


async def state_context(request: Request, job_id: UUID) -> dict[str, Any]:
    state = request.state
    row = await with_document(state, await load_job(state, job_id))
    # a document exists once it has a token count: only then is its preview read
    document = await state.store.preview(job_id, PREVIEW_CHARS) if row["final_token_count"] is not None else None
    job = job_data(row)
    return {
        "job": job, "error": row["error_details"], "live": job["status"] in ("pending", "running"),
        "preview": document["preview"] if document and document["preview"] else None,
        "document_bytes": document["bytes"] if document else 0, "preview_cut": bool(document and document["more"]),
        "site": site_slug(job["url"]),
        **await refresh_context(state, row, job["status"] in ("pending", "running")),
    }


async def list_context(request: Request, job_id: UUID, filt: PageFilter) -> dict[str, Any]:
    return await pages_context(request.state.store, job_id, filt, request.state.settings.log_lines)


async def job_page(request: Request) -> HTMLResponse:
    """The whole page, or (htmx, a filter chosen) its live part: the state and the list under the filter."""
    filt = PageFilter.from_query(request.query_params)
    try:
        job_id = parse_job_id(request.path_params["job_id"])
        context = {**await state_context(request, job_id), **await list_context(request, job_id, filt)}
    except JobNotFound:
        return _render(request, "not_found.html", {"what": request.path_params["job_id"]}, 404)
    if _htmx(request) and request.headers.get("hx-target") == "job-live":
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

    token, _ = state.csrf.page_token(request)  # the page set the cookie; without one, Cancel is refused (403)

    async def render() -> str:
        return template.render({**env, "csrf_token": token, **await state_context(request, job_id)})

    async def parts() -> dict[str, str]:
        job = {"job": job_data(await load_job(state, job_id))}
        return {"pages": pages_template.render({**env, **job, **await list_context(request, job_id, filt)})}

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
