import { promises as fs } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TempWorkspace, tempWorkspace } from "./temp-workspace.ts";

let ws: TempWorkspace;
const numbered = (n: number) => Array.from({ length: n }, (_, i) => `row ${i + 1}`).join("\n") + "\n";
beforeAll(async () => {
  ws = await tempWorkspace();
  await ws.write("small.txt", "alpha\nbeta\ngamma\n");
  await ws.write("big.txt", numbered(5000));
  await ws.write("empty.txt", "");
  await ws.write("img.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d]));
  await ws.write("wide.txt", `${"x".repeat(5000)}\nshort\n`);
  await ws.write("fat.txt", `${"y".repeat(1500)}\n`.repeat(100));
  for (const f of ["dir/one.ts", "dir/two.ts", "dir/sub/three.ts"]) await ws.write(f, "x\n");
});
afterAll(() => ws.cleanup());

describe("read_file", () => {
  it("numbers lines like cat -n and reads the whole small file with no range note", async () => {
    const r = await ws.run("read_file", { path: "small.txt" });
    expect(r).toMatchObject({ isError: false, truncated: false });
    expect(r.content).toBe("     1\talpha\n     2\tbeta\n     3\tgamma");
    expect(r.details).toEqual({ path: "small.txt", totalLines: 3, from: 1, to: 3 });
  });

  it("pages long files 2000 lines at a time and says where to continue", async () => {
    const first = await ws.run("read_file", { path: "big.txt" });
    const rows = first.content.split("\n");
    expect(rows[0]).toBe("     1\trow 1");
    expect(rows[1999]).toBe("  2000\trow 2000");
    expect(rows.at(-1)).toBe("[lines 1–2000 of 5000 shown; call read_file with offset=2001 to continue]");
    expect(first.truncated).toBe(false); // the tool paged itself; the registry did not have to cut
    const last = await ws.run("read_file", { path: "big.txt", offset: 4999 });
    expect(last.content).toBe("  4999\trow 4999\n  5000\trow 5000\n\n[lines 4999–5000 of 5000 shown]");
  });

  it("honours offset and limit", async () => {
    const r = await ws.run("read_file", { path: "small.txt", offset: 2, limit: 1 });
    expect(r.content).toBe(
      "     2\tbeta\n\n[lines 2–2 of 3 shown; call read_file with offset=3 to continue]",
    );
  });

  it("stops at the byte budget with a precise continuation note, and cuts very long lines", async () => {
    const fat = await ws.run("read_file", { path: "fat.txt" });
    expect(Buffer.byteLength(fat.content)).toBeLessThanOrEqual(50 * 1024);
    expect(fat.content).toMatch(
      /\[lines 1–(\d+) of 100 shown; call read_file with offset=(\d+) to continue\]$/,
    );
    const [, to, next] = fat.content.match(/lines 1–(\d+) of 100 shown; call read_file with offset=(\d+)/)!;
    expect(Number(next)).toBe(Number(to) + 1);
    expect(fat.truncated).toBe(false);
    const wide = await ws.run("read_file", { path: "wide.txt" });
    expect(wide.content).toBe(`     1\t${"x".repeat(2000)} … [line cut: 5000 chars]\n     2\tshort`);
  });

  it("reports an empty file", async () => {
    expect((await ws.run("read_file", { path: "empty.txt" })).content).toBe("empty.txt is empty (0 lines)");
  });

  it("refuses an offset past the end, saying the valid range", async () => {
    const r = await ws.run("read_file", { path: "small.txt", offset: 10 });
    expect(r).toMatchObject({
      isError: true,
      content: "offset 10 is past the end of small.txt, which has 3 lines; use an offset from 1 to 3",
    });
  });

  it("refuses binary files", async () => {
    const r = await ws.run("read_file", { path: "img.png" });
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(/^img\.png is a binary file \(8 B\); this tool handles text only/);
  });

  it("refuses a directory and lists a few of its entries", async () => {
    const r = await ws.run("read_file", { path: "dir" });
    expect(r.isError).toBe(true);
    expect(r.content).toBe(
      "dir is a directory, not a file; it contains one.ts, sub/, two.ts. Give a file path, or list with bash (ls, find)",
    );
  });

  it("reports a missing file, suggesting similar names", async () => {
    const r = await ws.run("read_file", { path: "dir/on.ts" });
    expect(r).toMatchObject({ isError: true, content: "dir/on.ts does not exist; did you mean dir/one.ts?" });
    const far = await ws.run("read_file", { path: "nope/zzz.ts" });
    expect(far.content).toBe("nope/zzz.ts does not exist (nor does its directory nope)");
  });

  it("rejects bad offsets and limits through validation", async () => {
    const r = await ws.run("read_file", { path: "small.txt", offset: 0, limit: 1.5 });
    expect(r.content).toMatch(
      /^the read_file tool was called with invalid input: offset: .*>=1; limit: expected int/,
    );
  });

  it("reads files through the workspace's real path when given absolutely", async () => {
    const r = await ws.run("read_file", {
      path: path.join(await fs.realpath(ws.root), "small.txt"),
      limit: 1,
    });
    expect(r.content.split("\n")[0]).toBe("     1\talpha");
  });
});
