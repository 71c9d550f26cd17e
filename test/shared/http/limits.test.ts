import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSupervisor } from "../../../src/supervisor/supervisor.ts";
import { makeFixture } from "../../supervisor/lifecycle-fixture.ts";
import { errorOf, raw, startThreeServers, type ThreeServers } from "./servers.ts";

const HEADERS_TIMEOUT_MS = 1000;
const BODY_TIMEOUT_MS = 2000;
let s: ThreeServers;
beforeAll(async () => {
  s = await startThreeServers({
    LOOM_HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    LOOM_HTTP_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS),
    LOOM_SSE_MAX_CLIENTS: "2",
  });
}, 60_000);
afterAll(async () => {
  await s?.close();
});

const posts = () =>
  [
    ["Lab", s.lab.url, "/eval"],
    ["Supervisor", s.sup.url, "/spawn"],
    ["Prime", s.prime.url, "/chat"],
  ] as const;

/**
 * Sends the whole request before reading anything, as many clients do (Python's http.client, for one):
 * a server that closes the socket under the unread rest of the body resets the connection, and such a
 * client sees ECONNRESET or EPIPE, never the answer. Resolves with the status line's code, or the error.
 */
function sendWholeThenRead(
  url: string,
  head: string,
  body: Buffer,
): Promise<{ status: number | string; text: string }> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(u.port), u.hostname);
    socket.pause();
    let answer = "";
    let failed: string | undefined;
    socket.on("connect", () => {
      socket.write(head);
      socket.write(body, (err) => {
        if (err) failed = (err as NodeJS.ErrnoException).code ?? err.message;
        socket.resume();
      });
    });
    socket.on("data", (d) => {
      answer += d.toString();
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      failed ??= err.code ?? err.message;
    });
    socket.on("close", () => {
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(answer);
      resolve(
        m && !failed
          ? { status: Number(m[1]), text: answer.slice(answer.indexOf("\r\n\r\n") + 4) }
          : { status: failed ?? "closed without an answer", text: answer },
      );
    });
    setTimeout(() => socket.destroy(), 20_000).unref();
  });
}

describe("oversize bodies", () => {
  const TEN_MB = Buffer.alloc(10 * 1024 * 1024, 0x20);

  it("answer 413, never a connection reset: 10 tries of 10 MB on each server, sent whole before reading", async () => {
    for (const [name, url, path] of posts()) {
      const head = `POST ${path} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nContent-Type: application/json\r\nContent-Length: ${TEN_MB.length}\r\n\r\n`;
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await sendWholeThenRead(url, head, TEN_MB));
      expect(
        answers.map((a) => a.status),
        name,
      ).toEqual(Array(10).fill(413));
      for (const a of answers)
        expect(errorOf(a.text).message, name).toContain("request body is over the limit");
    }
  }, 60_000);

  it("answer 413 to a chunked 10 MB body, and 415 (not a reset) to one with the wrong content type", async () => {
    for (const [name, url, path] of posts()) {
      const chunked = await raw(url, {
        method: "POST",
        path,
        headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
        body: TEN_MB,
      });
      expect(chunked.status, name).toBe(413);
      const head = `POST ${path} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nContent-Type: text/plain\r\nContent-Length: ${TEN_MB.length}\r\n\r\n`;
      expect((await sendWholeThenRead(url, head, TEN_MB)).status, name).toBe(415);
    }
  }, 30_000);
});

/** Opens a raw connection, sends `head`, then one byte of `trickle` every 100 ms; resolves when the server closes it. */
function trickle(url: string, head: string, drip: string): Promise<{ ms: number; answer: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(Number(u.port), u.hostname);
    let answer = "";
    let i = 0;
    const timer = setInterval(() => {
      if (!socket.destroyed) socket.write(drip[i++ % drip.length] as string);
    }, 100);
    // Bounded: a server that never closes fails the test instead of hanging it.
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after 8 s; got ${JSON.stringify(answer)}`));
    }, 8000);
    socket.on("connect", () => socket.write(head));
    socket.on("data", (d) => {
      answer += d.toString();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ ms: Date.now() - started, answer });
    });
  });
}

describe("slow clients are closed near the limits", () => {
  it("a header trickle (slowloris) is cut at the headers timeout with a 408", async () => {
    for (const url of [s.lab.url, s.sup.url, s.prime.url]) {
      const host = new URL(url).host;
      const { ms, answer } = await trickle(url, `GET /stats HTTP/1.1\r\nHost: ${host}\r\n`, "X-Slow: a\r\n");
      expect(ms, url).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
      // Node checks for overdue requests every 250 ms here (a quarter of the limit); the rest is load.
      expect(ms, url).toBeLessThan(HEADERS_TIMEOUT_MS + 2000);
      expect(answer, url).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toContain("LOOM_HTTP_HEADERS_TIMEOUT_MS");
    }
  }, 30_000);

  it("a body trickle is cut at the body timeout with a 408", async () => {
    for (const [name, url, path] of posts()) {
      const host = new URL(url).host;
      const head = `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`;
      const { ms, answer } = await trickle(url, head, " ");
      expect(ms, name).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 50);
      expect(ms, name).toBeLessThan(BODY_TIMEOUT_MS + 2000);
      expect(answer, name).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toContain("LOOM_HTTP_BODY_TIMEOUT_MS");
    }
  }, 30_000);
});

describe("event streams are capped (LOOM_SSE_MAX_CLIENTS=2)", () => {
  async function open(url: string): Promise<{ status: number; text: string; close: () => void }> {
    const abort = new AbortController();
    const res = await fetch(url, { signal: abort.signal, headers: { accept: "text/event-stream" } });
    const text = res.ok ? "" : await res.text();
    return { status: res.status, text, close: () => abort.abort() };
  }

  it("refuses a third stream with 503 and a reason, and frees a slot when a client leaves", async () => {
    for (const base of [s.sup.url, s.prime.url]) {
      const a = await open(`${base}/logs`);
      const b = await open(`${base}/logs`);
      expect([a.status, b.status]).toEqual([200, 200]);
      const c = await open(`${base}/logs`);
      expect(c.status, base).toBe(503);
      expect(errorOf(c.text).code).toBe("TOO_MANY_STREAMS");
      expect(errorOf(c.text).message).toContain("LOOM_SSE_MAX_CLIENTS=2");
      a.close();
      await expect
        .poll(
          async () => {
            const d = await open(`${base}/logs`);
            d.close();
            return d.status;
          },
          { timeout: 3000, interval: 100 },
        )
        .toBe(200);
      b.close();
    }
  }, 30_000);

  it("Prime's POST /chat stream counts against the same cap: refused while /logs holds every slot", async () => {
    // The previous test's streams free their slots as their sockets close: wait until both are free.
    let a = await open(`${s.prime.url}/logs`);
    let b = await open(`${s.prime.url}/logs`);
    for (let i = 0; i < 30 && (a.status !== 200 || b.status !== 200); i++) {
      a.close();
      b.close();
      await new Promise((r) => setTimeout(r, 100));
      a = await open(`${s.prime.url}/logs`);
      b = await open(`${s.prime.url}/logs`);
    }
    expect([a.status, b.status]).toEqual([200, 200]);
    const res = await fetch(`${s.prime.url}/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: "hello" }),
    });
    const text = await res.text();
    expect(res.status, text).toBe(503);
    expect(errorOf(text).code).toBe("TOO_MANY_STREAMS");
    a.close();
    b.close();
    // Refused before the turn began: the conversation is still empty.
    expect(((await (await fetch(`${s.prime.url}/chat`)).json()) as { messages: unknown[] }).messages).toEqual(
      [],
    );
  });
});

describe("the Supervisor takes its limits from its config, not only from the environment", () => {
  it("a cap set in the config (as from .env) refuses the second stream", async () => {
    const fixture = await makeFixture([]);
    // Nothing in process.env: only the config carries the cap.
    expect(process.env.LOOM_SSE_MAX_CLIENTS).toBeUndefined();
    const sup = await startSupervisor({
      config: fixture.config({ LOOM_SSE_MAX_CLIENTS: "1" }),
      port: 0,
      log: () => {},
    });
    const aborts: AbortController[] = [];
    const open = async () => {
      const abort = new AbortController();
      aborts.push(abort);
      return fetch(`${sup.url}/logs`, { signal: abort.signal, headers: { accept: "text/event-stream" } });
    };
    try {
      expect((await open()).status).toBe(200);
      const second = await open();
      expect(second.status).toBe(503);
      expect(errorOf(await second.text()).message).toContain("LOOM_SSE_MAX_CLIENTS=1");
    } finally {
      for (const a of aborts) a.abort();
      await sup.close();
      await fixture.cleanup();
    }
  }, 30_000);
});
