/**
 * Loom's own test suite, timed as `npm test` runs it: it is what verifies every generation of Loom,
 * so its time is the product's speed. Phases: the check (`tsc --noEmit` + biome), the unit and
 * integration suite (vitest as `vitest.config.ts` sets it: 4 workers sharing their module cache), the
 * acceptance suite. The alternative in the same run is the same vitest suite as it ran before (2
 * workers, every file isolated: `--maxWorkers 2 --isolate`); `--serial` adds one file at a time
 * (`--maxWorkers 1 --no-file-parallelism`). Each vitest run's CPU use (user + system of the whole
 * machine, from /proc/stat: containers and every child included) is shown beside its wall time. The 10 slowest files are listed, since they bound
 * the wall time, and every file's time is written to test/durations.json, the order the suite runs in
 * (longest first, test/helpers/slowest-first.ts).
 *
 * Run: `node --import tsx bench/test-suite.bench.ts [--no-alt] [--serial]` (writes bench/results/test-suite.md).
 * Needs what `.ci/run` provides (docker, the Lab image, chromium); LOOM_REQUIRE_ENGINES=1 and
 * LOOM_REQUIRE_BROWSER=1 are set, so a missing part fails the run instead of skipping its tests.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cpuTicks, fmt, uptime } from "./stats.ts";

const repoRoot = path.resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const env = { ...process.env, LOOM_REQUIRE_ENGINES: "1", LOOM_REQUIRE_BROWSER: "1", CI: "true" };

interface VitestJson {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: { name: string; startTime: number; endTime: number }[];
}

interface Phase {
  readonly ms: number;
  /** Share of the machine's CPU time that was busy while it ran (0–1), or undefined off Linux. */
  readonly busy?: number;
  readonly json?: VitestJson;
}

/** One command, timed from spawn to exit; throws with its output's tail unless it exits 0. */
function timed(label: string, cmd: string, args: readonly string[]): number {
  process.stderr.write(`test-suite: ${label}…\n`);
  const started = performance.now();
  const r = spawnSync(cmd, args, { cwd: repoRoot, env, encoding: "utf8", maxBuffer: 256 * 2 ** 20 });
  const ms = performance.now() - started;
  if (r.status !== 0) {
    const tail = `${r.stdout}${r.stderr}`.split("\n").slice(-40).join("\n");
    throw new Error(`${label}: ${cmd} ${args.join(" ")} exited ${r.status}\n${tail}`);
  }
  return ms;
}

async function vitest(label: string, dir: string, extra: readonly string[]): Promise<Phase> {
  const out = path.join(dir, `${label.replace(/\W+/g, "-")}.json`);
  const cpu0 = cpuTicks();
  const ms = timed(label, process.execPath, [
    "node_modules/vitest/vitest.mjs",
    "run",
    "--reporter=dot",
    "--reporter=json",
    `--outputFile.json=${out}`,
    ...extra,
  ]);
  const cpu1 = cpuTicks();
  const busy = cpu0 && cpu1 ? (cpu1.busy - cpu0.busy) / Math.max(1, cpu1.total - cpu0.total) : undefined;
  return { ms, busy, json: JSON.parse(await readFile(out, "utf8")) as VitestJson };
}

const pct = (share: number | undefined): string =>
  share === undefined ? "" : `${Math.round(share * 100)} %`;

const counts = (j: VitestJson | undefined): string =>
  j
    ? `${j.testResults.length} files, ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${j.numPendingTests} skipped`
    : "";

async function main(): Promise<void> {
  const withAlt = !process.argv.includes("--no-alt");
  const withSerial = process.argv.includes("--serial");
  const dir = await mkdtemp(path.join(os.tmpdir(), "loom-bench-suite-"));
  const before = uptime();
  try {
    const check = timed("npm run check", "npm", ["run", "--silent", "check"]);
    const unit = await vitest("vitest run", dir, []);
    const acceptance = await vitest("acceptance", dir, ["--config", "acceptance/vitest.config.ts"]);
    const before2 = withAlt
      ? await vitest("vitest run, 2 workers, files isolated", dir, ["--maxWorkers", "2", "--isolate"])
      : undefined;
    const serial = withSerial
      ? await vitest("vitest run, one file at a time", dir, ["--maxWorkers", "1", "--no-file-parallelism"])
      : undefined;
    const total = check + unit.ms + acceptance.ms;
    // The order the next runs take (test/helpers/slowest-first.ts): this run's time per file.
    const perFile = (unit.json?.testResults ?? [])
      .map((t) => [path.relative(repoRoot, t.name), Math.round(t.endTime - t.startTime)] as const)
      .sort((a, b) => b[1] - a[1]);
    await writeFile(
      path.join(repoRoot, "test/durations.json"),
      `${JSON.stringify(Object.fromEntries(perFile), null, 2)}\n`,
    );
    const slowest = [...(unit.json?.testResults ?? [])]
      .map((t) => ({ file: path.relative(repoRoot, t.name), ms: t.endTime - t.startTime }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 10);
    const lines = [
      "## Test suite benchmark",
      "",
      "Reproduce: `node --import tsx bench/test-suite.bench.ts` (with docker, the Lab image and chromium, as `.ci/run` sets up;",
      "`--no-alt` skips the 2-worker run, `--serial` adds one file at a time). Target (the seams issue): `npm test` ≤ 360 s on this machine;",
      "the issue measured 692 s on a clean CI run when it was filed (800 tests).",
      "",
      "| phase | wall | CPU busy | alternative | alt wall | alt CPU busy | ratio |",
      "|---|---|---|---|---|---|---|",
      `| check (\`tsc --noEmit\` + biome) | ${fmt(check)} | | | | | |`,
      ...[before2, serial].flatMap((alt, i) =>
        alt
          ? [
              `| vitest, 4 workers, shared module cache (${counts(unit.json)}) | ${fmt(unit.ms)} | ${pct(unit.busy)} | ${i === 0 ? "2 workers, files isolated (before)" : "one file at a time"} (${counts(alt.json)}) | ${fmt(alt.ms)} | ${pct(alt.busy)} | ${(alt.ms / unit.ms).toFixed(2)}× |`,
            ]
          : [],
      ),
      ...(before2 || serial
        ? []
        : [
            `| vitest, 4 workers, shared module cache (${counts(unit.json)}) | ${fmt(unit.ms)} | ${pct(unit.busy)} | not run | | | |`,
          ]),
      `| acceptance (${counts(acceptance.json)}) | ${fmt(acceptance.ms)} | | | | | |`,
      `| **\`npm test\` (the three above)** | **${fmt(total)}** | | | | | |`,
      "",
      `Target ≤ 360 s — ${total <= 360_000 ? "met ✅" : "not met ❌"} (${fmt(total)}).`,
      "",
      "Slowest files (4 workers):",
      "",
      ...slowest.map((s) => `- ${s.file}: ${fmt(s.ms)}`),
      "",
      `Machine: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "unknown"}, Node ${process.version}.`,
      `Shared machine; \`uptime\` at the start: \`${before}\`; at the end: \`${uptime()}\`.`,
      `Run at ${new Date().toISOString()}.`,
      "",
    ];
    const text = lines.join("\n");
    await writeFile(path.join(repoRoot, "bench/results/test-suite.md"), text);
    process.stdout.write(text);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
