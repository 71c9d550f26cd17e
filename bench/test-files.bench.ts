/**
 * Where the suite's CPU goes, file by file. The whole suite keeps both cores busy (bench/test-suite.bench.ts:
 * 99 % and more), so its wall time is its CPU time over two: only CPU a file no longer spends makes it
 * faster. Each of the N files with the most time in the last measure (test/durations.json) runs alone
 * (`vitest run <file>`, as `npm test` would run it, with LOOM_REQUIRE_ENGINES=1 and LOOM_REQUIRE_BROWSER=1),
 * measured by the whole machine's busy CPU (/proc/stat: its containers, engines and every child process
 * included) and its wall time. The alternative in the same run is the floor: the suite's quickest file
 * run the same way, three times — what vitest's own start costs any one-file run. Files that keep a core
 * busy on purpose (a load beside a timing bound) show that here and take next to nothing in the full suite.
 *
 * Run: `node --import tsx bench/test-files.bench.ts [--files=N]` (default 20; writes bench/results/test-files.md).
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readDurations } from "../test/helpers/slowest-first.ts";
import { cpuTicks, fmt, median, TICK_MS, uptime } from "./stats.ts";

const repoRoot = path.resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const env = { ...process.env, LOOM_REQUIRE_ENGINES: "1", LOOM_REQUIRE_BROWSER: "1", CI: "true" };

interface FileRun {
  readonly file: string;
  readonly wallMs: number;
  /** Core-milliseconds the whole machine was busy. */
  readonly cpuMs: number;
  readonly passed: number;
  readonly failed: number;
}

function filesArg(): number {
  const arg = process.argv.find((a) => a.startsWith("--files="));
  if (!arg) return 20;
  const n = Number(arg.slice("--files=".length));
  if (!Number.isInteger(n) || n < 1 || n > 500) {
    throw new Error(`${arg} is not valid: expected --files=N with N a whole number from 1 to 500`);
  }
  return n;
}

/** One file alone through vitest; throws with its output's tail unless every test passed. */
async function runAlone(file: string, dir: string): Promise<FileRun> {
  const out = path.join(dir, `${file.replace(/\W+/g, "-")}.json`);
  process.stderr.write(`test-files: ${file}…\n`);
  const cpu0 = cpuTicks();
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    ["node_modules/vitest/vitest.mjs", "run", "--reporter=json", `--outputFile.json=${out}`, file],
    { cwd: repoRoot, env, encoding: "utf8", maxBuffer: 256 * 2 ** 20 },
  );
  const wallMs = performance.now() - t0;
  const cpu1 = cpuTicks();
  if (r.status !== 0) {
    const tail = `${r.stdout}${r.stderr}`.split("\n").slice(-30).join("\n");
    throw new Error(`vitest run ${file} exited ${r.status}\n${tail}`);
  }
  const json = JSON.parse(await readFile(out, "utf8")) as { numPassedTests: number; numFailedTests: number };
  return {
    file,
    wallMs,
    cpuMs: cpu0 && cpu1 ? (cpu1.busy - cpu0.busy) * TICK_MS : Number.NaN,
    passed: json.numPassedTests,
    failed: json.numFailedTests,
  };
}

const coreS = (ms: number): string => `${(ms / 1000).toFixed(1)}`;

async function main(): Promise<void> {
  const n = filesArg();
  const durations = Object.entries(readDurations()).sort((a, b) => b[1] - a[1]);
  if (durations.length === 0)
    throw new Error("test/durations.json is missing or empty: run bench/test-suite.bench.ts");
  const files = durations.slice(0, n).map(([f]) => f);
  const floorFile = durations[durations.length - 1]?.[0] as string;
  const dir = await mkdtemp(path.join(os.tmpdir(), "loom-bench-files-"));
  const before = uptime();
  try {
    // The floor once to warm the disk cache, then three times measured; then every file once.
    await runAlone(floorFile, dir);
    const floor: FileRun[] = [];
    for (let i = 0; i < 3; i++) floor.push(await runAlone(floorFile, dir));
    const runs: FileRun[] = [];
    for (const file of files) runs.push(await runAlone(file, dir));
    const floorCpu = median(floor.map((f) => f.cpuMs));
    const floorWall = median(floor.map((f) => f.wallMs));
    const total = runs.reduce((s, r) => s + r.cpuMs, 0);
    const byCpu = [...runs].sort((a, b) => b.cpuMs - a.cpuMs);
    const lines = [
      "## Test files, alone: where the suite's CPU goes",
      "",
      "Reproduce: `node --import tsx bench/test-files.bench.ts [--files=N]`. Each of the N files with the most time in",
      "test/durations.json runs alone (`vitest run <file>`), measured by the whole machine's busy CPU (/proc/stat:",
      "containers, engines, every child process) and wall time. The suite keeps both cores busy, so its wall time is",
      "its CPU time over two, and CPU is what a cut must remove. Alternative in the same run: the floor, the",
      `suite's quickest file (\`${floorFile}\`) run the same way, median of 3: ${coreS(floorCpu)} core-s, ${fmt(floorWall)} —`,
      "vitest's own start, paid by any one-file run and by none of the files inside the suite.",
      "",
      "| file | tests | CPU (core-s) | net of the floor | share of these | wall alone | CPU per wall second |",
      "|---|---|---|---|---|---|---|",
      ...byCpu.map(
        (r) =>
          `| \`${r.file}\` | ${r.passed} | ${coreS(r.cpuMs)} | ${coreS(r.cpuMs - floorCpu)} | ${((100 * r.cpuMs) / total).toFixed(1)} % | ${fmt(r.wallMs)} | ${(r.cpuMs / r.wallMs).toFixed(2)} |`,
      ),
      "",
      `${runs.length === 1 ? "This file" : `These ${runs.length} files`}: ${coreS(total)} core-s of CPU alone, ${fmt(runs.reduce((s, r) => s + r.wallMs, 0))} of wall run one after another.`,
      "A file whose CPU per wall second is near 2 keeps both cores busy alone; near 1 or below, it waits on processes,",
      "containers or timers for much of its time (and takes less of the machine in the suite than its wall time suggests).",
      "",
      `Machine: ${os.cpus().length} cores, Node ${process.version}. Shared machine; \`uptime\` at the start: \`${before}\`; at the end: \`${uptime()}\`.`,
      `Run at ${new Date().toISOString()}.`,
    ];
    await writeFile(path.join(repoRoot, "bench/results/test-files.md"), `${lines.join("\n")}\n`);
    console.log(lines.join("\n"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main().catch((err: Error) => {
  console.error(`test-files: ${err.message}`);
  process.exit(2);
});
