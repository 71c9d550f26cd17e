import Anthropic, { type APIError } from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import type { ScriptTurnInput } from "../../../src/shared/scripted-model/index.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../../src/shared/scripted-model/index.ts";

const servers: ScriptedModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(script: ScriptTurnInput[]): Promise<ScriptedModelServer> {
  const server = await startScriptedModel(script);
  servers.push(server);
  return server;
}

const sdk = (server: ScriptedModelServer, options: { timeout?: number; maxRetries?: number } = {}) =>
  new Anthropic({ apiKey: "sk-test", baseURL: server.url, maxRetries: 0, ...options });

const ask = (client: Anthropic, messages: Anthropic.MessageParam[] = [{ role: "user", content: "hi" }]) =>
  client.messages.create({ model: "claude-test", max_tokens: 100, messages });

/** Awaits a promise expected to reject and returns the error. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the request to fail, but it succeeded");
}

describe("scripted model server: replies", () => {
  it("plays a tool_use round trip the SDK accepts", async () => {
    const server = await serve([
      { text: "Reading it.", tool: "read_file", input: { path: "a.ts" } },
      { text: "Done." },
    ]);
    const client = sdk(server);
    const messages: Anthropic.MessageParam[] = [{ role: "user", content: "read a.ts" }];
    const first = await ask(client, messages);
    expect(first.type).toBe("message");
    expect(first.role).toBe("assistant");
    expect(first.model).toBe("claude-test");
    expect(first.stop_reason).toBe("tool_use");
    expect(first.stop_sequence).toBeNull();
    expect(first.id).toMatch(/^msg_/);
    expect(first.content[0]).toMatchObject({ type: "text", text: "Reading it." });
    const use = first.content[1];
    if (use?.type !== "tool_use") throw new Error("expected a tool_use block");
    expect(use.id).toMatch(/^toolu_/);
    expect(use).toMatchObject({ name: "read_file", input: { path: "a.ts" } });
    expect(first._request_id).toMatch(/^req_/);

    messages.push({ role: "assistant", content: first.content });
    messages.push({
      role: "user",
      content: [{ type: "tool_result", tool_use_id: use.id, content: "export {}" }],
    });
    const second = await ask(client, messages);
    expect(second.stop_reason).toBe("end_turn");
    expect(second.content).toEqual([{ type: "text", text: "Done.", citations: null }]);
    expect(server.remaining()).toBe(0);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.path).toBe("/v1/messages");
    const headers = server.requests[1]?.headers ?? {};
    expect(headers["anthropic-version"]).toBeTruthy();
    expect(`${headers["x-api-key"] ?? ""} ${headers.authorization ?? ""}`).toContain("sk-test");
    expect(server.requests[1]?.body).toMatchObject({ messages: [{}, {}, {}] });
  });

  it("supports full content blocks, several tools, explicit stop_reason and usage", async () => {
    const server = await serve([
      { tools: [{ name: "a", input: { x: 1 } }, { name: "b" }] },
      {
        content: [{ type: "tool_use", id: "toolu_fixed", name: "c", input: {} }],
        stop_reason: "max_tokens",
        usage: { output_tokens: 7 },
      },
    ]);
    const client = sdk(server);
    const first = await ask(client);
    expect(first.content.map((b) => (b.type === "tool_use" ? [b.name, b.input] : null))).toEqual([
      ["a", { x: 1 }],
      ["b", {}],
    ]);
    const ids = first.content.map((b) => (b.type === "tool_use" ? b.id : ""));
    expect(new Set(ids).size).toBe(2);
    const second = await ask(client, [
      { role: "user", content: "go" },
      { role: "assistant", content: first.content },
      {
        role: "user",
        content: ids.map((id) => ({ type: "tool_result" as const, tool_use_id: id, content: "ok" })),
      },
    ]);
    expect(second.content[0]).toMatchObject({ id: "toolu_fixed", name: "c" });
    expect(second.stop_reason).toBe("max_tokens");
    expect(second.usage.output_tokens).toBe(7);
  });

  it("picks turns by `when`, else in order", async () => {
    const server = await serve([
      { when: { toolResultIsError: true }, text: "I will fix the error" },
      { when: { lastToolResultIncludes: "PASS" }, text: "tests pass" },
      { when: { lastUserTextIncludes: "hello" }, text: "greeting" },
      { text: "first plain" },
      { text: "second plain" },
    ]);
    const client = sdk(server);
    const toolTurn = (content: string, isError: boolean): Anthropic.MessageParam[] => [
      { role: "user", content: "run" },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "t", input: {} }] },
      {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: "toolu_1", content, is_error: isError }],
      },
    ];
    const text = async (messages?: Anthropic.MessageParam[]) => {
      const reply = await ask(client, messages);
      return reply.content[0]?.type === "text" ? reply.content[0].text : "";
    };
    expect(await text([{ role: "user", content: "say hello" }])).toBe("greeting");
    expect(await text(toolTurn("all PASS", false))).toBe("tests pass");
    expect(await text()).toBe("first plain");
    expect(await text(toolTurn("boom", true))).toBe("I will fix the error");
    expect(await text()).toBe("second plain");
    expect(server.remaining()).toBe(0);
  });

  it("`when.model` gives each model its own part of one script, whatever order the requests come in", async () => {
    const server = await serve([
      { when: { model: "model-a" }, text: "a first" },
      { when: { model: "model-b" }, text: "b first" },
      { when: { model: "model-a" }, text: "a second" },
    ]);
    const client = sdk(server);
    const say = async (model: string) => {
      const reply = await client.messages.create({
        model,
        max_tokens: 100,
        messages: [{ role: "user", content: "hi" }],
      });
      return reply.content[0]?.type === "text" ? reply.content[0].text : "";
    };
    expect(await say("model-b")).toBe("b first");
    expect(await say("model-a")).toBe("a first");
    expect(await say("model-a")).toBe("a second");
    const stray = await failure(say("model-b"));
    expect((stray as APIError).message).toContain("exhausted");
    const other = await serve([{ when: { model: "model-a" }, text: "never" }]);
    const unmatched = await failure(
      sdk(other).messages.create({
        model: "model-c",
        max_tokens: 100,
        messages: [{ role: "user", content: "hi" }],
      }),
    );
    expect((unmatched as APIError).message).toContain(
      "none of the 1 unplayed turns matches this request (model model-c",
    );
  });

  it("says clearly when the script is exhausted or no turn matches", async () => {
    const server = await serve([
      { text: "only" },
      { when: { lastUserTextIncludes: "magic" }, text: "never" },
    ]);
    const client = sdk(server);
    await ask(client);
    const unmatched = await failure(ask(client));
    expect(unmatched).toBeInstanceOf(Anthropic.InternalServerError);
    expect((unmatched as APIError).message).toContain("none of the 1 unplayed turns matches");
    await ask(client, [{ role: "user", content: "magic word" }]);
    const exhausted = await failure(ask(client));
    expect(exhausted).toBeInstanceOf(Anthropic.InternalServerError);
    expect((exhausted as APIError).type).toBe("api_error");
    expect((exhausted as APIError).message).toContain("scripted model: script exhausted after 2 turns");
  });

  it("rejects an invalid script with the path and reason", async () => {
    const bad = [
      { text: "ok" },
      { tool: 5 },
      { fault: "rate_limit", retryAfterMs: -1 },
    ] as unknown as ScriptTurnInput[];
    await expect(startScriptedModel(bad)).rejects.toThrow(
      /\[1\]\.tool: .*expected string.*\[2\]\.retryAfterMs/,
    );
  });
});

describe("scripted model server: faults as the SDK sees them", () => {
  it("rate_limit → RateLimitError 429 with retry-after headers", async () => {
    const server = await serve([{ fault: "rate_limit", retryAfterMs: 1500 }]);
    const error = await failure(ask(sdk(server)));
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const api = error as APIError;
    expect(api.status).toBe(429);
    expect(api.type).toBe("rate_limit_error");
    expect(api.headers?.get("retry-after")).toBe("2");
    expect(api.headers?.get("retry-after-ms")).toBe("1500");
    expect(api.requestID).toMatch(/^req_/);
  });

  it("overloaded → APIError 529 overloaded_error", async () => {
    const server = await serve([{ fault: "overloaded" }]);
    const error = await failure(ask(sdk(server)));
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as APIError).status).toBe(529);
    expect((error as APIError).type).toBe("overloaded_error");
  });

  it("server_error → InternalServerError 500", async () => {
    const server = await serve([{ fault: "server_error" }]);
    const error = await failure(ask(sdk(server)));
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect((error as APIError).status).toBe(500);
    expect((error as APIError).type).toBe("api_error");
  });

  it("auth → AuthenticationError 401; server_error with retryAfterMs carries the headers", async () => {
    const server = await serve([{ fault: "auth" }, { fault: "server_error", retryAfterMs: 20 }]);
    const auth = await failure(ask(sdk(server)));
    expect(auth).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((auth as APIError).type).toBe("authentication_error");
    const server500 = await failure(ask(sdk(server)));
    expect((server500 as APIError).headers?.get("retry-after-ms")).toBe("20");
  });

  it("slow → APIConnectionTimeoutError, and the pending reply is dropped when the client hangs up", async () => {
    const server = await serve([{ fault: "slow", delayMs: 5_000 }, { text: "after" }]);
    const started = Date.now();
    const error = await failure(ask(sdk(server, { timeout: 200 })));
    expect(error).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    expect(Date.now() - started).toBeLessThan(2_000);
    // close() must return promptly although a 5 s reply was pending.
    const closing = Date.now();
    await server.close();
    expect(Date.now() - closing).toBeLessThan(1_000);
  });

  it("slow answers after its delay when the client waits", async () => {
    const server = await serve([{ fault: "slow", delayMs: 150, text: "eventually" }]);
    const started = Date.now();
    const reply = await ask(sdk(server, { timeout: 2_000 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(reply.content[0]).toMatchObject({ type: "text", text: "eventually" });
  });

  it("a reply with thinkMs answers, tool call and all, only after that long", async () => {
    const server = await serve([{ tool: "read_file", input: { path: "a" }, thinkMs: 150 }]);
    const started = Date.now();
    const reply = await ask(sdk(server, { timeout: 2_000 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(reply.stop_reason).toBe("tool_use");
    expect(reply.content[0]).toMatchObject({ type: "tool_use", name: "read_file", input: { path: "a" } });
  });

  it("malformed → a JSON parse error in the SDK", async () => {
    const server = await serve([{ fault: "malformed" }]);
    const error = await failure(ask(sdk(server)));
    expect(error).toBeInstanceOf(SyntaxError);
  });
});
