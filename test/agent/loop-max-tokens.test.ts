import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runAgentLoop, TRUNCATED_TEXT, TRUNCATED_TOOL_CALL } from "../../src/agent/loop.ts";
import { createModelClient } from "../../src/agent/model-client.ts";
import { ToolRegistry } from "../../src/agent/tool-registry.ts";
import { baseTools } from "../../src/agent/tools/base.ts";
import type { AgentEvent } from "../../src/shared/events.ts";
import { type ScriptTurnInput, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { tempWorkspace } from "../helpers/workspace.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/** The real SDK over HTTP against the scripted model, the real base tools in a temp workspace. */
async function run(script: ScriptTurnInput[]) {
  const server = await startScriptedModel(script);
  const ws = await tempWorkspace({});
  cleanups.push(() => server.close(), ws.cleanup);
  const model = createModelClient({
    apiKey: "sk-test",
    baseURL: server.url,
    model: "claude-test",
    timeoutMs: 5_000,
    maxRetries: 0,
  });
  const events: AgentEvent[] = [];
  const result = await runAgentLoop(
    [{ role: "user", content: "Write the files." }],
    { model, tools: new ToolRegistry(baseTools), emit: (e) => events.push(e), workspace: ws.dir },
    { system: "You are a test agent.", maxIterations: 10, maxContextMessages: 40, tokenBudget: 0 },
  );
  const exists = (name: string) =>
    access(join(ws.dir, name)).then(
      () => true,
      () => false,
    );
  return { server, events, result, exists, dir: ws.dir };
}

type SentBlock = { type: string; tool_use_id?: string; is_error?: boolean; content?: unknown; text?: string };
const lastUserBlocks = (body: unknown): SentBlock[] => {
  const { messages } = body as { messages: { role: string; content: string | SentBlock[] }[] };
  const last = messages.at(-1)!;
  expect(last.role).toBe("user");
  return typeof last.content === "string" ? [{ type: "text", text: last.content }] : last.content;
};

describe("agent loop: a reply cut at max_tokens", () => {
  it("does not run a tool call cut mid-way; tells the model to send smaller steps and goes on", async () => {
    const { server, events, result, exists, dir } = await run([
      {
        content: [
          { type: "text", text: "Writing the whole module." },
          {
            type: "tool_use",
            id: "toolu_cut",
            name: "write_file",
            input: { path: "big.ts", content: "export const" },
          },
        ],
        stop_reason: "max_tokens",
      },
      {
        tool: "write_file",
        input: { path: "small.ts", content: "export const a = 1;\n" },
        when: { lastToolResultIncludes: "output token limit", toolResultIsError: true },
      },
      { text: "Done in smaller steps." },
    ]);
    expect(result.reason).toBe("end_turn");
    expect(result.finalText).toBe("Done in smaller steps.");
    // The cut call never ran: no file, no tool_start for it.
    expect(await exists("big.ts")).toBe(false);
    expect(await readFile(join(dir, "small.ts"), "utf8")).toBe("export const a = 1;\n");
    const started = events.flatMap((e) => (e.type === "tool_start" ? [e.id] : []));
    expect(started).not.toContain("toolu_cut");
    // The model was told, as an is_error result of that very call.
    const told = lastUserBlocks(server.requests[1]!.body);
    expect(told).toMatchObject([
      { type: "tool_result", tool_use_id: "toolu_cut", content: TRUNCATED_TOOL_CALL, is_error: true },
    ]);
    expect(server.requests).toHaveLength(3);
  });

  it("runs the whole calls before the cut one, and only those", async () => {
    const { server, result, exists } = await run([
      {
        content: [
          {
            type: "tool_use",
            id: "toolu_whole",
            name: "write_file",
            input: { path: "a.txt", content: "a\n" },
          },
          { type: "tool_use", id: "toolu_cut", name: "write_file", input: { path: "b.txt", content: "b" } },
        ],
        stop_reason: "max_tokens",
      },
      { text: "ok", when: { lastToolResultIncludes: "output token limit" } },
    ]);
    expect(result.reason).toBe("end_turn");
    expect(await exists("a.txt")).toBe(true);
    expect(await exists("b.txt")).toBe(false);
    const told = lastUserBlocks(server.requests[1]!.body);
    expect(told.map((b) => [b.tool_use_id, b.is_error ?? false])).toEqual([
      ["toolu_whole", false],
      ["toolu_cut", true],
    ]);
  });

  it("does not end the turn on a reply cut mid-text: the model is told and continues", async () => {
    const { server, result } = await run([
      { text: "The plan is", stop_reason: "max_tokens" },
      { text: "Finished.", when: { lastUserTextIncludes: "output token limit" } },
    ]);
    expect(result.reason).toBe("end_turn");
    expect(result.finalText).toBe("Finished.");
    expect(lastUserBlocks(server.requests[1]!.body)).toMatchObject([{ type: "text", text: TRUNCATED_TEXT }]);
  });
});
