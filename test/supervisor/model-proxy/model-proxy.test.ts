import { request } from "node:http";
import Anthropic from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { ModelError } from "../../../src/agent/model-client.ts";
import { unixSocketFetch } from "../../../src/agent/unix-socket-fetch.ts";
import { usageForRecord } from "../../../src/supervisor/model-proxy/index.ts";
import { LAB_MODEL, type ProxyRig, proxyRig, REAL_KEY } from "./proxy-fixture.ts";

const rigs: ProxyRig[] = [];
afterEach(async () => {
  await Promise.all(rigs.splice(0).map((r) => r.close()));
});
async function rig(...args: Parameters<typeof proxyRig>): Promise<ProxyRig> {
  const r = await proxyRig(...args);
  rigs.push(r);
  return r;
}

const hi = { system: "", tools: [], messages: [{ role: "user" as const, content: "hi" }] };
const usage = {
  input_tokens: 1000,
  output_tokens: 200,
  cache_read_input_tokens: 3000,
  cache_creation_input_tokens: 400,
};
const noCache = { cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
// haiku 4.5 per million: $1 in, $5 out, $0.10 cache read, $1.25 cache write.
const HAIKU_COST = (1000 * 1 + 200 * 5 + 3000 * 0.1 + 400 * 1.25) / 1e6;

async function failure(promise: Promise<unknown>): Promise<ModelError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ModelError)) throw new Error(`expected a ModelError, got ${String(error)}`);
  return error;
}

/** A raw HTTP exchange over the socket, for what the SDK would not send. */
function raw(
  socketPath: string,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method: opts.method ?? "POST", path: opts.path ?? "/v1/messages", headers: opts.headers },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

describe("model proxy: forwarding over the generation's unix socket", () => {
  it("forwards Loom's model client with the real key, which the Lab never had, and counts usage and cost", async () => {
    const r = await rig([{ text: "hello", usage }]);
    const response = await r.client().call(hi);
    expect(response.content).toEqual([expect.objectContaining({ type: "text", text: "hello" })]);
    const seen = r.model.requests[0]!.headers;
    expect(seen["x-api-key"]).toBe(REAL_KEY);
    expect(seen.authorization).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(r.token);
    expect(r.proxy.usage(r.generation)).toMatchObject({
      requests: 1,
      inputTokens: 1000,
      outputTokens: 200,
      cacheReadTokens: 3000,
      cacheWriteTokens: 400,
      budgetExceeded: false,
      unpricedModels: [],
    });
    expect(r.proxy.usage(r.generation)!.costUsd).toBeCloseTo(HAIKU_COST, 12);
  });

  it("counts a streamed (SSE) response from its message_start and message_delta events, passing the stream through", async () => {
    const r = await rig([
      { text: "streamed hello", usage },
      { text: "second", usage },
    ]);
    const sdk = new Anthropic({
      apiKey: r.token,
      baseURL: "http://model-proxy",
      fetch: unixSocketFetch(r.socketPath),
      maxRetries: 0,
    });
    const stream = sdk.messages.stream({
      model: LAB_MODEL,
      max_tokens: 100,
      messages: [{ role: "user", content: "hi" }],
    });
    const deltas: string[] = [];
    stream.on("text", (t) => deltas.push(t));
    const message = await stream.finalMessage();
    expect(deltas.join("")).toBe("streamed hello");
    expect(message.usage).toMatchObject({ input_tokens: 1000, output_tokens: 200 });
    await r.client().call(hi);
    expect(r.proxy.usage(r.generation)).toMatchObject({
      requests: 2,
      inputTokens: 2000,
      outputTokens: 400,
      cacheReadTokens: 6000,
      cacheWriteTokens: 800,
    });
    expect(r.proxy.usage(r.generation)!.costUsd).toBeCloseTo(2 * HAIKU_COST, 12);
  });

  it("states the cost as unknown for a model without a known price", async () => {
    const r = await rig([{ text: "a", usage }]);
    await r.client({ model: "mystery-model-1" }).call(hi);
    expect(r.proxy.usage(r.generation)).toMatchObject({
      inputTokens: 1000,
      costUsd: null,
      unpricedModels: ["mystery-model-1"],
    });
    expect(r.logs.join("\n")).toMatch(/no price known for model mystery-model-1; cost unknown/);
  });

  it("forwards count_tokens too (uncounted, never refused), passing the API's answer through", async () => {
    const r = await rig([]);
    const body = JSON.stringify({ model: LAB_MODEL, messages: [{ role: "user", content: "x" }] });
    const res = await raw(r.socketPath, {
      path: "/v1/messages/count_tokens",
      headers: { "x-api-key": r.token, "content-type": "application/json" },
      body,
    });
    // The scripted model has no count_tokens: its own 404 shows the request reached it, with the real key.
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).error.message).toMatch(/the scripted server serves/);
    expect(r.model.requests[0]).toMatchObject({ path: "/v1/messages/count_tokens", body: JSON.parse(body) });
    expect(r.model.requests[0]!.headers["x-api-key"]).toBe(REAL_KEY);
    expect(r.proxy.usage(r.generation)).toMatchObject({ requests: 0, inputTokens: 0 });
  });

  it("works as a Lab configures it: LOOM_LAB_MODEL_SOCKET and the token as LOOM_LAB_API_KEY", async () => {
    const { loadConfig } = await import("../../../src/shared/config.ts");
    const { modelClientFor } = await import("../../../src/agent/model-for-role.ts");
    const r = await rig([{ text: "via config" }]);
    const config = loadConfig({
      env: { LOOM_LAB_MODEL_SOCKET: r.socketPath, LOOM_LAB_API_KEY: r.token, LOOM_MAX_RETRIES: "0" },
      cwd: r.dir,
    });
    expect(() => loadConfig({ env: { LOOM_LAB_MODEL_SOCKET: "run/model.sock" }, cwd: r.dir })).toThrow(
      /LOOM_LAB_MODEL_SOCKET="run\/model.sock" is not valid: expected an absolute path/,
    );
    const response = await modelClientFor(config, "lab").call(hi);
    expect(response.content[0]).toMatchObject({ text: "via config" });
    expect(r.model.requests[0]!.headers["x-api-key"]).toBe(REAL_KEY);
  });
});

describe("model proxy: the token budget", () => {
  it("refuses the request after the budget is reached with a non-retried error; the Lab's loop stops on it", async () => {
    const { runAgentLoop } = await import("../../../src/agent/loop.ts");
    const r = await rig(
      [
        { tool: "noop", input: {}, usage: { ...noCache, input_tokens: 600, output_tokens: 50 } },
        { tool: "noop", input: {}, usage: { ...noCache, input_tokens: 600, output_tokens: 50 } },
        { text: "never reached" },
      ],
      { budgetTokens: 1000 },
    );
    const events: string[] = [];
    // The client retries what is retryable: the budget refusal must not be.
    const result = await runAgentLoop(
      [{ role: "user", content: "work" }],
      {
        model: r.client({ maxRetries: 4 }),
        tools: {
          definitions: () => [
            { name: "noop", description: "does nothing", input_schema: { type: "object" } },
          ],
          execute: async () => ({ content: "ok", isError: false, durationMs: 0 }),
        },
        emit: (e) => events.push(e.type),
        workspace: r.dir,
      },
      { system: "s", maxIterations: 10, maxContextMessages: 20, tokenBudget: 0 },
    );
    expect(result.reason).toBe("token_budget");
    expect(result.error?.code).toBe("MODEL_BUDGET_EXHAUSTED");
    expect(result.error?.message).toMatch(/generation 7 has used 1300 of its 1000-token budget/);
    expect(r.model.requests).toHaveLength(2);
    expect(r.logs.filter((l) => l.includes("refused a model request"))).toHaveLength(1);
    const final = await r.proxy.close(r.generation);
    expect(final).toMatchObject({ requests: 2, budgetExceeded: true, budgetTokens: 1000 });
    const record = usageForRecord(final!, { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 });
    expect(record.tokens).toEqual({ input: 1200, output: 100, cacheRead: 0, cacheWrite: 0 });
    expect(record.modelUsage).toMatchObject({
      source: "model-proxy",
      requests: 2,
      budgetExceeded: true,
      labReported: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 },
    });
    expect(record.budgetReason).toMatch(
      /token budget ended the Lab's run: the model proxy counted 1300 tokens against LOOM_TOKEN_BUDGET=1000/,
    );
  });

  it("with no budget (0) never refuses", async () => {
    const r = await rig([
      { text: "a", usage },
      { text: "b", usage },
    ]);
    await r.client().call(hi);
    await r.client().call(hi);
    expect(r.proxy.usage(r.generation)).toMatchObject({ requests: 2, budgetExceeded: false });
  });
});

describe("model proxy: bad input never reaches the API", () => {
  it("answers 401 in the API's error shape for a missing or wrong token", async () => {
    const r = await rig([{ text: "unused" }]);
    const wrong = await failure(r.client({ apiKey: "sk-ant-guess" }).call(hi));
    expect(wrong).toMatchObject({ code: "MODEL_AUTH", status: 401 });
    expect(wrong.message).toMatch(/not this generation's model-proxy token/);
    const body = JSON.stringify({
      model: LAB_MODEL,
      max_tokens: 5,
      messages: [{ role: "user", content: "x" }],
    });
    const none = await raw(r.socketPath, { headers: { "content-type": "application/json" }, body });
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toEqual({
      type: "error",
      error: { type: "authentication_error", message: expect.stringMatching(/no token/) },
    });
    expect(r.model.requests).toHaveLength(0);
  });

  it("answers 404 for any route but the Messages API's", async () => {
    const r = await rig([{ text: "unused" }]);
    for (const [method, path] of [
      ["GET", "/v1/models"],
      ["POST", "/v1/complete"],
      ["GET", "/v1/messages"],
      ["POST", "/../etc/passwd"],
      // A target the URL parser reads as a host ("//x") or refuses ("//") is a path all the same.
      ["POST", "//v1/messages"],
      ["GET", "//"],
      ["POST", "///"],
    ] as const) {
      const res = await raw(r.socketPath, { method, path, headers: { "x-api-key": r.token } });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(JSON.parse(res.body).error).toMatchObject({
        type: "not_found_error",
        message: expect.stringMatching(/forwards only POST \/v1\/messages/),
      });
    }
    expect(r.model.requests).toHaveLength(0);
  });

  it("refuses a model the generation was not opened for, when it names its models", async () => {
    const r = await rig([{ text: "allowed" }]);
    const socketPath = `${r.dir}/g8/model.sock`;
    const { token } = await r.proxy.open({ generation: 8, socketPath, budgetTokens: 0, models: [LAB_MODEL] });
    const { createModelClient } = await import("../../../src/agent/model-client.ts");
    const client = (model: string) =>
      createModelClient({
        apiKey: token,
        baseURL: "http://model-proxy",
        fetch: unixSocketFetch(socketPath),
        model,
        timeoutMs: 5000,
        maxRetries: 0,
      });
    const refused = await failure(client("claude-opus-4-1").call(hi));
    expect(refused).toMatchObject({ code: "MODEL_BAD_REQUEST", status: 400 });
    expect(refused.message).toMatch(/claude-opus-4-1 is not allowed for generation 8; use claude-haiku-4-5/);
    expect(r.model.requests).toHaveLength(0);
    expect((await client(LAB_MODEL).call(hi)).content[0]).toMatchObject({ text: "allowed" });
  });

  it("answers 413 (not a reset) for a body over its limit", async () => {
    const r = await rig([{ text: "unused" }], { proxy: { maxBodyBytes: 64 * 1024 } });
    const big = await failure(
      r.client().call({ ...hi, messages: [{ role: "user", content: "x".repeat(200 * 1024) }] }),
    );
    expect(big).toMatchObject({ code: "MODEL_BAD_REQUEST", status: 413 });
    expect(big.message).toMatch(/over the proxy's limit of 65536 bytes/);
    const res = await raw(r.socketPath, {
      headers: { "x-api-key": r.token },
      body: Buffer.alloc(1024 * 1024, 120),
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.type).toBe("request_too_large");
    expect(r.model.requests).toHaveLength(0);
  });
});
