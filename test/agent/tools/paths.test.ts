import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveInWorkspace } from "../../../src/agent/tools/paths.ts";
import { type TempWorkspace, tempWorkspace } from "./temp-workspace.ts";

let ws: TempWorkspace;
let outside: string;
beforeAll(async () => {
  ws = await tempWorkspace();
  outside = await fs.mkdtemp(path.join(os.tmpdir(), "loom-outside-"));
  await fs.writeFile(path.join(outside, "secret.txt"), "outside\n");
  await ws.write("src/a.ts", "export const a = 1;\n");
  await ws.write("schemas/usage.ts", "export {};\n");
  await fs.symlink(outside, path.join(ws.root, "out-dir"));
  await fs.symlink(path.join(outside, "secret.txt"), path.join(ws.root, "out-file"));
  await fs.symlink(path.join(ws.root, "src"), path.join(ws.root, "src-link"));
  await fs.symlink(path.join(outside, "missing.txt"), path.join(ws.root, "dangling"));
  await fs.symlink(path.join(ws.root, "schemas"), path.join(ws.root, "alias"));
});
afterAll(async () => {
  await ws.cleanup();
  await fs.rm(outside, { recursive: true, force: true });
});

describe("resolveInWorkspace", () => {
  it("accepts relative paths and absolute paths inside the workspace", async () => {
    const real = await fs.realpath(ws.root);
    expect(await resolveInWorkspace(ws.root, "src/a.ts", "read")).toEqual({
      absolute: path.join(real, "src/a.ts"),
      relative: "src/a.ts",
    });
    expect((await resolveInWorkspace(ws.root, path.join(ws.root, "src/a.ts"), "read")).relative).toBe(
      "src/a.ts",
    );
    expect((await resolveInWorkspace(ws.root, "src/../src/new/b.ts", "write")).relative).toBe("src/new/b.ts");
    // A symlink that stays inside is fine, and resolves to the real file.
    expect((await resolveInWorkspace(ws.root, "src-link/a.ts", "read")).relative).toBe("src/a.ts");
    expect((await resolveInWorkspace(ws.root, ".", "read")).relative).toBe(".");
  });

  it("refuses ../ escapes and absolute paths outside", async () => {
    await expect(resolveInWorkspace(ws.root, "../x", "read")).rejects.toThrow(
      /path \.\.\/x is outside the workspace/,
    );
    await expect(resolveInWorkspace(ws.root, "src/../../x", "write")).rejects.toMatchObject({
      code: "PATH_OUTSIDE_WORKSPACE",
    });
    await expect(resolveInWorkspace(ws.root, "/etc/passwd", "read")).rejects.toThrow(/outside the workspace/);
  });

  it("refuses symlinks resolving outside, for existing files and for new files under a symlinked dir", async () => {
    await expect(resolveInWorkspace(ws.root, "out-file", "read")).rejects.toThrow(
      /symlink that resolves outside/,
    );
    await expect(resolveInWorkspace(ws.root, "out-dir/secret.txt", "read")).rejects.toThrow(
      /symlink that resolves outside/,
    );
    await expect(resolveInWorkspace(ws.root, "out-dir/new/deep.txt", "write")).rejects.toMatchObject({
      code: "PATH_OUTSIDE_WORKSPACE",
    });
    await expect(resolveInWorkspace(ws.root, "dangling", "write")).rejects.toMatchObject({
      code: "PATH_DANGLING_SYMLINK",
    });
  });

  it("refuses writes under schemas/, however they are spelled, but allows reads", async () => {
    const msg = "schemas/ holds Loom's fixed-point protocol schemas and cannot be changed by the agent";
    await expect(resolveInWorkspace(ws.root, "schemas/usage.ts", "write")).rejects.toThrow(msg);
    await expect(resolveInWorkspace(ws.root, "./src/../schemas/new.ts", "write")).rejects.toThrow(msg);
    await expect(resolveInWorkspace(ws.root, "alias/usage.ts", "write")).rejects.toThrow(msg);
    await expect(resolveInWorkspace(ws.root, "schemas", "write")).rejects.toMatchObject({
      code: "PATH_PROTECTED",
    });
    expect((await resolveInWorkspace(ws.root, "schemas/usage.ts", "read")).relative).toBe("schemas/usage.ts");
    expect((await resolveInWorkspace(ws.root, "schemas-old/x.ts", "write")).relative).toBe(
      "schemas-old/x.ts",
    );
  });

  it("refuses empty paths, NUL bytes and paths through a file", async () => {
    await expect(resolveInWorkspace(ws.root, " ", "read")).rejects.toThrow(/path is empty/);
    await expect(resolveInWorkspace(ws.root, "a\0b", "read")).rejects.toThrow(/NUL byte/);
    await expect(resolveInWorkspace(ws.root, "src/a.ts/x", "write")).rejects.toMatchObject({
      code: "PATH_NOT_DIRECTORY",
    });
  });

  it("the file tools refuse the same paths through the registry, leaving nothing behind", async () => {
    const r = await ws.run("write_file", { path: "out-dir/planted.txt", content: "x" });
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(/symlink that resolves outside/);
    await expect(fs.stat(path.join(outside, "planted.txt"))).rejects.toThrow();
    const e = await ws.run("edit_file", { path: "schemas/usage.ts", old_str: "export", new_str: "x" });
    expect(e.content).toContain("cannot be changed by the agent");
    expect(await ws.read("schemas/usage.ts")).toBe("export {};\n");
    const read = await ws.run("read_file", { path: "../../etc/passwd" });
    expect(read).toMatchObject({ isError: true });
    expect(read.content).toMatch(/outside the workspace/);
  });
});
