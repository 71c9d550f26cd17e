import { PromoteRequest, RollbackRequest, SpawnRequest } from "../../../schemas/supervisor.ts";
import type { SupervisorApi } from "./api.ts";
import { renderDashboard } from "./dashboard.ts";
import type { EventHub } from "./event-hub.ts";
import { HttpError, readJson, sendJson } from "./http-io.ts";
import type { Route } from "./router.ts";

function generationParam(raw: string | undefined): number {
  if (raw === undefined || !/^[1-9][0-9]{0,8}$/.test(raw)) {
    throw new HttpError(
      400,
      "INVALID_GENERATION",
      `generation ${JSON.stringify(raw)} is not accepted; expected an integer ≥ 1`,
    );
  }
  return Number(raw);
}

/** The Supervisor's HTTP surface, one entry per route. */
export function supervisorRoutes(api: SupervisorApi, hub: EventHub): Route[] {
  return [
    {
      method: "GET",
      path: "/",
      handle: async (_req, res) => {
        const html = renderDashboard(await api.list());
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
        res.end(html);
      },
    },
    { method: "GET", path: "/logs", handle: async (_req, res) => hub.attach(res) },
    { method: "GET", path: "/stats", handle: async (_req, res) => sendJson(res, 200, await api.stats()) },
    {
      method: "GET",
      path: "/generations",
      handle: async (_req, res) => sendJson(res, 200, await api.list()),
    },
    {
      method: "GET",
      path: "/generations/:n",
      handle: async (_req, res, params) => {
        const n = generationParam(params.n);
        const record = await api.get(n);
        if (!record)
          throw new HttpError(
            404,
            "GENERATION_NOT_FOUND",
            `generation ${n} does not exist; GET /generations lists them`,
          );
        sendJson(res, 200, record);
      },
    },
    {
      method: "POST",
      path: "/spawn",
      guarded: true,
      handle: async (req, res) => {
        const body = await readJson(req, SpawnRequest);
        sendJson(res, 202, await api.spawn(body.program));
      },
    },
    {
      method: "POST",
      path: "/promote",
      guarded: true,
      handle: async (req, res) => {
        const body = await readJson(req, PromoteRequest);
        sendJson(res, 200, await api.promote(body.generation));
      },
    },
    {
      method: "POST",
      path: "/rollback",
      guarded: true,
      handle: async (req, res) => {
        const body = await readJson(req, RollbackRequest);
        sendJson(res, 200, await api.rollback(body.generation, body.reason));
      },
    },
  ];
}
