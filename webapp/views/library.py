"""The library over HTTP: search, sites, a job's outline, a page, a section (JSON), and the search page (HTML).

Every answer that carries text takes `max_tokens` (default and cap DOCSPASTA_ANSWER_TOKENS)
and says what it left out. Bad parameters get the API's 4xx shape (webapp/guards/errors.py).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping
from uuid import UUID

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse

from spiders.library import answers
from spiders.library.errors import (
    MAX_LIMIT,
    MAX_SITE_CHARS,
    MAX_VERSION_CHARS,
    MIN_MAX_TOKENS,
    BadParameter,
    LibraryError,
    NotIndexed,
    check_int,
    check_label,
    check_query,
)
from spiders.library.sections import Cut
from webapp.guards import csrf
from webapp.guards.errors import ApiError, InvalidInput, JobNotFound, NotReady
from webapp.views.api import json_object, ok
from webapp.views.jobs import parse_job_id


class NotInLibraryError(ApiError):
    """No site, page or section of the library answers to the request."""

    status_code = 404


def api_error(exc: LibraryError) -> ApiError:
    if isinstance(exc, BadParameter):
        return InvalidInput(exc.message, field=exc.field)
    if isinstance(exc, NotIndexed):
        return NotReady(exc.message, field=exc.field)
    return NotInLibraryError(exc.message, field=exc.field)


def params(request: Request, allowed: Iterable[str]) -> Mapping[str, str]:
    allowed = tuple(allowed)
    for name in request.query_params:
        if name not in allowed:
            raise InvalidInput(f"{name}: unknown parameter; the parameters are {', '.join(allowed)}", field=name)
    return request.query_params


def job_param(raw: str | None) -> UUID | None:
    if raw in (None, ""):
        return None
    try:
        return UUID(raw)
    except ValueError:
        raise InvalidInput(f"job: not a job id, got {raw!r}", field="job") from None


def max_tokens(request: Request, raw: Any) -> int:
    cap = request.state.settings.answer_tokens
    return check_int(raw, "max_tokens", MIN_MAX_TOKENS, cap, cap)


def hit_data(hit: Mapping[str, Any]) -> dict[str, Any]:
    return {"jobId": str(hit["job_id"]), "site": hit["site_name"], "version": hit["site_version"],
            "url": hit["url"], "title": hit["page_title"], "headingPath": list(hit["heading_path"]),
            "snippet": hit["snippet"], "tokenCount": hit["token_count"], "rank": round(float(hit["rank"]), 6)}


def cut_data(cut: Cut) -> dict[str, Any]:
    return {"markdown": cut.text, "tokenCount": cut.token_count, "totalTokens": cut.total_tokens,
            "truncated": cut.truncated, "leftOut": cut.note or None}


async def run_search(request: Request) -> tuple[str, list[dict[str, Any]]]:
    query = params(request, ("q", "site", "job", "limit"))
    try:
        q = check_query(query.get("q"))
        limit = check_int(query.get("limit"), "limit", 1, MAX_LIMIT, 10)
        hits = await request.state.library.search(q, site=query.get("site") or None, job=job_param(query.get("job")),
                                                  limit=limit)
    except LibraryError as exc:
        raise api_error(exc) from None
    return q, hits


async def search(request: Request) -> JSONResponse:
    q, hits = await run_search(request)
    return ok({"query": q, "results": [hit_data(hit) for hit in hits]})


async def sites(request: Request) -> JSONResponse:
    params(request, ())
    rows = await request.state.library.sites()
    return ok([{"site": row["site_name"], "version": row["site_version"], "jobId": str(row["id"]),
                "url": row["initial_url"], "completedAt": row["completed_at"].isoformat(), "jobs": row["jobs"],
                "pages": row["pages"], "sections": row["sections"], "tokens": row["tokens"]} for row in rows])


async def label(request: Request) -> JSONResponse:
    """PATCH /api/v3/jobs/{id} {"site": ..., "version": ...}: name the job's site and version in the library."""
    job_id = parse_job_id(request.path_params["job_id"])
    body = await json_object(request, '{"site": "flask", "version": "3.1"}')
    for name in body:
        if name not in ("site", "version"):
            raise InvalidInput(f"{name}: unknown field; a job's label has the fields site and version", field=name)
    if not body:
        raise InvalidInput("site: name the site, the version, or both", field="site")
    try:
        site = check_label(body["site"], "site", MAX_SITE_CHARS, required=True) if "site" in body else None
        version = check_label(body.get("version"), "version", MAX_VERSION_CHARS, required=False)
    except LibraryError as exc:
        raise api_error(exc) from None
    row = await request.state.library.label(job_id, site=site, version=version, set_version="version" in body)
    if row is None:
        raise JobNotFound(f"no job with id {str(job_id)!r}", field="jobId")
    return ok({"jobId": str(job_id), "site": row["site_name"], "version": row["site_version"],
               "status": row["status"], "searchedByDefault": row["searched"]})


async def _job(request: Request) -> UUID:
    job_id = parse_job_id(request.path_params["job_id"])
    row = await request.state.library.job_state(job_id)
    if row is None:
        raise JobNotFound(f"no job with id {str(job_id)!r}", field="jobId")
    if row["library_indexed_at"] is None:
        if (by := await request.state.library.replaced_by(job_id)) is not None:
            raise JobNotFound(f"job {job_id} was refreshed by job {by}, which the library holds instead", field="jobId")
        raise NotReady(f"the job is {row['status']}; its document is in the library once it has completed",
                       field="status")
    return job_id


async def outline(request: Request) -> JSONResponse:
    params(request, ())
    job_id = await _job(request)
    return ok({"jobId": str(job_id), "pages": answers.outline_pages(await request.state.library.outline(job_id))})


async def page(request: Request) -> JSONResponse:
    query = params(request, ("url", "max_tokens"))
    job_id = await _job(request)
    try:
        budget = max_tokens(request, query.get("max_tokens"))
        url = _required(query, "url")
        rows = await request.state.library.page(job_id, url)
    except LibraryError as exc:
        raise api_error(exc) from None
    return ok({"jobId": str(job_id), "url": rows[0]["url"], "title": rows[0]["page_title"],
               **cut_data(answers.page_text(rows, budget))})


async def section(request: Request) -> JSONResponse:
    query = params(request, ("url", "heading", "max_tokens"))
    job_id = await _job(request)
    try:
        budget = max_tokens(request, query.get("max_tokens"))
        row = await request.state.library.section(job_id, _required(query, "url"), _required(query, "heading"))
    except LibraryError as exc:
        raise api_error(exc) from None
    return ok({"jobId": str(job_id), "url": row["url"], "headingPath": list(row["heading_path"]),
               **cut_data(answers.section_text(row, budget))})


def _required(query: Mapping[str, str], name: str) -> str:
    value = (query.get(name) or "").strip()
    if not value:
        raise BadParameter(f"{name}: required", field=name)
    return value


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    token, new_nonce = request.state.csrf.page_token(request)  # the base template's htmx headers carry it
    response = request.state.templates.TemplateResponse(request, name, {**context, "csrf_token": token},
                                                        status_code=status_code)
    if new_nonce:
        csrf.set_cookie(request, response, new_nonce)
    return response


async def search_page(request: Request) -> HTMLResponse:
    """The search box and its results; an htmx request gets the results fragment only."""
    context: dict[str, Any] = {"q": request.query_params.get("q", ""), "results": None, "error": None}
    status = 200
    if context["q"].strip():
        try:
            _, hits = await run_search(request)
            context["results"] = [hit_data(hit) for hit in hits]
        except ApiError as error:
            context["error"], status = error.message, error.status_code
    context["sites"] = await request.state.library.sites()
    if request.headers.get("hx-request") == "true":
        return render(request, "_search_results.html", context, status)
    return render(request, "search.html", context, status)


async def page_view(request: Request) -> HTMLResponse:
    """One page of the library as the document has it, its sections anchored."""
    query = params(request, ("url",))
    job_id = await _job(request)
    try:
        rows = await request.state.library.page(job_id, _required(query, "url"))
    except LibraryError as exc:
        raise api_error(exc) from None
    return render(request, "library_page.html", {"job_id": str(job_id), "rows": rows})
