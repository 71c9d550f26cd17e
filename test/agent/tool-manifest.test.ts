import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { allTools, labTools } from "../../src/agent/catalog.ts";
import { labCatalog, labToolsAround } from "../../src/agent/lab-catalog.ts";
import { defineTool, type Tool, type ToolEffect, type ToolRole } from "../../src/agent/tool.ts";
import { findTool, loadAllTools } from "../../src/agent/tool-groups.ts";
import { toolManifest, toolsFor } from "../../src/agent/tool-manifest.ts";
import { ToolRegistry } from "../../src/agent/tool-registry.ts";
import { tsToolSpecs } from "../../src/agent/ts/tools/tool-specs.ts";
import { TsWorker } from "../../src/agent/ts/worker/ts-worker-client.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const names = (tools: readonly Tool[]) => tools.map((t) => t.name);

/** A tool that is only a manifest line: no code worth loading. */
const extra = (name: string, effect: ToolEffect, roles: readonly ToolRole[]): Tool<{ n: number }> =>
  defineTool({
    name,
    description: "added to the manifest by the test",
    input: z.object({ n: z.number() }),
    effect,
    roles,
    run: async ({ n }) => ({ content: `got ${n}` }),
  });

describe("the tool manifest: each tool listed once, every catalog a filter of it", () => {
  it("names are unique and every catalog's tools are the manifest's own objects", () => {
    expect(() => new ToolRegistry(toolManifest)).not.toThrow();
    for (const tool of [...labTools(), ...toolsFor("worker"), ...allTools()]) {
      expect(toolManifest, tool.name).toContain(tool);
    }
    expect(names(allTools())).toEqual(names(toolManifest));
  });

  it("`loom tool` looks tools up in the manifest itself", async () => {
    expect(await loadAllTools()).toEqual(toolManifest);
    for (const tool of toolManifest) expect(await findTool(tool.name)).toBe(tool);
    expect(await findTool("analyze")).toBeUndefined();
  });

  it("a tool added with role lab appears in the Lab's catalog; prime-only, worker-only or self-modify does not", () => {
    const manifest = [
      ...toolManifest,
      extra("lab_probe", "read", ["lab"]),
      extra("prime_probe", "read", ["prime"]),
      extra("worker_probe", "edit", ["worker"]),
      extra("sneaky_promote", "self-modify", ["lab", "prime"]),
    ];
    const lab = names(labCatalog(manifest));
    expect(lab).toEqual([...names(labCatalog()), "lab_probe"]);
    expect(names(toolsFor("prime", manifest))).toEqual([
      ...names(toolsFor("prime")),
      "prime_probe",
      "sneaky_promote",
    ]);
    expect(names(toolsFor("worker", manifest))).toEqual([...names(toolsFor("worker")), "worker_probe"]);
  });

  it("declares who gets what: the worker hosts the ts_* tools, Prime gets the readers, the Lab everything", () => {
    expect(names(toolsFor("worker"))).toEqual(names(tsToolSpecs));
    expect(names(toolsFor("worker")).every((n) => n.startsWith("ts_"))).toBe(true);
    expect(names(toolsFor("prime"))).toEqual(["read_file", "ts_outline", "ts_read"]);
    expect(names(labCatalog())).toEqual(names(toolManifest));
    const confined = toolManifest.filter((t) => t.confine).map((t) => `${t.name}:${t.confine!.access}`);
    expect(confined).toEqual([
      "read_file:read",
      "write_file:write",
      "edit_file:write",
      "ts_outline:read",
      "ts_read:read",
      "ts_replace_body:write",
      "ts_insert_member:write",
      "ts_replace_declaration:write",
      "ts_remove_declaration:write",
      "ts_add_import:write",
      "ts_rename:write",
    ]);
    expect(toolManifest.filter((t) => t.exclusive).map((t) => t.name)).toEqual(names(tsToolSpecs));
  });

  it("the Lab's worker twins keep each tool's spec and declared properties, and take the ts_* tools' place", async () => {
    const worker = new TsWorker({ file: Promise.resolve(undefined) });
    const twins = worker.bind(tsToolSpecs);
    for (const [i, twin] of twins.entries()) {
      const { run: _run, ...declared } = tsToolSpecs[i]!;
      expect(twin).toMatchObject(declared);
      expect(twin.run).not.toBe(tsToolSpecs[i]!.run);
    }
    const lab = labToolsAround(twins);
    expect(names(lab).sort()).toEqual(names(labTools()).sort());
    for (const twin of twins) expect(lab).toContain(twin);
    await worker.close();
  });
});

describe("lazy code: listing or refusing a call loads no ts-morph; the first real ts_* call does", () => {
  let ws: string;
  beforeAll(async () => {
    ws = await realpath(await mkdtemp(path.join(os.tmpdir(), "loom-manifest-")));
    await mkdir(path.join(ws, "src"));
    await mkdir(path.join(ws, "schemas"));
    await writeFile(path.join(ws, "tsconfig.json"), JSON.stringify({ include: ["src", "schemas"] }));
    await writeFile(path.join(ws, "src/a.ts"), "export function f(): number {\n  return 1;\n}\n");
    await writeFile(path.join(ws, "schemas/a.ts"), "export function g(): number {\n  return 1;\n}\n");
  });
  afterAll(() => rm(ws, { recursive: true, force: true }));

  it("a fresh process: the catalog and its definitions, then refusals by the registry, then a call", async () => {
    const code = `
      import { createRequire } from "node:module";
      const root = ${JSON.stringify(`file://${ROOT}/`)};
      const { labTools } = await import(new URL("src/agent/catalog.ts", root).href);
      const { ToolRegistry } = await import(new URL("src/agent/tool-registry.ts", root).href);
      const tsMorph = () =>
        Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes("/node_modules/ts-morph/"));
      const ctx = { workspace: ${JSON.stringify(ws)}, signal: new AbortController().signal };
      const registry = new ToolRegistry(labTools());
      const out = { tools: registry.definitions().length, listed: tsMorph() };
      out.outside = await registry.execute("ts_read", { path: "../elsewhere.ts#x" }, ctx);
      out.schemas = await registry.execute("ts_replace_body", { path: "schemas/a.ts#g", body: "return 2;" }, ctx);
      out.read = await registry.execute("read_file", { path: "src/a.ts" }, ctx);
      out.refused = tsMorph();
      out.outline = await registry.execute("ts_outline", { path: "src/a.ts" }, ctx);
      out.called = tsMorph();
      console.log(JSON.stringify(out));
      process.exit(0);
    `;
    const r = await execa(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      cwd: ROOT,
    });
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
    expect(out.tools).toBe(toolManifest.length);
    expect(out.listed).toBe(false);
    // Refused in the registry's words (the tool's own would be TS_OUTSIDE_WORKSPACE / TS_SCHEMA_FIXED).
    expect(out.outside).toMatchObject({
      isError: true,
      content: `path ../elsewhere.ts is outside the workspace; use a path relative to the workspace root (${ws})`,
    });
    expect(out.schemas.isError).toBe(true);
    expect(out.schemas.content).toMatch(
      /^schemas\/a\.ts: schemas\/ holds Loom's fixed-point protocol schemas/,
    );
    expect(out.read.isError).toBe(false);
    expect(out.refused).toBe(false);
    expect(out.outline.isError, out.outline.content).toBe(false);
    expect(out.outline.content).toContain("#f");
    expect(out.called).toBe(true);
  }, 60_000);

  it("Prime's catalog module loads none either: analyze and reflection load it when called", async () => {
    const code = `
      import { createRequire } from "node:module";
      await import(${JSON.stringify(`file://${ROOT}/src/prime/catalog.ts`)});
      const cache = Object.keys(createRequire(import.meta.url).cache);
      console.log(cache.some((k) => k.includes("/node_modules/ts-morph/")));
      process.exit(0);
    `;
    const r = await execa(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      cwd: ROOT,
    });
    expect(r.stdout.trim()).toBe("false");
  }, 60_000);
});
