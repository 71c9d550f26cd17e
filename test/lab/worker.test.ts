import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { simpleGit } from "simple-git";
import { afterEach, describe, expect, it } from "vitest";
import { LabReport } from "../../schemas/index.ts";
import { labTools } from "../../src/agent/catalog.ts";
import { createModelClient } from "../../src/agent/model-client.ts";
import { ToolRegistry } from "../../src/agent/tool-registry.ts";
import { runDemo } from "../../src/demo/run-demo.ts";
import { LabStatusTracker } from "../../src/lab/status-tracker.ts";
import { REPORT_FILE, runLabWorker } from "../../src/lab/worker.ts";
import { type ScriptTurnInput, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { tempWorkspace } from "../helpers/workspace.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

const identity = { config: ["user.name=t", "user.email=t@t.invalid"] };

/** A git repo on lab/gen-N with program.md committed, as the Supervisor prepares it. */
async function labWorkspace(generation: number, program: string | null, files: Record<string, string> = {}) {
  const ws = await tempWorkspace({ "README.md": "demo\n", ...files });
  cleanups.push(ws.cleanup);
  const git = simpleGit(ws.dir, identity);
  await git.init(["-q", "-b", "main"]).add(".").commit("init");
  await git.checkout(["-q", "-b", `lab/gen-${generation}`]);
  if (program !== null) {
    await tempWrite(ws.dir, "program.md", program);
    await git.add("program.md").commit(`gen-${generation}: program.md`);
  }
  return { dir: ws.dir, git };
}
async function tempWrite(dir: string, rel: string, content: string) {
  const { writeFile } = await import("node:fs/promises");
  await writeFile(join(dir, rel), content);
}

async function run(dir: string, generation: number, script: ScriptTurnInput[], maxIterations = 10) {
  const server = await startScriptedModel(script);
  cleanups.push(() => server.close());
  const tracker = new LabStatusTracker(generation);
  const report = await runLabWorker({
    workspace: dir,
    generation,
    model: createModelClient({
      apiKey: "k",
      baseURL: server.url,
      model: "lab",
      timeoutMs: 5_000,
      maxRetries: 0,
    }),
    tools: new ToolRegistry(labTools()),
    tracker,
    loop: { maxIterations, maxContextMessages: 20, tokenBudget: 0 },
  });
  return { report, tracker, server };
}

describe("Lab worker", () => {
  it("runs program.md, commits the work on lab/gen-N and writes a valid report", async () => {
    const { dir, git } = await labWorkspace(3, "# Task: add a note\n");
    const { report, tracker, server } = await run(dir, 3, [
      { tool: "write_file", input: { path: "notes/todo.md", content: "- done\n" } },
      { tool: "read_file", input: { path: "nope.md" } },
      { text: "Added the note." },
    ]);
    expect(report).toMatchObject({
      generation: 3,
      status: "done",
      stopReason: "end_turn",
      error: null,
      branch: "lab/gen-3",
      modelCalls: 3,
    });
    expect(report.toolCalls).toEqual({
      write_file: { calls: 1, errors: 0 },
      read_file: { calls: 1, errors: 1 },
    });
    expect(report.filesChanged).toEqual(["notes/todo.md"]);
    expect(report.tokens.input + report.tokens.cacheRead + report.tokens.cacheWrite).toBeGreaterThan(0);
    // The task the model saw is the program.md itself.
    expect(JSON.stringify(server.requests[0]!.body)).toContain("add a note");
    // Committed on the branch, with program.md still there and Loom's own folder kept out.
    expect((await git.revparse(["--abbrev-ref", "HEAD"])).trim()).toBe("lab/gen-3");
    expect(report.commit).toBe((await git.revparse(["HEAD"])).trim());
    const tree = (await git.raw(["ls-tree", "-r", "--name-only", "HEAD"])).split("\n");
    expect(tree).toEqual(expect.arrayContaining(["program.md", "notes/todo.md", "README.md"]));
    expect(tree.some((f) => f.startsWith(".loom"))).toBe(false);
    expect((await git.raw(["status", "--porcelain"])).trim()).toBe("");
    expect(await git.raw(["log", "-1", "--format=%s%n%an"])).toMatch(/^gen-3: add a note\nLoom Lab/);
    // The report on disk is the one returned, and it satisfies the fixed-point schema.
    const onDisk = LabReport.parse(JSON.parse(await readFile(join(dir, REPORT_FILE), "utf8")));
    expect(onDisk).toEqual(report);
    expect(tracker.snapshot()).toMatchObject({ status: "done", error: null, generation: 3 });
  });

  it("commits partial work and reports failure when it hits the iteration cap", async () => {
    const { dir, git } = await labWorkspace(4, "# Task: endless\n");
    const { report, tracker } = await run(
      dir,
      4,
      [
        { tool: "write_file", input: { path: "partial.txt", content: "half\n" } },
        { tool: "bash", input: { command: "true" } },
        { tool: "bash", input: { command: "true" } },
      ],
      2,
    );
    expect(report).toMatchObject({ status: "failed", stopReason: "iteration_cap" });
    expect(report.error).toMatch(/iteration cap after 2 model calls/);
    expect(report.commit).not.toBeNull();
    expect(await git.raw(["show", "HEAD:partial.txt"])).toBe("half\n");
    expect(await git.raw(["log", "-1", "--format=%B"])).toMatch(/Stopped before finishing/);
    expect(tracker.snapshot()).toMatchObject({
      status: "failed",
      error: expect.stringMatching(/iteration cap/),
    });
  });

  it("reports a model failure as a failed run, with no commit when nothing changed", async () => {
    const { dir } = await labWorkspace(5, "# Task: anything\n");
    const { report } = await run(dir, 5, [{ fault: "overloaded" }]);
    expect(report).toMatchObject({ status: "failed", stopReason: "error", commit: null, filesChanged: [] });
    expect(report.error).toMatch(/model error: .*overloaded/i);
  });

  it("fails clearly without calling the model when program.md is missing or empty", async () => {
    const missing = await labWorkspace(6, null);
    const a = await run(missing.dir, 6, [{ text: "unused" }]);
    expect(a.report).toMatchObject({ status: "failed", error: expect.stringMatching(/no program\.md/) });
    expect(a.server.requests).toHaveLength(0);
    const empty = await labWorkspace(7, "   \n");
    const b = await run(empty.dir, 7, [{ text: "unused" }]);
    expect(b.report.error).toMatch(/program\.md is empty/);
    expect(b.server.requests).toHaveLength(0);
  });

  it("never gets a self-modify tool", () => {
    expect(labTools().every((t) => t.effect !== "self-modify")).toBe(true);
    expect(labTools().map((t) => t.name)).toEqual(
      expect.arrayContaining(["read_file", "bash", "ts_rename", "ts_replace_body"]),
    );
  });
});

describe("loom demo", () => {
  it("runs a whole Lab generation: structural rename, new test, passing suite, commit, eval, fetch-back", async () => {
    const lines: string[] = [];
    const result = await runDemo({ emit: () => {}, log: (l) => lines.push(l) });
    expect(result.report).toMatchObject({ status: "done", stopReason: "end_turn", branch: "lab/gen-1" });
    expect(result.report.toolCalls).toMatchObject({
      ts_rename: { calls: 1, errors: 0 },
      eval: { calls: 1, errors: 0 },
      bash: { calls: 1, errors: 0 },
    });
    expect(result.evalResponse).toEqual({ status: "ok", value: "Hello, Ada!" });
    expect(result.fetchedHead).toBe(result.report.commit);
    expect(result.diffStat).toMatch(/src\/banner\.ts/);
    expect(result.diffStat).toMatch(/test\/greet-user\.test\.ts/);
  }, 90_000);
});
