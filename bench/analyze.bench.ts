/**
 * `loom analyze` on generated 200- and 1000-file projects, against a whole-project `tsc --noEmit`
 * (the cheapest "look at every file" a reflect step could otherwise do). Target: 200 files < 2 s.
 * Run: `node --import tsx bench/analyze.bench.ts` (writes bench/results/analyze.md).
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { analyzeRepo } from "../src/analyze/index.ts";
import { generateProject } from "./gen-project.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const tsc = path.join(here, "..", "node_modules", ".bin", "tsc");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

const rows: string[] = [];
const tmp = await mkdtemp(path.join(os.tmpdir(), "loom-bench-analyze-"));
try {
  for (const files of [200, 1000]) {
    const project = await generateProject(path.join(tmp, `p${files}`), { files, seed: 7 });
    const runs: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await analyzeRepo(project.root, { top: 10 });
      runs.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    const tscRuns: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      spawnSync(tsc, ["--noEmit", "-p", project.root], { stdio: "ignore" });
      tscRuns.push(performance.now() - t0);
    }
    const a = median(runs);
    const t = median(tscRuns);
    const target = files === 200 ? (a < 2000 ? "< 2 s ✅" : "< 2 s ❌") : "";
    rows.push(
      `| ${files} | ${fmt(a)} | ${fmt(median(cpu))} | ${fmt(t)} | ${(a / t).toFixed(1)}× | ${target} |`,
    );
    console.log(rows.at(-1));
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}

const [load1] = os.loadavg();
const out = `# analyze benchmark

Reproduce: \`node --import tsx bench/analyze.bench.ts\` (writes this file).
Median of 3 runs of \`analyzeRepo\` (whole report: declarations, complexity, API, import graph, cycles,
tests→sources, unused exports) on projects from \`bench/gen-project.ts\`; the alternative is one
whole-project \`tsc --noEmit\` (TypeScript 7, native) on the same project.

| files | analyze (wall) | analyze (CPU) | \`tsc --noEmit\` | analyze / tsc | target |
|---|---|---|---|---|---|
${rows.join("\n")}

Machine: ${os.cpus().length} cores, Node ${process.version}; 1-minute load average ${load1?.toFixed(1)} at the end.
Run at ${new Date().toISOString()}.
`;
await writeFile(path.join(here, "results", "analyze.md"), out);
