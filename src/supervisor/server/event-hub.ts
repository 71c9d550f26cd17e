import type { ServerResponse } from "node:http";
import type { SupervisorEvent } from "../lifecycle/events.ts";

const KEEP = 200;
const HEARTBEAT_MS = 15_000;

/** Fans Supervisor events out to SSE clients; a new client first gets the recent history. */
export class EventHub {
  private readonly recent: SupervisorEvent[] = [];
  private readonly clients = new Set<ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor() {
    // Comments keep proxies and idle timeouts from closing a quiet stream.
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) c.write(": keep-alive\n\n");
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  publish = (event: SupervisorEvent): void => {
    this.recent.push(event);
    if (this.recent.length > KEEP) this.recent.shift();
    const frame = `data: ${JSON.stringify(event)}\n\n`;
    for (const c of this.clients) c.write(frame);
  };

  history(): readonly SupervisorEvent[] {
    return this.recent;
  }

  attach(res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
    });
    for (const e of this.recent) res.write(`data: ${JSON.stringify(e)}\n\n`);
    this.clients.add(res);
    res.on("close", () => this.clients.delete(res));
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}
