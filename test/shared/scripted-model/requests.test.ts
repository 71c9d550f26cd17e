import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type ScriptedModelServer,
  type ScriptTurnInput,
  scriptFromFile,
  startScriptedModel,
} from "../../../src/shared/scripted-model/index.ts";

const servers: ScriptedModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(script: ScriptTurnInput[], maxBodyBytes?: number): Promise<ScriptedModelServer> {
  const server = await startScriptedModel(script, { maxBodyBytes });
  servers.push(server);
  return server;
}

interface ApiReply {
  status: number;
  requestId: string | null;
  body: { type?: string; error?: { type: string; message: string }; usage?: Record<string, number> };
}

async function post(server: ScriptedModelServer, body: unknown, path = "/v1/messages"): Promise<ApiReply> {
  const response = await fetch(server.url + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    requestId: response.headers.get("request-id"),
    body: (await response.json()) as ApiReply["body"],
  };
}

const valid = { model: "m", max_tokens: 10, messages: [{ role: "user", content: "hi" }] };
const toolUse = { role: "assistant", content: [{ type: "tool_use", id: "toolu_a", name: "t", input: {} }] };

describe("scripted model server: request validation", () => {
  const cases: [string, unknown, RegExp][] = [
    ["bad JSON", "{not json", /not valid JSON/],
    ["an empty body", "", /body is empty/],
    ["a non-object body", [1, 2], /body: .*expected object/],
    ["missing model", { max_tokens: 10, messages: valid.messages }, /^model: Field required/],
    ["missing max_tokens", { model: "m", messages: valid.messages }, /^max_tokens: Field required/],
    ["missing messages", { model: "m", max_tokens: 10 }, /^messages: Field required/],
    ["a bad role", { ...valid, messages: [{ role: "robot", content: "x" }] }, /^messages\.0\.role: /],
    [
      "tool_choice forcing a tool the request does not offer",
      { ...valid, tools: [{ name: "a" }], tool_choice: { type: "tool", name: "b" } },
      /^tool_choice: tool `b` is not among the request's tools/,
    ],
    [
      "tool_use without a tool_result next",
      { ...valid, messages: [valid.messages[0], toolUse, { role: "user", content: "and?" }] },
      /messages\.2: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_a/,
    ],
    [
      "tool_use as the last message",
      { ...valid, messages: [valid.messages[0], toolUse] },
      /without `tool_result` blocks.*toolu_a/,
    ],
    [
      "a tool_result answering the wrong id",
      {
        ...valid,
        messages: [
          valid.messages[0],
          toolUse,
          { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_zzz", content: "x" }] },
        ],
      },
      /found without `tool_result` blocks immediately after: toolu_a\./,
    ],
  ];

  for (const [what, body, message] of cases) {
    it(`answers 400 invalid_request_error for ${what}, without using a turn`, async () => {
      const server = await serve([{ text: "unused" }]);
      const reply = await post(server, body);
      expect(reply.status).toBe(400);
      expect(reply.requestId).toMatch(/^req_/);
      expect(reply.body.type).toBe("error");
      expect(reply.body.error?.type).toBe("invalid_request_error");
      expect(reply.body.error?.message).toMatch(message);
      expect(server.remaining()).toBe(1);
      expect(server.requests).toHaveLength(1);
    });
  }

  it("names the stray tool_result id when the tool_use ids are answered", async () => {
    const server = await serve([{ text: "unused" }]);
    const content = [
      { type: "tool_result", tool_use_id: "toolu_a", content: "x" },
      { type: "tool_result", tool_use_id: "toolu_zzz", content: "y" },
    ];
    const reply = await post(server, {
      ...valid,
      messages: [valid.messages[0], toolUse, { role: "user", content }],
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error?.message).toMatch(/messages\.2\.content: unexpected `tool_use_id`.*toolu_zzz/);
  });

  it("answers 413 request_too_large past the body limit", async () => {
    const server = await serve([{ text: "unused" }], 1_000);
    const reply = await post(server, { ...valid, messages: [{ role: "user", content: "x".repeat(5_000) }] });
    expect(reply.status).toBe(413);
    expect(reply.body.error?.type).toBe("request_too_large");
    expect(server.remaining()).toBe(1);
  });

  it("answers 404 not_found_error for other routes and serves GET /v1/models", async () => {
    const server = await serve([]);
    const missing = await post(server, valid, "/v1/complete");
    expect(missing.status).toBe(404);
    expect(missing.body.error?.type).toBe("not_found_error");
    expect(missing.body.error?.message).toContain("POST /v1/complete");
    const models = await fetch(server.url + "/v1/models");
    expect(models.status).toBe(200);
    const list = (await models.json()) as { data: { type: string; id: string }[] };
    expect(list.data[0]).toMatchObject({ type: "model", id: "scripted-model" });
  });
});

describe("scripted model server: usage", () => {
  it("estimates usage from the request size and simulates prompt caching on identical prefixes", async () => {
    const server = await serve([
      { text: "a" },
      { text: "b" },
      { text: "c" },
      { text: "d", usage: { input_tokens: 3 } },
    ]);
    const system = [{ type: "text", text: "S".repeat(4_000), cache_control: { type: "ephemeral" } }];
    const plain = await post(server, valid);
    expect(plain.body.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(plain.body.usage?.input_tokens).toBeGreaterThan(0);
    expect(plain.body.usage?.output_tokens).toBeGreaterThan(0);

    const first = await post(server, { ...valid, system });
    expect(first.body.usage?.cache_creation_input_tokens).toBeGreaterThanOrEqual(1_000);
    expect(first.body.usage?.cache_read_input_tokens).toBe(0);
    const second = await post(server, {
      ...valid,
      system,
      messages: [{ role: "user", content: "different question" }],
    });
    expect(second.body.usage?.cache_read_input_tokens).toBe(first.body.usage?.cache_creation_input_tokens);
    expect(second.body.usage?.cache_creation_input_tokens).toBe(0);
    // A bigger input gives a bigger estimate; scripted fields override the estimate, others stay estimated.
    expect(second.body.usage?.input_tokens).toBeGreaterThan(first.body.usage?.input_tokens ?? Infinity);
    const overridden = await post(server, { ...valid, system });
    expect(overridden.body.usage).toMatchObject({
      input_tokens: 3,
      cache_read_input_tokens: first.body.usage?.cache_creation_input_tokens,
    });
  });
});

describe("scriptFromFile", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "loom-script-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("loads a valid JSON script with shorthand turns and defaults", async () => {
    const path = join(dir, "ok.json");
    await writeFile(path, JSON.stringify([{ tool: "ls" }, { fault: "rate_limit" }, { text: "bye" }]));
    const script = await scriptFromFile(path);
    expect(script).toHaveLength(3);
    expect(script[1]).toEqual({ fault: "rate_limit", retryAfterMs: 1000 });
    const server = await serve(script);
    expect(server.remaining()).toBe(3);
  });

  it("names the file, the zod path and the reason for an invalid script", async () => {
    const path = join(dir, "bad.json");
    await writeFile(
      path,
      JSON.stringify([
        { text: "ok" },
        { fault: "slow" },
        { text: "x", tool: "a", tools: [{ name: "b" }] },
        {},
      ]),
    );
    const error = await scriptFromFile(path).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "SCRIPT_INVALID" });
    const message = (error as Error).message;
    expect(message).toContain(path);
    expect(message).toMatch(/\[1\]\.delayMs: /);
    expect(message).toMatch(/\[2\]: give either `tool` \(one call\) or `tools`/);
    expect(message).toMatch(/\[3\]: a reply needs `content`, `text`, `tool` or `tools`/);
  });

  it("reports unreadable files and invalid JSON", async () => {
    await expect(scriptFromFile(join(dir, "missing.json"))).rejects.toThrow(
      /cannot read model script .*no such file/,
    );
    const path = join(dir, "broken.json");
    await writeFile(path, "[{");
    await expect(scriptFromFile(path)).rejects.toThrow(/is not valid JSON/);
  });
});
