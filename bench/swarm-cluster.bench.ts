/**
 * A round of three candidates spread over three swarm workers against the same round on a single-node
 * swarm, in the same run: what spreading costs per candidate. The cluster is four Docker engines on this
 * machine (test/helpers/swarm-cluster.ts: one manager, three workers on 127.0.0.3–5, each engine in
 * namespaces of its own), `LOOM_SWARM_CONSTRAINTS=node.role==worker`, so every Lab and verification step
 * runs on a worker and reaches its generation only through the gateway (workspace by git, packages
 * fetched once per node). Both sides pull the Lab image by digest from one registry the bench starts
 * (LOOM_REGISTRY), so neither pays a push per round. Round 1 on a side is cold (each worker pulls the image
 * and fetches the packages once), round 2 warm (the per-node caches are filled).
 *
 * Run: `node --import tsx bench/swarm-cluster.bench.ts [--runs=N]` (needs root, docker in swarm mode,
 * `npm run image`; writes bench/results/swarm-cluster.md).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { GenerationRecord } from "../schemas/generation-record.ts";
import { runDemoRound } from "../src/demo/run-round.ts";
import { freePort } from "../src/supervisor/lifecycle/free-port.ts";
import { DEFAULT_LAB_IMAGE } from "../src/supervisor/lifecycle/lab-spec.ts";
import { pushImage, startRegistry } from "../src/supervisor/registry/index.ts";
import { startSwarmCluster } from "../test/helpers/swarm-cluster.ts";
import { fmt, median, uptime } from "./stats.ts";

const root = path.join(fileURLToPath(new URL(".", import.meta.url)), "..");
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const RUNS = Number(arg("runs") ?? "2");
if (!Number.isInteger(RUNS) || RUNS < 1)
  throw new Error(`--runs must be a whole number ≥ 1 (got ${arg("runs")})`);

interface Sample {
  readonly wallMs: number;
  /** Each candidate's spawn to its record's end. */
  readonly lifetimes: number[];
  /** The winner's stage 1. */
  readonly winnerStage1Ms: number;
}

const lifetimeMs = (r: GenerationRecord): number =>
  r.finishedAt ? Date.parse(r.finishedAt) - Date.parse(r.createdAt) : Number.NaN;

async function round(env: NodeJS.ProcessEnv): Promise<Sample> {
  const t0 = performance.now();
  const { cycle, report } = await runDemoRound({ log: () => {}, env, candidates: 3 });
  const wallMs = performance.now() - t0;
  if (report.problems.length > 0)
    throw new Error(`the round did not end as scripted: ${report.problems.join("; ")}`);
  const winner = cycle.records.find((r) => r.outcome === "promoted") as GenerationRecord;
  return {
    wallMs,
    lifetimes: cycle.records.map(lifetimeMs),
    winnerStage1Ms: winner.verification?.mechanical.durationMs ?? Number.NaN,
  };
}

async function main(): Promise<void> {
  const before = uptime();
  const dir = await mkdtemp(path.join(os.tmpdir(), "loom-bench-swarm-cluster-"));
  const registry = await startRegistry({ dir: path.join(dir, "registry"), port: await freePort() });
  const cluster = await startSwarmCluster({ nodes: 4, heartbeatMs: 1_000, timeoutMs: 120_000 });
  const savedHost = process.env.DOCKER_HOST;
  const samples: Record<"single" | "cluster", Sample[]> = { single: [], cluster: [] };
  try {
    // One registry for both sides: pushed once from this engine; every node sees 127.0.0.1:PORT.
    await pushImage({ image: DEFAULT_LAB_IMAGE, registry: registry.address });
    const port = Number(registry.address.split(":")[1]);
    await cluster.exposeHostPortOnNodes(port);
    const gatewayPort = await freePort();
    await cluster.exposeHostPortOnNodes(gatewayPort);
    const manager = cluster.nodes.filter((n) => n.role === "manager");
    await cluster.loadImages([DEFAULT_LAB_IMAGE], manager);
    const base = {
      ...process.env,
      LOOM_RUNTIME: "swarm",
      LOOM_REGISTRY: registry.address,
      LOOM_GATEWAY_PORT: String(gatewayPort),
      LOOM_VERIFY_TIMEOUT_MS: "240000",
    };
    for (let run = 0; run < RUNS; run++) {
      for (const side of run % 2 === 0
        ? (["single", "cluster"] as const)
        : (["cluster", "single"] as const)) {
        if (side === "cluster") process.env.DOCKER_HOST = cluster.managerHost;
        else if (savedHost === undefined) delete process.env.DOCKER_HOST;
        else process.env.DOCKER_HOST = savedHost;
        const env =
          side === "cluster" ? { ...base, LOOM_SWARM_CONSTRAINTS: "node.role==worker" } : { ...base };
        const s = await round(env);
        samples[side][run] = s;
        console.log(
          `run ${run + 1} ${side}: round ${fmt(s.wallMs)}, candidates ${s.lifetimes.map(fmt).join(", ")}, winner stage 1 ${fmt(s.winnerStage1Ms)}`,
        );
      }
    }
  } finally {
    if (savedHost === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = savedHost;
    await cluster.stop();
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const rows: string[] = [];
  const at = (side: "single" | "cluster", run: number) => samples[side][run];
  for (let run = 0; run < RUNS; run++) {
    const single = at("single", run) as Sample;
    const spread = at("cluster", run) as Sample;
    const perCandidate = (spread.wallMs - single.wallMs) / 3;
    rows.push(
      `| ${run === 0 ? "1 (cold)" : `${run + 1} (warm)`} | ${fmt(single.wallMs)} | ${fmt(spread.wallMs)} | ${(spread.wallMs / single.wallMs).toFixed(2)}× | ` +
        `${perCandidate >= 0 ? "+" : "−"}${fmt(Math.abs(perCandidate))} | ${fmt(median(single.lifetimes))} | ${fmt(median(spread.lifetimes))} | ` +
        `${fmt(single.winnerStage1Ms)} | ${fmt(spread.winnerStage1Ms)} |`,
    );
  }
  const text = [
    "# A round spread over three swarm workers",
    "",
    "Reproduce: `node --import tsx bench/swarm-cluster.bench.ts [--runs=N]` (root, docker in swarm mode,",
    "`npm run image`). `runDemoRound({candidates: 3})` (careless, verbose, tidy; LOOM_FINALISTS=2) with",
    "LOOM_RUNTIME=swarm on this engine's single-node swarm, and on four engines on this machine joined into one",
    "swarm with every Lab and verification step on one of three workers (LOOM_SWARM_CONSTRAINTS=node.role==worker):",
    "nothing mounted there, each task clones through the gateway and fetches the packages once per node. One",
    "registry serves both sides. Run 1 is cold (each worker pulls the 356 MB image and fetches the packages",
    "once); later runs are warm. The sides alternate order every run.",
    "",
    "| run | single node: round | three workers: round | ratio | per candidate | single: candidate spawn → end (median) | spread: same | single: winner's stage 1 | spread: same |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
    "What this measures is the cost of spreading, not its gain: the three workers are namespaces on the same",
    "2 cores, so no candidate gets a core of its own. The per-candidate difference is what a candidate pays to",
    "reach its generation through the gateway instead of a mount (a clone per task, the packages link farm,",
    "the tunnels) plus, cold, the first pull and package fetch on its node; on a real cluster each worker",
    "brings its own cores, and that is where K larger than the manager's cores pays.",
    "",
    `Machine: ${os.cpus().length} cores, Node ${process.version}. Shared machine; \`uptime\` at the start: \`${before}\`; at the end: \`${uptime()}\`.`,
    `Run at ${new Date().toISOString()}.`,
    "",
  ].join("\n");
  await writeFile(path.join(root, "bench/results/swarm-cluster.md"), text);
  process.stdout.write(text);
}

await main();
