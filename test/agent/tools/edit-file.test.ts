import { promises as fs } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TempWorkspace, tempWorkspace } from "./temp-workspace.ts";

let ws: TempWorkspace;
const source = [
  "export function add(a: number, b: number): number {",
  "  return a + b;",
  "}",
  "",
  "export function sub(a: number, b: number): number {",
  "  return a - b;",
  "}",
  "",
].join("\n");
beforeAll(async () => {
  ws = await tempWorkspace();
});
afterAll(() => ws.cleanup());

describe("edit_file", () => {
  it("replaces the one exact match and shows the result with line numbers", async () => {
    await ws.write("m.ts", source);
    const r = await ws.run("edit_file", {
      path: "m.ts",
      old_str: "  return a - b;",
      new_str: "  const d = a - b;\n  return d;",
    });
    expect(r.isError).toBe(false);
    expect(r.content).toBe(
      [
        "edited m.ts: replaced line 6 (now lines 6–7). Result:",
        "     3\t}",
        "     4\t",
        "     5\texport function sub(a: number, b: number): number {",
        "     6\t  const d = a - b;",
        "     7\t  return d;",
        "     8\t}",
      ].join("\n"),
    );
    expect(await ws.read("m.ts")).toBe(source.replace("  return a - b;", "  const d = a - b;\n  return d;"));
    expect((await fs.readdir(ws.root)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("deletes text when new_str is empty", async () => {
    await ws.write("d.txt", "keep\ndrop me\nkeep too\n");
    const r = await ws.run("edit_file", { path: "d.txt", old_str: "drop me\n", new_str: "" });
    expect(r.content).toMatch(/^edited d\.txt: replaced line 2 \(now line 2\)/);
    expect(await ws.read("d.txt")).toBe("keep\nkeep too\n");
  });

  it("with no match, says so and shows the most similar lines with numbers, leaving the file alone", async () => {
    await ws.write("m.ts", source);
    const r = await ws.run("edit_file", { path: "m.ts", old_str: "  return a * b;", new_str: "  return 0;" });
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(
      /^old_str was not found in m\.ts \(0 matches; it must match exactly, whitespace included\)\. The most similar lines in the file:\n/,
    );
    expect(r.content).toContain("     2\t  return a + b;");
    expect(r.content).toContain("     6\t  return a - b;");
    expect(await ws.read("m.ts")).toBe(source);
  });

  it("points out a match that differs only in whitespace", async () => {
    await ws.write("m.ts", source);
    const r = await ws.run("edit_file", {
      path: "m.ts",
      old_str: "    return a + b;\n}",
      new_str: "    return b + a;\n}",
    });
    expect(r.content).toContain(
      "It matches at line 2 if whitespace is ignored — copy the exact indentation from there:",
    );
    expect(r.content).toContain("     2\t  return a + b;\n     3\t}");
  });

  it("says when nothing is even similar", async () => {
    await ws.write("m.ts", source);
    const r = await ws.run("edit_file", { path: "m.ts", old_str: "zzzzqqqq", new_str: "x" });
    expect(r.content).toMatch(/No similar lines either — read the file with read_file/);
  });

  it("with several matches, gives the count and each line, asking for more context", async () => {
    await ws.write("m.ts", source);
    const r = await ws.run("edit_file", {
      path: "m.ts",
      old_str: "(a: number, b: number): number {",
      new_str: "()",
    });
    expect(r).toMatchObject({
      isError: true,
      content:
        "old_str occurs 2 times in m.ts (at lines 1, 5); include more surrounding lines in old_str so it matches exactly once",
    });
    expect(await ws.read("m.ts")).toBe(source);
  });

  it("refuses identical old_str and new_str, and an empty old_str", async () => {
    await ws.write("m.ts", source);
    const same = await ws.run("edit_file", { path: "m.ts", old_str: "a + b", new_str: "a + b" });
    expect(same.content).toMatch(/^old_str and new_str are identical/);
    const empty = await ws.run("edit_file", { path: "m.ts", old_str: "", new_str: "x" });
    expect(empty.content).toMatch(/^old_str is empty; .*use write_file/);
    expect(await ws.read("m.ts")).toBe(source);
  });

  it("matches LF old_str in a CRLF file and keeps the CRLF line endings", async () => {
    await ws.write("w.txt", "one\r\ntwo\r\nthree\r\n");
    const r = await ws.run("edit_file", { path: "w.txt", old_str: "one\ntwo", new_str: "uno\ndos" });
    expect(r.isError).toBe(false);
    expect(await ws.read("w.txt")).toBe("uno\r\ndos\r\nthree\r\n");
  });

  it("refuses missing, binary and directory targets", async () => {
    expect((await ws.run("edit_file", { path: "nope.ts", old_str: "a", new_str: "b" })).content).toBe(
      "nope.ts does not exist",
    );
    await ws.write("bin.dat", new Uint8Array([1, 0, 2]));
    expect((await ws.run("edit_file", { path: "bin.dat", old_str: "a", new_str: "b" })).content).toMatch(
      /binary file/,
    );
    await fs.mkdir(`${ws.root}/folder`, { recursive: true });
    expect((await ws.run("edit_file", { path: "folder", old_str: "a", new_str: "b" })).content).toMatch(
      /is a directory/,
    );
  });
});
