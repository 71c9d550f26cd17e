/**
 * LOOM_RUNTIME=swarm against LOOM_RUNTIME=docker in the same run, on this engine's single-node swarm, and
 * docker with the workspace by git (LOOM_WORKSPACE_TRANSPORT=git, swarm's only path) between them:
 *
 * 1. Lab ready time through a real Supervisor per variant (all kept running side by side, each on the
 *    demo round's repository): `controller.spawn(program)` of one Lab → its container (or service) runs
 *    (the "Lab … started on" event) → the Supervisor's first answer from its /status (its first
 *    `lab_status` event). One unmeasured spawn each first (it pays main's baseline and, on swarm, the
 *    Supervisor's push of the Lab image), then the variants take turns, the order rotated every time.
 * 2. A whole demo generation (`runDemoCycle`: reflect → spawn → Lab → verify → review → promote with
 *    scripted models), variants in turn, each checked promoted; wall time and phases.
 * 3. A round of 3 (`runDemoRound`), once per variant, checked to end as scripted.
 *
 * Under swarm the Lab image comes from a registry this benchmark starts on 127.0.0.1 (Debian's
 * docker-registry, under its temp folder) and pushes the image to once, before anything is timed
 * (LOOM_REGISTRY): each fresh Supervisor still runs `docker push` once, which finds every layer there;
 * what that costs is measured beside.
 *
 * Run: `node --import tsx bench/swarm.bench.ts [--ready=N] [--cycles=N] [--rounds=N]
 * [--variants=docker,docker-git,swarm] [--out=FILE]` (defaults 6, 4, 1, all three; writes bench/results/swarm.md unless --out names another file). Needs dockerd in
 * swarm mode (`docker swarm init --advertise-addr 127.0.0.1`), the Lab image (`npm run image`) and
 * docker-registry.
 */
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { SupervisorEvent } from "../schemas/events.ts";
import { demoProgram, demoRoundRepoFiles } from "../src/demo/demo-repo.ts";
import { runDemoCycle } from "../src/demo/run-cycle.ts";
import { runDemoRound } from "../src/demo/run-round.ts";
import { loadConfig } from "../src/shared/config.ts";
import { startScriptedModel } from "../src/shared/scripted-model/index.ts";
import { freePort } from "../src/supervisor/lifecycle/free-port.ts";
import { DEFAULT_LAB_IMAGE } from "../src/supervisor/lifecycle/lab-spec.ts";
import {
  type PushedImage,
  pushImage,
  type RunningRegistry,
  startRegistry,
} from "../src/supervisor/registry/index.ts";
import { SwarmRuntime } from "../src/supervisor/runtime/swarm.ts";
import { startSupervisor } from "../src/supervisor/supervisor.ts";
import { fmt, median, uptime } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
function count(name: string, fallback: number): number {
  const raw = arg(name);
  const n = Number(raw ?? fallback);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be a whole number ≥ 0 (got ${JSON.stringify(raw)})`);
  return n;
}
const READY = count("ready", 6);
const CYCLES = count("cycles", 4);
const ROUNDS = count("rounds", 1);
const OUT = arg("out") ?? path.join(here, "results", "swarm.md");
/**
 * docker: containers, the workspace bind-mounted (docker's default); docker-git: containers, the workspace
 * through the gateway by git (LOOM_WORKSPACE_TRANSPORT=git), as swarm always has it; swarm: services. So
 * swarm / docker-git is the orchestrator's own cost, docker-git / docker the transport's.
 */
const ALL_VARIANTS = ["docker", "docker-git", "swarm"] as const;
type Runtime = (typeof ALL_VARIANTS)[number];
const RUNTIMES: readonly Runtime[] = (arg("variants") ?? ALL_VARIANTS.join(",")).split(",").map((v) => {
  if (!(ALL_VARIANTS as readonly string[]).includes(v))
    throw new Error(`--variants: ${JSON.stringify(v)} is not one of ${ALL_VARIANTS.join(", ")}`);
  return v as Runtime;
});
if (!RUNTIMES.includes("docker"))
  throw new Error("--variants must include docker (every ratio is against it)");
/** Variants in turn, the order rotated every time, so load drift hits each alike. */
const turn = (i: number): readonly Runtime[] =>
  RUNTIMES.map((_, k) => RUNTIMES[(i + k) % RUNTIMES.length] as Runtime);

/** The environment a variant's Supervisor starts from. */
function variantEnv(v: Runtime, registry: string): Record<string, string> {
  if (v === "swarm") return { LOOM_RUNTIME: "swarm", LOOM_REGISTRY: registry };
  return { LOOM_RUNTIME: "docker", ...(v === "docker-git" ? { LOOM_WORKSPACE_TRANSPORT: "git" } : {}) };
}

const loomNodeModules = () =>
  path.dirname(path.dirname(createRequire(import.meta.url).resolve("tsx/package.json")));

async function demoRoundRepo(repo: string): Promise<void> {
  for (const [rel, content] of Object.entries(demoRoundRepoFiles)) {
    await mkdir(path.dirname(path.join(repo, rel)), { recursive: true });
    await writeFile(path.join(repo, rel), content);
  }
  const git = (args: string[]) =>
    execa("git", ["-c", "user.name=Bench", "-c", "user.email=bench@loom.invalid", ...args], { cwd: repo });
  await git(["init", "-q", "-b", "main"]);
  await git(["add", "-A"]);
  await git(["commit", "-q", "-m", "initial"]);
  await symlink(loomNodeModules(), path.join(repo, "node_modules"), "dir");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TERMINAL = new Set(["verifying", "failed", "timed_out", "aborted"]);

interface LabStart {
  /** Spawn → the Lab's container or service runs. */
  readonly runningMs: number;
  /** Spawn → the Supervisor's first answer from the Lab's /status. */
  readonly readyMs: number;
}

/** A Supervisor on its own repository that spawns one Lab at a time and times its start. */
async function readyHarness(runtime: Runtime, root: string, registry: string) {
  const scratch = path.join(root, `ready-${runtime}`);
  const repo = path.join(scratch, "repo");
  await demoRoundRepo(repo);
  // Each Lab ends its run at its first model call: it is over soon after it answered.
  const model = await startScriptedModel(Array.from({ length: 400 }, () => ({ text: "nothing to do" })));
  const stateDir = path.join(scratch, "state");
  const config = loadConfig({
    cwd: scratch,
    env: {
      LOOM_REPO_PATH: repo,
      LOOM_STATE_DIR: stateDir,
      LOOM_NETWORK: "host",
      LOOM_LAB_API_KEY: "bench-key",
      LOOM_LAB_API_BASE: model.url,
      LOOM_MAX_RETRIES: "0",
      ...variantEnv(runtime, registry),
    },
  });
  let current: { n: number; t0: number; running?: number; ready?: number; end: () => void } | undefined;
  const onEvent = (e: SupervisorEvent) => {
    const c = current;
    if (!c || !("generation" in e) || e.generation !== c.n) return;
    const now = performance.now();
    if (e.type === "log" && /^Lab \S+ started on /.test(e.message)) c.running ??= now - c.t0;
    if (e.type === "lab_status") c.ready ??= now - c.t0;
    if (e.type === "generation" && TERMINAL.has(e.outcome)) c.end();
  };
  const supervisor = await startSupervisor({ config, log: () => {}, port: 0, onEvent });
  const spawn = async (): Promise<LabStart> => {
    let end: () => void = () => {};
    const ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    const t0 = performance.now();
    const c: NonNullable<typeof current> = { n: -1, t0, end };
    current = c;
    const { generation } = await supervisor.controller.spawn(demoProgram, { candidates: 1 });
    c.n = generation;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      ended,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${runtime}: gen-${generation}'s Lab did not end in 180 s`)),
          180_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (c.running === undefined || c.ready === undefined)
      throw new Error(
        `${runtime}: gen-${generation} never ${c.running === undefined ? "started" : "answered"}`,
      );
    return { runningMs: c.running, readyMs: c.ready };
  };
  /** main's baseline, measured by the first spawn in the background: waited for, so no sample shares the CPU with it. */
  const baselineDone = async () => {
    for (const end = Date.now() + 180_000; Date.now() < end; await sleep(250)) {
      const files = await readdir(path.join(stateDir, "baselines")).catch(() => [] as string[]);
      if (files.some((f) => f.endsWith(".json"))) return;
    }
    throw new Error(`${runtime}: main's baseline was not measured within 180 s`);
  };
  return {
    spawn,
    baselineDone,
    close: async () => {
      await supervisor.close();
      await model.close();
    },
  };
}

interface CycleSample {
  readonly wallMs: number;
  readonly phases: Readonly<Record<string, number>>;
  /** Stage 1's own time (the verification's clone and every step). */
  readonly verifyMs: number;
}

async function cycle(runtime: Runtime, registry: string): Promise<CycleSample> {
  const env = { ...process.env, ...variantEnv(runtime, registry) };
  const lines: string[] = [];
  const t0 = performance.now();
  const r = await runDemoCycle({ log: (l) => lines.push(l), env });
  const wallMs = performance.now() - t0;
  if (r.record.outcome !== "promoted")
    throw new Error(
      `${runtime}: gen-1 ended ${r.record.outcome}: ${r.record.reason}\n${lines.slice(-25).join("\n")}`,
    );
  return {
    wallMs,
    phases: r.phases,
    verifyMs: r.record.verification?.mechanical.durationMs ?? Number.NaN,
  };
}

async function round(runtime: Runtime, registry: string): Promise<number> {
  const env = { ...process.env, ...variantEnv(runtime, registry) };
  const lines: string[] = [];
  const t0 = performance.now();
  const { report } = await runDemoRound({ log: (l) => lines.push(l), env, candidates: 3 });
  const wallMs = performance.now() - t0;
  if (report.problems.length > 0)
    throw new Error(`${runtime} round of 3: ${report.problems.join("; ")}\n${lines.slice(-25).join("\n")}`);
  return wallMs;
}

/** No service or container of this benchmark's repositories is left on the engine. */
async function leftovers(): Promise<string> {
  const services = await execa("docker", ["service", "ls", "--format", "{{.Name}}"], { reject: false });
  return services.stdout
    .split("\n")
    .filter((s) => /^loom-(gen|verify)-/.test(s))
    .join(", ");
}

const range = (xs: readonly number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

async function main(): Promise<void> {
  const probe = RUNTIMES.includes("swarm") ? await new SwarmRuntime().available() : { ok: true };
  if (!probe.ok) throw new Error(`the swarm runtime is not usable here: ${probe.reason}`);
  const labImage = (
    await execa("docker", ["image", "inspect", "--format", "{{.Id}}", DEFAULT_LAB_IMAGE], { reject: false })
  ).stdout.trim();
  if (!labImage) throw new Error(`no ${DEFAULT_LAB_IMAGE} image here: build it with \`npm run image\``);

  const tmp = await mkdtemp(path.join(os.tmpdir(), "loom-bench-swarm-"));
  let registry: RunningRegistry | undefined;
  const pushed: PushedImage[] = [];
  const closers: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of closers.splice(0).reverse())
      await c().catch((err: Error) => console.error(`cleanup: ${err.message}`));
    await registry?.stop().catch((err: Error) => console.error(`cleanup: ${err.message}`));
    for (const p of pushed) await execa("docker", ["rmi", p.tagged], { reject: false });
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
  };
  // Interrupted: the finally below never runs, so close what is open here.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    void cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const before = uptime();
  const ready: Record<Runtime, LabStart[]> = { docker: [], "docker-git": [], swarm: [] };
  const cycles: Record<Runtime, CycleSample[]> = { docker: [], "docker-git": [], swarm: [] };
  const rounds: Record<Runtime, number[]> = { docker: [], "docker-git": [], swarm: [] };
  let firstPushMs = Number.NaN;
  let rePushMs = Number.NaN;
  try {
    let address = "";
    if (RUNTIMES.includes("swarm")) {
      registry = await startRegistry({ dir: path.join(tmp, "registry"), port: await freePort() });
      address = registry.address;
      let t = performance.now();
      pushed.push(await pushImage({ image: DEFAULT_LAB_IMAGE, registry: address }));
      firstPushMs = performance.now() - t;
      t = performance.now();
      pushed.push(await pushImage({ image: DEFAULT_LAB_IMAGE, registry: address }));
      rePushMs = performance.now() - t;
      console.log(`registry ${address}: first push ${fmt(firstPushMs)}, again ${fmt(rePushMs)}`);
    }

    if (READY > 0) {
      const harness = {} as Record<Runtime, Awaited<ReturnType<typeof readyHarness>>>;
      for (const rt of RUNTIMES) {
        harness[rt] = await readyHarness(rt, tmp, address);
        closers.push(harness[rt].close);
      }
      for (const rt of RUNTIMES) {
        const warm = await harness[rt].spawn();
        await harness[rt].baselineDone();
        console.log(`${rt} warm-up Lab: running ${fmt(warm.runningMs)}, ready ${fmt(warm.readyMs)}`);
      }
      for (let i = 0; i < READY; i++) {
        for (const rt of turn(i)) {
          const s = await harness[rt].spawn();
          ready[rt].push(s);
          console.log(`${rt} Lab ${i + 1}: running ${fmt(s.runningMs)}, ready ${fmt(s.readyMs)}`);
        }
      }
      for (const c of closers.splice(0).reverse()) await c();
    }
    for (let i = 0; i < CYCLES; i++) {
      for (const rt of turn(i)) {
        const s = await cycle(rt, address);
        cycles[rt].push(s);
        console.log(`${rt} generation ${i + 1}: ${fmt(s.wallMs)} (stage 1 ${fmt(s.verifyMs)})`);
      }
    }
    for (let i = 0; i < ROUNDS; i++) {
      for (const rt of turn(i)) {
        const ms = await round(rt, address);
        rounds[rt].push(ms);
        console.log(`${rt} round of 3 ${i + 1}: ${fmt(ms)}`);
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanup();
  }
  const left = await leftovers();
  if (left) console.error(`left on the engine: ${left}`);

  const readyRows: string[] = [];
  for (const rt of RUNTIMES) {
    const xs = ready[rt];
    if (xs.length === 0) continue;
    const run = xs.map((s) => s.runningMs);
    const rdy = xs.map((s) => s.readyMs);
    const vs = (f: (s: LabStart) => number) =>
      rt === "docker" ? "1.00×" : ratio(median(xs.map(f)), median(ready.docker.map(f)));
    readyRows.push(
      `| ${rt} | ${xs.length} | ${fmt(median(run))} | ${range(run)} | ${vs((s) => s.runningMs)} | ` +
        `${fmt(median(rdy))} | ${range(rdy)} | ${vs((s) => s.readyMs)} |`,
    );
  }
  const phaseNames = [...new Set(RUNTIMES.flatMap((rt) => cycles[rt].flatMap((s) => Object.keys(s.phases))))];
  const cycleRows: string[] = [];
  for (const rt of RUNTIMES) {
    const xs = cycles[rt];
    if (xs.length === 0) continue;
    const wall = xs.map((s) => s.wallMs);
    const m = (f: (s: CycleSample) => number) => median(xs.map(f));
    const vs = (f: (s: CycleSample) => number) =>
      rt === "docker" ? "1.00×" : ratio(m(f), median(cycles.docker.map(f)));
    cycleRows.push(
      `| ${rt} | ${xs.length} | ${fmt(median(wall))} (${wall.map(fmt).join(", ")}) | ${vs((s) => s.wallMs)} | ` +
        `${fmt(m((s) => s.verifyMs))} | ${vs((s) => s.verifyMs)} | ` +
        `${phaseNames.map((p) => fmt(m((s) => s.phases[p] ?? 0))).join(" | ")} |`,
    );
  }
  /** The two parts of swarm / docker: the transport (docker-git / docker) and the orchestrator (swarm / docker-git). */
  const split = <T>(xs: Record<Runtime, T[]>, f: (x: T) => number): string => {
    const m = (v: Runtime) => (xs[v].length > 0 ? median(xs[v].map(f)) : Number.NaN);
    if (Number.isNaN(m("docker-git")) || Number.isNaN(m("swarm"))) return "";
    return `Split: docker-git / docker ${ratio(m("docker-git"), m("docker"))} (the workspace by git), swarm / docker-git ${ratio(m("swarm"), m("docker-git"))} (services instead of containers).`;
  };
  const roundRows = RUNTIMES.filter((rt) => rounds[rt].length > 0).map(
    (rt) =>
      `| ${rt} | ${rounds[rt].length} | ${fmt(median(rounds[rt]))} | ${ratio(median(rounds[rt]), median(rounds.docker))} |`,
  );
  const text = [
    "# Swarm benchmark",
    "",
    "Reproduce: `npm run bench -- swarm` (or `node --import tsx bench/swarm.bench.ts [--ready=N] [--cycles=N]",
    "[--rounds=N] [--variants=…]`; needs dockerd in swarm mode — `docker swarm init --advertise-addr 127.0.0.1` —",
    "the `loom-lab:latest` image from `npm run image`, and docker-registry). Three variants in the same run, in",
    "turn, the order rotated every time: **docker** (`LOOM_RUNTIME=docker`: containers, the workspace",
    "bind-mounted, docker's default), **docker-git** (the same with `LOOM_WORKSPACE_TRANSPORT=git`: the Lab and",
    "each step get their workspace through the gateway, nothing mounted) and **swarm** (`LOOM_RUNTIME=swarm`:",
    "every Lab and step a one-task service on this engine's single-node swarm, the image by digest, always",
    "by git). Medians; ratios against docker, then split into the transport's and the orchestrator's part.",
    "",
    `**Lab ready** through a real Supervisor per variant (all running side by side, each on the demo round's`,
    "repository, its default /status poll): `controller.spawn(program)` of one Lab → its container or service",
    "runs (workspace clone, sockets, `run`, which under swarm returns once the task runs) → the Supervisor's",
    "first answer from the Lab's /status. One unmeasured spawn per variant first (it pays main's baseline, waited",
    "out, and under swarm the Supervisor's one push of the Lab image).",
    "",
    "| variant | Labs | spawn → running | min–max | vs docker | spawn → ready | min–max | vs docker |",
    "|---|---|---|---|---|---|---|---|",
    ...readyRows,
    "",
    split(ready, (s) => s.readyMs),
    "",
    "**A whole generation**: `runDemoCycle` (Prime's reflect → spawn → Lab → stage 1 → review → promote, scripted",
    "models, think time ~0; a fresh repository and Supervisor each), every one checked promoted. Stage 1: the",
    "verification's own time (its clone and every step in a fresh container or service). Phases: Prime's loop",
    "as `runDemoCycle` splits it (start: the Supervisor's and Prime's start; waiting_lab: the Lab; verifying:",
    "stage 1 and the review).",
    "",
    `| variant | n | wall (each) | vs docker | stage 1 | vs docker | ${phaseNames.join(" | ")} |`,
    `|---|---|---|---|---|---|${phaseNames.map(() => "---|").join("")}`,
    ...cycleRows,
    "",
    split(cycles, (s) => s.wallMs),
    "",
    "**A round of 3** (`runDemoRound`: careless, verbose, tidy; two finalists; checked to end as scripted):",
    "",
    "| variant | rounds | wall | vs docker |",
    "|---|---|---|---|",
    ...roundRows,
    "",
    split(rounds, (x) => x),
    "",
    ...(RUNTIMES.includes("swarm")
      ? [
          `The Lab image under swarm: a registry this benchmark ran on 127.0.0.1 (docker-registry), pushed to once`,
          `before anything was timed (${fmt(firstPushMs)} into the empty registry); each fresh Supervisor (every`,
          `generation and round above) still pushes once, which finds every layer there: ${fmt(rePushMs)}, inside its`,
          "first spawn.",
        ]
      : []),
    "",
    `Machine: ${os.cpus().length} cores, Node ${process.version}, ${os.type()} ${os.release()}. Shared machine; \`uptime\` at the start: \`${before}\`; at the end: \`${uptime()}\`.`,
    `Run at ${new Date().toISOString()}.`,
    "",
  ].join("\n");
  await writeFile(OUT, text);
  process.stdout.write(text);
}

await main();
