"""The JSON API (`/api/v3`): jobs, their live events, and their outputs."""
from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from spiders.jobs.export import export_document
from spiders.jobs.finalize import build_llms_full, partial_note
from spiders.jobs.status import job_data, job_status
from spiders.refresh.report import stored_report
from webapp.guards.errors import JobConflict, MalformedBody, NotReady, UnsupportedMediaType
from webapp.guards.security import client_address
from webapp.views import sse
from webapp.views.jobs import cancel_job, create_job, found, load_job, parse_job_id, with_document
from webapp.views.names import download_name


def ok(data: Any, status_code: int = 200, **kwargs: Any) -> JSONResponse:
    return JSONResponse({"success": True, "data": data}, status_code=status_code, **kwargs)


async def json_object(request: Request, example: str) -> dict[str, Any]:
    """The request's body, a JSON object sent as JSON (415, 400 naming `example` otherwise)."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not (media_type.startswith("application/") and media_type.endswith("+json")):
        # also what keeps another site's plain form from posting here: it cannot send this type without a preflight
        raise UnsupportedMediaType(f"content-type: must be application/json, got {media_type or 'none'!r}",
                                   field="content-type")
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MalformedBody(f"the body must be a JSON object, e.g. {example}") from None
    if not isinstance(body, dict):
        raise MalformedBody(f"the body must be a JSON object, e.g. {example}")
    return body


async def post_job(request: Request) -> JSONResponse:
    body = await json_object(request, '{"url": "https://docs.example.org/"}')
    row = await create_job(request.state, body, client=client_address(request, request.state.settings.trust_proxy))
    return ok({"jobId": str(row["id"]), "url": row["initial_url"], "status": row["status"]}, 201,
              headers={"Location": f"/api/v3/jobs/{row['id']}"})


async def list_jobs(request: Request) -> JSONResponse:
    rows = await request.state.store.recent(request.state.settings.recent_jobs)
    return ok([job_data(row) for row in rows])


async def get_job(request: Request) -> JSONResponse:
    row = await load_job(request.state, parse_job_id(request.path_params["job_id"]))
    return ok(job_data(row))


async def cancel(request: Request) -> JSONResponse:
    row, _changed = await cancel_job(request.state, parse_job_id(request.path_params["job_id"]))
    if row["status"] != "cancelled":
        raise JobConflict(f"the job has already ended ({row['status']}); only a pending or running job can be cancelled",
                          field="status")
    return ok(job_data(row))


async def stream(request: Request) -> StreamingResponse:
    state = request.state
    job_id = parse_job_id(request.path_params["job_id"])
    await load_job(state, job_id)  # 404 before the stream starts
    batches = sse.job_events(partial(load_job, state), state.redis, state.settings.redis_prefix, job_id,
                             request.headers.get("last-event-id"))
    return StreamingResponse(state.metrics.track_stream(sse.json_stream(batches)), media_type="text/event-stream",
                             headers=sse.HEADERS)


async def export_json(request: Request) -> JSONResponse:
    store = request.state.store
    job_id = parse_job_id(request.path_params["job_id"])
    row = await with_document(request.state, await load_job(request.state, job_id))  # a partial document's verdicts too
    pages = await store.pages(job_id)
    export = export_document(job_data(row), pages)
    if (report := await stored_report(store, row)) is not None:  # a refresh: what changed since the job it refreshes
        export["changes"] = report.as_dict()
    return JSONResponse(export, headers=_attachment(download_name(row["initial_url"], "export.json")))


async def document_md(request: Request) -> Response:
    return await _output(request, "final_markdown", "text/markdown; charset=utf-8", "docs.md")


async def llms_txt(request: Request) -> Response:
    return await _output(request, "llms_txt", "text/plain; charset=utf-8", "llms.txt")


async def llms_full_txt(request: Request) -> Response:
    state = request.state
    job_id = parse_job_id(request.path_params["job_id"])
    job = await with_document(state, await load_job(state, job_id))
    if job["final_token_count"] is None:
        raise NotReady(_NOT_READY.format(status=job["status"]), field="status")
    pages = await state.store.pages(job_id, links=False)
    note = partial_note(job["status"], pages) if job_status(job)["partial"] else None
    text = await asyncio.to_thread(build_llms_full, pages, source_url=job["initial_url"],
                                   quality_threshold=job["quality_threshold"], token_budget=job["token_budget"],
                                   partial=note)
    return Response(text, media_type="text/plain; charset=utf-8",
                    headers=_attachment(download_name(job["initial_url"], "llms-full.txt")))


_NOT_READY = ("the job is {status}; its document is ready once it has completed"
              " (or, partial, once it has ended with pages stored)")


async def _output(request: Request, column: str, media_type: str, what: str) -> Response:
    job_id = parse_job_id(request.path_params["job_id"])
    job = await with_document(request.state, await load_job(request.state, job_id))
    row = found(await request.state.store.output(job_id, column), job_id)
    if row["output"] is None:
        raise NotReady(_NOT_READY.format(status=row["status"]), field="status")
    return Response(row["output"], media_type=media_type, headers=_attachment(download_name(job["initial_url"], what)))


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
