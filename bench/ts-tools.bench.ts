/**
 * Structural-edit benchmark: the real ts_* tools against the naive way of doing the same thing, on
 * generated 200- and 1000-file projects. Run: `node --import tsx bench/ts-tools.bench.ts`.
 * Each size runs in its own child process (with --expose-gc) so memory numbers don't bleed across sizes.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Project } from "ts-morph";
import type { Tool, ToolContext } from "../src/agent/tool.ts";
import { type GeneratedProject, generateProject } from "./gen-project.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = path.resolve(here, "..");
const SIZES = [200, 1000];
const WARM = 20;
const COMMAND = "node --import tsx bench/ts-tools.bench.ts";

interface Stat {
  cold: number | null;
  p50: number;
  p95: number;
  /** Median CPU time of this process per call: what the work costs when other jobs share the cores. */
  cpuP50: number;
  n: number;
}
interface SizeResult {
  files: number;
  load: Stat;
  tsc: Stat & { exitCode: number | null };
  naiveEdit: Stat;
  naiveInsert: Stat;
  floor: Stat;
  replaceBody: Stat | null;
  insertMember: Stat | null;
  rename: Stat | null;
  renameTouched: number;
  sampleImporters: number;
  memory: {
    idleRssMb: number;
    loadRssMb: number;
    loadHeapMb: number;
    toolsRssMb: number | null;
    toolsHeapMb: number | null;
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** One cold call, then `warm` timed calls (fewer if the time budget runs out, never under `min`). */
async function measure(
  fn: (i: number) => Promise<void> | void,
  opts: { warm: number; min?: number; budgetMs?: number; cold?: boolean },
): Promise<Stat> {
  let cold: number | null = null;
  let i = 0;
  if (opts.cold !== false) {
    const t = performance.now();
    await fn(i++);
    cold = performance.now() - t;
  }
  const times: number[] = [];
  const cpu: number[] = [];
  const started = performance.now();
  while (times.length < opts.warm) {
    const t = performance.now();
    const c = process.cpuUsage();
    await fn(i++);
    times.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1000);
    const spent = performance.now() - started;
    if (opts.budgetMs && spent > opts.budgetMs && times.length >= (opts.min ?? 3)) break;
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const p50 = percentile(times, 50);
  return { cold, p50, p95: percentile(times, 95), cpuP50: percentile(cpu, 50), n: times.length };
}

function memoryMb(): { rss: number; heap: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 };
}

async function loadTools(): Promise<Map<string, Tool> | null> {
  try {
    const mod = (await import(path.join(repoRoot, "src/agent/ts/tools/index.ts"))) as {
      tsTools?: readonly Tool[];
    };
    return new Map((mod.tsTools ?? []).map((t) => [t.name, t]));
  } catch (err) {
    process.stderr.write(`ts tools unavailable: ${(err as Error).message.split("\n")[0]}\n`);
    return null;
  }
}

/** Calls a tool the way the registry does: validate once, run, and treat is_error as a failed run. */
async function call(tools: Map<string, Tool>, name: string, input: unknown, ctx: ToolContext): Promise<void> {
  const tool = tools.get(name);
  if (!tool) throw new Error(`tool ${name} not exported by src/agent/ts/tools/index.ts`);
  const result = await tool.run(tool.input.parse(input), ctx);
  if (result.isError) throw new Error(`${name} failed: ${result.content.slice(0, 500)}`);
}

function tscCheck(root: string): number | null {
  const tsc = path.join(repoRoot, "node_modules/.bin/tsc");
  return spawnSync(tsc, ["--noEmit", "-p", root], { stdio: "ignore", timeout: 120_000 }).status;
}

type Log = (s: string) => void;

/** The references: a plain Project load, `tsc --noEmit`, and edits done the naive way. */
async function baselines(g: GeneratedProject, log: Log) {
  const tsconfig = path.join(g.root, "tsconfig.json");
  const sample = path.join(g.root, g.sample.file);
  log("project load");
  let loaded: Project | null = null;
  const load = await measure(
    () => {
      loaded = new Project({ tsConfigFilePath: tsconfig });
      loaded.getSourceFiles();
    },
    { warm: 3 },
  );
  // Measured while the last Project is still referenced; it is released when this function returns.
  const afterLoad = memoryMb();

  log("tsc --noEmit");
  let exitCode: number | null = null;
  const tsc = await measure(
    () => {
      exitCode = tscCheck(g.root);
    },
    { warm: 3, cold: false },
  );

  // The naive way: a fresh Project per call, edit, save, then the file's diagnostics.
  const naive = (edit: (p: Project, i: number) => void) => async (i: number) => {
    const project = new Project({ tsConfigFilePath: tsconfig });
    edit(project, i);
    const sf = project.getSourceFileOrThrow(sample);
    await sf.save();
    sf.getPreEmitDiagnostics();
  };
  const budget = { warm: WARM, min: 3, budgetMs: 6_000 };
  log("naive replace body");
  const naiveEdit = await measure(
    naive((p, i) =>
      p
        .getSourceFileOrThrow(sample)
        .getFunctionOrThrow(g.sample.functionName)
        .setBodyText(`return items.length + ${i};`),
    ),
    budget,
  );
  log("naive insert member");
  const naiveInsert = await measure(
    naive((p, i) =>
      p
        .getSourceFileOrThrow(sample)
        .getClassOrThrow(g.sample.className)
        .addMember(`naive${i}(): number {\n  return ${i};\n}`),
    ),
    budget,
  );
  // The floor any warm tool pays: an in-memory edit on a loaded Project plus the file's diagnostics.
  log("warm floor");
  const warmProject = new Project({ tsConfigFilePath: tsconfig });
  const warmFile = warmProject.getSourceFileOrThrow(sample);
  const floor = await measure(
    (i) => {
      warmFile.getFunctionOrThrow(g.sample.functionName).setBodyText(`return items.length + ${i};`);
      warmFile.getPreEmitDiagnostics();
    },
    { warm: WARM },
  );
  return { load, afterLoad, tsc: { ...tsc, exitCode }, naiveEdit, naiveInsert, floor };
}

/** The same operations through the real tools, sharing one workspace (and so one cached Project). */
async function toolRuns(g: GeneratedProject, tools: Map<string, Tool>, log: Log) {
  const ctx: ToolContext = { workspace: g.root, signal: new AbortController().signal };
  log("ts_replace_body");
  const replaceBody = await measure(
    (i) =>
      call(
        tools,
        "ts_replace_body",
        { path: `${g.sample.file}#${g.sample.functionName}`, body: `return items.length + ${i};` },
        ctx,
      ),
    { warm: WARM },
  );
  log("ts_insert_member");
  const insertMember = await measure(
    (i) =>
      call(
        tools,
        "ts_insert_member",
        {
          path: `${g.sample.file}#${g.sample.className}`,
          member: `extra${i}(): number {\n  return ${i};\n}`,
        },
        ctx,
      ),
    { warm: WARM },
  );
  log("ts_rename");
  let current = g.shared.name;
  const rename = await measure(
    async (i) => {
      const next = `${g.shared.name}${i + 1}`;
      await call(tools, "ts_rename", { path: `${g.shared.file}#${current}`, newName: next }, ctx);
      current = next;
    },
    { warm: WARM, min: 5, budgetMs: 60_000 },
  );
  const memory = memoryMb();
  // The rename must have reached every caller, or the timing means nothing.
  const probe = new Project({ tsConfigFilePath: path.join(g.root, "tsconfig.json") });
  const stale = g.shared.usedBy.filter(
    (f) => !probe.getSourceFileOrThrow(path.join(g.root, f)).getText().includes(`${current}(`),
  );
  if (stale.length > 0)
    throw new Error(`ts_rename missed ${stale.length} of ${g.shared.usedBy.length} files`);
  return { replaceBody, insertMember, rename, memory };
}

async function runSize(files: number): Promise<SizeResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `loom-bench-ts-${files}-`));
  try {
    const g = await generateProject(dir, { files, seed: 42 });
    const log: Log = (s) => void process.stderr.write(`[${files}] ${s}\n`);
    const idle = memoryMb();
    const base = await baselines(g, log);
    const tools = await loadTools();
    const runs = tools ? await toolRuns(g, tools, log) : null;
    return {
      files,
      load: base.load,
      tsc: base.tsc,
      naiveEdit: base.naiveEdit,
      naiveInsert: base.naiveInsert,
      floor: base.floor,
      replaceBody: runs?.replaceBody ?? null,
      insertMember: runs?.insertMember ?? null,
      rename: runs?.rename ?? null,
      renameTouched: g.shared.usedBy.length + 1,
      sampleImporters: g.sample.importers,
      memory: {
        idleRssMb: idle.rss,
        loadRssMb: base.afterLoad.rss,
        loadHeapMb: base.afterLoad.heap,
        toolsRssMb: runs?.memory.rss ?? null,
        toolsHeapMb: runs?.memory.heap ?? null,
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const ms = (v: number | null | undefined): string =>
  v === null || v === undefined ? "–" : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`;

function row(op: string, s: Stat | null, alt: string, altStat: Stat | null, target: number | null): string {
  const altText = altStat ? `${alt} (n=${altStat.n})` : alt;
  if (!s) return `| ${op} | not run (tools missing) | | | | | ${altText} | ${ms(altStat?.p50)} | | |`;
  const ratio = altStat ? `${(altStat.p50 / s.p50).toFixed(1)}×` : "";
  const verdict = target === null ? "" : s.p50 <= target ? `≤ ${ms(target)} ✅` : `> ${ms(target)} ❌`;
  return `| ${op} | ${ms(s.cold)} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.cpuP50)} | ${s.n} | ${altText} | ${ms(altStat?.p50)} | ${ratio} | ${verdict} |`;
}

function markdown(results: SizeResult[], totalMs: number): string {
  const out = [
    "# ts-tools benchmark",
    "",
    `Reproduce: \`${COMMAND}\` (whole run ${(totalMs / 1000).toFixed(0)} s).`,
    `Machine: ${os.cpus().length} cores (nproc), ${os.cpus()[0]?.model ?? "unknown cpu"}, ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}; ` +
      `load average at the end ${os.loadavg()[0]!.toFixed(2)} (other work on the machine inflates the numbers).`,
    `Projects from \`bench/gen-project.ts\` (seed 42); edits target the middle module. Warm p50/p95 over n calls ` +
      `(target ${WARM}; the naive baselines stop early at a time budget). "cold" is each tool's first call; the ` +
      `first one (ts_replace_body) also loads the workspace Project. Ratio = alternative p50 / tool p50. ` +
      `CPU p50 is this process's CPU time per call (tsc runs in a child, so its CPU is not counted there).`,
    "",
  ];
  for (const r of results) {
    out.push(
      `## ${r.files} files`,
      "",
      "| operation | cold | p50 | p95 | CPU p50 | n | alternative | alt p50 | ratio | target |",
      "|---|---|---|---|---|---|---|---|---|---|",
      row("project load (ts-morph, all files parsed)", r.load, "", null, null),
      row(
        `ts_replace_body + diagnostics (file has ${r.sampleImporters} direct importer(s))`,
        r.replaceBody,
        "fresh Project + edit + save + file diagnostics",
        r.naiveEdit,
        40,
      ),
      row("floor: warm Project, in-memory body edit + file diagnostics (no tool)", r.floor, "", null, null),
      row(
        "ts_insert_member + diagnostics",
        r.insertMember,
        "fresh Project + insert + save + file diagnostics",
        r.naiveInsert,
        40,
      ),
      row(
        `ts_rename (function used in ${r.renameTouched - 1} files)`,
        r.rename,
        `\`tsc --noEmit\` whole project (exit ${r.tsc.exitCode})`,
        r.tsc,
        r.files <= 200 ? 600 : 2000,
      ),
      "",
      `Memory (after GC): idle RSS ${r.memory.idleRssMb.toFixed(0)} MB; one loaded Project RSS ${r.memory.loadRssMb.toFixed(0)} MB, heap ${r.memory.loadHeapMb.toFixed(0)} MB; ` +
        (r.memory.toolsRssMb === null
          ? "tools not run."
          : `after the tool runs RSS ${r.memory.toolsRssMb.toFixed(0)} MB, heap ${r.memory.toolsHeapMb?.toFixed(0)} MB.`),
      "",
    );
  }
  return `${out.join("\n")}\n`;
}

async function main(): Promise<void> {
  const childIndex = process.argv.indexOf("--child");
  if (childIndex >= 0) {
    const files = Number(process.argv[childIndex + 1]);
    process.stdout.write(`${JSON.stringify(await runSize(files))}\n`);
    return;
  }
  const started = performance.now();
  const results: SizeResult[] = [];
  for (const files of SIZES) {
    const child = spawnSync(
      process.execPath,
      ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url), "--child", String(files)],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", timeout: 170_000 },
    );
    if (child.status !== 0) throw new Error(`benchmark for ${files} files failed (exit ${child.status})`);
    results.push(JSON.parse(child.stdout.trim().split("\n").pop()!) as SizeResult);
  }
  const text = markdown(results, performance.now() - started);
  process.stdout.write(text);
  await writeFile(path.join(here, "results/ts-tools.md"), text);
}

await main();
