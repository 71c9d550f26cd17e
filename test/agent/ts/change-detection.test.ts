import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolError } from "../../../src/agent/tool.ts";
import { checkedEdit } from "../../../src/agent/ts/check/checked-edit.ts";
import { createDirWatch, settleEvents } from "../../../src/agent/ts/project/dir-watch.ts";
import { openWorkspaceProject } from "../../../src/agent/ts/project/project-cache.ts";
import { nodeIo } from "../../../src/agent/ts/project/write-files.ts";
import { spliceFile } from "../../../src/agent/ts/syntax/text-edit.ts";
import { disposeProjects } from "../../../src/agent/ts/tools/index.ts";
import { call } from "./helpers.ts";

/**
 * Tool calls sync the workspace Project by stat'ing only folders that saw a file-system event. These
 * prove a file changed outside the tools (in this process, by a child process, through a symbolic
 * link, in a folder replaced on disk) is seen by the very next call, and that an importer's text
 * changed on disk is what the edit's diagnostics describe.
 */

let ws: string;
let outside: string;

const files: Record<string, string> = {
  "tsconfig.json": JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      types: [],
    },
    include: ["src"],
  }),
  "package.json": JSON.stringify({ type: "module" }),
  "src/model/shape.ts": "export interface Shape {\n  w: number;\n}\n",
  "src/use/uses.ts": 'import type { Shape } from "../model/shape.ts";\n\nexport const s: Shape = { w: 1 };\n',
  "src/other/plain.ts": "export const plain = 1;\n",
};

interface Diag {
  file: string;
  code: number;
  where: string;
}

async function ok(name: string, input: unknown): Promise<{ content: string; diagnostics: Diag[] }> {
  const r = await call(ws, name, input);
  expect(r.isError).toBeFalsy();
  const list = ((r.details as { newDiagnostics?: Diag[] } | undefined)?.newDiagnostics ?? []).map(
    ({ file, code, where }) => ({ file, code, where }),
  );
  return { content: r.content, diagnostics: list };
}

const abs = (rel: string) => path.join(ws, rel);

beforeAll(async () => {
  ws = await mkdtemp(path.join(os.tmpdir(), "loom-ts-changes-"));
  outside = await mkdtemp(path.join(os.tmpdir(), "loom-ts-outside-"));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(abs(rel)), { recursive: true });
    await writeFile(abs(rel), text);
  }
  // A tracked file whose text lives in a folder no watch covers.
  await writeFile(path.join(outside, "real.ts"), "export const linked = 1;\n");
  await symlink(path.join(outside, "real.ts"), abs("src/other/linked.ts"));
  // Loaded, and past the first sync (which checks every folder).
  await ok("ts_outline", { path: "src/model/shape.ts" });
  await ok("ts_outline", { path: "src/model/shape.ts" });
});
afterAll(async () => {
  disposeProjects();
  await rm(ws, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe("a tool call sees files changed outside the tools", () => {
  it("syncs by watched folders on Linux", async () => {
    const wp = await openWorkspaceProject(ws);
    if (process.platform === "linux") expect(wp.watch).not.toBeNull();
    expect(wp.linked.has(abs("src/other/linked.ts"))).toBe(true);
  });

  it("sees the edited file rewritten by fs.writeFile right after a ts_* edit, even at the same size", async () => {
    await ok("ts_insert_member", { path: "src/model/shape.ts#Shape", member: "h?: number;" });
    const written = await readFile(abs("src/model/shape.ts"), "utf8");
    // Same length, same clock tick: only the text tells the two apart.
    const replaced = written.replace("h?: number;", "k?: number;");
    expect(replaced.length).toBe(written.length);
    await writeFile(abs("src/model/shape.ts"), replaced);
    const outline = await ok("ts_outline", { path: "src/model/shape.ts" });
    expect(outline.content).toContain("Shape.k");
    expect(outline.content).not.toContain("Shape.h");
  });

  it("sees a synchronous write made in the same turn as the edit's end", async () => {
    await ok("ts_insert_member", { path: "src/model/shape.ts#Shape", member: "m?: string;" });
    writeFileSync(abs("src/other/plain.ts"), "export const plain = 1;\nexport const late = 2;\n");
    expect((await ok("ts_outline", { path: "src/other/plain.ts" })).content).toContain("#late");
  });

  it("sees a write by a child process, and a file written through a symbolic link's target", async () => {
    await ok("ts_insert_member", { path: "src/model/shape.ts#Shape", member: "n?: string;" });
    await promisify(execFile)("sh", [
      "-c",
      `printf 'export const plain = 3;\\nexport const fromShell = 4;\\n' > '${abs("src/other/plain.ts")}'`,
    ]);
    expect((await ok("ts_outline", { path: "src/other/plain.ts" })).content).toContain("#fromShell");
    await writeFile(path.join(outside, "real.ts"), "export const linked = 1;\nexport const viaTarget = 2;\n");
    expect((await ok("ts_outline", { path: "src/other/linked.ts" })).content).toContain("#viaTarget");
  });

  it("reports the new diagnostics of an importer whose text changed on disk right before the edit", async () => {
    await ok("ts_insert_member", { path: "src/model/shape.ts#Shape", member: "o?: number;" });
    // The importer gains a second object of the interface, written behind the tools' back.
    await writeFile(
      abs("src/use/uses.ts"),
      'import type { Shape } from "../model/shape.ts";\n\nexport const s: Shape = { w: 1 };\n\nexport const t: Shape = { w: 2 };\n',
    );
    // A required member breaks both objects: the one on disk only must be reported too.
    const r = await ok("ts_insert_member", { path: "src/model/shape.ts#Shape", member: "d: number;" });
    expect(r.diagnostics).toEqual([
      { file: "src/use/uses.ts", code: 2741, where: "variable `s`" },
      { file: "src/use/uses.ts", code: 2741, where: "variable `t`" },
    ]);
  });

  it("keeps seeing changes in a folder deleted and made again", async () => {
    await rm(abs("src/use"), { recursive: true });
    await mkdir(abs("src/use"));
    await writeFile(abs("src/use/uses.ts"), "export const again = 1;\n");
    expect((await ok("ts_outline", { path: "src/use/uses.ts" })).content).toContain("#again");
    // The old folder's watch died with it: this in-place write is seen only through a new one.
    await ok("ts_insert_member", { path: "src/model/shape.ts#Shape", member: "q?: number;" });
    await writeFile(abs("src/use/uses.ts"), "export const again = 1;\nexport const twice = 2;\n");
    expect((await ok("ts_outline", { path: "src/use/uses.ts" })).content).toContain("#twice");
  });
});

describe("an edit whose write fails", () => {
  it("leaves no cached result of the text it checked but did not write", async () => {
    await writeFile(abs("src/model/shape.ts"), "export interface Shape {\n  w: number;\n}\n");
    await writeFile(abs("src/use/uses.ts"), files["src/use/uses.ts"]!);
    const wp = await openWorkspaceProject(ws);
    const sf = wp.project.getSourceFileOrThrow(abs("src/model/shape.ts"));
    // The files are written while the new text is type-checked: here the write fails afterwards.
    const err = await checkedEdit(wp, {
      planned: [sf],
      shapeMoves: true,
      apply: () => spliceFile(sf, [{ start: sf.getEnd() - 2, end: sf.getEnd() - 2, text: "\n  z: number;" }]),
      summary: "add z",
      io: { ...nodeIo, writeFile: async () => Promise.reject(new Error("disk full (simulated)")) },
    }).then(
      () => null,
      (e: unknown) => e as ToolError,
    );
    expect(err).toBeInstanceOf(ToolError);
    expect(err?.code).toBe("TS_WRITE_FAILED");
    expect(await readFile(abs("src/model/shape.ts"), "utf8")).toBe(
      "export interface Shape {\n  w: number;\n}\n",
    );
    // The importer's error was computed for the unwritten text; the same edit made for real is new again.
    const r = await ok("ts_insert_member", { path: "src/model/shape.ts#Shape", member: "z: number;" });
    expect(r.diagnostics).toEqual([{ file: "src/use/uses.ts", code: 2741, where: "variable `s`" }]);
  });
});

describe("DirWatch", () => {
  it.runIf(process.platform === "linux")(
    "reports folders with events, folders replaced on disk, and gives up on a flood",
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), "loom-dir-watch-"));
      const a = path.join(dir, "a");
      const b = path.join(dir, "b");
      await mkdir(a);
      await mkdir(b);
      const watch = createDirWatch()!;
      try {
        watch.set([a, b]);
        // Newly watched folders count as changed once.
        expect(watch.take()).toEqual(new Set([a, b]));
        await settleEvents();
        expect(watch.take()).toEqual(new Set());
        writeFileSync(path.join(b, "x.ts"), "1");
        await settleEvents();
        expect(watch.take()).toEqual(new Set([b]));
        // Replaced: reported, and watched again under its new inode.
        await rm(a, { recursive: true });
        await mkdir(a);
        await settleEvents();
        expect(watch.take()?.has(a)).toBe(true);
        await settleEvents();
        watch.take();
        writeFileSync(path.join(a, "y.ts"), "2");
        await settleEvents();
        expect(watch.take()).toEqual(new Set([a]));
        // More events than the kernel queue is trusted to hold: everything must be checked.
        for (let i = 0; i < 2100; i++) {
          writeFileSync(path.join(a, "y.ts"), String(i));
          writeFileSync(path.join(b, "x.ts"), String(i));
          if (i % 500 === 0) await settleEvents();
        }
        await settleEvents();
        expect(watch.take()).toBeNull();
      } finally {
        watch.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
