import { ChatRequest } from "../../../schemas/chat.ts";
import type { PrimeLogEvent } from "../../../schemas/events.ts";
import type { PrimeHealth, PrimeStats } from "../../../schemas/prime.ts";
import { errorMessage, LoomError } from "../../shared/errors.ts";
import { readJson } from "../../shared/http/body.ts";
import { pageNonce, sendHtml } from "../../shared/http/html-page.ts";
import { HttpError, sendJson } from "../../shared/http/http-error.ts";
import type { Route } from "../../shared/http/router.ts";
import { openSse, type SseHub, writeSse } from "../../shared/http/sse.ts";
import type { ChatSession } from "../chat/chat-session.ts";
import { renderChatPage } from "./chat-page.ts";

export interface PrimeRoutesInput {
  readonly session: ChatSession;
  readonly hub: SseHub<PrimeLogEvent>;
  readonly stats: () => Promise<PrimeStats>;
  readonly health: () => PrimeHealth;
}

const busy = () =>
  new HttpError(
    409,
    "CHAT_BUSY",
    "Prime is answering another message; wait for its done event, then send yours",
  );

/** Prime's HTTP surface, one entry per route. */
export function primeRoutes(input: PrimeRoutesInput): Route[] {
  const { session, hub } = input;
  return [
    {
      method: "GET",
      path: "/",
      handle: async (_req, res) => {
        const nonce = pageNonce();
        sendHtml(res, 200, renderChatPage(nonce), nonce);
      },
    },
    { method: "GET", path: "/health", handle: async (_req, res) => sendJson(res, 200, input.health()) },
    { method: "GET", path: "/stats", handle: async (_req, res) => sendJson(res, 200, await input.stats()) },
    { method: "GET", path: "/logs", handle: async (_req, res) => hub.attach(res) },
    {
      method: "GET",
      path: "/chat",
      handle: async (_req, res) => sendJson(res, 200, { messages: session.messages, turns: session.turns }),
    },
    {
      method: "POST",
      path: "/chat",
      guarded: true,
      handle: async (req, res) => {
        // Refused before the body is read, so a busy answer costs nothing.
        if (session.busy) {
          req.resume();
          throw busy();
        }
        const { message } = await readJson(req, ChatRequest);
        if (session.busy) throw busy();
        // The answer is an event stream: it counts against the same cap as /logs.
        hub.slots.take(res);
        const turn = session.turn(message, (event) => writeSse(res, event));
        openSse(res);
        try {
          await turn;
        } catch (err) {
          // The stream is open: the failure travels as its last event.
          const code = err instanceof LoomError ? err.code : "INTERNAL";
          writeSse(res, { type: "error", code, message: errorMessage(err) });
        } finally {
          res.end();
        }
      },
    },
  ];
}
