/**
 * `loom tool` with a ts_* tool, called again and again as a person (or a script) would: each call is
 * a new process. Measures the first call and the repeats, against the cold call (the tool run
 * in-process, a fresh ts-morph Project per call, `--no-warm`), and `loom tool read_file` as the floor a
 * call pays without ts-morph (Node, tsx, the CLI).
 *
 * Two tools: ts_outline (parses the files) and ts_replace_body (an edit: also type-checks), the edit
 * alternating between two bodies so each call really changes the file.
 *
 * Run: `node --import tsx bench/ts-tool-cli.bench.ts [--workspace <dir> --file <rel.ts> --edit <rel.ts#fn>]`
 * (writes bench/results/ts-tool-cli.md without --workspace). Without --workspace it generates a
 * 1000-file project (bench/gen-project.ts); with it (e.g. the rxjs 7 package) it outlines --file and
 * replaces the body of --edit (a function returning void: its bodies alternate between "" and "return;").
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateProject } from "./gen-project.ts";
import { fmt, median, uptime } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = path.resolve(here, "..");
const loom = path.join(repoRoot, "bin/loom.js");
const REPEATS = 5;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** One `loom tool` process, timed from spawn to exit; throws unless it answered without error. */
function timedCall(workspace: string, tool: string, input: unknown, extra: readonly string[]): number {
  const started = performance.now();
  const r = spawnSync(
    process.execPath,
    [loom, "tool", tool, "--input", JSON.stringify(input), "--workspace", workspace, ...extra],
    { cwd: repoRoot, encoding: "utf8", timeout: 180_000, maxBuffer: 64 * 2 ** 20 },
  );
  const ms = performance.now() - started;
  if (r.status !== 0)
    throw new Error(`loom tool ${tool} exited ${r.status}: ${r.stderr}${r.stdout.slice(0, 500)}`);
  return ms;
}

/** Whether this checkout's `loom tool` knows --no-warm (the warm path exists). */
function hasWarmPath(): boolean {
  const help = execFileSync(process.execPath, [loom, "tool", "--help"], { cwd: repoRoot, encoding: "utf8" });
  return help.includes("--no-warm");
}

function stopWarm(workspace: string, warm: boolean): void {
  if (!warm) return;
  spawnSync(process.execPath, [loom, "tool", "--stop-warm", "--workspace", workspace], { cwd: repoRoot });
}

async function main(): Promise<void> {
  let workspace = arg("--workspace");
  let file = arg("--file");
  let edit = arg("--edit");
  let bodies: [string, string] = ["", "return;"];
  let label: string;
  let tmp: string | undefined;
  if (workspace) {
    if (!file || !edit) throw new Error("--workspace needs --file <rel.ts> and --edit <rel.ts#function>");
    workspace = path.resolve(workspace);
    label = `${path.basename(path.dirname(workspace))}/${path.basename(workspace)} (given with --workspace)`;
  } else {
    tmp = await mkdtemp(path.join(os.tmpdir(), "loom-bench-tool-cli-"));
    const g = await generateProject(tmp, { files: 1000, seed: 42 });
    workspace = g.root;
    file = g.sample.file;
    edit = `${g.sample.file}#${g.sample.functionName}`;
    bodies = ["return items.length;", "return items.length + 1;"];
    label = "a generated 1000-file project (bench/gen-project.ts, seed 42)";
  }
  const warm = hasWarmPath();
  const input = { path: file };
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  try {
    stopWarm(workspace, warm);
    log("floor: loom tool read_file");
    const floor = [0, 1, 2].map(() => timedCall(workspace, "read_file", { path: file }, []));
    let n = 0;
    const editInput = () => ({ path: edit, body: bodies[n++ % 2] });
    const cold = warm ? ["--no-warm"] : [];
    log("cold: in-process, a Project per call");
    const coldOutline = [0, 1, 2].map(() => timedCall(workspace, "ts_outline", input, cold));
    const coldEdit = [0, 1, 2].map(() => timedCall(workspace, "ts_replace_body", editInput(), cold));
    log("default path: first call, then repeats");
    const first = timedCall(workspace, "ts_outline", input, []);
    const repeats: number[] = [];
    for (let i = 0; i < REPEATS; i++) repeats.push(timedCall(workspace, "ts_outline", input, []));
    const firstEdit = timedCall(workspace, "ts_replace_body", editInput(), []);
    const repeatEdits: number[] = [];
    for (let i = 0; i < REPEATS; i++)
      repeatEdits.push(timedCall(workspace, "ts_replace_body", editInput(), []));
    stopWarm(workspace, warm);
    const row = (what: string, ms: number, alt: number[]): string =>
      `| ${what} | ${fmt(ms)} | cold call (p50 of ${alt.length}) | ${fmt(median(alt))} | ${(median(alt) / ms).toFixed(1)}× |`;
    const text = [
      "# ts-tool-cli benchmark",
      "",
      `Reproduce: \`node --import tsx bench/ts-tool-cli.bench.ts${arg("--workspace") ? ` --workspace <dir> --file ${file} --edit ${edit}` : ""}\`.`,
      `Each \`loom tool ts_outline --input '{"path":"${file}"}'\` is a new process, timed from spawn to exit, on ${label}.`,
      warm
        ? "The default path reaches a per-workspace TypeScript server over a unix socket (started by the first call, exits when idle); the cold alternative runs the tool in-process (`--no-warm`), building the ts-morph Project every call."
        : "This checkout has no warm path: every call builds the ts-morph Project in-process (the default path is the cold one).",
      "",
      "| call | wall | alternative | alt wall | ratio |",
      "|---|---|---|---|---|",
      row("ts_outline, first call", first, coldOutline),
      row(`ts_outline, repeat call (p50 of ${REPEATS})`, median(repeats), coldOutline),
      row("ts_replace_body, first call (after the outlines)", firstEdit, coldEdit),
      row(`ts_replace_body, repeat call (p50 of ${REPEATS})`, median(repeatEdits), coldEdit),
      `| floor: \`loom tool read_file\` (p50 of 3, no ts-morph) | ${fmt(median(floor))} | | | |`,
      "",
      `ts_outline repeats: ${repeats.map(fmt).join(", ")}; cold: ${coldOutline.map(fmt).join(", ")}. ` +
        `ts_replace_body (\`${edit}\`) repeats: ${repeatEdits.map(fmt).join(", ")}; cold: ${coldEdit.map(fmt).join(", ")}.`,
      `Machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "unknown cpu"}, Node ${process.version}; ${uptime()}.`,
      `Run at ${new Date().toISOString()}.`,
      "",
    ].join("\n");
    process.stdout.write(text);
    if (!arg("--workspace")) await writeFile(path.join(here, "results/ts-tool-cli.md"), text);
  } finally {
    stopWarm(workspace, warm);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

await main();
