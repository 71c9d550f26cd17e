import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { type Tool, type ToolContext, ToolError, type ToolResult } from "../../../src/agent/tool.ts";
import { getProject, tsTools } from "../../../src/agent/ts/tools/index.ts";

export const repoRoot = path.resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");
export const fixtureDir = path.join(repoRoot, "test/fixtures/ts-project");

const tools = new Map(tsTools.map((t) => [t.name, t]));

/** Calls a ts_* tool the way the registry does: validate the input once, then run. */
export async function call(
  workspace: string,
  name: string,
  input: unknown,
  signal = new AbortController().signal,
): Promise<ToolResult> {
  const tool: Tool | undefined = tools.get(name);
  if (!tool) throw new Error(`no tool ${name}`);
  const ctx: ToolContext = { workspace, signal };
  return tool.run(tool.input.parse(input), ctx);
}

export async function copyFixture(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "loom-ts-fixture-"));
  await cp(fixtureDir, dir, { recursive: true });
  return dir;
}

/** A temp copy of this project's own code: src/, schemas/, tsconfig.json, node_modules symlinked. */
export async function copySelf(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "loom-ts-self-"));
  for (const part of ["src", "schemas", "tsconfig.json"]) {
    await cp(path.join(repoRoot, part), path.join(dir, part), { recursive: true });
  }
  await symlink(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"));
  return dir;
}

/** Every file's bytes under dir (node_modules skipped), to prove a refused edit changed nothing. */
export async function snapshotDir(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && e.name !== "node_modules") await walk(p);
      else if (e.isFile()) out.set(path.relative(dir, p), await readFile(p, "utf8"));
    }
  };
  await walk(dir);
  return out;
}

/**
 * Errors of `tsc --noEmit -p dir` (TS 7, the native compiler) without line/column numbers, so runs can
 * be compared after edits that shift lines. Empty when the project type-checks. `incremental`: tsc keeps
 * its build info in dir/.loom-cache, as Loom's own check does, so a later run re-checks only what changed.
 */
export function tscErrors(dir: string, options: { readonly incremental?: boolean } = {}): Promise<string[]> {
  const incremental = options.incremental
    ? ["--incremental", "--tsBuildInfoFile", path.join(dir, ".loom-cache", "tsc.tsbuildinfo")]
    : [];
  return new Promise((resolve, reject) => {
    execFile(
      path.join(repoRoot, "node_modules/.bin/tsc"),
      ["--noEmit", ...incremental, "-p", dir],
      { cwd: dir, timeout: 120_000, maxBuffer: 16 * 2 ** 20 },
      (err, stdout) => {
        if (err && typeof err.code !== "number") return reject(err);
        resolve(
          stdout
            .split("\n")
            .filter((l) => l.includes("error TS"))
            .map((l) => l.replace(/\(\d+,\d+\)/, ""))
            .sort(),
        );
      },
    );
  });
}

/** Runs a tool that must be refused with `code`, and proves neither the disk nor the Project changed. */
export async function refusedEdit(ws: string, name: string, input: unknown, code: string): Promise<string> {
  const before = await snapshotDir(ws);
  const memory = new Map(
    getProject(ws)
      .getSourceFiles()
      .map((sf) => [sf.getFilePath(), sf.getFullText()]),
  );
  const err = await call(ws, name, input).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ToolError);
  expect((err as ToolError).code).toBe(code);
  expect(await snapshotDir(ws)).toEqual(before);
  for (const sf of getProject(ws).getSourceFiles()) {
    if (memory.has(sf.getFilePath())) expect(sf.getFullText()).toBe(memory.get(sf.getFilePath()));
  }
  return (err as ToolError).message;
}
