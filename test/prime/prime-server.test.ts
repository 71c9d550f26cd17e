import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrimeHealth, PrimeStats } from "../../schemas/prime.ts";
import { ErrorBody } from "../../schemas/supervisor.ts";
import { ChatLog } from "../../src/prime/chat/chat-log.ts";
import { chatClosedWarning, primeAuthorizer } from "../../src/prime/server/server.ts";
import type { Prime } from "../../src/prime/start-prime.ts";
import type { Route } from "../../src/shared/http/router.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { chat, primeConfig, startTestPrime, tempDir } from "./prime-helpers.ts";

let model: ScriptedModelServer;
let prime: Prime;
let root: { dir: string; cleanup: () => Promise<void> };
let repo: string;
let stateDir: string;

const start = () => startTestPrime({ config: primeConfig(model), repo, stateDir });

beforeAll(async () => {
  root = await tempDir("loom-prime-server-");
  repo = path.join(root.dir, "repo");
  stateDir = path.join(root.dir, "state");
  await mkdir(path.join(repo, "src"), { recursive: true });
  await writeFile(path.join(repo, "README.md"), "# hello readme\n");
  await writeFile(path.join(repo, "src", "a.ts"), "export function one(): number {\n  return 1;\n}\n");
  model = await startScriptedModel([
    // POST /chat runs a tool
    { text: "Let me look.", tool: "read_file", input: { path: "README.md" } },
    { text: "The README says hello." },
    // a self-modify tool called with bad input
    { tool: "verify_generation", input: { generation: 0 } },
    { text: "I will pass a valid generation next time." },
    // the busy turn
    { fault: "slow", delayMs: 1500, text: "slow reply" },
    // after the restart
    { text: "Yes: you asked about the README." },
  ]);
  prime = await start();
}, 30_000);
afterAll(async () => {
  await prime?.close();
  await model?.close();
  await root?.cleanup();
});

async function expectError(res: Response, status: number, code: string): Promise<string> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  const body = ErrorBody.parse(JSON.parse(text));
  expect(body.error.code).toBe(code);
  expect(text).not.toMatch(/\n\s+at /);
  return body.error.message;
}

/** The events a /logs client sees until a `done` event arrives. */
async function logsUntilDone(url: string): Promise<Record<string, unknown>[]> {
  const abort = new AbortController();
  const res = await fetch(`${url}/logs`, { signal: abort.signal });
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const events: Record<string, unknown>[] = [];
  while (!events.some((e) => e.type === "done")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    events.length = 0;
    for (const frame of text.split("\n\n")) {
      const data = frame.split("\n").find((l) => l.startsWith("data: "));
      if (data) events.push(JSON.parse(data.slice(6)));
    }
  }
  abort.abort();
  return events;
}

describe("Prime HTTP", () => {
  it("GET /health answers ok (with the commit of the code it runs); GET / is the chat page without secrets", async () => {
    const res = await fetch(`${prime.url}/health`);
    expect(res.status).toBe(200);
    const health = PrimeHealth.parse(await res.json());
    expect(health.ok).toBe(true);
    // These tests run from a git checkout of Loom, so the commit is known.
    expect(health.commit).toMatch(/^[0-9a-f]{40}$/);
    const page = await fetch(`${prime.url}/`);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain("<textarea");
    expect(html).toContain('fetch("/chat"');
    expect(html).not.toContain("prime-test-key");
  });

  it("POST /chat streams the turn's events and runs a tool whose result reaches the model", async () => {
    const r = await chat(prime.url, "What does the README say?");
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/event-stream/);
    expect(r.events.map((e) => e.type)).toEqual([
      "turn_start",
      "model_call",
      "text",
      "tool_start",
      "tool_end",
      "model_call",
      "text",
      "done",
    ]);
    const start = r.events[3]!;
    expect(start).toMatchObject({ name: "read_file", input: { path: "README.md" } });
    const end = r.events[4]!;
    expect(end).toMatchObject({ name: "read_file", isError: false });
    expect(end.output).toContain("# hello readme");
    expect(r.events[6]).toEqual({ type: "text", text: "The README says hello." });
    expect(r.events[7]).toMatchObject({ type: "done", reason: "end_turn", iterations: 2 });
    // The second model call carried the file's content as the tool result.
    const second = model.requests.at(-1)!.body as { messages: { role: string; content: unknown }[] };
    expect(JSON.stringify(second.messages.at(-1))).toContain("# hello readme");
    // /logs has every event of the turn too.
    const logs = await logsUntilDone(prime.url);
    expect(logs.filter((e) => e.type !== "log").map((e) => e.type)).toEqual(r.events.map((e) => e.type));
  });

  it("offers the model only read and self-modify tools; a bad self-modify input comes back as an error to correct", async () => {
    const r = await chat(prime.url, "Verify generation zero.");
    const end = r.events.find((e) => e.type === "tool_end")!;
    expect(end).toMatchObject({ name: "verify_generation", isError: true });
    expect(end.output).toMatch(/invalid input: generation: .*>=1/);
    expect(r.events.at(-1)).toMatchObject({ type: "done", reason: "end_turn" });
    const request = model.requests.at(-1)!.body as { tools: { name: string }[] };
    const names = request.tools.map((t) => t.name).sort();
    expect(names).toEqual(
      [
        "analyze",
        "promote_generation",
        "read_file",
        "reflect_and_propose",
        "rollback_generation",
        "run_autonomous_loop",
        "spawn_lab",
        "ts_outline",
        "ts_read",
        "verify_generation",
      ].sort(),
    );
  });

  it("400 for a bad body, 404, 405 and 413, naming what was wrong; the model is not called", async () => {
    const calls = model.requests.length;
    const post = (body: string) =>
      fetch(`${prime.url}/chat`, { method: "POST", headers: { "content-type": "application/json" }, body });
    await expectError(await post("{nope"), 400, "INVALID_JSON");
    expect(await expectError(await post(JSON.stringify({ message: "" })), 400, "INVALID_BODY")).toMatch(
      /message/,
    );
    expect(await expectError(await post(JSON.stringify({ message: "   " })), 400, "INVALID_BODY")).toMatch(
      /whitespace/,
    );
    expect(
      await expectError(await post(JSON.stringify({ message: "hi", extra: 1 })), 400, "INVALID_BODY"),
    ).toMatch(/extra/);
    expect(await expectError(await post(JSON.stringify({ text: "hi" })), 400, "INVALID_BODY")).toMatch(
      /message/,
    );
    expect(await expectError(await fetch(`${prime.url}/nope`), 404, "NOT_FOUND")).toMatch(/POST \/chat/);
    const wrong = await fetch(`${prime.url}/chat`, { method: "DELETE" });
    expect(wrong.headers.get("allow")).toBe("GET, POST");
    await expectError(wrong, 405, "METHOD_NOT_ALLOWED");
    await expectError(
      await post(JSON.stringify({ message: "x".repeat(1024 * 1024 + 10) })),
      413,
      "BODY_TOO_LARGE",
    );
    expect(model.requests.length).toBe(calls);
  });

  it("409 while a turn runs; the running turn still finishes", async () => {
    const first = await fetch(`${prime.url}/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: "Take your time." }),
    });
    // The headers are out: the turn is running.
    expect(first.status).toBe(200);
    const busyStats = PrimeStats.parse(await (await fetch(`${prime.url}/stats`)).json());
    expect(busyStats.busy).toBe(true);
    const second = await fetch(`${prime.url}/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: "Me too!" }),
    });
    expect(await expectError(second, 409, "CHAT_BUSY")).toMatch(/wait/);
    const text = await first.text();
    expect(text).toContain('"slow reply"');
    expect(text).toContain('"type":"done"');
  });

  it("GET /stats counts turns and tokens and names the model and the Supervisor", async () => {
    const stats = PrimeStats.parse(await (await fetch(`${prime.url}/stats`)).json());
    expect(stats).toMatchObject({
      model: "claude-sonnet-4-20250514",
      supervisorUrl: "http://127.0.0.1:9",
      turns: 3,
      busy: false,
      autonomous: { running: false, lastError: null },
    });
    expect(stats.totalTokens).toBe(
      stats.tokens.input + stats.tokens.output + stats.tokens.cacheRead + stats.tokens.cacheWrite,
    );
    expect(stats.tokens.output).toBeGreaterThan(0);
  });

  it("keeps the conversation across a restart: the model sees the earlier turns", async () => {
    const before = (await (await fetch(`${prime.url}/chat`)).json()) as { messages: unknown[] };
    await prime.close();
    prime = await start();
    const after = (await (await fetch(`${prime.url}/chat`)).json()) as { messages: unknown[]; turns: number };
    expect(after.messages).toEqual(before.messages);
    expect(after.turns).toBe(3);
    const r = await chat(prime.url, "Do you remember what I asked first?");
    expect(r.events.at(-1)).toMatchObject({ type: "done", reason: "end_turn" });
    const sent = JSON.stringify((model.requests.at(-1)!.body as { messages: unknown }).messages);
    expect(sent).toContain("What does the README say?");
    expect(sent).toContain("The README says hello.");
    const stats = PrimeStats.parse(await (await fetch(`${prime.url}/stats`)).json());
    expect(stats.turns).toBe(4);
    const lines = (await readFile(path.join(stateDir, "chat.jsonl"), "utf8")).trim().split("\n");
    expect(lines.every((l) => JSON.parse(l).version === 1)).toBe(true);
  });
});

describe("chat.jsonl", () => {
  it("skips a torn last line and closes a turn a restart cut short, so roles alternate", async () => {
    const dir = await tempDir("loom-chat-log-");
    try {
      const log = new ChatLog(path.join(dir.dir, "chat.jsonl"));
      await log.appendMessages([
        { role: "user", content: "first" },
        { role: "assistant", content: [{ type: "text", text: "answer" }] },
        { role: "user", content: "cut short" },
      ]);
      await appendFile(log.file, '{"version":1,"type":"mess');
      const loaded = await log.load();
      expect(loaded.skipped).toBe(1);
      expect(loaded.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
      const p = await startTestPrime({ config: primeConfig(model), repo, stateDir: dir.dir });
      try {
        const history = (await (await fetch(`${p.url}/chat`)).json()) as {
          messages: { role: string; content: unknown }[];
        };
        expect(history.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
        expect(JSON.stringify(history.messages.at(-1)!.content)).toContain("Prime restarted");
      } finally {
        await p.close();
      }
    } finally {
      await dir.cleanup();
    }
  });

  it("answers a tool call the restart cut off, so the history stays valid to continue", async () => {
    const dir = await tempDir("loom-chat-log-");
    try {
      await new ChatLog(path.join(dir.dir, "chat.jsonl")).appendMessages([
        { role: "user", content: "promote 3" },
        {
          role: "assistant",
          content: [
            { type: "tool_use", id: "toolu_cut", name: "promote_generation", input: { generation: 3 } },
          ],
        },
      ]);
      const p = await startTestPrime({ config: primeConfig(model), repo, stateDir: dir.dir });
      try {
        const { messages } = (await (await fetch(`${p.url}/chat`)).json()) as {
          messages: { role: string; content: { type: string; tool_use_id?: string; is_error?: boolean }[] }[];
        };
        expect(messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
        expect(messages[2]!.content).toEqual([
          expect.objectContaining({ type: "tool_result", tool_use_id: "toolu_cut", is_error: true }),
        ]);
      } finally {
        await p.close();
      }
    } finally {
      await dir.cleanup();
    }
  });
});

describe("who may chat", () => {
  const chatRoute: Route = { method: "POST", path: "/chat", guarded: true, handle: async () => {} };
  const statsRoute: Route = { method: "GET", path: "/stats", handle: async () => {} };
  const req = (authorization?: string) =>
    ({ headers: authorization ? { authorization } : {} }) as IncomingMessage;
  const refusal = (f: () => void) => {
    try {
      f();
    } catch (err) {
      return err as { status: number; code: string; message: string };
    }
    return undefined;
  };

  it("on loopback anyone local may; off loopback only a bearer of the token, and without one nobody", () => {
    expect(refusal(() => primeAuthorizer("127.0.0.1", undefined)(req(), chatRoute))).toBeUndefined();
    expect(chatClosedWarning("127.0.0.1", undefined)).toBeUndefined();
    const closed = primeAuthorizer("0.0.0.0", undefined);
    expect(refusal(() => closed(req(), chatRoute))).toMatchObject({ status: 403, code: "CHAT_NEEDS_TOKEN" });
    expect(refusal(() => closed(req(), statsRoute))).toBeUndefined();
    expect(chatClosedWarning("0.0.0.0", undefined)).toMatch(/POST \/chat is refused/);
    const guarded = primeAuthorizer("0.0.0.0", "s3cret");
    expect(refusal(() => guarded(req(), chatRoute))).toMatchObject({ status: 401, code: "UNAUTHORIZED" });
    expect(refusal(() => guarded(req("Bearer nope"), chatRoute))).toMatchObject({ status: 401 });
    expect(refusal(() => guarded(req("Bearer s3cret"), chatRoute))).toBeUndefined();
    expect(chatClosedWarning("0.0.0.0", "s3cret")).toBeUndefined();
  });
});
