import type { ServerResponse } from "node:http";
import { HttpError } from "./http-error.ts";
import { httpLimitsFromEnv } from "./limits.ts";

const HEARTBEAT_MS = 15_000;

/** Starts a server-sent event stream on `res`. */
export function openSse(res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    connection: "keep-alive",
  });
  // Sends the headers now, so a client sees the stream open before the first event.
  res.flushHeaders();
}

/** One SSE frame carrying `data` as JSON; no-op on a closed stream. */
export function writeSse(res: ServerResponse, data: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  res.write(`data: ${JSON.stringify(data)}\n\n`);
}

/**
 * Counts a server's open event streams: each one holds a socket and a buffer for as long as the client
 * stays, so past `max` a new one is refused (503) until one leaves.
 */
export class SseSlots {
  private open = 0;

  constructor(readonly max: number = httpLimitsFromEnv().sseMaxClients) {}

  get inUse(): number {
    return this.open;
  }

  /** Takes a slot for `res`, freed when it closes; throws 503 when every slot is taken. */
  take(res: ServerResponse): void {
    if (this.open >= this.max) {
      throw new HttpError(
        503,
        "TOO_MANY_STREAMS",
        `${this.open} event streams are open, the most this server keeps (LOOM_SSE_MAX_CLIENTS=${this.max}); close one (another tab of this page?) and retry`,
        { "retry-after": "5" },
      );
    }
    this.open++;
    res.once("close", () => {
      this.open--;
    });
  }
}

/** Fans events out to SSE clients; a new client first gets the recent history. */
export class SseHub<T> {
  private readonly recent: T[] = [];
  private readonly clients = new Set<ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;

  /** Shared with the server's other streams (Prime's POST /chat), so one cap covers them all. */
  readonly slots: SseSlots;

  constructor(
    private readonly keep = 200,
    slots?: SseSlots,
  ) {
    this.slots = slots ?? new SseSlots();
    // Comments keep proxies and idle timeouts from closing a quiet stream.
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) c.write(": keep-alive\n\n");
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  publish = (event: T): void => {
    this.recent.push(event);
    if (this.recent.length > this.keep) this.recent.shift();
    for (const c of this.clients) writeSse(c, event);
  };

  history(): readonly T[] {
    return this.recent;
  }

  /** Opens a stream on `res`, or throws 503 (before anything is written) when every slot is taken. */
  attach(res: ServerResponse): void {
    this.slots.take(res);
    openSse(res);
    for (const e of this.recent) writeSse(res, e);
    this.clients.add(res);
    res.on("close", () => this.clients.delete(res));
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}
