import { promises as fs } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TempWorkspace, tempWorkspace } from "./temp-workspace.ts";

let ws: TempWorkspace;
beforeAll(async () => {
  ws = await tempWorkspace();
});
afterAll(() => ws.cleanup());

describe("write_file", () => {
  it("creates a file with its parent directories and reports bytes", async () => {
    const r = await ws.run("write_file", { path: "a/b/c.txt", content: "héllo\n" });
    expect(r).toMatchObject({ isError: false, content: "created a/b/c.txt (7 bytes)" });
    expect(r.details).toEqual({ path: "a/b/c.txt", bytes: 7, created: true, previousBytes: null });
    expect(await ws.read("a/b/c.txt")).toBe("héllo\n");
  });

  it("overwrites atomically, saying so, and leaves no temp files", async () => {
    await ws.write("o.txt", "old content\n");
    const r = await ws.run("write_file", { path: "o.txt", content: "new" });
    expect(r.content).toBe("overwrote o.txt (3 bytes; was 12 bytes)");
    expect(await ws.read("o.txt")).toBe("new");
    expect((await fs.readdir(ws.root)).filter((n) => n.includes(".tmp"))).toEqual([]);
  });

  it("writes an empty file", async () => {
    expect((await ws.run("write_file", { path: "empty", content: "" })).content).toBe(
      "created empty (0 bytes)",
    );
  });

  it("refuses to write over a directory or through a file", async () => {
    await fs.mkdir(path.join(ws.root, "adir"));
    const dir = await ws.run("write_file", { path: "adir", content: "x" });
    expect(dir).toMatchObject({
      isError: true,
      content: "adir is a directory; give the path of a file to write",
    });
    await ws.write("plain", "x");
    const through = await ws.run("write_file", { path: "plain/child.txt", content: "x" });
    expect(through.isError).toBe(true);
    expect(through.content).toMatch(/goes through a file as if it were a directory/);
    expect(await ws.read("plain")).toBe("x");
  });

  it("refuses schemas/ and missing fields", async () => {
    const r = await ws.run("write_file", { path: "schemas/x.ts", content: "x" });
    expect(r.content).toBe(
      "schemas/x.ts: schemas/ holds Loom's fixed-point protocol schemas and cannot be changed by the agent",
    );
    await expect(fs.stat(path.join(ws.root, "schemas"))).rejects.toThrow();
    const missing = await ws.run("write_file", { path: "x.txt" });
    expect(missing.content).toBe(
      "the write_file tool was called with invalid input: content: required (expected string) — rewrite the input",
    );
  });
});
