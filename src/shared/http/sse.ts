import type { ServerResponse } from "node:http";

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

/** Fans events out to SSE clients; a new client first gets the recent history. */
export class SseHub<T> {
  private readonly recent: T[] = [];
  private readonly clients = new Set<ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly keep = 200) {
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

  attach(res: ServerResponse): void {
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
