// The evolution issue's Lab start: a round of 4 started at once through a real Supervisor, spawn → each
// Lab's first /status answer, the slowest against 1.5 s on docker. Cold (every container started when
// spawned) against LOOM_LAB_POOL=4 (the round claims Labs the pool started ahead, as after a round),
// alternating round by round in the same run; local (no containers) beside them.
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { DEFAULT_LAB_IMAGE } from "../src/supervisor/lifecycle/lab-spec.ts";
import { type LabStart, supervisedRoundStart } from "./lab-round-start.ts";
import { fmt, pct, uptime } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const ROUNDS = Number(arg("rounds") ?? "3");
const K = 4;

interface Variant {
  readonly name: string;
  readonly runtime: "docker" | "local";
  readonly pool: number;
  /** The issue's target (docker only); local is shown beside it for reference. */
  readonly targetMs?: number;
  readonly starts: LabStart[];
  readonly filled: number[];
}
const variants: Variant[] = [
  { name: "docker, cold", runtime: "docker", pool: 0, targetMs: 1500, starts: [], filled: [] },
  { name: `docker, LOOM_LAB_POOL=${K}`, runtime: "docker", pool: K, targetMs: 1500, starts: [], filled: [] },
  { name: "local", runtime: "local", pool: 0, starts: [], filled: [] },
];

const image = (
  await execa("docker", [
    "image",
    "inspect",
    DEFAULT_LAB_IMAGE,
    "--format",
    '{{index .Config.Labels "org.opencontainers.image.revision"}}',
  ])
).stdout.trim();
const uptimeStart = uptime();
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) {
    const starts = await supervisedRoundStart(v.runtime, K, {
      pool: v.pool,
      onPoolFilled: (ms) => v.filled.push(ms),
    });
    v.starts.push(...starts);
    console.log(
      `${v.name}, round ${round + 1}: ready ${starts.map((s) => fmt(s.readyMs)).join(", ")}${v.pool ? ` (pool filled in ${fmt(v.filled.at(-1) ?? 0)})` : ""}`,
    );
  }
}
const uptimeEnd = uptime();

const range = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
const cold = Math.max(...(variants[0] as Variant).starts.map((s) => s.readyMs));
const rows = variants.map((v) => {
  const running = v.starts.map((s) => s.runningMs);
  const ready = v.starts.map((s) => s.readyMs);
  const max = Math.max(...ready);
  return (
    `| ${v.name} | ${ready.length} | ${fmt(pct(running, 50))} | ${range(running)} | ${fmt(pct(ready, 50))} | ` +
    `${range(ready)} | ${v.runtime === "docker" ? `${(cold / max).toFixed(2)}×` : "—"} | ` +
    `${v.filled.length ? `${fmt(pct(v.filled, 50))} (${range(v.filled)})` : "—"} | ` +
    `${v.targetMs === undefined ? "—" : `max ≤ ${fmt(v.targetMs)} ${max <= v.targetMs ? "✅" : "❌"}`} |`
  );
});

const out = `# Round start benchmark

Reproduce: \`npm run bench -- round-start\` (or \`node --import tsx bench/round-start.bench.ts [--rounds=N]\`; needs
dockerd and the \`${DEFAULT_LAB_IMAGE}\` image from \`npm run image\`). Writes this file.

A round of ${K} Labs started at once through a real Supervisor (the evolution issue's measure): a fresh
Supervisor on the demo round's repository (vitest, so main's baseline is measured while the Labs start,
as in a real round), \`controller.spawn(program, {candidates: ${K}})\`, its default /status poll (250 ms).
Per Lab: from the spawn to its container running (workspace clone, socket folder, model proxy, then
\`runtime.run\` or the pooled Lab's claim) and to the Supervisor's first answer from its /status (its first
\`lab_status\` event). **Cold**: every container is created and started when spawned (LOOM_LAB_POOL=0, the
default). **Pooled**: LOOM_LAB_POOL=${K}, the round spawned once the pool holds ${K} ready Labs — as it does
after a round, since the pool refills while the claimed Labs work; "pool filled in" is what that costs
ahead, from the Supervisor's start. ${ROUNDS} rounds of each, alternating, each on a fresh repository and
Supervisor; every Lab's own time counted; the target is on the slowest. "cold / this" is the slowest cold
start over this variant's slowest.

| variant | Labs | spawn → running p50 | min–max | spawn → ready p50 | min–max | cold / this (max) | pool filled in p50 (min–max) | target |
|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}

The docker image \`${DEFAULT_LAB_IMAGE}\` was built from revision \`${image}\`.
Machine: ${os.cpus().length} cores, Node ${process.version}. Shared machine; \`uptime\` at the start: \`${uptimeStart}\`; at the end: \`${uptimeEnd}\`.
Run at ${new Date().toISOString()}.
`;
await writeFile(path.join(here, "results", "round-start.md"), out);
console.log(out);
