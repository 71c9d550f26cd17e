import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { trimContext } from "../../src/agent/context-window.ts";
import { type LoopOptions, runAgentLoop } from "../../src/agent/loop.ts";
import { createModelClient } from "../../src/agent/model-client.ts";
import type { MessageParam } from "../../src/agent/model-port.ts";
import { ToolRegistry } from "../../src/agent/tool-registry.ts";
import { baseTools } from "../../src/agent/tools/base.ts";
import type { AgentEvent } from "../../src/shared/events.ts";
import {
  type ScriptedModelServer,
  type ScriptTurnInput,
  startScriptedModel,
} from "../../src/shared/scripted-model/index.ts";
import { tempWorkspace } from "../helpers/workspace.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function setup(script: ScriptTurnInput[], files: Record<string, string> = {}, maxRetries = 0) {
  const server: ScriptedModelServer = await startScriptedModel(script);
  const ws = await tempWorkspace(files);
  cleanups.push(() => server.close(), ws.cleanup);
  const model = createModelClient({
    apiKey: "sk-test",
    baseURL: server.url,
    model: "claude-test",
    timeoutMs: 2_000,
    maxRetries,
  });
  const events: AgentEvent[] = [];
  const ports = {
    model,
    tools: new ToolRegistry(baseTools),
    emit: (e: AgentEvent) => events.push(e),
    workspace: ws.dir,
  };
  return { server, dir: ws.dir, events, ports };
}

const options = (over: Partial<LoopOptions> = {}): LoopOptions => ({
  system: "You are a test agent.",
  maxIterations: 40,
  maxContextMessages: 20,
  tokenBudget: 0,
  ...over,
});
const task = (text = "Fix the greeting."): MessageParam[] => [{ role: "user", content: text }];

/** Every tool_use in an assistant message is answered by a tool_result in the next message. */
function expectPairsIntact(messages: readonly MessageParam[]) {
  messages.forEach((m, i) => {
    if (m.role !== "assistant" || typeof m.content === "string") return;
    const uses = m.content.filter((b) => b.type === "tool_use").map((b) => (b as { id: string }).id);
    if (uses.length === 0) return;
    const next = messages[i + 1];
    expect(next?.role).toBe("user");
    const results =
      typeof next?.content === "string"
        ? []
        : (next?.content ?? [])
            .filter((b) => b.type === "tool_result")
            .map((b) => (b as { tool_use_id: string }).tool_use_id);
    expect(results).toEqual(uses);
  });
}

describe("agent loop over the real SDK and the scripted model", () => {
  it("reads, edits and runs a command across several model calls, then ends its turn", async () => {
    const { server, dir, events, ports } = await setup(
      [
        { tool: "read_file", input: { path: "greet.txt" } },
        {
          tool: "edit_file",
          input: { path: "greet.txt", old_str: "helo", new_str: "hello" },
          when: { lastToolResultIncludes: "helo" },
        },
        { tool: "bash", input: { command: "cat greet.txt | tr a-z A-Z" } },
        { text: "Fixed the greeting.", when: { lastToolResultIncludes: "HELLO WORLD" } },
      ],
      { "greet.txt": "helo world\n" },
    );
    const result = await runAgentLoop(task(), ports, options());
    expect(result.reason).toBe("end_turn");
    expect(result.iterations).toBe(4);
    expect(result.finalText).toBe("Fixed the greeting.");
    expect(await readFile(join(dir, "greet.txt"), "utf8")).toBe("hello world\n");
    expect(server.requests).toHaveLength(4);
    expect(events.map((e) => e.type)).toEqual([
      "turn_start",
      ...[1, 2, 3].flatMap(() => ["model_call", "tool_start", "tool_end"]),
      "model_call",
      "text",
      "done",
    ]);
    expect(
      events.filter((e) => e.type === "tool_end").every((e) => e.type === "tool_end" && !e.isError),
    ).toBe(true);
    // Usage is summed over the four calls, as the server reported them.
    const perCall = events.flatMap((e) => (e.type === "model_call" ? [e.usage] : []));
    for (const key of ["input", "output", "cacheRead", "cacheWrite"] as const) {
      expect(result.usage[key]).toBe(perCall.reduce((a, u) => a + u[key], 0));
    }
    // Prompt caching at work: after the first call, the conversation so far is read from the cache.
    expect(perCall[0]!.cacheRead).toBe(0);
    expect(perCall.slice(1).every((u) => u.cacheRead > 0)).toBe(true);
    expectPairsIntact(result.messages);
    // The tool definitions the model saw are derived from the zod schemas.
    const sent = server.requests[0]!.body as {
      tools: { name: string; input_schema: { properties: object } }[];
    };
    expect(sent.tools.map((t) => t.name).sort()).toEqual(["bash", "edit_file", "read_file", "write_file"]);
    expect(
      Object.keys(sent.tools.find((t) => t.name === "edit_file")!.input_schema.properties).sort(),
    ).toEqual(["new_str", "old_str", "path"]);
  });

  it("turns bad tool input and unknown tools into is_error results the model can correct from", async () => {
    const { server, events, ports } = await setup([
      { tool: "read_file", input: { path: 42 } },
      { tool: "no_such_tool", input: {} },
      { text: "ok" },
    ]);
    const result = await runAgentLoop(task(), ports, options());
    expect(result.reason).toBe("end_turn");
    const ends = events.filter((e): e is Extract<AgentEvent, { type: "tool_end" }> => e.type === "tool_end");
    expect(ends.map((e) => e.isError)).toEqual([true, true]);
    expect(ends[0]!.output).toMatch(/read_file.*invalid input.*path/s);
    expect(ends[1]!.output).toMatch(/no_such_tool/);
    const second = server.requests[1]!.body as {
      messages: { content: { type: string; is_error?: boolean }[] }[];
    };
    expect(second.messages.at(-1)!.content[0]).toMatchObject({ type: "tool_result", is_error: true });
  });

  it("stops at the iteration cap with every tool_use answered", async () => {
    const { server, ports } = await setup(
      Array.from({ length: 6 }, () => ({ tool: "bash", input: { command: "true" } })),
    );
    const result = await runAgentLoop(task(), ports, options({ maxIterations: 3 }));
    expect(result.reason).toBe("iteration_cap");
    expect(result.iterations).toBe(3);
    expect(server.requests).toHaveLength(3);
    expect(result.messages.at(-1)!.role).toBe("user");
    expectPairsIntact(result.messages);
  });

  it("trims context to the window without separating tool_use from tool_result, always keeping the task", async () => {
    const turns: ScriptTurnInput[] = Array.from({ length: 8 }, (_, i) => ({
      tool: "bash",
      input: { command: `echo step${i}` },
    }));
    const { server, ports } = await setup([...turns, { text: "done" }]);
    const result = await runAgentLoop(task("THE TASK"), ports, options({ maxContextMessages: 5 }));
    // The scripted server answers 400 to a tool_result without its tool_use, so success proves valid pairing.
    expect(result.reason).toBe("end_turn");
    for (const req of server.requests) {
      const { messages } = req.body as { messages: { role: string; content: unknown }[] };
      expect(messages.length).toBeLessThanOrEqual(5);
      expect(JSON.stringify(messages[0]!.content)).toContain("THE TASK");
      expect(messages[0]!.role).toBe("user");
      expect(messages[1]?.role ?? "assistant").toBe("assistant");
    }
    const last = server.requests.at(-1)!.body as { messages: { content: unknown }[] };
    expect(JSON.stringify(last.messages[0]!.content)).toMatch(/earlier messages of this run were trimmed/);
    expect(result.messages.length).toBe(1 + 2 * 8 + 1);
  });

  it("stops on the token budget, answering pending tool calls without running them", async () => {
    const { dir, ports } = await setup([
      {
        tool: "write_file",
        input: { path: "out.txt", content: "x" },
        usage: { input_tokens: 900, output_tokens: 200 },
      },
      { text: "never reached" },
    ]);
    const result = await runAgentLoop(task(), ports, options({ tokenBudget: 1000 }));
    expect(result.reason).toBe("token_budget");
    expect(result.iterations).toBe(1);
    await expect(readFile(join(dir, "out.txt"), "utf8")).rejects.toThrow();
    const last = result.messages.at(-1)!;
    expect(JSON.stringify(last.content)).toMatch(/Not run.*token budget/);
    expectPairsIntact(result.messages);
  });

  it("counts tokens spent before this run against the budget", async () => {
    const { server, ports } = await setup([{ text: "hi" }]);
    const result = await runAgentLoop(task(), ports, options({ tokenBudget: 500, tokensUsedBefore: 500 }));
    expect(result.reason).toBe("token_budget");
    expect(server.requests).toHaveLength(0);
  });

  it("recovers from 429, 529 and 500 through the client's retries", async () => {
    const { server, ports } = await setup(
      [
        { fault: "rate_limit", retryAfterMs: 20 },
        { fault: "overloaded", retryAfterMs: 20 },
        { fault: "server_error", retryAfterMs: 20 },
        { text: "recovered" },
      ],
      {},
      3,
    );
    const result = await runAgentLoop(task(), ports, options());
    expect(result.reason).toBe("end_turn");
    expect(result.finalText).toBe("recovered");
    expect(server.requests).toHaveLength(4);
  });

  it("recovers from a response slower than the request timeout by retrying", async () => {
    const { server, ports } = await setup([{ fault: "slow", delayMs: 5_000 }, { text: "second try" }], {}, 1);
    const fast = createModelClient({
      apiKey: "k",
      baseURL: server.url,
      model: "m",
      timeoutMs: 300,
      maxRetries: 1,
    });
    const result = await runAgentLoop(task(), { ...ports, model: fast }, options());
    expect(result.reason).toBe("end_turn");
    expect(result.finalText).toBe("second try");
    expect(server.requests).toHaveLength(2);
  });

  it("records a malformed response as a stop with reason error instead of crashing", async () => {
    const { events, ports } = await setup([{ fault: "malformed" }]);
    const result = await runAgentLoop(task(), ports, options());
    expect(result.reason).toBe("error");
    expect(result.error?.code).toMatch(/^MODEL_/);
    expect(events.at(-1)).toMatchObject({ type: "done", reason: "error" });
  });

  it("ends with reason error (and an error event) when the model keeps failing", async () => {
    const { events, ports } = await setup([{ fault: "overloaded" }]);
    const result = await runAgentLoop(task(), ports, options());
    expect(result.reason).toBe("error");
    expect(result.error?.code).toBe("MODEL_OVERLOADED");
    expect(events.at(-2)).toMatchObject({ type: "error", code: "MODEL_OVERLOADED" });
    expect(events.at(-1)).toMatchObject({ type: "done", reason: "error" });
  });

  it("stops with reason aborted when the signal fires mid-request", async () => {
    const { ports } = await setup([{ fault: "slow", delayMs: 5_000 }]);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const started = Date.now();
    const result = await runAgentLoop(task(), { ...ports, signal: abort.signal }, options());
    expect(result.reason).toBe("aborted");
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("trimContext", () => {
  const u = (t: string): MessageParam => ({ role: "user", content: t });
  const a = (t: string): MessageParam => ({ role: "assistant", content: t });
  it("returns short conversations unchanged", () => {
    const msgs = [u("task"), a("x"), u("y")];
    expect(trimContext(msgs, 20)).toEqual(msgs);
  });
  it("keeps the task and a tail that starts with an assistant message", () => {
    const msgs = [u("task"), a("1"), u("2"), a("3"), u("4"), a("5"), u("6")];
    const kept = trimContext(msgs, 4);
    expect(kept.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(kept.slice(1)).toEqual([a("5"), u("6")]);
    expect(JSON.stringify(kept[0]!.content)).toContain("task");
  });
});
