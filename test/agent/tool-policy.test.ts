import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineTool, type Tool, ToolError, type ToolProperties } from "../../src/agent/tool.ts";
import { offeredTo, workspacesInTurn } from "../../src/agent/tool-policy.ts";
import { ToolRegistry } from "../../src/agent/tool-registry.ts";

/**
 * The policy the registry applies by a tool's declared properties: the tools here do nothing but
 * record their calls, so every refusal and every ordering seen is the registry's.
 */
let workspace: string;
let other: string;
beforeAll(async () => {
  workspace = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "loom-policy-")));
  other = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "loom-policy-other-")));
});
afterAll(async () => {
  await fs.rm(workspace, { recursive: true, force: true });
  await fs.rm(other, { recursive: true, force: true });
});

const ctx = (ws = workspace, signal = new AbortController().signal) => ({ workspace: ws, signal });

/** A tool that records each path it is run with and answers at once. */
function recorder(properties: ToolProperties<{ path: string }>, calls: string[]): Tool<{ path: string }> {
  return defineTool({
    name: "probe",
    description: "records its calls",
    input: z.object({ path: z.string() }),
    effect: "edit",
    ...properties,
    run: async ({ path }) => {
      calls.push(path);
      return { content: `ran on ${path}` };
    },
  });
}

/** A tool whose calls each wait for `release()`, logging when they start and end. */
function gated(name: string, exclusive: boolean, log: string[]) {
  const waiting: (() => void)[] = [];
  const tool: Tool<{ id: string }> = defineTool({
    name,
    description: "waits to be released",
    input: z.object({ id: z.string() }),
    effect: "edit",
    exclusive,
    run: async ({ id }, { signal }) => {
      log.push(`start ${id}`);
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        signal.addEventListener("abort", () => resolve());
      });
      log.push(`end ${id}`);
      return { content: id };
    },
  });
  const started = async (count: number) => {
    for (let i = 0; i < 200 && waiting.length < count; i++) await new Promise((r) => setTimeout(r, 5));
    expect(waiting.length).toBe(count);
  };
  return { tool, release: () => waiting.shift()?.(), started };
}

describe("confinement: a tool that declares its path is refused by the registry, before it runs", () => {
  const confined = (access: "read" | "write") => ({
    confine: { access, path: (i: { path: string }) => i.path },
  });

  it("a path outside the workspace, by ../ or absolute, never reaches the tool", async () => {
    const calls: string[] = [];
    const registry = new ToolRegistry([recorder(confined("read"), calls)]);
    for (const outside of ["../x", "a/../../x", path.join(os.tmpdir(), "elsewhere.txt")]) {
      const r = await registry.execute("probe", { path: outside }, ctx());
      expect(r.isError, outside).toBe(true);
      expect(r.content).toBe(
        `path ${outside} is outside the workspace; use a path relative to the workspace root (${workspace})`,
      );
    }
    expect(calls).toEqual([]);
    expect((await registry.execute("probe", { path: "src/inside.ts" }, ctx())).content).toBe(
      "ran on src/inside.ts",
    );
    expect(calls).toEqual(["src/inside.ts"]);
  });

  it("write access also refuses schemas/; read access does not", async () => {
    const calls: string[] = [];
    const writer = new ToolRegistry([recorder(confined("write"), calls)]);
    const refused = await writer.execute("probe", { path: "schemas/x.ts" }, ctx());
    expect(refused).toMatchObject({ isError: true });
    expect(refused.content).toMatch(/^schemas\/x\.ts: schemas\/ holds Loom's fixed-point/);
    expect(calls).toEqual([]);
    const reader = new ToolRegistry([recorder(confined("read"), calls)]);
    expect((await reader.execute("probe", { path: "schemas/x.ts" }, ctx())).isError).toBe(false);
    expect(calls).toEqual(["schemas/x.ts"]);
  });

  it("keys on the property: the same tool undeclared runs with ../x, and a path of undefined is not checked", async () => {
    const calls: string[] = [];
    await new ToolRegistry([recorder({}, calls)]).execute("probe", { path: "../x" }, ctx());
    const noPath = { confine: { access: "write" as const, path: () => undefined } };
    await new ToolRegistry([recorder(noPath, calls)]).execute("probe", { path: "../y" }, ctx());
    expect(calls).toEqual(["../x", "../y"]);
  });
});

describe("roles: a tool is in the catalogs of the roles it declares, and no other", () => {
  it("declared roles only; none declared means no catalog", () => {
    const base = { name: "t", description: "d", input: z.object({}), effect: "read" as const };
    const run = async () => ({ content: "" });
    const some: Tool = defineTool({ ...base, roles: ["lab", "worker"], run });
    expect([offeredTo(some, "lab"), offeredTo(some, "worker"), offeredTo(some, "prime")]).toEqual([
      true,
      true,
      false,
    ]);
    const none: Tool = defineTool({ ...base, run });
    for (const role of ["lab", "prime", "worker"] as const) expect(offeredTo(none, role)).toBe(false);
  });
});

describe("exclusivity: calls of exclusive tools on one workspace take turns", () => {
  it("an exclusive tool's second call starts only after the first ended; other workspaces do not wait", async () => {
    const log: string[] = [];
    const { tool, release, started } = gated("serial", true, log);
    const registry = new ToolRegistry([tool]);
    const a = registry.execute("serial", { id: "a" }, ctx());
    const b = registry.execute("serial", { id: "b" }, ctx());
    const c = registry.execute("serial", { id: "c" }, ctx(other));
    await started(2);
    expect(log).toEqual(["start a", "start c"]);
    release();
    await a;
    await started(2);
    expect(log).toEqual(["start a", "start c", "end a", "start b"]);
    release();
    release();
    await Promise.all([b, c]);
  });

  it("a call made while the second one runs still waits for it; nothing is held once all have answered", async () => {
    const log: string[] = [];
    const { tool, release, started } = gated("serial", true, log);
    const registry = new ToolRegistry([tool]);
    const a = registry.execute("serial", { id: "a" }, ctx());
    const b = registry.execute("serial", { id: "b" }, ctx());
    await started(1);
    expect(workspacesInTurn()).toBe(1);
    release();
    await a;
    await started(1);
    const c = registry.execute("serial", { id: "c" }, ctx());
    await new Promise((r) => setTimeout(r, 30));
    expect(log).toEqual(["start a", "end a", "start b"]);
    release();
    await b;
    await started(1);
    release();
    await c;
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
    await new Promise((r) => setTimeout(r, 0));
    expect(workspacesInTurn()).toBe(0);
  });

  it("two registries in one process share the turn: the Project is per process, not per registry", async () => {
    const log: string[] = [];
    const { tool, release, started } = gated("serial", true, log);
    const first = new ToolRegistry([tool]).execute("serial", { id: "a" }, ctx());
    const second = new ToolRegistry([tool]).execute("serial", { id: "b" }, ctx());
    await started(1);
    expect(log).toEqual(["start a"]);
    release();
    await first;
    await started(1);
    release();
    await second;
    expect(log).toEqual(["start a", "end a", "start b", "end b"]);
  });

  it("a tool not declared exclusive runs its calls side by side", async () => {
    const log: string[] = [];
    const { tool, release, started } = gated("free", false, log);
    const registry = new ToolRegistry([tool]);
    const both = Promise.all([
      registry.execute("free", { id: "a" }, ctx()),
      registry.execute("free", { id: "b" }, ctx()),
    ]);
    await started(2);
    expect(log).toEqual(["start a", "start b"]);
    release();
    release();
    await both;
  });

  it("a call cancelled while it waits for its turn is answered at once and never started", async () => {
    const log: string[] = [];
    const { tool, release, started } = gated("serial", true, log);
    const registry = new ToolRegistry([tool], { abortGraceMs: 10 });
    const a = registry.execute("serial", { id: "a" }, ctx());
    const cancel = new AbortController();
    const b = registry.execute("serial", { id: "b" }, ctx(workspace, cancel.signal));
    await started(1);
    cancel.abort();
    expect(await b).toMatchObject({
      isError: true,
      content: "the serial tool was aborted because the run was cancelled",
    });
    release();
    expect((await a).content).toBe("a");
    // The queue moved on past b without running it.
    const c = registry.execute("serial", { id: "c" }, ctx());
    await started(1);
    release();
    await c;
    expect(log).toEqual(["start a", "end a", "start c", "end c"]);
  });
});

describe("failure shaping: a tool's declared shapeError words its known failures", () => {
  class Refusal extends Error {
    readonly code = "NOT_VERIFIED";
  }
  const thrower = (err: Error, shapeError?: (err: unknown) => ToolError | undefined): Tool =>
    defineTool({
      name: "t",
      description: "throws",
      input: z.object({}),
      effect: "self-modify",
      ...(shapeError ? { shapeError } : {}),
      run: async () => {
        throw err;
      },
    });
  const shape = (err: unknown) =>
    err instanceof Refusal ? new ToolError(err.code, `refused ${err.code}: verify first`) : undefined;

  it("a failure it knows is answered in its words; others keep the registry's", async () => {
    const run = (tool: Tool) => new ToolRegistry([tool]).execute("t", {}, ctx());
    expect(await run(thrower(new Refusal("no"), shape))).toMatchObject({
      isError: true,
      content: "refused NOT_VERIFIED: verify first",
    });
    expect((await run(thrower(new RangeError("boom"), shape))).content).toBe(
      "the t tool failed: RangeError: boom",
    );
    expect((await run(thrower(new Refusal("no")))).content).toBe("the t tool failed: Error: no");
  });
});
