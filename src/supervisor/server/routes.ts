import type { SupervisorEvent } from "../../../schemas/events.ts";
import {
  ArchiveRequest,
  PromoteRequest,
  RollbackRequest,
  SpawnRequest,
} from "../../../schemas/supervisor.ts";
import { ReviewRequest, VerifyRequest } from "../../../schemas/verification.ts";
import { readJson } from "../../shared/http/body.ts";
import { pageNonce, sendHtml } from "../../shared/http/html-page.ts";
import { HttpError, sendJson } from "../../shared/http/http-error.ts";
import type { Route } from "../../shared/http/router.ts";
import type { SseHub } from "../../shared/http/sse.ts";
import type { SupervisorApi } from "../api.ts";
import { isHeldForPerson } from "../verify/gate-hold.ts";
import {
  type PageOptions,
  renderDashboard,
  renderGenerationPage,
  renderMissingGenerationPage,
  wantsHtml,
} from "./pages/index.ts";

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
export function supervisorRoutes(
  api: SupervisorApi,
  hub: SseHub<SupervisorEvent>,
  page: PageOptions = { promoteMode: "auto", tokenRequired: false },
): Route[] {
  return [
    {
      method: "GET",
      path: "/",
      handle: async (_req, res) => {
        const [records, stats] = await Promise.all([api.list(), api.stats()]);
        const held = await Promise.all(
          records.filter(isHeldForPerson).map(async (record) => ({
            record,
            diff: await api.diff(record.generation).catch(() => null),
          })),
        );
        const nonce = pageNonce();
        sendHtml(res, 200, renderDashboard({ records, stats, page, nonce, held }), nonce);
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
      // One URL for people and programs: a browser (Accept: text/html) gets the page, anything else JSON.
      handle: async (req, res, params) => {
        const n = generationParam(params.n);
        const record = await api.get(n);
        if (wantsHtml(req.headers.accept)) {
          const nonce = pageNonce();
          return record
            ? sendHtml(res, 200, renderGenerationPage({ record, page, nonce }), nonce)
            : sendHtml(res, 404, renderMissingGenerationPage(n, nonce), nonce);
        }
        if (!record)
          throw new HttpError(
            404,
            "GENERATION_NOT_FOUND",
            `generation ${n} does not exist; GET /generations lists them`,
          );
        sendJson(res, 200, record, { vary: "Accept" });
      },
    },
    {
      method: "GET",
      path: "/generations/:n/diff",
      handle: async (_req, res, params) => sendJson(res, 200, await api.diff(generationParam(params.n))),
    },
    {
      method: "POST",
      path: "/verify",
      guarded: true,
      handle: async (req, res) => {
        const body = await readJson(req, VerifyRequest);
        // A job like /spawn: the record shows it running; GET /generations/:n and /logs show its end.
        sendJson(res, 202, await api.verify(body.generation, body.through));
      },
    },
    {
      method: "POST",
      path: "/review",
      guarded: true,
      handle: async (req, res) => sendJson(res, 200, await api.review(await readJson(req, ReviewRequest))),
    },
    {
      method: "POST",
      path: "/spawn",
      guarded: true,
      handle: async (req, res) => {
        const { program, ...round } = await readJson(req, SpawnRequest);
        sendJson(res, 202, await api.spawn(program, round));
      },
    },
    {
      method: "POST",
      path: "/promote",
      guarded: true,
      handle: async (req, res) => {
        const body = await readJson(req, PromoteRequest);
        sendJson(res, 200, await api.promote(body.generation, body.approveGateChange));
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
    {
      method: "POST",
      path: "/archive",
      guarded: true,
      handle: async (req, res) => {
        const body = await readJson(req, ArchiveRequest);
        sendJson(res, 200, await api.archive(body.generation, body.reason));
      },
    },
  ];
}
