import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ProgramContract } from "../../schemas/program.ts";
import { createModelClient } from "../../src/agent/model-client.ts";
import { type AnalysisReport, AnalysisReportSchema, analyzeRepo } from "../../src/analyze/index.ts";
import { lessonsFrom, ReflectError, reflectAndPropose } from "../../src/prime/reflect/index.ts";
import { parseProgram } from "../../src/shared/program.ts";
import {
  type ScriptedModelServer,
  type ScriptTurnInput,
  startScriptedModel,
} from "../../src/shared/scripted-model/index.ts";
import { record, verification } from "./records.ts";

const fixture = path.resolve(fileURLToPath(new URL(".", import.meta.url)), "../fixtures/analyze/basic");

const servers: ScriptedModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function model(script: ScriptTurnInput[]) {
  const server = await startScriptedModel(script);
  servers.push(server);
  const client = createModelClient({
    apiKey: "sk-test",
    baseURL: server.url,
    model: "claude-test",
    timeoutMs: 5_000,
    maxRetries: 0,
  });
  return { server, client };
}

interface Sent {
  system: { text: string }[];
  messages: { role: string; content: string | Record<string, unknown>[] }[];
  tools: { name: string; input_schema: { required: string[] } }[];
  tool_choice: unknown;
}
const sent = (server: ScriptedModelServer, i: number) => server.requests[i]!.body as Sent;
const textOf = (m: Sent["messages"][number]): string =>
  typeof m.content === "string" ? m.content : m.content.map((b) => String(b.text ?? "")).join("");
const firstUserText = (r: Sent): string => textOf(r.messages[0]!);

const contract: ProgramContract = {
  task: "Split classify into smaller functions",
  objective: "classify in src/complex.ts has complexity 15; make it readable without changing behaviour.",
  files: ["src/complex.ts", "tests/complex.spec.ts"],
  acceptanceCriteria: [
    "classify keeps its results for every existing test",
    "no function above complexity 6",
  ],
  constraints: ["never edit schemas/ or acceptance/", "do not weaken or delete tests"],
};

let analysis: AnalysisReport;
beforeAll(async () => {
  analysis = await analyzeRepo(fixture);
});

const lineage = () => [
  record(1, "promoted", { fitness: 0.5, verification: verification({ score: 0.5 }) }),
  record(2, "failed", { reason: "Lab stopped: token budget exhausted after 40 iterations" }),
  record(3, "rolled_back", {
    reason: "verification failed",
    verification: verification({
      failures: ["tests failed: 2 of 12"],
      testsOutput: "FAIL test/complex.test.ts > classify returns 'big' for 100",
      verdict: { approved: false, issues: ["deleted the edge-case test"], confidence: 0.9, summary: "x" },
    }),
  }),
  record(4, "timed_out", { reason: "Lab exceeded 1800 s" }),
  record(5, "promoted", { fitness: 0.7 }),
];

describe("reflectAndPropose over the real SDK and the scripted model", () => {
  it("sends the lessons and the analysis highlights and returns a program.md that parses back", async () => {
    const { server, client } = await model([{ tool: "propose_program", input: contract }]);
    const result = await reflectAndPropose({ model: client, analysis, lineage: lineage() });
    expect(result.contract).toEqual(contract);
    expect(parseProgram(result.program)).toEqual(contract);
    expect(result.program).toMatch(/^# Task\n\nSplit classify/);

    const req = sent(server, 0);
    expect(req.tool_choice).toEqual({ type: "tool", name: "propose_program" });
    expect(req.tools[0]!.input_schema.required.sort()).toEqual(
      ["acceptanceCriteria", "constraints", "files", "objective", "task"].sort(),
    );
    const text = firstUserText(req);
    // Lessons: each failure's reason, verification failures, test output and review issues, newest first.
    expect(text).toContain("gen 4 timed_out: Lab exceeded 1800 s");
    expect(text).toContain(
      "gen 3 rolled_back: verification failed. verification failures: tests failed: 2 of 12",
    );
    expect(text).toContain("classify returns 'big' for 100");
    expect(text).toContain("review rejected: issues: deleted the edge-case test");
    expect(text).toContain("gen 2 failed: Lab stopped: token budget exhausted");
    expect(text.indexOf("gen 4 timed_out")).toBeLessThan(text.indexOf("gen 2 failed"));
    // Lineage and analysis highlights.
    expect(text).toContain("best fitness 0.7 (gen 5)");
    expect(text).toMatch(/40 lines\s+cx\s+15\s+function classify/);
    expect(text).toContain("src/a.ts → src/b.ts → src/c.ts → src/a.ts");
    expect(text).toContain("unusedHelper");
    expect(text).toContain("Sources no test reaches (1)\n  src/orphan.ts");
  });

  it("tells the model what was wrong with an invalid contract and accepts the corrected one", async () => {
    const { server, client } = await model([
      { tool: "propose_program", input: { ...contract, files: [] } },
      { tool: "propose_program", input: contract, when: { toolResultIsError: true } },
    ]);
    const result = await reflectAndPropose({ model: client, analysis, lineage: [] });
    expect(result.contract).toEqual(contract);
    expect(server.requests).toHaveLength(2);
    const retry = sent(server, 1);
    const last = retry.messages.at(-1)!.content as Record<string, unknown>[];
    expect(last[0]).toMatchObject({ type: "tool_result", is_error: true });
    expect(String(last[0]!.content)).toMatch(/^propose_program input is invalid: files: .*>=1/);
    expect(retry.tool_choice).toEqual({ type: "tool", name: "propose_program" });
    expect(firstUserText(retry)).toContain("(no generations yet: this is the first)");
  });

  it("asks again when the model answers in text, saying it must call the tool", async () => {
    const { server, client } = await model([
      { text: "I think we should refactor." },
      { tool: "propose_program", input: contract },
    ]);
    const result = await reflectAndPropose({ model: client, analysis, lineage: [] });
    expect(result.contract).toEqual(contract);
    const retry = sent(server, 1);
    expect(textOf(retry.messages.at(-1)!)).toMatch(
      /did not call propose_program.*I think we should refactor/,
    );
  });

  it("fails with a clear error after one corrective retry", async () => {
    const { server, client } = await model([
      { tool: "propose_program", input: { task: "x" } },
      { tool: "propose_program", input: { ...contract, objective: "" } },
      { tool: "propose_program", input: contract },
    ]);
    const error = await reflectAndPropose({ model: client, analysis, lineage: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReflectError);
    expect(error).toMatchObject({ code: "REFLECT_INVALID_CONTRACT" });
    expect((error as Error).message).toMatch(/after one corrective retry; last problem: .*objective: /);
    expect(server.requests).toHaveLength(2);
  });

  it("keeps the prompt small on a big repo and a long lineage", async () => {
    // A thousand-fold analysis and 300 failed generations, all schema-valid.
    const big = AnalysisReportSchema.parse({
      ...analysis,
      files: Array.from({ length: 1000 }, (_, i) =>
        analysis.files.map((f) => ({ ...f, path: `p${i}/${f.path}` })),
      ).flat(),
      declarations: Array.from({ length: 1000 }, () => analysis.declarations).flat(),
      largest: Array.from({ length: 100 }, () => analysis.largest).flat(),
      unusedExports: Array.from({ length: 1000 }, () => analysis.unusedExports).flat(),
      untested: Array.from({ length: 3000 }, (_, i) => `src/gen${i}.ts`),
    });
    const records = Array.from({ length: 300 }, (_, i) =>
      record(i + 1, "failed", { reason: `failure number ${i + 1} ${"because ".repeat(200)}` }),
    );
    const { server, client } = await model([{ tool: "propose_program", input: contract }]);
    await reflectAndPropose({ model: client, analysis: big, lineage: records });
    const text = firstUserText(sent(server, 0));
    expect(text.length).toBeLessThan(25_000);
    expect(text).toContain("gen 300 failed: failure number 300");
    expect(text).toContain("(290 older lessons not listed)");
    expect(text).toContain("(older 280 generations not listed)");
    expect(text).toMatch(/… \d+ more/);
  });
});

describe("lessonsFrom", () => {
  it("lists only failed, rolled-back and timed-out generations, newest first, each bounded", () => {
    const lessons = lessonsFrom([
      ...lineage(),
      record(6, "aborted"),
      record(7, "verifying"),
      record(8, "rolled_back", {
        reason: "review rejected",
        verification: verification({ reviewError: "review model call failed (MODEL_SERVER_ERROR): 500" }),
      }),
      record(9, "failed", { reason: "x".repeat(5_000) }),
    ]);
    expect(lessons.map((l) => l.split(":")[0])).toEqual([
      "gen 9 failed",
      "gen 8 rolled_back",
      "gen 4 timed_out",
      "gen 3 rolled_back",
      "gen 2 failed",
    ]);
    expect(lessons[1]).toBe(
      "gen 8 rolled_back: review rejected. review error: review model call failed (MODEL_SERVER_ERROR): 500",
    );
    expect(lessons[0]!.length).toBeLessThan(1_000);
    expect(lessons[0]).toMatch(/more chars\)$/);
  });
});
