/**
 * The Lab's workspace by a bind mount (today's docker path) against the same workspace by git through the
 * gateway (LOOM_WORKSPACE_TRANSPORT=git: the relay clones lab/gen-N, fetches the packages once per node,
 * tunnels the sockets, pushes the branch back; every verification step clones its candidate), on docker,
 * in the same run: one whole demo generation each, alternating. Reported: the generation's wall time,
 * its Lab phase (spawn → fetched) and its stage 1, medians and the ratio git / mount.
 *
 * Run: `node --import tsx bench/workspace-transport.bench.ts [--runs=N]` (docker and `npm run image`;
 * writes bench/results/workspace-transport.md).
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runDemoCycle } from "../src/demo/run-cycle.ts";
import { fmt, median, uptime } from "./stats.ts";

const root = path.join(fileURLToPath(new URL(".", import.meta.url)), "..");
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const RUNS = Number(arg("runs") ?? "3");
if (!Number.isInteger(RUNS) || RUNS < 1)
  throw new Error(`--runs must be a whole number ≥ 1 (got ${arg("runs")})`);

type Transport = "mount" | "git";
interface Sample {
  readonly wallMs: number;
  readonly labMs: number;
  readonly stage1Ms: number;
}

async function generation(transport: Transport): Promise<Sample> {
  const t0 = performance.now();
  const r = await runDemoCycle({
    log: () => {},
    env: { ...process.env, LOOM_RUNTIME: "docker", LOOM_WORKSPACE_TRANSPORT: transport },
  });
  const wallMs = performance.now() - t0;
  if (r.record.outcome !== "promoted")
    throw new Error(`${transport}: gen-1 ended ${r.record.outcome}: ${r.record.reason}`);
  return {
    wallMs,
    labMs: r.phases.waiting_lab ?? Number.NaN,
    stage1Ms: r.record.verification?.mechanical.durationMs ?? Number.NaN,
  };
}

async function main(): Promise<void> {
  const before = uptime();
  // One untimed generation over git first: the packages volume is filled once per engine, as on a node
  // that has served a Lab before.
  await generation("git");
  const samples: Record<Transport, Sample[]> = { mount: [], git: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const t of run % 2 === 0 ? (["mount", "git"] as const) : (["git", "mount"] as const)) {
      const s = await generation(t);
      samples[t].push(s);
      console.log(`run ${run + 1} ${t}: ${fmt(s.wallMs)} (Lab ${fmt(s.labMs)}, stage 1 ${fmt(s.stage1Ms)})`);
    }
  }
  const m = (t: Transport, f: (s: Sample) => number) => median(samples[t].map(f));
  const row = (what: string, f: (s: Sample) => number) =>
    `| ${what} | ${fmt(m("mount", f))} | ${fmt(m("git", f))} | ${(m("git", f) / m("mount", f)).toFixed(2)}× |`;
  const text = [
    "# Workspace by mount or by git",
    "",
    "Reproduce: `node --import tsx bench/workspace-transport.bench.ts [--runs=N]` (docker, `npm run image`).",
    "One demo generation (`runDemoCycle`, scripted models) on docker with the Lab's workspace and each",
    "verification step's clone bind-mounted (LOOM_WORKSPACE_TRANSPORT=mount, the default) against the same",
    "through the gateway (=git: the relay clones, fetches the packages from the engine's `loom-packages`",
    "volume, tunnels model.sock and lab.sock, pushes lab/gen-N back). One untimed git generation first fills",
    `the volume, as on a node that has served a Lab. ${RUNS} runs each, alternating; medians.`,
    "",
    "| | mount | git | git / mount |",
    "|---|---|---|---|",
    row("generation, wall", (s) => s.wallMs),
    row("Lab phase (spawn → branch fetched)", (s) => s.labMs),
    row("stage 1 (all verification steps)", (s) => s.stage1Ms),
    "",
    `Every run: mount ${samples.mount.map((s) => fmt(s.wallMs)).join(", ")}; git ${samples.git.map((s) => fmt(s.wallMs)).join(", ")}.`,
    "",
    `Machine: ${os.cpus().length} cores, Node ${process.version}. Shared machine; \`uptime\` at the start: \`${before}\`; at the end: \`${uptime()}\`.`,
    `Run at ${new Date().toISOString()}.`,
    "",
  ].join("\n");
  await writeFile(path.join(root, "bench/results/workspace-transport.md"), text);
  process.stdout.write(text);
}

await main();
