// `loom bench-agent` on the whole task suite with the oracle model (every task's known fix played by the
// scripted model server), local and docker, --parallel 1 against 2 in the same run. Writes
// bench/results/bench-agent.md. Usage: node --import tsx bench/bench-agent.bench.ts [--runtime=local|docker]
// [--filter=TAG] (a subset, for checking the benchmark: nothing is written then).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { agentImage, agentTree, resolveCommit } from "../src/bench-agent/agent-build.ts";
import { oracleScript, taskMarker } from "../src/bench-agent/oracle.ts";
import { benchDir, runBench } from "../src/bench-agent/run-bench.ts";
import { keptStartingRepo } from "../src/bench-agent/run-task.ts";
import { loadTasks, type Task } from "../src/bench-agent/tasks.ts";
import { loadConfig } from "../src/shared/config.ts";
import { startScriptedModel } from "../src/shared/scripted-model/index.ts";
import { DEFAULT_LAB_IMAGE } from "../src/supervisor/lifecycle/lab-spec.ts";
import { fmt, median, pct, uptime } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const LOOM = path.resolve(here, "..");
const TASKS = path.join(LOOM, "tasks");
const TARGET_MS = 3000;

const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = flag("runtime");
/** A tag (`--filter=small`): a quick check of the benchmark itself; the results file wants the whole suite. */
const filter = flag("filter");
const dockerUsable =
  (await execa("docker", ["image", "inspect", DEFAULT_LAB_IMAGE], { reject: false }).catch(() => undefined))
    ?.exitCode === 0;
const runtimes = (["local", "docker"] as const).filter((r) =>
  only ? r === only : r === "local" || dockerUsable,
);

const started = uptime();
const { tasks } = await loadTasks(TASKS, filter ? { filter } : {});
const commit = await resolveCommit(LOOM, "HEAD");
const state = await mkdtemp(path.join(os.tmpdir(), "loom-bench-agent-"));

/** One task's time split by what the scripted server saw: before its first model request, the agent's work, after its last. */
interface Split {
  readonly name: string;
  readonly totalMs: number;
  readonly beforeMs: number;
  readonly workMs: number;
  readonly afterMs: number;
}
interface Row {
  readonly runtime: string;
  readonly parallel: number;
  readonly wallMs: number;
  readonly solved: number;
  readonly total: number;
  readonly splits: Split[];
  readonly tokens: number;
}

const config = (runtime: string, apiBase: string) =>
  loadConfig({
    env: {
      LOOM_LAB_API_BASE: apiBase,
      LOOM_LAB_API_KEY: "sk-bench",
      LOOM_RUNTIME: runtime,
      LOOM_STATE_DIR: state,
    },
    cwd: LOOM,
  });

// Made once, not timed: the agent's tree with its Lab bundle, its image, every task's starting repository.
const prep: string[] = [];
let t = performance.now();
const dir = benchDir(config("local", "http://127.0.0.1:9"));
const root = await agentTree(LOOM, commit, path.join(dir, "agents"), path.join(LOOM, "node_modules"), (l) =>
  prep.push(l),
);
prep.push(`agent tree with its Lab bundle: ${fmt(performance.now() - t)}`);
if (runtimes.includes("docker")) {
  t = performance.now();
  await agentImage(root, commit, () => {});
  prep.push(`agent image: ${fmt(performance.now() - t)}`);
}
t = performance.now();
await Promise.all(tasks.map((task: Task) => keptStartingRepo(task, path.join(dir, "repos"))));
prep.push(
  `${tasks.length} starting repositories (npm pack from the cache, git): ${fmt(performance.now() - t)}`,
);

const rows: Row[] = [];
try {
  for (const runtime of runtimes) {
    for (const parallel of [1, 2]) {
      const model = await startScriptedModel(
        tasks.flatMap((task) => oracleScript(task, taskMarker(task.name))),
      );
      const marks = new Map<string, { start?: number; end?: number }>();
      const t0 = performance.now();
      const epoch = Date.now() - t0;
      const run = await runBench({
        repo: LOOM,
        ref: commit,
        tasksDir: TASKS,
        ...(filter ? { filter } : {}),
        parallel,
        config: config(runtime, model.url),
        progress: (line) => {
          const m = /^\[\d+\/\d+ ([a-z0-9-]+)\] (started|solved|not solved)/.exec(line);
          if (!m?.[1]) return;
          const mark = marks.get(m[1]) ?? {};
          if (m[2] === "started") mark.start = epoch + performance.now();
          else mark.end = epoch + performance.now();
          marks.set(m[1], mark);
        },
      });
      const wallMs = performance.now() - t0;
      const splits = run.result.tasks.map((r): Split => {
        const asked = model.requests
          .filter((q) => JSON.stringify(q.body ?? "").includes(taskMarker(r.name)))
          .map((q) => q.at);
        const mark = marks.get(r.name) ?? {};
        const first = Math.min(...asked);
        const last = Math.max(...asked);
        return {
          name: r.name,
          totalMs: r.durationMs,
          beforeMs: first - (mark.start ?? first),
          workMs: last - first,
          afterMs: (mark.end ?? last) - last,
        };
      });
      rows.push({
        runtime,
        parallel,
        wallMs,
        solved: run.result.solved,
        total: run.result.total,
        splits,
        tokens: run.result.tasks.reduce((a, r) => a + r.tokens, 0),
      });
      console.log(
        `${runtime} --parallel ${parallel}: ${run.result.solved}/${run.result.total} in ${fmt(wallMs)}; overhead p50 ${fmt(median(splits.map((s) => s.beforeMs + s.afterMs)))}`,
      );
      await model.close();
    }
  }
} finally {
  await rm(state, { recursive: true, force: true });
}

const ended = uptime();
const overhead = (r: Row) => r.splits.map((s) => s.beforeMs + s.afterMs);
const table = rows.map((r) => {
  const base = rows.find((x) => x.runtime === r.runtime && x.parallel === 1);
  const o = overhead(r);
  const ok = pct(o, 50) <= TARGET_MS;
  return `| ${r.runtime} | ${r.parallel} | ${r.solved}/${r.total} | ${fmt(r.wallMs)} | ${base && r !== base ? `${(base.wallMs / r.wallMs).toFixed(2)}×` : "1.00×"} | ${fmt(median(r.splits.map((s) => s.totalMs)))} | ${fmt(median(r.splits.map((s) => s.beforeMs)))} | ${fmt(median(r.splits.map((s) => s.workMs)))} | ${fmt(median(r.splits.map((s) => s.afterMs)))} | ${fmt(pct(o, 50))} / ${fmt(pct(o, 90))} | ${ok ? "✅" : "❌"} |`;
});
const tokens = rows[0] ? rows[0].tokens : 0;
const cpus = os.cpus();
const out = `# bench-agent: scoring one ref on the task suite

Reproduce: \`npm run bench -- bench-agent\` (or \`node --import tsx bench/bench-agent.bench.ts [--runtime=local|docker]\`;
docker needs dockerd and \`loom-lab:latest\` from \`npm run image\`). Writes this file.

\`runBench\` (what \`loom bench-agent\` runs) on all ${tasks.length} tasks of \`tasks/\` at this checkout's HEAD
(\`${commit.slice(0, 12)}\`), every Lab's model the scripted server playing each task's \`oracle.json\` (through the
model proxy, as a real model would be reached), so every task is solved and the time is the harness's, not a
model's. \`--parallel 1\` then \`2\`, per runtime, in one process. Made once before timing (what a second run of
\`loom bench-agent\` reuses): ${prep.join("; ")}.

Per task, split by the scripted server's request times: **before** = from the task's start to its Lab's first
model request (its repository copied, the Lab's workspace cloned, model proxy, container or sandbox start, the
Lab up and reading program.md); **work** = first to last model request (the oracle's tool calls, run by the Lab's
tools); **after** = from the last model request to the task's verdict (the Lab commits, reports and exits, its
branch fetched, a fresh clone with hidden/ copied in, the hidden tests in a fresh container or sandbox with no
network). **Overhead** = before + after: what a task costs beyond the agent's own work. Target: overhead p50
under ${TARGET_MS / 1000} s on docker.

| runtime | --parallel | solved | suite wall | speed-up | task p50 | before p50 | work p50 | after p50 | overhead p50 / p90 | < 3 s |
|---|---|---|---|---|---|---|---|---|---|---|
${table.join("\n")}

The oracle runs used ${tokens.toLocaleString("en")} tokens over the ${tasks.length} tasks (the proxy's count: input,
output and cache), ${Math.round(tokens / Math.max(1, tasks.length)).toLocaleString("en")} per task: the basis of the cost
estimate in README.md's "Measuring self-improvement" (a real model uses more: it explores before it edits).

Machine: ${cpus.length} cores (${cpus[0]?.model ?? "?"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}.
Shared machine; \`uptime\` at the start: \`${started}\`; at the end: \`${ended}\`.
Run at ${new Date().toISOString()}.
`;
if (!filter) await writeFile(path.join(here, "results", "bench-agent.md"), out);
console.log(out);
