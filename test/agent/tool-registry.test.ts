import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineTool, type Tool, ToolError } from "../../src/agent/tool.ts";
import { filterByEffect, ToolRegistry } from "../../src/agent/tool-registry.ts";
import { baseTools } from "../../src/agent/tools/base.ts";
import { DEFAULT_LIMITS, splitLines, truncateOutput } from "../../src/agent/truncate.ts";

let workspace: string;
beforeAll(async () => {
  workspace = await fs.mkdtemp(path.join(os.tmpdir(), "loom-registry-"));
});
afterAll(() => fs.rm(workspace, { recursive: true, force: true }));

const ctx = (signal = new AbortController().signal, timeoutMs?: number) => ({
  workspace,
  signal,
  ...(timeoutMs === undefined ? {} : { timeoutMs }),
});

/** Waits until aborted, recording the abort so tests can prove the tool's signal fired. */
function waiter(name: string, seen: { aborted: boolean }, timeoutMs?: number): Tool {
  return defineTool({
    name,
    description: "waits for its signal",
    input: z.object({}),
    effect: "read",
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    run: (_input, { signal }) =>
      new Promise((resolve) => {
        const t = setTimeout(() => resolve({ content: "finished normally" }), 10_000);
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          seen.aborted = true;
          resolve({ content: "stopped early, partial result" });
        });
      }),
  });
}

const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join("\n");
const emitter = (name: string, text: string, truncate: "head" | "tail") =>
  defineTool({
    name,
    description: "emits text",
    input: z.object({}),
    effect: "read",
    truncate,
    run: async () => ({ content: text, details: { size: text.length } }),
  });

describe("ToolRegistry definitions", () => {
  it("derives a plain object JSON Schema per tool, without $schema", () => {
    const defs = new ToolRegistry(baseTools).definitions();
    expect(defs.map((d) => d.name)).toEqual(["read_file", "write_file", "edit_file", "bash"]);
    for (const d of defs) {
      expect(d.input_schema.type).toBe("object");
      expect(d.input_schema).not.toHaveProperty("$schema");
      expect(d.description!.length).toBeGreaterThan(40);
    }
    const edit = defs.find((d) => d.name === "edit_file")!;
    expect(edit.input_schema.required).toEqual(["path", "old_str", "new_str"]);
    const bash = defs.find((d) => d.name === "bash")!;
    expect(Object.keys(bash.input_schema.properties as object)).toEqual(["command", "timeout"]);
    expect(bash.input_schema.required).toEqual(["command"]);
  });

  it("refuses two tools with one name", () => {
    expect(() => new ToolRegistry([...baseTools, baseTools[0]!])).toThrow(/two tools are named "read_file"/);
  });

  it("lists names and looks tools up", () => {
    const r = new ToolRegistry(baseTools);
    expect(r.names()).toEqual(["read_file", "write_file", "edit_file", "bash"]);
    expect(r.get("bash")?.effect).toBe("exec");
    expect(r.get("nope")).toBeUndefined();
  });

  it("filters by effect class", () => {
    expect(filterByEffect(baseTools, ["read"]).map((t) => t.name)).toEqual(["read_file"]);
    expect(filterByEffect(baseTools, ["read", "edit"]).map((t) => t.name)).toEqual([
      "read_file",
      "write_file",
      "edit_file",
    ]);
    expect(filterByEffect(baseTools, [])).toEqual([]);
  });
});

describe("ToolRegistry.execute", () => {
  it("answers an unknown tool with the available names", async () => {
    const r = await new ToolRegistry(baseTools).execute("delete_everything", {}, ctx());
    expect(r.isError).toBe(true);
    expect(r.content).toBe(
      'there is no tool named "delete_everything"; available tools: read_file, write_file, edit_file, bash',
    );
  });

  it("lists every invalid field with its zod path and asks for a rewrite", async () => {
    const r = await new ToolRegistry(baseTools).execute("edit_file", { path: 3, new_str: "x" }, ctx());
    expect(r.isError).toBe(true);
    expect(r.content).toBe(
      "the edit_file tool was called with invalid input: path: expected string, received number; " +
        "old_str: required (expected string) — rewrite the input",
    );
  });

  it("reports unknown keys, nested paths and a non-object input", async () => {
    const nested = defineTool({
      name: "nested",
      description: "d",
      input: z.object({ a: z.object({ b: z.array(z.number()) }) }),
      effect: "read",
      run: async () => ({ content: "ok" }),
    });
    const reg = new ToolRegistry([...baseTools, nested]);
    const bad = await reg.execute("nested", { a: { b: [1, "2"] } }, ctx());
    expect(bad.content).toContain("a.b[1]: expected number, received string");
    const extra = await reg.execute("read_file", { path: "x", file_path: "x" }, ctx());
    expect(extra.content).toContain('(input): Unrecognized key: "file_path"');
    const notObject = await reg.execute("bash", "ls", ctx());
    expect(notObject.content).toContain("(input): expected object, received string");
  });

  it("turns a ToolError into its message and other throws into name + message, never a stack", async () => {
    const thrower = (name: string, err: unknown) =>
      defineTool({
        name,
        description: "d",
        input: z.object({}),
        effect: "read",
        run: async () => {
          throw err;
        },
      });
    const reg = new ToolRegistry([
      thrower("expected", new ToolError("NO_MATCH", "nothing matched")),
      thrower("bug", new TypeError("x is not a function")),
      thrower("odd", "a string"),
      defineTool({
        name: "sync_bug",
        description: "d",
        input: z.object({}),
        effect: "read",
        run: () => {
          throw new RangeError("sync");
        },
      }),
    ]);
    expect(await reg.execute("expected", {}, ctx())).toMatchObject({
      isError: true,
      content: "nothing matched",
    });
    const bug = await reg.execute("bug", {}, ctx());
    expect(bug.content).toBe("the bug tool failed: TypeError: x is not a function");
    expect(bug.content).not.toContain("    at ");
    expect((await reg.execute("odd", {}, ctx())).content).toBe("the odd tool failed: a string");
    expect((await reg.execute("sync_bug", {}, ctx())).content).toBe(
      "the sync_bug tool failed: RangeError: sync",
    );
  });

  it("survives a tool that returns something other than a result", async () => {
    const broken = defineTool({
      name: "broken",
      description: "d",
      input: z.object({}),
      effect: "read",
      run: async () => undefined as never,
    });
    const r = await new ToolRegistry([broken]).execute("broken", {}, ctx());
    expect(r).toMatchObject({
      isError: true,
      content: "the broken tool returned no text content (a bug in the tool)",
    });
  });

  it("times out at the tool's timeoutMs, aborting its signal and keeping what it reported", async () => {
    const seen = { aborted: false };
    const reg = new ToolRegistry([waiter("slow", seen, 60)]);
    const r = await reg.execute("slow", {}, ctx());
    expect(seen.aborted).toBe(true);
    expect(r.isError).toBe(true);
    expect(r.content).toBe("the slow tool timed out after 60 ms\n\nstopped early, partial result");
    expect(r.durationMs).toBeGreaterThanOrEqual(50);
    expect(r.durationMs).toBeLessThan(5_000);
  });

  it("lets the call override the timeout, and uses the registry default for tools without one", async () => {
    const seen = { aborted: false };
    const withOwn = new ToolRegistry([waiter("slow", seen, 60_000)]);
    expect((await withOwn.execute("slow", {}, ctx(undefined, 40))).content).toMatch(
      /^the slow tool timed out after 40 ms/,
    );
    const byDefault = new ToolRegistry([waiter("slow", seen)], { defaultTimeoutMs: 30 });
    expect((await byDefault.execute("slow", {}, ctx())).content).toMatch(
      /^the slow tool timed out after 30 ms/,
    );
  });

  it("aborts the tool when the run is cancelled, and does not start a tool on an aborted run", async () => {
    const seen = { aborted: false };
    const reg = new ToolRegistry([waiter("slow", seen)]);
    const run = new AbortController();
    setTimeout(() => run.abort(), 30);
    const r = await reg.execute("slow", {}, ctx(run.signal));
    expect(seen.aborted).toBe(true);
    expect(r).toMatchObject({ isError: true });
    expect(r.content).toMatch(/^the slow tool was aborted because the run was cancelled/);

    const again = { aborted: false };
    const r2 = await new ToolRegistry([waiter("slow", again)]).execute("slow", {}, ctx(run.signal));
    expect(r2.content).toBe("the slow tool was not run: the run was aborted");
    expect(again.aborted).toBe(false);
  });

  it("answers after a grace period even if an aborted tool ignores its signal", async () => {
    const stubborn = defineTool({
      name: "stubborn",
      description: "d",
      input: z.object({}),
      effect: "read",
      timeoutMs: 20,
      run: () => new Promise<never>(() => {}),
    });
    const r = await new ToolRegistry([stubborn], { abortGraceMs: 100 }).execute("stubborn", {}, ctx());
    expect(r.content).toBe("the stubborn tool timed out after 20 ms");
    expect(r.durationMs).toBeGreaterThanOrEqual(100);
    expect(r.durationMs).toBeLessThan(2_000);
  });

  it("keeps the head of long output and says how much was cut", async () => {
    const reg = new ToolRegistry([emitter("long", lines(5000), "head")]);
    const r = await reg.execute("long", {}, ctx());
    expect(r.truncated).toBe(true);
    expect(r.isError).toBe(false);
    expect(r.details).toEqual({ size: lines(5000).length });
    const shown = r.content.split("\n");
    expect(shown[0]).toBe("line 1");
    expect(shown[1999]).toBe("line 2000");
    expect(r.content).not.toContain("line 2001");
    expect(shown.at(-1)).toMatch(/^\[output truncated: showing first 2000 of 5000 lines; the rest was cut/);
  });

  it("keeps the tail for tail tools and passes short output through untouched", async () => {
    const reg = new ToolRegistry([emitter("log", lines(3000), "tail"), emitter("short", "hi\n", "head")]);
    const r = await reg.execute("log", {}, ctx());
    expect(r.truncated).toBe(true);
    const shown = r.content.split("\n");
    expect(shown[0]).toMatch(/^\[output truncated: showing last 2000 of 3000 lines; earlier output was cut/);
    expect(shown.at(-1)).toBe("line 3000");
    expect(r.content).not.toContain("line 1000\n");
    expect(await reg.execute("short", {}, ctx())).toMatchObject({ content: "hi\n", truncated: false });
  });

  it("cuts by bytes too, even inside one enormous line, and says so", async () => {
    const reg = new ToolRegistry([emitter("wide", "é".repeat(100_000), "head")], {
      limits: { maxLines: 2000, maxBytes: 1001 },
    });
    const r = await reg.execute("wide", {}, ctx());
    const [kept, , note] = r.content.split("\n");
    expect(Buffer.byteLength(kept!)).toBe(1000); // never splits the two-byte character
    expect(kept).toBe("é".repeat(500));
    expect(note).toBe(
      "[output truncated: showing first part of 1 of 1 lines (1001 B limit); the rest was cut; ask for less (a narrower range, a filter, or a more specific query)]",
    );
  });
});

describe("truncateOutput", () => {
  it("counts lines already dropped upstream", () => {
    const r = truncateOutput("a\nb\n", "tail", DEFAULT_LIMITS, { lines: 10, bytes: 100 });
    expect(r.truncated).toBe(true);
    expect(r.content).toMatch(/^\[output truncated: showing last 2 of 12 lines;/);
    expect(r.content.endsWith("\n\na\nb")).toBe(true);
  });

  it("does not cut a handful of lines just to add a note about them", () => {
    const limits = { maxLines: 100, maxBytes: 100_000 };
    expect(truncateOutput(lines(110), "head", limits)).toEqual({ content: lines(110), truncated: false });
    const cut = truncateOutput(lines(111), "head", limits);
    expect(cut.truncated).toBe(true);
    expect(
      cut.content.endsWith(
        "[output truncated: showing first 100 of 111 lines; the rest was cut; ask for less (a narrower range, a filter, or a more specific query)]",
      ),
    ).toBe(true);
  });

  it("splits lines without inventing a trailing empty line", () => {
    expect(splitLines("")).toEqual([]);
    expect(splitLines("a\nb\n")).toEqual(["a", "b"]);
    expect(splitLines("a\n\n")).toEqual(["a", ""]);
  });
});
