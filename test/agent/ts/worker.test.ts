import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ToolError } from "../../../src/agent/tool.ts";
import type { ExecuteContext } from "../../../src/agent/tool-registry.ts";
import { ToolRegistry } from "../../../src/agent/tool-registry.ts";
import { projectsBuilt } from "../../../src/agent/ts/project/project-cache.ts";
import { disposeProjects, tsTools } from "../../../src/agent/ts/tools/index.ts";
import { TsWorker, type TsWorkerOptions } from "../../../src/agent/ts/worker/ts-worker-client.ts";
import { type TsWorkerFile, tsWorkerFile } from "../../../src/agent/ts/worker/worker-file.ts";
import { copyFixture, snapshotDir } from "./helpers.ts";

const temps: string[] = [];
const workers: TsWorker[] = [];
async function fixture(): Promise<string> {
  const dir = await copyFixture();
  temps.push(dir);
  return dir;
}
function startWorker(options: TsWorkerOptions = {}): { worker: TsWorker; registry: ToolRegistry } {
  const worker = new TsWorker(options);
  workers.push(worker);
  return { worker, registry: new ToolRegistry(worker.bind(tsTools)) };
}
const ctx = (workspace: string, extra: Partial<ExecuteContext> = {}): ExecuteContext => ({
  workspace,
  signal: new AbortController().signal,
  ...extra,
});

/** The real worker, plus a listener that ends the thread on any message for a workspace named exit-now. */
async function crashingWorker(): Promise<TsWorkerFile> {
  const real = await tsWorkerFile();
  if (!real) throw new Error("no TypeScript worker from the sources");
  // Attached after the real one's (the first listener starts the port), it still runs before any answer.
  const code = `import { parentPort } from "node:worker_threads";
await import(${JSON.stringify(real.url.href)});
parentPort.on("message", (m) => { if (String(m.workspace).endsWith("/exit-now")) process.exit(7); });`;
  return { url: new URL(`data:text/javascript,${encodeURIComponent(code)}`) };
}

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});
afterAll(async () => {
  disposeProjects();
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

describe("ts_* tools in a worker thread", () => {
  it("answer exactly as the in-process tools do: outline, rename with importers, a refused edit, a ToolError", async () => {
    const [here, there] = [await fixture(), await fixture()];
    const local = new ToolRegistry(tsTools);
    const { worker, registry: remote } = startWorker();
    const calls: [string, unknown][] = [
      ["ts_outline", { path: "src" }],
      ["ts_rename", { path: "src/math.ts#add", newName: "sum" }],
      // Breaks the syntax: refused, every file as it was.
      ["ts_replace_body", { path: "src/math.ts#square", body: "return n * ;" }],
      // A ToolError (TS_NO_SYMBOL) with its nearest names.
      ["ts_read", { path: "src/math.ts#confg.rund" }],
      // Invalid input: validated on this thread, as before.
      ["ts_read", { path: 42 }],
    ];
    const answers: { content: string; isError: boolean }[] = [];
    for (const [name, input] of calls) {
      const [a, b] = [
        await local.execute(name, input, ctx(here)),
        await remote.execute(name, input, ctx(there)),
      ];
      expect({ content: b.content, isError: b.isError, details: b.details }, name).toEqual({
        content: a.content,
        isError: a.isError,
        details: a.details,
      });
      answers.push(b);
    }
    const [outline, rename, broken, missing, invalid] = answers;
    expect(outline!.content).toContain("#add function");
    expect(rename!.content).toMatch(/^renamed function `add`/);
    expect(broken).toMatchObject({ isError: true, content: expect.stringContaining("syntax error") });
    expect(missing).toMatchObject({
      isError: true,
      content: expect.stringContaining("no declaration `confg.rund`"),
    });
    expect(invalid).toMatchObject({ isError: true, content: expect.stringContaining("invalid input") });
    expect(await readFile(path.join(there, "src/shapes.ts"), "utf8")).toContain(
      "sum(this.width, this.width)",
    );
    expect(worker.threadsStarted).toBe(1);
  });

  it("validates the input on the calling thread: a bad call starts no worker", async () => {
    const { worker, registry } = startWorker();
    const r = await registry.execute("ts_rename", { path: "src/a.ts#x" }, ctx(await fixture()));
    expect(r.isError).toBe(true);
    expect(r.content).toContain("newName: required");
    expect(worker.threadsStarted).toBe(0);
  });

  it("sees files changed on disk by someone else before every call", async () => {
    const ws = await fixture();
    const { registry } = startWorker();
    expect((await registry.execute("ts_outline", { path: "src/math.ts" }, ctx(ws))).content).not.toContain(
      "#triple",
    );
    await writeFile(
      path.join(ws, "src/math.ts"),
      `${await readFile(path.join(ws, "src/math.ts"), "utf8")}\nexport const triple = (n: number): number => n * 3;\n`,
    );
    await writeFile(path.join(ws, "src/extra.ts"), "export function extra(): void {}\n");
    expect((await registry.execute("ts_outline", { path: "src/math.ts" }, ctx(ws))).content).toContain(
      "#triple",
    );
    expect((await registry.execute("ts_outline", { path: "src/extra.ts" }, ctx(ws))).content).toContain(
      "#extra",
    );
  });

  it("warms the workspace in the worker: the first call reuses its Project, and is much faster than a cold one", async () => {
    const [warmWs, coldWs] = [await fixture(), await fixture()];
    const rename = { path: "src/math.ts#add", newName: "sum" };
    const here = projectsBuilt();

    const cold = startWorker();
    const coldCall = await cold.registry.execute("ts_rename", rename, ctx(coldWs));
    expect(coldCall.isError, coldCall.content).toBe(false);

    const warmed = startWorker();
    const warm = await warmed.worker.warm(warmWs);
    expect(warm).toMatchObject({ ok: true });
    expect(await warmed.worker.stats()).toEqual({ projectsBuilt: 1 });
    const warmCall = await warmed.registry.execute("ts_rename", rename, ctx(warmWs));
    expect(warmCall.isError, warmCall.content).toBe(false);
    // Still the warmed Project: the call built nothing of its own.
    expect(await warmed.worker.stats()).toEqual({ projectsBuilt: 1 });
    // None of it happened on this thread.
    expect(projectsBuilt()).toBe(here);
    // Loosely (a shared machine): the program and checkers were built by the warm-up, not by the call.
    expect(warmCall.durationMs).toBeLessThan(coldCall.durationMs);
    expect(warmCall.durationMs).toBeLessThan((warm as { ms: number }).ms);
  });

  it("a warm-up that fails breaks nothing: the first call does the work", async () => {
    const { worker, registry } = startWorker({ file: await crashingWorker() });
    const ws = await fixture();
    // The thread dies during the warm-up (as out of memory would).
    const outcome = await worker.warm(path.join(ws, "exit-now"));
    expect(outcome).toEqual({ ok: false, error: "the TypeScript worker thread exited with code 7" });
    const r = await registry.execute("ts_outline", { path: "src/math.ts" }, ctx(ws));
    expect(r.isError, r.content).toBe(false);
    expect(worker.threadsStarted).toBe(2);
  });

  it("terminates a worker whose call outlives its timeout (synchronous work), and the next call gets a fresh one", async () => {
    const ws = await fixture();
    const before = await snapshotDir(ws);
    const { worker, registry } = startWorker({ abortGraceMs: 200 });
    // The first call loads the whole Project synchronously: far longer than 1 ms, and deaf to the signal.
    const r = await registry.execute(
      "ts_rename",
      { path: "src/math.ts#add", newName: "sum" },
      ctx(ws, { timeoutMs: 1 }),
    );
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(/^the ts_rename tool timed out after 1 ms/);
    expect(r.content).toContain(
      "ts_rename was still busy 200 ms after being stopped (timed out after 1 ms), so the TypeScript worker thread was terminated; the next ts_* call starts a fresh one",
    );
    expect(await snapshotDir(ws)).toEqual(before);
    expect(worker.threadsStarted).toBe(1);
    const next = await registry.execute("ts_rename", { path: "src/math.ts#add", newName: "sum" }, ctx(ws));
    expect(next.isError, next.content).toBe(false);
    expect(worker.threadsStarted).toBe(2);
  });

  it("stops a call when the run is aborted, the same way", async () => {
    const ws = await fixture();
    const { worker, registry } = startWorker({ abortGraceMs: 100 });
    const run = new AbortController();
    const pending = registry.execute("ts_outline", { path: "src" }, ctx(ws, { signal: run.signal }));
    setTimeout(() => run.abort(), 20);
    const r = await pending;
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(/^the ts_outline tool was aborted because the run was cancelled/);
    expect(r.content).toContain("so the TypeScript worker thread was terminated");
    expect((await registry.execute("ts_outline", { path: "src" }, ctx(ws))).isError).toBe(false);
    expect(worker.threadsStarted).toBe(2);
  });

  it("fails the pending calls of a worker that exits, naming it, and restarts on the next call", async () => {
    const log: string[] = [];
    const { worker, registry } = startWorker({ file: await crashingWorker(), log: (l) => log.push(l) });
    const ws = await fixture();
    expect((await registry.execute("ts_outline", { path: "src/math.ts" }, ctx(ws))).isError).toBe(false);
    // Both are posted in one turn, before this thread can see the exit: the second dies with the first.
    // Straight to the worker: the registry's own steps (confinement) would space the two posts out.
    const outcomes = await Promise.all(
      [path.join(ws, "exit-now"), ws].map((where) =>
        worker.call("ts_outline", { path: "src" }, ctx(where)).then(
          () => undefined,
          (err: unknown) => err,
        ),
      ),
    );
    for (const err of outcomes) {
      expect(err).toBeInstanceOf(ToolError);
      expect((err as ToolError).message).toBe(
        "ts_outline did not finish: the TypeScript worker thread exited with code 7; the next ts_* call starts a fresh worker thread (and rebuilds the workspace's Project)",
      );
    }
    expect(log).toEqual(["ts tools: the TypeScript worker thread exited with code 7"]);
    const next = await registry.execute("ts_outline", { path: "src/math.ts" }, ctx(ws));
    expect(next.isError, next.content).toBe(false);
    expect(worker.threadsStarted).toBe(2);
  });

  it("close() ends the thread for good", async () => {
    const { worker, registry } = startWorker();
    const ws = await fixture();
    expect((await registry.execute("ts_outline", { path: "src/math.ts" }, ctx(ws))).isError).toBe(false);
    await worker.close();
    const r = await registry.execute("ts_outline", { path: "src/math.ts" }, ctx(ws));
    expect(r).toMatchObject({ isError: true, content: "the TypeScript tools were closed" });
    expect(await worker.warm(ws)).toEqual({ ok: false, error: "the TypeScript tools were closed" });
  });
});
