"""``/runs``: on-demand runs, run reads and lists, re-trigger, over ``flows.runs``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from headwater.api.auth import check_request
from headwater.api.body import model_body, openapi_body
from headwater.api.responses import JSONBody
from headwater.api.routes.common import in_transaction, list_body, list_query
from headwater.core.scope import Scope
from headwater.flows import runs

router = APIRouter(tags=["Runs"])
Caller = Annotated[Scope, Depends(check_request)]


@router.post(
    "/runs", status_code=201, summary="Create an on-demand run", openapi_extra=openapi_body(runs.CreateRun)
)
async def create_run(request: Request, scope: Caller) -> JSONBody:
    payload = await model_body(request, runs.CreateRun)
    return JSONBody(
        await in_transaction(request, lambda db: runs.create(db, scope, payload)), status_code=201
    )


@router.get("/runs", summary="List runs (property=flowId==X, state==failed, ...)")
async def list_runs(request: Request, scope: Caller) -> JSONBody:
    query = list_query(request)
    listing = await in_transaction(request, lambda db: runs.page(db, scope, query), read_only=True)
    return JSONBody(list_body(request, listing, query))


@router.get("/runs/{run_id}", summary="Get a run")
async def get_run(request: Request, run_id: str, scope: Caller) -> dict[str, Any]:
    return await in_transaction(request, lambda db: runs.get(db, scope, run_id), read_only=True)


@router.post("/runs/{run_id}/action", summary="Re-trigger a failed run (?op=re_trigger)")
async def run_action(request: Request, run_id: str, scope: Caller) -> dict[str, Any]:
    op = request.query_params.get("op")
    return await in_transaction(request, lambda db: runs.retrigger(db, scope, run_id, op))
