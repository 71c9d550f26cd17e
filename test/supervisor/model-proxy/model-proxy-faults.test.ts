import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ModelError } from "../../../src/agent/model-client.ts";
import { freePort } from "../../../src/supervisor/lifecycle/free-port.ts";
import { createModelProxy, ModelProxyError } from "../../../src/supervisor/model-proxy/index.ts";
import { type ProxyRig, proxyRig, REAL_KEY } from "./proxy-fixture.ts";

const rigs: ProxyRig[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function rig(...args: Parameters<typeof proxyRig>): Promise<ProxyRig> {
  const r = await proxyRig(...args);
  rigs.push(r);
  return r;
}

const hi = { system: "", tools: [], messages: [{ role: "user" as const, content: "hi" }] };

async function failure(promise: Promise<unknown>): Promise<ModelError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ModelError)) throw new Error(`expected a ModelError, got ${String(error)}`);
  return error;
}

/** A fetch that hands requests to the real one and keeps each request's abort signal. */
function watchedFetch() {
  const signals: AbortSignal[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    if (init?.signal) signals.push(init.signal);
    return globalThis.fetch(input, init);
  };
  return { fetch, signals };
}

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return condition();
}

const gap = (r: ProxyRig, i: number) => r.model.requests[i]!.at - r.model.requests[i - 1]!.at;

describe("model proxy: upstream faults pass through as the client expects", () => {
  it("passes 429 with its retry-after-ms through, so the client's retry waits as asked and then succeeds", async () => {
    const r = await rig([{ fault: "rate_limit", retryAfterMs: 400 }, { text: "after the wait" }]);
    const response = await r.client({ maxRetries: 2 }).call(hi);
    expect(response.content[0]).toMatchObject({ text: "after the wait" });
    expect(r.model.requests).toHaveLength(2);
    expect(gap(r, 1)).toBeGreaterThanOrEqual(350);
    expect(r.proxy.usage(r.generation)?.requests).toBe(2);
  });

  it("passes 500 and 529 through to the client's retries, and 529 to the end when they run out", async () => {
    const r = await rig([
      { fault: "server_error", retryAfterMs: 10 },
      { fault: "overloaded", retryAfterMs: 10 },
      { text: "third time" },
      { fault: "overloaded", retryAfterMs: 10 },
      { fault: "overloaded", retryAfterMs: 10 },
    ]);
    expect((await r.client({ maxRetries: 2 }).call(hi)).content[0]).toMatchObject({ text: "third time" });
    const overloaded = await failure(r.client({ maxRetries: 1 }).call(hi));
    expect(overloaded).toMatchObject({ code: "MODEL_OVERLOADED", status: 529 });
    expect(r.model.requests).toHaveLength(5);
  });

  it("a hanging API: the client's timeout bounds the call, and the proxy aborts the upstream request", async () => {
    const watched = watchedFetch();
    const r = await rig([{ fault: "slow", delayMs: 20_000 }], { proxy: { fetch: watched.fetch } });
    const started = Date.now();
    const error = await failure(r.client({ timeoutMs: 1000, maxRetries: 0 }).call(hi));
    expect(error.code).toBe("MODEL_TIMEOUT");
    expect(Date.now() - started).toBeLessThan(5000);
    expect(watched.signals).toHaveLength(1);
    expect(await until(() => watched.signals[0]!.aborted, 2000)).toBe(true);
  });

  it("answers 504 when the API does not answer within the proxy's own limit", async () => {
    const r = await rig([{ fault: "slow", delayMs: 20_000 }], { proxy: { upstreamTimeoutMs: 300 } });
    const error = await failure(r.client({ timeoutMs: 10_000, maxRetries: 0 }).call(hi));
    expect(error).toMatchObject({ code: "MODEL_SERVER_ERROR", status: 504 });
    expect(error.message).toMatch(/did not answer within the proxy's 300 ms/);
  });

  it("answers 502 when the API cannot be reached", async () => {
    const port = await freePort();
    const r = await rig([], { proxy: { upstream: `http://127.0.0.1:${port}` } });
    const error = await failure(r.client({ maxRetries: 0 }).call(hi));
    expect(error).toMatchObject({ code: "MODEL_SERVER_ERROR", status: 502 });
    // Where it tried and why it failed: the origin (never the key) and the connection's own error.
    expect(error.message).toContain(`could not reach the model API at http://127.0.0.1:${port}: `);
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(error.message).not.toContain(REAL_KEY);
  });
});

describe("model proxy: slow clients", () => {
  it("cuts off a client that stalls in its headers or its body instead of holding it open", async () => {
    const r = await rig([], { proxy: { headersTimeoutMs: 500, requestTimeoutMs: 1000 } });
    const stall = async (text: string) => {
      const socket = connect(r.socketPath);
      const started = Date.now();
      socket.write(text);
      let answer = "";
      socket.on("data", (c) => {
        answer += c.toString();
      });
      await new Promise<void>((resolve) => socket.on("close", () => resolve()));
      return { ms: Date.now() - started, answer };
    };
    const headers = await stall("POST /v1/messages HTTP/1.1\r\nHost: x\r\n");
    expect(headers.ms).toBeLessThan(3000);
    const body = await stall(
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: ${r.token}\r\ncontent-length: 100\r\n\r\n{"a":`,
    );
    expect(body.ms).toBeLessThan(4000);
    expect(body.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(r.model.requests).toHaveLength(0);
  });
});

describe("model proxy: open and close", () => {
  it("close() aborts a request in flight, removes the socket, leaves no handle open, and is idempotent", async () => {
    const handles = () => process.getActiveResourcesInfo().filter((h) => /Pipe|TCP/.test(h)).length;
    const before = handles();
    const watched = watchedFetch();
    const r = await rig(
      [
        { text: "counted", usage: { input_tokens: 10, output_tokens: 5 } },
        { fault: "slow", delayMs: 20_000 },
      ],
      {
        proxy: { fetch: watched.fetch },
      },
    );
    await r.client().call(hi);
    const pending = failure(r.client({ timeoutMs: 20_000, maxRetries: 0 }).call(hi));
    expect(await until(() => r.model.requests.length === 2, 5000)).toBe(true);
    const started = Date.now();
    const final = await r.proxy.close(r.generation);
    const error = await pending;
    expect(error.code).toMatch(/MODEL_UNREACHABLE|MODEL_BAD_RESPONSE/);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(watched.signals[1]!.aborted).toBe(true);
    expect(final).toMatchObject({ requests: 1, inputTokens: 10, outputTokens: 5 });
    expect(await r.proxy.close(r.generation)).toEqual(final);
    expect(r.proxy.usage(r.generation)).toEqual(final);
    await expect(stat(r.socketPath)).rejects.toThrow(/ENOENT/);
    await r.model.close();
    expect(await until(() => handles() <= before, 2000)).toBe(true);
  });

  it("refuses a relative, over-long or occupied socket path and a generation already open; replaces a stale socket", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "loom-proxy-open-"));
    dirs.push(dir);
    const proxy = createModelProxy({ upstream: "http://127.0.0.1:9", apiKey: "k" });
    try {
      const open = (socketPath: string, generation = 1) =>
        proxy.open({ generation, socketPath, budgetTokens: 0 });
      await expect(open("run/model.sock")).rejects.toThrow(/is not absolute/);
      await expect(open(path.join(dir, "a.sock"), 0)).rejects.toThrow(
        /generation 0 is not a positive whole number/,
      );
      await expect(
        proxy.open({ generation: 2, socketPath: path.join(dir, "b.sock"), budgetTokens: -1 }),
      ).rejects.toThrow(/budgetTokens -1 is not a whole number of tokens/);
      await expect(open(path.join(dir, "x".repeat(120), "model.sock"))).rejects.toThrow(
        /unix sockets allow at most 103/,
      );
      await writeFile(path.join(dir, "file"), "not a socket");
      await expect(open(path.join(dir, "file"))).rejects.toThrow(ModelProxyError);
      expect(await stat(path.join(dir, "file")).then((s) => s.isFile())).toBe(true);
      // A socket left by a killed Supervisor is replaced.
      const stale = createServer();
      const socketPath = path.join(dir, "model.sock");
      await new Promise<void>((resolve) => stale.listen(socketPath, resolve));
      stale.close();
      await writeFile(path.join(dir, "marker"), "");
      const { token } = await open(socketPath);
      expect(token).toMatch(/^loom-proxy-1-[0-9a-f]{48}$/);
      expect(((await stat(socketPath)).mode & 0o777).toString(8)).toBe("600");
      await expect(open(path.join(dir, "other.sock"))).rejects.toMatchObject({
        code: "MODEL_PROXY_ALREADY_OPEN",
      });
    } finally {
      await proxy.closeAll();
    }
  });

  it("also serves loopback TCP when asked (for tests and demos), with the same token check", async () => {
    const r = await rig([{ text: "over tcp" }]);
    const { token, url } = await r.proxy.open({
      generation: 99,
      socketPath: path.join(r.dir, "tcp", "model.sock"),
      budgetTokens: 0,
      loopbackPort: 0,
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const { createModelClient } = await import("../../../src/agent/model-client.ts");
    const client = createModelClient({
      apiKey: token,
      baseURL: url!,
      model: "claude-sonnet-4-5",
      timeoutMs: 5000,
      maxRetries: 0,
    });
    expect((await client.call(hi)).content[0]).toMatchObject({ text: "over tcp" });
    expect(r.proxy.usage(99)?.requests).toBe(1);
    expect(r.proxy.usage(r.generation)?.requests).toBe(0);
  });
});
