import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { loadConfig } from "../src/shared/config.ts";
import type { ContainerRuntime } from "../src/supervisor/runtime/index.ts";
import { selectRuntime } from "../src/supervisor/runtime/index.ts";
import { makeCheckSeed, plantCheckSeed } from "../src/supervisor/verify/check-seed.ts";
import { prepareSteps, type StepsContext } from "../src/supervisor/verify/prepare-steps.ts";
import { runStep } from "../src/supervisor/verify/run-step.ts";
import { scriptCommand } from "../src/supervisor/verify/script-command.ts";
import { cloneAt } from "../src/supervisor/verify/verify-git.ts";
import { cloneLoom } from "../test/helpers/loom-clone.ts";
import { cpuTicks, fmt, median, TICK_MS, uptime } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const arg = (name: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? undefined;
const RUNTIMES = (arg("runtimes") ?? "docker,local").split(",");
const RUNS = Number(arg("runs") ?? "3");
const MODULE = "src/agent/model-for-role.ts";
const CANDIDATES = [
  {
    label: "doc comment (passes)",
    from: " * API key.\n */",
    to: " * API key. An explicit `overrides.model` wins over both roles' configured models.\n */",
    passes: true,
  },
  {
    label: "type error (fails)",
    from: "overrides: { model?: string } = {},",
    to: "overrides: { model?: string | number } = {},",
    passes: false,
  },
] as const;

/** The machine's busy time in ms, all cores (stats.ts); 0 off Linux. */
const busyMs = (): number => (cpuTicks()?.busy ?? 0) * TICK_MS;

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
}
const measure = async (run: () => Promise<boolean>, expect: boolean, what: string): Promise<Sample> => {
  const b0 = busyMs();
  const t0 = performance.now();
  const passed = await run();
  const sample = { wallMs: performance.now() - t0, cpuMs: busyMs() - b0 };
  if (passed !== expect)
    throw new Error(`${what}: the check ${passed ? "passed" : "failed"}, expected otherwise`);
  return sample;
};

const tmp = await mkdtemp(path.join(os.tmpdir(), "loom-check-seed-bench-"));
const rows: string[] = [];
const seedRows: string[] = [];
const loadBefore = uptime();
try {
  const repo = await cloneLoom(path.join(tmp, "repo"));
  const g = (args: string[]) => execa("git", args, { cwd: repo, stdin: "ignore" });
  const main = (await g(["rev-parse", "main"])).stdout.trim();
  const source = await readFile(path.join(repo, MODULE), "utf8");
  const commits: string[] = [];
  for (const [i, c] of CANDIDATES.entries()) {
    if (!source.includes(c.from)) throw new Error(`${MODULE} no longer holds ${JSON.stringify(c.from)}`);
    await g(["checkout", "-q", "-b", `lab/gen-${i + 1}`, "main"]);
    await writeFile(path.join(repo, MODULE), source.replace(c.from, c.to));
    await g(["commit", "-q", "-am", c.label]);
    commits.push((await g(["rev-parse", "HEAD"])).stdout.trim());
    await g(["checkout", "-q", "main"]);
  }
  for (const name of RUNTIMES) {
    const stateDir = path.join(tmp, `state-${name}`);
    const config = loadConfig({
      cwd: tmp,
      env: { LOOM_REPO_PATH: repo, LOOM_STATE_DIR: stateDir, LOOM_RUNTIME: name },
    });
    const runtime: ContainerRuntime = await selectRuntime(name, { log: () => {}, stateDir });
    const ctx: StepsContext = { runtime, config, image: "loom-lab:latest" };
    const seed = await measure(() => makeCheckSeed(ctx, main), true, `${name}: main's seed`);
    seedRows.push(`| ${name} | ${fmt(seed.wallMs)} | ${fmt(seed.cpuMs)} |`);
    console.log(`${name}: main's seed ${fmt(seed.wallMs)} wall, ${fmt(seed.cpuMs)} CPU`);
    for (const [i, c] of CANDIDATES.entries()) {
      const commit = commits[i] as string;
      const clone = path.join(stateDir, "verify", `gen-${i + 1}`);
      await cloneAt(repo, commit, clone);
      const prepared = await prepareSteps(ctx, commit, clone, `bench-gen-${i + 1}`);
      const command = await scriptCommand(clone, "check");
      const check = async (seeded: boolean) => {
        if (seeded) {
          if (!(await plantCheckSeed(stateDir, name, clone))) throw new Error("no seed was planted");
        } else await rm(path.join(clone, ".loom-cache"), { recursive: true, force: true });
        return (await runStep(prepared.context, "check", command, config.verifyTimeoutMs)).result.passed;
      };
      const cold: Sample[] = [];
      const warm: Sample[] = [];
      for (let r = 0; r < RUNS; r++) {
        // Alternating, the order flipped every other run.
        for (const seeded of r % 2 === 0 ? [false, true] : [true, false]) {
          const s = await measure(() => check(seeded), c.passes, `${name} ${c.label}`);
          (seeded ? warm : cold).push(s);
        }
      }
      const [cw, sw] = [median(cold.map((s) => s.wallMs)), median(warm.map((s) => s.wallMs))];
      const [cc, sc] = [median(cold.map((s) => s.cpuMs)), median(warm.map((s) => s.cpuMs))];
      rows.push(
        `| ${name} | ${c.label} | ${fmt(cw)} | ${fmt(sw)} | ${(cw / sw).toFixed(2)}× | ${fmt(cc)} | ${fmt(sc)} | ${(cc / sc).toFixed(2)}× |`,
      );
      console.log(rows.at(-1));
      await rm(clone, { recursive: true, force: true });
    }
  }
  const lines = [
    "# The check from main's seed",
    "",
    "Reproduce: `npm run bench -- check-seed` (`node --import tsx bench/check-seed.bench.ts [--runtimes=docker,local]",
    "[--runs=N]`; docker needs `loom-lab:latest` from `npm run image`). Writes this file.",
    "",
    `A clone of this repository; two candidates, each a one-module change to \`${MODULE}\`: a doc comment`,
    "(the check passes) and a type error (the check fails). Each candidate's check step runs as verification",
    "runs it (main's `npm run check` — tsc and biome — in a fresh container or sandbox with main's packages),",
    "**cold** (no `.loom-cache`: the whole check, what every candidate paid before) and **from main's seed**",
    "(the build info main's own check left, planted by the verifier), alternating, the order flipped every",
    `other run; ${RUNS} runs of each, medians. CPU is the machine's busy time over the check (both cores).`,
    "",
    "| runtime | candidate | check cold | from the seed | cold / seeded | CPU cold | CPU seeded | cold / seeded |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
    "A check that passes also runs biome over the whole repository (no cache of its own: the rest of the",
    "seeded pass); a type error stops the check before it. The seed is sound for any tree: tsc re-checks",
    "every file whose content, or whose imports' declarations, differ from what main's build info records.",
    "",
    "The seed itself (main's whole check, once per main commit and runtime, made while the Labs work):",
    "",
    "| runtime | wall | CPU |",
    "|---|---|---|",
    ...seedRows,
    "",
    `Machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
    `Shared machine; \`uptime\` at the start: \`${loadBefore}\`; at the end: \`${uptime()}\`.`,
    `Run at ${new Date().toISOString()}.`,
  ];
  await writeFile(path.join(here, "results", "check-seed.md"), `${lines.join("\n")}\n`);
  console.log(lines.join("\n"));
} finally {
  await rm(tmp, { recursive: true, force: true }).catch(() => {});
}
