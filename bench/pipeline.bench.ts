/**
 * Pipeline overhead of one generation: the demo repository through the whole cycle (Prime's autonomous
 * loop: reflect → spawn → Lab → verify → review → promote) with scripted models, so model think time is
 * ~0 and what remains is Loom's own overhead, split by phase. Run on docker, against the same cycle on
 * the local runtime (no containers) in the same run. Target: ≤ 10 s on docker.
 * With `--loom`, also verifies (stage 1) a one-line generation of Loom itself in docker, reported apart.
 * Run: `npm run bench -- pipeline` (or `node --import tsx bench/pipeline.bench.ts [--runs=N] [--loom]`).
 */
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { GenerationRecord } from "../schemas/generation-record.ts";
import { runDemoCycle } from "../src/demo/run-cycle.ts";
import { loadConfig } from "../src/shared/config.ts";
import { selectRuntime } from "../src/supervisor/runtime/index.ts";
import { verifyMechanical } from "../src/supervisor/verify/mechanical.ts";
import { fmt, median, uptime } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = path.join(here, "..");
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const runs = Number(arg("runs") ?? 3);
const withLoom = process.argv.includes("--loom");

interface Sample {
  total: number;
  phases: Record<string, number>;
  record: GenerationRecord;
}

/** Phases of the loop, plus the verification's own steps read off the record. */
function split(s: Sample): Record<string, number> {
  const m = s.record.verification?.mechanical;
  const out: Record<string, number> = {
    "Supervisor start": s.phases.start ?? 0,
    "reflect (scripted)": s.phases.reflecting ?? 0,
    "spawn → Lab done → branch fetched": (s.phases.spawning ?? 0) + (s.phases.waiting_lab ?? 0),
    "verify: stage 1 + review": s.phases.verifying ?? 0,
    "  stage 1: check": m?.check.durationMs ?? 0,
    "  stage 1: tests": m?.tests.durationMs ?? 0,
    "  stage 1: total (incl. baseline of main, clone)": m?.durationMs ?? 0,
    "  review (scripted)": s.record.verification?.review?.durationMs ?? 0,
    "promote (merge + tag)": s.phases.promoting ?? 0,
  };
  return out;
}

async function cycles(runtime: string): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await runDemoCycle({ log: () => {}, env: { ...process.env, LOOM_RUNTIME: runtime } });
    const total = performance.now() - t0;
    if (r.record.outcome !== "promoted") {
      throw new Error(`${runtime} run ${i + 1}: gen-1 ended ${r.record.outcome}: ${r.record.reason}`);
    }
    samples.push({ total, phases: { ...r.phases }, record: r.record });
    console.log(`${runtime} run ${i + 1}: ${fmt(total)} ${JSON.stringify(split(samples.at(-1) as Sample))}`);
  }
  return samples;
}

/** Stage 1 of a generation of Loom itself: a clone of this checkout, one comment added on lab/gen-1. */
async function verifyLoom(): Promise<{ ms: number; record: string }> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), "loom-bench-self-"));
  try {
    const repo = path.join(tmp, "repo");
    const g = (args: string[], cwd = repo) =>
      execa("git", ["-c", "user.name=bench", "-c", "user.email=bench@loom.invalid", ...args], { cwd });
    await execa("git", ["clone", "-q", "--no-hardlinks", "-b", "main", root, repo]);
    await symlink(path.join(root, "node_modules"), path.join(repo, "node_modules"));
    await g(["checkout", "-q", "-b", "lab/gen-1"]);
    await writeFile(path.join(repo, "program.md"), "# Task: a comment\n");
    await g(["add", "program.md"]);
    await g(["commit", "-qm", "gen-1: program"]);
    await g(["checkout", "-q", "main"]);
    const config = loadConfig({
      cwd: tmp,
      env: { LOOM_REPO_PATH: repo, LOOM_STATE_DIR: path.join(tmp, "state"), LOOM_NETWORK: "host" },
    });
    const runtime = await selectRuntime("docker", { log: () => {}, stateDir: config.stateDir });
    const t0 = performance.now();
    const m = await verifyMechanical({ runtime, config, image: "loom-lab:latest" }, 1);
    const ms = performance.now() - t0;
    const record = `passed ${m.passed}; check ${fmt(m.check.durationMs)}, tests ${fmt(m.tests.durationMs)} (${m.tests.testCount} tests, baseline ${m.baselineTestCount}), acceptance ${fmt(m.acceptance.run?.durationMs ?? 0)}${m.failures.length ? `; failures: ${m.failures.join("; ").slice(0, 300)}` : ""}`;
    return { ms, record };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Without --loom (about 10 minutes), the last measured section of it is kept as it was, with its date. */
async function earlierSelfRun(): Promise<string[]> {
  const before = await readFile(path.join(here, "results", "pipeline.md"), "utf8").catch(() => "");
  const start = before.indexOf("## Verifying a generation of Loom itself");
  const end = before.indexOf("Machine: ", start);
  return start === -1 || end === -1 ? [] : [before.slice(start, end).trimEnd(), ""];
}

const loadBefore = uptime();
const docker = await cycles("docker");
const local = await cycles("local");
const self = withLoom ? await verifyLoom() : undefined;
const loadAfter = uptime();

const names = Object.keys(split(docker[0] as Sample));
const row = (name: string) => {
  const d = median(docker.map((s) => split(s)[name] ?? 0));
  const l = median(local.map((s) => split(s)[name] ?? 0));
  return `| ${name} | ${fmt(d)} | ${fmt(l)} | ${l > 0 ? `${(d / l).toFixed(2)}×` : "–"} |`;
};
const dTotal = median(docker.map((s) => s.total));
const lTotal = median(local.map((s) => s.total));
/** The issue's measure: one generation from Prime's spawn to the promotion's answer (no Supervisor start, no reflect). */
const pipeline = (s: Sample) =>
  (s.phases.spawning ?? 0) +
  (s.phases.waiting_lab ?? 0) +
  (s.phases.verifying ?? 0) +
  (s.phases.promoting ?? 0);
const dPipe = median(docker.map(pipeline));
const lPipe = median(local.map(pipeline));
const lines = [
  "# Pipeline overhead of one generation",
  "",
  "Reproduce: `npm run bench -- pipeline` (`node --import tsx bench/pipeline.bench.ts [--runs=N] [--loom]`; needs",
  "dockerd and `loom-lab:latest` from `npm run image`). Writes this file.",
  "",
  "One generation of the demo repository through the whole cycle (`runDemoCycle`, what `loom demo` runs): Prime's",
  "autonomous loop reflects, spawns a Lab, waits for it, verifies it (stage 1: main's baseline test count, measured",
  "while the Lab works at background priority; then the package's `check` and `test` scripts side by side in one",
  "fresh container; stage 2 the review) and promotes it. Both models are scripted servers on loopback, so model",
  "think time is ~0 and every figure is Loom's own overhead. The alternative in the same run is the same cycle on",
  `the local runtime (child processes, no containers). Medians of ${runs} runs each. The target row is the issue's`,
  "measure: from Prime's spawn to the promotion's answer (no Supervisor start, no reflect). The demo repository's",
  "tsconfig is what `tsc --init` writes for a Node program (skipLibCheck, lib ES2022); checking the packages' own",
  ".d.ts files as well (DOM included) made its `check` about 2 s instead of 0.5 s.",
  "",
  "| phase | docker p50 | local p50 | docker / local |",
  "|---|---|---|---|",
  ...names.map(row),
  `| **spawn → promoted (one generation)** | **${fmt(dPipe)}** | ${fmt(lPipe)} | ${(dPipe / lPipe).toFixed(2)}× |`,
  `| whole cycle (with Supervisor start, scratch repo, reflect) | ${fmt(dTotal)} | ${fmt(lTotal)} | ${(dTotal / lTotal).toFixed(2)}× |`,
  "",
  `Target: spawn → verify → promote ≤ 10 s on docker — ${dPipe <= 10_000 ? "met ✅" : "missed ❌"} (p50 ${fmt(dPipe)}; slowest of ${runs}: ${fmt(Math.max(...docker.map(pipeline)))}).`,
  "",
  ...(self
    ? [
        "## Verifying a generation of Loom itself",
        "",
        `Stage 1 of a one-commit generation of this repository (a clone with a program.md on lab/gen-1), in docker: ${fmt(self.ms)} — ${self.record}. It includes the baseline run of main's tests (once per main commit, cached afterwards). Run at ${new Date().toISOString()}.`,
        "",
      ]
    : await earlierSelfRun()),
  `Machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
  `Shared machine; \`uptime\` at the start: \`${loadBefore}\`; at the end: \`${loadAfter}\`.`,
  `Run at ${new Date().toISOString()}.`,
];
await writeFile(path.join(here, "results", "pipeline.md"), `${lines.join("\n")}\n`);
console.log(lines.join("\n"));
