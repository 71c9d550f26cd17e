import { afterEach, describe, expect, it } from "vitest";
import { createModelClient, type ModelClientOptions, ModelError } from "../../src/agent/model-client.ts";
import type { ModelRequest, ToolDefinition } from "../../src/agent/model-port.ts";
import {
  type ScriptedModelServer,
  type ScriptTurnInput,
  startScriptedModel,
} from "../../src/shared/scripted-model/index.ts";

const servers: ScriptedModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(script: ScriptTurnInput[]): Promise<ScriptedModelServer> {
  const server = await startScriptedModel(script);
  servers.push(server);
  return server;
}

const client = (server: ScriptedModelServer, options: Partial<ModelClientOptions> = {}) =>
  createModelClient({
    apiKey: "sk-test",
    baseURL: server.url,
    model: "claude-test",
    timeoutMs: 2_000,
    maxRetries: 0,
    ...options,
  });

const tools: ToolDefinition[] = [
  {
    name: "read_file",
    description: "Read a file",
    input_schema: { type: "object", properties: { path: { type: "string" } } },
  },
  { name: "write_file", description: "Write a file", input_schema: { type: "object", properties: {} } },
];
const request: ModelRequest = {
  system: "You are Loom. ".repeat(300),
  tools,
  messages: [{ role: "user", content: "hello" }],
};

async function failure(promise: Promise<unknown>): Promise<ModelError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ModelError)) throw new Error(`expected a ModelError, got ${String(error)}`);
  return error;
}

const gapMs = (server: ScriptedModelServer, i: number) => server.requests[i]!.at - server.requests[i - 1]!.at;

describe("model client: requests and accounting", () => {
  it("sends cache_control on the system block and the last tool, and maps the response", async () => {
    const server = await serve([{ text: "hi", tool: "read_file", input: { path: "a" } }]);
    const response = await client(server, { maxTokens: 321 }).call(request);
    const body = server.requests[0]!.body as Record<string, unknown> & { tools: Record<string, unknown>[] };
    expect(body.model).toBe("claude-test");
    expect(body.max_tokens).toBe(321);
    expect(body.system).toEqual([
      { type: "text", text: request.system, cache_control: { type: "ephemeral" } },
    ]);
    expect(body.tools[0]).not.toHaveProperty("cache_control");
    expect(body.tools[1]).toMatchObject({ name: "write_file", cache_control: { type: "ephemeral" } });
    expect(tools[1]).not.toHaveProperty("cache_control");
    // The conversation so far is a third breakpoint; the caller's messages are left untouched.
    const messages = body.messages as { content: Record<string, unknown>[] }[];
    expect(messages.at(-1)!.content.at(-1)).toEqual({
      type: "text",
      text: "hello",
      cache_control: { type: "ephemeral" },
    });
    expect(request.messages[0]!.content).toBe("hello");
    expect(response.stopReason).toBe("tool_use");
    expect(response.model).toBe("claude-test");
    expect(response.content.map((b) => b.type)).toEqual(["text", "tool_use"]);
  });

  it("leaves out an empty system prompt and an empty tool list; per-call maxTokens wins", async () => {
    const server = await serve([{ text: "ok" }]);
    await client(server).call({ system: "", tools: [], messages: request.messages, maxTokens: 55 });
    const body = server.requests[0]!.body as Record<string, unknown>;
    expect(body).not.toHaveProperty("system");
    expect(body).not.toHaveProperty("tools");
    expect(body.max_tokens).toBe(55);
  });

  it("reports usage per call and accumulates it per run, with cache writes then reads", async () => {
    const server = await serve([
      { text: "one", usage: { output_tokens: 5 } },
      { text: "two", usage: { output_tokens: 7 } },
    ]);
    const model = client(server);
    const first = await model.call(request);
    // The next call of a conversation: everything the first call sent is read back from the cache,
    // and only the new turn is written.
    const second = await model.call({
      ...request,
      messages: [
        ...request.messages,
        { role: "assistant", content: "one" },
        { role: "user", content: "another question" },
      ],
    });
    expect(first.usage.cacheWrite).toBeGreaterThan(500);
    expect(first.usage.cacheRead).toBe(0);
    expect(second.usage.cacheRead).toBe(first.usage.cacheWrite);
    expect(second.usage.cacheWrite).toBeGreaterThan(0);
    expect(second.usage.cacheWrite).toBeLessThan(first.usage.cacheWrite / 10);
    expect(model.calls).toBe(2);
    expect(model.usage).toEqual({
      input: first.usage.input + second.usage.input,
      output: 12,
      cacheRead: second.usage.cacheRead,
      cacheWrite: first.usage.cacheWrite + second.usage.cacheWrite,
    });
  });

  it("uses the given fetch", async () => {
    const server = await serve([{ text: "ok" }]);
    const seen: string[] = [];
    const countingFetch: typeof fetch = (input, init) => {
      seen.push(String(input instanceof Request ? input.url : input));
      return fetch(input, init);
    };
    await client(server, { fetch: countingFetch }).call(request);
    expect(seen).toEqual([`${server.url}/v1/messages`]);
  });

  it("rejects bad options with the option name", () => {
    expect(() => createModelClient({ apiKey: "", model: "m", timeoutMs: 1, maxRetries: 0 })).toThrow(
      /option apiKey: an API key is required/,
    );
    expect(() => createModelClient({ apiKey: "k", model: "m", timeoutMs: 0, maxRetries: 0 })).toThrow(
      /option timeoutMs: /,
    );
    expect(() => createModelClient({ apiKey: "k", model: "m", timeoutMs: 1, maxRetries: 99 })).toThrow(
      /option maxRetries: /,
    );
    expect(() =>
      createModelClient({ apiKey: "k", model: "m", timeoutMs: 1, maxRetries: 0, baseURL: "ftp://x" }),
    ).toThrow(/option baseURL: expected an http\(s\) URL/);
  });
});

describe("model client: retries", () => {
  it("honours retry-after-ms (measured) and recovers from 429", async () => {
    const server = await serve([
      { fault: "rate_limit", retryAfterMs: 30 },
      { fault: "rate_limit", retryAfterMs: 600 },
      { text: "finally" },
    ]);
    const response = await client(server, { maxRetries: 2 }).call(request);
    expect(response.content[0]).toMatchObject({ text: "finally" });
    expect(server.requests).toHaveLength(3);
    // The SDK's own backoff would be ≥ 375 ms and retry-after (seconds) would be 1000 ms: 30 proves -ms is used.
    expect(gapMs(server, 1)).toBeLessThan(300);
    expect(gapMs(server, 2)).toBeGreaterThanOrEqual(590);
    expect(gapMs(server, 2)).toBeLessThan(990);
  });

  it("recovers from 529 and 500 then succeeds, counting the retries", async () => {
    const server = await serve([
      { fault: "overloaded", retryAfterMs: 10 },
      { fault: "server_error", retryAfterMs: 10 },
      { text: "ok" },
    ]);
    const model = client(server, { maxRetries: 3 });
    await model.call(request);
    expect(server.requests).toHaveLength(3);
    expect(server.requests.map((r) => r.headers["x-stainless-retry-count"])).toEqual(["0", "1", "2"]);
    expect(model.calls).toBe(1);
  });

  it("gives up after maxRetries with MODEL_RATE_LIMITED, leaving later turns unplayed", async () => {
    const server = await serve([
      { fault: "rate_limit", retryAfterMs: 10 },
      { fault: "rate_limit", retryAfterMs: 10 },
      { fault: "rate_limit", retryAfterMs: 1000 },
      { text: "never reached" },
    ]);
    const model = client(server, { maxRetries: 2 });
    const error = await failure(model.call(request));
    expect(error.code).toBe("MODEL_RATE_LIMITED");
    expect(error.status).toBe(429);
    expect(error.requestId).toMatch(/^req_/);
    expect(error.message).toMatch(/after 3 attempts .*wait 1 s/);
    expect(server.requests).toHaveLength(3);
    expect(server.remaining()).toBe(1);
    expect(model.calls).toBe(0);
    expect(model.usage).toEqual({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });
  });

  it("retries a timed-out attempt and succeeds", async () => {
    // The timeout holds for every attempt: long enough that the second answers within it on a busy
    // machine (150 ms once did not, in CI), far shorter than the first attempt's delay.
    const server = await serve([{ fault: "slow", delayMs: 10_000 }, { text: "second try" }]);
    const response = await client(server, { timeoutMs: 1_000, maxRetries: 1 }).call(request);
    expect(response.content[0]).toMatchObject({ text: "second try" });
    expect(server.requests).toHaveLength(2);
  });
});

describe("model client: errors", () => {
  const cases: [string, ScriptTurnInput, string, RegExp][] = [
    ["529", { fault: "overloaded" }, "MODEL_OVERLOADED", /overloaded.*retry later/],
    ["500", { fault: "server_error" }, "MODEL_SERVER_ERROR", /500 api_error.*retry later/],
    ["401", { fault: "auth" }, "MODEL_AUTH", /check the API key/],
    ["a truncated body", { fault: "malformed" }, "MODEL_BAD_RESPONSE", /not valid JSON/],
  ];
  for (const [what, turn, code, message] of cases) {
    it(`maps ${what} to ${code}`, async () => {
      const server = await serve([turn]);
      const error = await failure(client(server).call(request));
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
    });
  }

  it("maps a 400 (tool_use without tool_result) to MODEL_BAD_REQUEST with the API's message", async () => {
    const server = await serve([{ text: "unused" }]);
    const messages: ModelRequest["messages"] = [
      { role: "user", content: "go" },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_x", name: "read_file", input: {} }] },
      { role: "user", content: "forgot the result" },
    ];
    const error = await failure(client(server).call({ ...request, messages }));
    expect(error.code).toBe("MODEL_BAD_REQUEST");
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/invalid_request_error: messages\.2: `tool_use` ids were found/);
  });

  it("times out with MODEL_TIMEOUT", async () => {
    const server = await serve([{ fault: "slow", delayMs: 3_000 }]);
    const started = Date.now();
    const error = await failure(client(server, { timeoutMs: 150 }).call(request));
    expect(error.code).toBe("MODEL_TIMEOUT");
    expect(error.message).toMatch(/within 150 ms/);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("aborts mid-request and during a retry wait with MODEL_ABORTED", async () => {
    const server = await serve([
      { fault: "slow", delayMs: 3_000 },
      { fault: "rate_limit", retryAfterMs: 3_000 },
    ]);
    const model = client(server, { maxRetries: 2 });
    for (let i = 0; i < 2; i++) {
      const controller = new AbortController();
      const started = Date.now();
      setTimeout(() => controller.abort(), 100);
      const error = await failure(model.call(request, controller.signal));
      expect(error.code).toBe("MODEL_ABORTED");
      expect(Date.now() - started).toBeLessThan(1_000);
    }
    expect(server.requests).toHaveLength(2);
  });

  it("does not send anything for an already aborted signal", async () => {
    const server = await serve([{ text: "unused" }]);
    const error = await failure(client(server).call(request, AbortSignal.abort()));
    expect(error.code).toBe("MODEL_ABORTED");
    expect(server.requests).toHaveLength(0);
  });

  it("maps a refused connection to MODEL_UNREACHABLE", async () => {
    const server = await serve([]);
    const url = server.url;
    await server.close();
    const error = await failure(
      createModelClient({ apiKey: "k", baseURL: url, model: "m", timeoutMs: 1_000, maxRetries: 0 }).call(
        request,
      ),
    );
    expect(error.code).toBe("MODEL_UNREACHABLE");
    expect(error.message).toMatch(/cannot reach the model API/);
    // Names where it tried and why it failed, not only "Connection error.".
    expect(error.message).toContain(url);
    expect(error.message).toContain("ECONNREFUSED");
  });
});
