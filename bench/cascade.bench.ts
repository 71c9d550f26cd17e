/**
 * The verification cascade on Loom itself: a one-module change that breaks a test, verified by stage 1
 * in docker (fixed points → check → the tests the change can reach → …), against the full suite
 * (`npm test` in a fresh container on the same candidate: what stage 1 waited for before the cascade)
 * in the same run. Two changes: a module of median reach (src/agent/tools/read-file.ts, ~24 of 147 test
 * files import it, transitively) and one of small reach (src/agent/model-for-role.ts, 2 files).
 * Target: a broken candidate rejected in ≤ 60 s (the full suite: ~300 s).
 * Run: `npm run bench -- cascade` (or `node --import tsx bench/cascade.bench.ts`); needs dockerd and
 * `loom-lab:latest` (`npm run image`). Takes about 8 minutes.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { MechanicalVerification } from "../schemas/verification.ts";
import { loadConfig } from "../src/shared/config.ts";
import { selectRuntime } from "../src/supervisor/runtime/index.ts";
import { verifyMechanical } from "../src/supervisor/verify/mechanical.ts";
import { prepareSteps } from "../src/supervisor/verify/prepare-steps.ts";
import { runStep } from "../src/supervisor/verify/run-step.ts";
import { scriptCommand } from "../src/supervisor/verify/script-command.ts";
import { cloneAt } from "../src/supervisor/verify/verify-git.ts";
import { cloneLoom } from "../test/helpers/loom-clone.ts";
import { fmt, uptime } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const IMAGE = "loom-lab:latest";

interface Change {
  readonly label: string;
  readonly file: string;
  readonly from: string;
  readonly to: string;
}

/** Each breaks the tests of the module it changes (the bench fails if the cascade does not reject it). */
const CHANGES: readonly Change[] = [
  {
    label: "median reach: read_file numbers lines one column narrower",
    file: "src/agent/tools/read-file.ts",
    from: "String(n).padStart(6)",
    to: "String(n).padStart(5)",
  },
  {
    label: "small reach: each role gets the other role's model",
    file: "src/agent/model-for-role.ts",
    from: '(role === "prime" ? config.primeModel',
    to: '(role === "lab" ? config.primeModel',
  },
];

/** vitest's whole summary line: `Tests  1 failed | 41 passed (42)` → 42 (every test it ran). */
const testsTotal = (output: string): number | undefined => {
  const all = [...output.matchAll(/^\s*Tests\s+[^\n]*\((\d+)\)\s*$/gm)].map((m) => Number(m[1]));
  return all.length ? all.reduce((a, b) => a + b, 0) : undefined;
};
const filesTotal = (output: string): number | undefined => {
  const m = /^\s*Test Files\s+[^\n]*\((\d+)\)\s*$/m.exec(output);
  return m ? Number(m[1]) : undefined;
};

const tmp = await mkdtemp(path.join(os.tmpdir(), "loom-bench-cascade-"));
const repo = path.join(tmp, "repo");
const g = (args: string[]) =>
  execa("git", ["-c", "user.name=bench", "-c", "user.email=bench@loom.invalid", ...args], { cwd: repo });
const loadBefore = uptime();
try {
  await cloneLoom(repo);
  for (const [i, c] of CHANGES.entries()) {
    await g(["checkout", "-q", "-b", `lab/gen-${i + 1}`, "main"]);
    const text = await readFile(path.join(repo, c.file), "utf8");
    if (!text.includes(c.from)) throw new Error(`${c.file} no longer contains ${JSON.stringify(c.from)}`);
    await writeFile(path.join(repo, c.file), text.replace(c.from, c.to));
    await writeFile(path.join(repo, "program.md"), `# Task: ${c.label}\n`);
    // Not -A: the node_modules link is not a folder, so .gitignore's `node_modules/` would not keep it out.
    await g(["add", "--", c.file, "program.md"]);
    await g(["commit", "-qm", `gen-${i + 1}: ${c.label}`]);
    await g(["checkout", "-q", "main"]);
  }
  const config = loadConfig({
    cwd: tmp,
    env: { LOOM_REPO_PATH: repo, LOOM_STATE_DIR: path.join(tmp, "state"), LOOM_NETWORK: "host" },
  });
  const runtime = await selectRuntime("docker", { log: () => {}, stateDir: config.stateDir });
  const ctx = { runtime, config, image: IMAGE };

  const cascades: { change: Change; ms: number; m: MechanicalVerification }[] = [];
  for (const [i, change] of CHANGES.entries()) {
    const t0 = performance.now();
    // through "reachable": for a candidate rejected there, the very stages a full verification runs,
    // without starting main's baseline (measured at spawn time in the real flow, needed only by the full suite).
    const m = await verifyMechanical(ctx, i + 1, "reachable");
    const ms = performance.now() - t0;
    const stopped = m.stages?.find((s) => s.state === "failed");
    console.log(`cascade ${change.file}: ${fmt(ms)}, stopped at ${stopped?.name}: ${m.failures.join("; ")}`);
    if (stopped?.name !== "reachable_tests")
      throw new Error(
        `${change.file}: the cascade stopped at ${stopped?.name ?? "nothing"}, not reachable_tests: ${JSON.stringify(m.stages)}\ncheck output: ${m.check.output.slice(-1500)}`,
      );
    cascades.push({ change, ms, m });
  }

  // The alternative: the full suite on the first candidate, in a fresh container like any step.
  const clone = path.join(tmp, "state", "verify", "full");
  const commit = (await g(["rev-parse", "lab/gen-1"])).stdout.trim();
  await cloneAt(repo, commit, clone);
  const prepared = await prepareSteps(ctx, commit, clone, "bench-full");
  const f0 = performance.now();
  const full = await runStep(
    prepared.context,
    "test",
    await scriptCommand(clone, "test"),
    config.verifyTimeoutMs,
  );
  const fullMs = performance.now() - f0;
  const fullTests = testsTotal(full.output) ?? 0;
  const fullFiles = filesTotal(full.output);
  console.log(`full suite on gen-1: ${fmt(fullMs)}, exit ${full.result.exitCode}, ${fullTests} tests`);
  const loadAfter = uptime();

  const row = ({ change, ms, m }: (typeof cascades)[number]) => {
    const stage = (name: string) => m.stages?.find((s) => s.name === name);
    const reached = stage("reachable_tests");
    const ran = testsTotal(reached?.detail ?? "") ?? reached?.testsRun ?? 0;
    const files = filesTotal(reached?.detail ?? "");
    return `| \`${change.file}\` (${change.label.split(":")[0]}) | **${fmt(ms)}** | ${fmt(stage("check")?.durationMs ?? 0)} | ${fmt(reached?.durationMs ?? 0)} | ${ran} of ${fullTests} (${((100 * ran) / fullTests).toFixed(1)} %)${files ? `, ${files} file(s)` : ""} | ${(fullMs / ms).toFixed(1)}× | ${ms <= 60_000 ? "met ✅" : "missed ❌"} |`;
  };
  const lines = [
    "# The verification cascade on Loom itself",
    "",
    "Reproduce: `npm run bench -- cascade` (`node --import tsx bench/cascade.bench.ts`; needs dockerd and",
    "`loom-lab:latest` from `npm run image`; about 8 minutes). Writes this file.",
    "",
    "A clone of this repository with two candidates, each a one-module change that breaks that module's tests:",
    ...CHANGES.map((c) => `\`${c.file}\` (${c.label}).`),
    "Each is verified by stage 1 in docker (`verifyMechanical`: fixed points → check → the tests the change",
    "can reach, by `vitest related --bail=1` → full suite → acceptance) and is rejected at the reachable tests.",
    "The alternative in the same run is the full suite (`npm test` in a fresh container on the first candidate),",
    "which is what stage 1 waited for before the cascade (check and tests side by side). The cascade runs",
    '`through: "reachable"`: for a candidate rejected there these are the very stages a full verification runs, and',
    "main's baseline (measured at spawn time, needed only by the full suite) is not started, so neither side waits for it.",
    "",
    "| candidate | rejected after (whole stage 1) | check | reachable tests | tests run (share of the suite) | full suite / cascade | ≤ 60 s |",
    "|---|---|---|---|---|---|---|",
    ...cascades.map(row),
    `| full suite (\`npm test\`, first candidate) | ${fmt(fullMs)} | (inside) | – | ${fullTests}${fullFiles ? `, ${fullFiles} file(s)` : ""} | 1× | – |`,
    "",
    "A focused run (fewer than half the suite's files, as the reachable tests are) is ordered shortest first",
    "(test/helpers/slowest-first.ts), so a module's own unit test fails before the end-to-end files that also",
    "import it; --bail=1 ends the stage at the first failure. The check runs cold here (no seed of main's build",
    "info; `bench/check-seed.bench.ts` measures the seeded check): tsc + biome over the whole repository, a fixed",
    "cost of every candidate.",
    "",
    `Machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
    `Shared machine; \`uptime\` at the start: \`${loadBefore}\`; at the end: \`${loadAfter}\`.`,
    `Run at ${new Date().toISOString()}.`,
  ];
  await writeFile(path.join(here, "results", "cascade.md"), `${lines.join("\n")}\n`);
  console.log(lines.join("\n"));
} finally {
  await rm(tmp, { recursive: true, force: true }).catch(() => {});
}
