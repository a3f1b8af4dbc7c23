"""``/mentions``: listening-query search with filters, cursor pages, highlights and a streamed CSV export."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from api.csv_export import CSV_MEDIA_TYPE, mentions_csv, wants_csv
from api.deps import ApiKeyDep, LimitsDep, StoreDep
from api.filters import MentionFilterDep
from api.problems import ProblemError, problem_responses
from api.schemas.mentions import MentionHit, MentionPage, MentionPublic
from earshot.errors import InputError
from store.base import SearchRequest

log = logging.getLogger(__name__)

router = APIRouter(prefix="/mentions", tags=["mentions"])

_CSV_DOC = {
    "description": (
        "A page of mentions (JSON), or with `Accept: text/csv` every matching mention as CSV, "
        "streamed newest first (`limit` and `cursor` are ignored)."
    ),
    "content": {
        CSV_MEDIA_TYPE: {
            "schema": {"type": "string"},
            "example": "id,published_at,source,site,author,title,text,url,language,brands,topics,sentiment,…\n",
        }
    },
}


@router.get(
    "",
    response_model=MentionPage,
    summary="Search mentions",
    responses={200: _CSV_DOC, **problem_responses(400, 401, 403, 422, 503)},
)
def search_mentions(
    request: Request,
    store: StoreDep,
    limits: LimitsDep,
    key: ApiKeyDep,
    flt: MentionFilterDep,
    sort: Annotated[
        Literal["time", "relevance"],
        Query(description="`time`: newest first; `relevance`: best match for `q` first (needs `q`)."),
    ] = "time",
    limit: Annotated[int, Query(ge=1, le=500, description="Page size (at most 500).")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=1000, description="`next_cursor` from the previous page.")
    ] = None,
    highlight: Annotated[bool, Query(description="Return fragments with the query's words marked.")] = False,
) -> Response | MentionPage:
    """Mentions matching a listening query and filters, one page at a time.

    Pages continue with `cursor`; a cursor stays valid while new mentions arrive,
    so no mention is skipped or repeated between pages. Duplicates are left out
    unless `include_duplicates=true`.
    """
    if sort == "relevance" and flt.query is None:
        raise ProblemError(
            400, "sort=relevance needs a listening query in q; use sort=time without one", kind="invalid-sort"
        )
    if wants_csv(request.headers.get("accept")):
        log.info("event=csv_export key_id=%s", key.id)
        return StreamingResponse(
            mentions_csv(store, flt, max_rows=limits.csv_max_rows),
            media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="mentions.csv"'},
        )
    size = min(limit, limits.max_page_size)
    try:
        request_ = SearchRequest(
            filter=flt, sort=sort, limit=size, cursor=cursor, highlight=highlight and flt.query is not None
        )
        page = store.search(request_)
    except (InputError, ValueError) as exc:
        if cursor is None:
            raise
        raise ProblemError(
            400, "the cursor is not valid for this search; start again without cursor", kind="invalid-cursor"
        ) from exc
    items = [MentionHit.from_hit(h) for h in page.hits]
    return MentionPage(items=items, next_cursor=page.next_cursor, total=page.total)


@router.get(
    "/{mention_id}",
    response_model=MentionPublic,
    summary="Get one mention",
    responses=problem_responses(401, 403, 404, 422, 503),
)
def get_mention(
    store: StoreDep,
    key: ApiKeyDep,
    mention_id: Annotated[
        str, Path(max_length=200, description="The mention's id.", examples=["5f0c3b1e9a7d2c4b6e8f0a1b"])
    ],
) -> MentionPublic:
    """One mention by its id."""
    mention = store.get_mention(mention_id)
    if mention is None:
        raise ProblemError(404, f"no mention with id {mention_id!r}", kind="not-found", title="Mention not found")
    return MentionPublic.from_model(mention)
