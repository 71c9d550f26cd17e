import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveInWorkspace } from "../../src/agent/tools/paths.ts";

let root: string;
let ws: string;
beforeAll(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), "loom-gate-paths-")));
  ws = path.join(root, "ws");
  await mkdir(path.join(ws, "src"), { recursive: true });
  await writeFile(path.join(ws, "src", "a.ts"), "export {};\n");
  await symlink(path.join(ws, "loop"), path.join(ws, "loop"));
  await symlink(path.join(root, "missing"), path.join(ws, "dangling"));
  await symlink(ws, path.join(root, "ws-link"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as { code?: string; message: string },
  );
  if (!err) throw new Error("expected a refusal");
  return err;
};

describe("path confinement refuses with a reason", () => {
  it("empty, NUL and missing workspace", async () => {
    expect(await refusal(resolveInWorkspace(ws, " ", "read"))).toMatchObject({
      code: "PATH_INVALID",
      message: "path is empty; give a path relative to the workspace",
    });
    expect(await refusal(resolveInWorkspace(ws, "a\0b", "read"))).toMatchObject({
      code: "PATH_INVALID",
      message: 'path "a\\u0000b" contains a NUL byte',
    });
    const gone = path.join(root, "gone");
    expect(await refusal(resolveInWorkspace(gone, "a.ts", "read"))).toMatchObject({
      code: "WORKSPACE_MISSING",
      message: `the workspace ${gone} does not exist`,
    });
  });

  it("outside by ../ is refused as outside (not only by the symlink check)", async () => {
    const err = await refusal(resolveInWorkspace(ws, "../x.ts", "write"));
    expect(err.code).toBe("PATH_OUTSIDE_WORKSPACE");
    expect(err.message).toBe(
      `path ../x.ts is outside the workspace; use a path relative to the workspace root (${ws})`,
    );
    expect((await refusal(resolveInWorkspace(ws, "..", "read"))).message).toMatch(/is outside the workspace/);
  });

  it("through a file, through a dangling symlink, through a symlink loop", async () => {
    expect(await refusal(resolveInWorkspace(ws, "src/a.ts/x", "write"))).toMatchObject({
      code: "PATH_NOT_DIRECTORY",
      message: "path src/a.ts/x goes through a file as if it were a directory",
    });
    const dangling = await refusal(resolveInWorkspace(ws, "dangling/x.ts", "write"));
    expect(dangling.code).toBe("PATH_DANGLING_SYMLINK");
    expect(dangling.message).toBe(
      `path dangling/x.ts goes through a symlink whose target does not exist (${path.join(ws, "dangling")}); use a real path`,
    );
    expect((await refusal(resolveInWorkspace(ws, "loop/x.ts", "write"))).code).toBe("ELOOP");
  });

  it("a workspace named through a symlink accepts absolute paths by its real path and by the link", async () => {
    const link = path.join(root, "ws-link");
    expect((await resolveInWorkspace(link, path.join(ws, "src", "a.ts"), "read")).relative).toBe("src/a.ts");
    expect((await resolveInWorkspace(link, path.join(link, "src", "a.ts"), "read")).relative).toBe(
      "src/a.ts",
    );
    expect((await resolveInWorkspace(link, ".", "read")).relative).toBe(".");
  });
});
