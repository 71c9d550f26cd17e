import path from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { labCatalog } from "../../src/agent/lab-catalog.ts";
import { oracleScript, taskMarker } from "../../src/bench-agent/oracle.ts";
import { loadTasks, type Task } from "../../src/bench-agent/tasks.ts";
import {
  parseScript,
  type ScriptedModelServer,
  startScriptedModel,
} from "../../src/shared/scripted-model/index.ts";
import { formatIssues } from "../../src/shared/zod-issues.ts";

const TASKS = path.resolve(import.meta.dirname, "../../tasks");
const loadAll = async (): Promise<Task[]> => (await loadTasks(TASKS)).tasks;

let server: ScriptedModelServer | undefined;
afterEach(async () => {
  await server?.close();
});

/** Plays one Lab's side of a conversation: the program with its marker, then "ok" for every tool call. */
async function converse(client: Anthropic, program: string): Promise<string[]> {
  const messages: Anthropic.MessageParam[] = [{ role: "user", content: program }];
  const seen: string[] = [];
  for (let i = 0; i < 50; i++) {
    const reply = await client.messages.create({ model: "m", max_tokens: 100, messages });
    messages.push({ role: "assistant", content: reply.content });
    const uses = reply.content.filter((b) => b.type === "tool_use");
    if (uses.length === 0) {
      seen.push(`text:${reply.content[0]?.type === "text" ? reply.content[0].text : ""}`);
      return seen;
    }
    for (const use of uses) seen.push(`${use.name}:${JSON.stringify(use.input)}`);
    messages.push({
      role: "user",
      content: uses.map((u) => ({ type: "tool_result" as const, tool_use_id: u.id, content: "ok" })),
    });
  }
  throw new Error("the conversation did not end");
}

describe("oracleScript", () => {
  it("every task's oracle calls Lab tools with inputs those tools accept, and makes a valid script", async () => {
    const tools = new Map(labCatalog().map((t) => [t.name, t]));
    for (const task of await loadAll()) {
      for (const [i, step] of (task.oracle?.steps ?? []).entries()) {
        const tool = tools.get(step.tool);
        expect(tool, `${task.name} step ${i}: ${step.tool} is not a Lab tool`).toBeDefined();
        const parsed = tool!.input.safeParse(step.input);
        expect(
          parsed.success,
          `${task.name} step ${i}: ${parsed.error ? formatIssues(parsed.error) : ""}`,
        ).toBe(true);
      }
      const script = parseScript(oracleScript(task, taskMarker(task.name)));
      expect(script.ok, task.name).toBe(true);
      expect(script.ok && script.script.length).toBe((task.oracle?.steps.length ?? 0) + 1);
    }
  });

  it("one server plays two tasks' oracles to two Labs in any interleaving, each its own steps in order", async () => {
    const all = await loadAll();
    // Two names where one is a prefix of the other's would be the trap; these two share a package.
    const pair = ["mime-path-without-extension", "mime-get-all-extensions"].map(
      (n) => all.find((t) => t.name === n)!,
    );
    server = await startScriptedModel(pair.flatMap((t) => oracleScript(t, taskMarker(t.name))));
    const client = new Anthropic({ apiKey: "sk-test", baseURL: server.url, maxRetries: 0 });
    const program = (t: Task) => `# Task\n\n${t.spec.statement}\n\n${taskMarker(t.name)}\n`;
    const [first, second] = await Promise.all(pair.map((t) => converse(client, program(t))));
    for (const [t, seen] of [
      [pair[0]!, first],
      [pair[1]!, second],
    ] as const) {
      const expected = [
        ...t.oracle!.steps.map((s) => `${s.tool}:${JSON.stringify(s.input)}`),
        `text:${t.oracle!.summary}`,
      ];
      expect(seen).toEqual(expected);
    }
    expect(server.remaining()).toBe(0);
  });

  it("markers never contain one another, and a task without an oracle is refused by name", () => {
    expect(taskMarker("mime-path-without-extension")).not.toContain(taskMarker("mime-path"));
    expect(() => oracleScript({ name: "t" }, taskMarker("t"))).toThrow("task t has no oracle.json");
    const oracle = { steps: [{ tool: "bash", input: { command: "true" } }], summary: "done" };
    expect(() => oracleScript({ name: "t", oracle }, " ")).toThrow("the marker must be non-empty");
  });
});
