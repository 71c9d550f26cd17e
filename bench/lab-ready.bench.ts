import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { type Config, loadConfig } from "../src/shared/config.ts";
import { startScriptedModel } from "../src/shared/scripted-model/index.ts";
import { prepareWorkspace } from "../src/supervisor/git/index.ts";
import { freePort } from "../src/supervisor/lifecycle/free-port.ts";
import { stopAndRemove } from "../src/supervisor/lifecycle/lab-cleanup.ts";
import {
  LAB_SOCKET,
  LAB_SOCKET_DIR,
  type LabSockets,
  makeLabSockets,
  writeLabSecrets,
} from "../src/supervisor/lifecycle/lab-sockets.ts";
import { DEFAULT_LAB_IMAGE, labSpec, repoLabels } from "../src/supervisor/lifecycle/lab-spec.ts";
import { localLabEntry } from "../src/supervisor/lifecycle/local-lab-entry.ts";
import { shareWorkspace } from "../src/supervisor/lifecycle/share-workspace.ts";
import { readStatus } from "../src/supervisor/lifecycle/watch-lab.ts";
import { createModelProxy, type ModelProxy } from "../src/supervisor/model-proxy/index.ts";
import type {
  ContainerHandle,
  ContainerRuntime,
  Launch,
  RunSpecInput,
} from "../src/supervisor/runtime/index.ts";
import { DockerRuntime, launch, selectRuntime } from "../src/supervisor/runtime/index.ts";
import { fmt, pct, uptime } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const loomRoot = path.resolve(here, "..");
/** Single Labs per variant (Lab and floor interleaved, so load drift hits both alike). */
const SINGLE_RUNS = 8;
/** Rounds of 4 Labs started together, per variant. */
const CONCURRENT_ROUNDS = 3;
const CONCURRENCY = 4;
const READY_TIMEOUT_MS = 30_000;
/** Far finer than the Supervisor's 250 ms, so the number is the Lab's readiness, not the poll's. */
const POLL_MS = 5;

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
/** `docker-cli`: docker through its CLI (a process per call) instead of its Engine API, for the ratio. */
type BenchRuntime = "docker" | "docker-cli" | "local";
const runtimes = (arg("runtime") ?? "docker,local").split(",") as BenchRuntime[];
const engineOf = (name: BenchRuntime) => (name === "docker-cli" ? "docker" : name);

type VariantName = "lab" | "floor";
interface Sample {
  readonly ms: number;
  /** `runtime.run` returned (the engine created and started the container). */
  readonly runMs: number;
  /** docker only: the engine's StartedAt, and the Lab's "serving" log line (its server listening). */
  readonly startedMs?: number;
  readonly servingMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The floor: the smallest server that answers /status, in the same runtime and spec as the Lab (no
 * network): it listens on the Lab's socket, as the Lab's bridge does, open to the Supervisor's user.
 */
function floorScript(socketPath: string): string {
  const at = JSON.stringify(socketPath);
  return (
    `const s=require("node:http").createServer((q,r)=>{r.setHeader("content-type","application/json");` +
    `r.end('{"floor":true}')});s.listen(${at},()=>require("node:fs").chmodSync(${at},0o666))`
  );
}

function specFor(
  variant: VariantName,
  runtime: ContainerRuntime,
  config: Config,
  n: number,
  port: number,
  workspace: string,
  sockets: LabSockets,
): Launch {
  const task = labSpec({
    runtime: runtime.name,
    generation: n,
    port,
    workspace,
    config,
    image: DEFAULT_LAB_IMAGE,
    loomRoot,
    sockets: sockets.dir,
  });
  if (variant === "lab") return task;
  const { spec } = task;
  const inside = runtime.name === "local" ? sockets.labSocket : `${LAB_SOCKET_DIR}/${LAB_SOCKET}`;
  const floor: RunSpecInput =
    runtime.name === "local"
      ? { ...spec, command: [process.execPath, "-e", floorScript(inside)] }
      : { ...spec, entrypoint: "node", command: ["-e", floorScript(inside)] };
  return { ...task, spec: floor };
}

/** Any 200 over the socket (the floor's answer). */
function floorAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/status", signal: AbortSignal.timeout(2000) });
    req.on("error", () => resolve(false));
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.end();
  });
}

/**
 * Polls until /status answers 200 over the Lab's socket, as the Supervisor reads it (the Lab's token;
 * its body must be a LabStatus, so nothing else passes for it).
 */
async function waitReady(
  runtime: ContainerRuntime,
  id: string,
  lab: { socketPath: string; hostHeader: string; token: string },
  variant: VariantName,
  deadline: number,
): Promise<void> {
  for (let polls = 1; ; polls++) {
    const ok =
      variant === "lab"
        ? (await readStatus(lab, AbortSignal.timeout(2000))) !== undefined
        : await floorAnswers(lab.socketPath);
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`${lab.socketPath} /status did not answer within ${READY_TIMEOUT_MS} ms`);
    // Now and then, whether it is still there: a start that failed is reported, not waited out.
    if (polls % 50 === 0) {
      const info = await runtime.inspect(id);
      if (!info || info.state === "exited" || info.state === "dead") {
        const logs = await runtime.logs(id, { tail: 20 }).catch(() => "");
        throw new Error(`the ${variant} exited before answering ${lab.socketPath}: ${logs.trim()}`);
      }
    }
    await sleep(POLL_MS);
  }
}

interface Env {
  readonly runtime: ContainerRuntime;
  readonly config: Config;
  readonly repo: string;
  readonly stateDir: string;
  /** Containers started and not yet removed: the finally below removes whatever is left. */
  readonly live: Set<string>;
  /** Starts not yet returned: an interruption waits for them, then removes what they started. */
  readonly starting: Set<Promise<ContainerHandle>>;
  /** Set on an interruption: nothing new is started after it. */
  stopping: boolean;
  readonly ports: Set<number>;
  /** The Labs' only way to their model, one socket and token each, as the Supervisor's. */
  readonly proxy: ModelProxy;
  next: number;
}

/** Starts `count` Labs at once; each one's time runs from its own spawn to its own first /status. */
async function startTogether(env: Env, variant: VariantName, count: number): Promise<Sample[]> {
  const { runtime, config } = env;
  const prepared = await Promise.all(
    Array.from({ length: count }, async () => {
      const n = env.next++;
      const workspace = path.join(env.stateDir, "workspaces", `gen-${n}`);
      await prepareWorkspace({
        repo: env.repo,
        workspace,
        generation: n,
        program: "# Task: stay idle\n",
      });
      // As runGeneration does: the read-only mounts need their sources.
      await mkdir(path.join(workspace, "schemas"), { recursive: true });
      await mkdir(path.join(workspace, "acceptance"), { recursive: true });
      if (runtime.name !== "local") await shareWorkspace(workspace);
      const port = await freePort(env.ports);
      env.ports.add(port);
      // As runGeneration does: a socket folder, the model proxy on it, the secrets file.
      const sockets = await makeLabSockets(n);
      const { token } = await env.proxy.open({
        generation: n,
        socketPath: sockets.modelSocket,
        budgetTokens: config.tokenBudget,
        socketMode: 0o666,
      });
      const labToken = randomBytes(24).toString("hex");
      await writeLabSecrets(sockets, { apiKey: token, labToken });
      return {
        n,
        workspace,
        port,
        sockets,
        lab: { socketPath: sockets.labSocket, hostHeader: `127.0.0.1:${port}`, token: labToken },
        spec: specFor(variant, runtime, config, n, port, workspace, sockets),
      };
    }),
  );
  const ids: string[] = [];
  try {
    // allSettled: every start has ended (and its id is known) before the cleanup below runs.
    const settled = await Promise.allSettled(
      prepared.map(async (p) => {
        const t0 = performance.now();
        const wall0 = Date.now();
        if (env.stopping) throw new Error("interrupted");
        const start = launch(runtime, p.spec, "a Lab whose workspace is mounted");
        env.starting.add(start);
        const handle = await start.finally(() => env.starting.delete(start));
        const runMs = performance.now() - t0;
        env.live.add(handle.id);
        ids.push(handle.id);
        await waitReady(runtime, handle.id, p.lab, variant, Date.now() + READY_TIMEOUT_MS);
        const ms = performance.now() - t0;
        return { ms, runMs, ...(runtime.name !== "local" ? await engineTimes(handle.id, wall0) : {}) };
      }),
    );
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<Sample>).value);
  } finally {
    await Promise.all(
      ids.map(async (id) => {
        for (const problem of await stopAndRemove(runtime, id, 1000)) console.error(`cleanup: ${problem}`);
        env.live.delete(id);
      }),
    );
    for (const p of prepared) {
      env.ports.delete(p.port);
      await env.proxy.close(p.n);
      await p.sockets.remove();
      await removeWorkspace(runtime, p.workspace);
    }
  }
}

const phases = (s: Sample): string =>
  [
    `run ${fmt(s.runMs)}`,
    s.startedMs !== undefined ? `started ${fmt(s.startedMs)}` : "",
    s.servingMs !== undefined ? `serving ${fmt(s.servingMs)}` : "",
    `answered ${fmt(s.ms)}`,
  ]
    .filter(Boolean)
    .join(", ");

/** RFC 3339 with nanoseconds, as docker prints it, to epoch ms. */
const epochMs = (t: string | undefined): number | undefined => {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,3})?\d*Z/.exec(t ?? "");
  return m ? Date.parse(`${m[1]}${m[2] ?? ""}Z`) : undefined;
};

/** Where the time went inside the engine (read after the Lab answered, so it costs the sample nothing). */
async function engineTimes(id: string, wall0: number): Promise<Pick<Sample, "startedMs" | "servingMs">> {
  const [inspect, logs] = await Promise.all([
    execa("docker", ["inspect", "-f", "{{.State.StartedAt}}", id], { reject: false }),
    execa("docker", ["logs", "-t", id], { reject: false, all: true }),
  ]);
  const started = epochMs(inspect.stdout.trim());
  const line = String(logs.all ?? "")
    .split("\n")
    .find((l) => l.includes("lab: serving"));
  const serving = epochMs(line?.split(" ")[0]);
  return {
    ...(started !== undefined ? { startedMs: started - wall0 } : {}),
    ...(serving !== undefined ? { servingMs: serving - wall0 } : {}),
  };
}

/** A container Lab may have written files as its own user; those go through a container of the same image. */
async function removeWorkspace(runtime: ContainerRuntime, workspace: string): Promise<void> {
  try {
    await rm(workspace, { recursive: true, force: true });
  } catch (err) {
    if (runtime.name === "local") throw err;
    await execa("docker", [
      "run",
      "--rm",
      "--network",
      "none",
      "--entrypoint",
      "sh",
      "-v",
      `${workspace}:/w`,
      DEFAULT_LAB_IMAGE,
      "-c",
      "rm -rf /w/* /w/.[!.]* 2>/dev/null; true",
    ]);
    await rm(workspace, { recursive: true, force: true });
  }
}

/** Every container of this run: the live ones, and any other carrying the bench repo's labels. */
async function removeAll(env: Env): Promise<void> {
  await Promise.allSettled([...env.starting]);
  const labelled = await env.runtime.list(repoLabels(env.repo)).catch(() => []);
  const ids = new Set([...env.live, ...labelled.map((c) => c.id)]);
  for (const problems of await Promise.all([...ids].map((id) => stopAndRemove(env.runtime, id, 0)))) {
    for (const p of problems) console.error(`cleanup: ${p}`);
  }
  env.live.clear();
}

interface Result {
  runtime: string;
  single: Record<VariantName, number[]>;
  together: Record<VariantName, number[]>;
  /** Every Lab and floor of the 4-at-once rounds, with where its time went. */
  togetherSamples: Record<VariantName, Sample[]>;
}

async function benchRuntime(name: BenchRuntime, tmp: string): Promise<Result> {
  const result: Result = {
    runtime: name,
    single: { lab: [], floor: [] },
    together: { lab: [], floor: [] },
    togetherSamples: { lab: [], floor: [] },
  };
  const root = path.join(tmp, name);
  const repo = path.join(root, "repo");
  const stateDir = path.join(root, "state");
  await mkdir(path.join(repo, "schemas"), { recursive: true });
  await writeFile(path.join(repo, "schemas", "thing.ts"), "export const thing = 1;\n");
  await writeFile(path.join(repo, "README.md"), "# repo\n");
  const g = (args: string[]) =>
    execa("git", ["-c", "user.name=Bench", "-c", "user.email=bench@loom.invalid", ...args], { cwd: repo });
  await g(["init", "-q", "-b", "main"]);
  await g(["add", "-A"]);
  await g(["commit", "-q", "-m", "initial"]);
  // Only readiness is measured: a Lab stopped right after it answers rarely reaches the model at all.
  const model = await startScriptedModel(Array.from({ length: 500 }, () => ({ text: "nothing to do" })));
  const config = loadConfig({
    cwd: root,
    env: {
      LOOM_REPO_PATH: repo,
      LOOM_STATE_DIR: stateDir,
      LOOM_RUNTIME: engineOf(name),
      LOOM_NETWORK: "host",
      LOOM_LAB_API_KEY: "bench-key",
      LOOM_LAB_API_BASE: model.url,
      LOOM_MAX_RETRIES: "0",
    },
  });
  const runtime =
    name === "docker-cli"
      ? new DockerRuntime({ binary: "docker" })
      : await selectRuntime(name, { log: (m) => console.log(m), stateDir });
  const env: Env = {
    runtime,
    config,
    repo,
    stateDir,
    live: new Set(),
    starting: new Set(),
    stopping: false,
    ports: new Set(),
    proxy: createModelProxy({ upstream: model.url, apiKey: "bench-key" }),
    next: 1,
  };
  // Interrupted (Ctrl-C, a timeout's SIGTERM): the finally below never runs, so remove what is live here.
  const onSignal = (signal: NodeJS.Signals) => {
    if (env.stopping) return;
    env.stopping = true;
    void removeAll(env)
      .then(() => model.close())
      .then(() => rm(tmp, { recursive: true, force: true }))
      .catch((err: Error) => console.error(`cleanup: ${err.message}`))
      .finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  // `on`, not `once`: execa's exit handler re-raises a signal it finds no other listener for.
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    // One unmeasured start of each warms the page cache and the engine, as on a Supervisor that ran before.
    await startTogether(env, "floor", 1);
    await startTogether(env, "lab", 1);
    for (let i = 0; i < SINGLE_RUNS; i++) {
      for (const v of i % 2 === 0 ? (["lab", "floor"] as const) : (["floor", "lab"] as const)) {
        const [s] = await startTogether(env, v, 1);
        result.single[v].push((s as Sample).ms);
        console.log(`${name} single ${v}: ${fmt((s as Sample).ms)}`);
      }
    }
    for (let i = 0; i < CONCURRENT_ROUNDS; i++) {
      for (const v of i % 2 === 0 ? (["lab", "floor"] as const) : (["floor", "lab"] as const)) {
        const samples = await startTogether(env, v, CONCURRENCY);
        result.together[v].push(...samples.map((s) => s.ms));
        result.togetherSamples[v].push(...samples);
        console.log(`${name} ${CONCURRENCY} at once ${v}: ${samples.map(phases).join("; ")}`);
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await removeAll(env);
    await env.proxy.closeAll();
    await model.close();
  }
  return result;
}

/** What the image runs and (when fresh) what a local Lab runs; built here when stale, as `npm run image` would. */
async function labEntry(): Promise<string> {
  if (localLabEntry(loomRoot).endsWith("lab.mjs")) return "dist/lab.mjs (fresh)";
  await execa(process.execPath, ["--import", "tsx", path.join(loomRoot, "scripts", "build.ts")], {
    cwd: loomRoot,
  });
  const entry = localLabEntry(loomRoot);
  return entry.endsWith("lab.mjs") ? "dist/lab.mjs (built by this run)" : path.relative(loomRoot, entry);
}

async function imageRevision(): Promise<string> {
  const r = await execa("docker", [
    "image",
    "inspect",
    DEFAULT_LAB_IMAGE,
    "--format",
    '{{index .Config.Labels "org.opencontainers.image.revision"}}',
  ]);
  return r.stdout.trim();
}

const localEntry = runtimes.includes("local") ? await labEntry() : undefined;
const dockerImage = runtimes.some((r) => r !== "local") ? await imageRevision() : "not run";
const tmp = await mkdtemp(path.join(os.tmpdir(), "loom-bench-ready-"));
const uptimeStart = uptime();
const results: Result[] = [];
try {
  for (const name of runtimes) {
    results.push(await benchRuntime(name, tmp));
  }
} finally {
  await rm(tmp, { recursive: true, force: true }).catch((err: Error) =>
    console.error(`cleanup: ${err.message}`),
  );
}
const uptimeEnd = uptime();

const TARGET_MS: Record<string, number> = { docker: 1500, "docker-cli": 1500, local: 300 };
const rows: string[] = [];
const phaseRows: string[] = [];
const range = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
for (const r of results) {
  const target = TARGET_MS[r.runtime] as number;
  for (const [label, key] of [
    ["1 Lab", "single"],
    [`${CONCURRENCY} at once`, "together"],
  ] as const) {
    const lab = r[key].lab;
    const floor = r[key].floor;
    if (lab.length === 0) continue;
    const p50 = pct(lab, 50);
    const max = Math.max(...lab);
    const ok = key === "single" ? p50 <= target : max <= target;
    rows.push(
      `| ${r.runtime} | ${label} | ${lab.length} | ${fmt(p50)} | ${range(lab)} | ` +
        `${fmt(pct(floor, 50))} | ${range(floor)} | ` +
        `${(p50 / pct(floor, 50)).toFixed(2)}× | ${fmt(p50 - pct(floor, 50))} | ` +
        `${key === "single" ? "p50" : "max"} ≤ ${fmt(target)} ${ok ? "✅" : "❌"} |`,
    );
  }
  for (const v of ["lab", "floor"] as const) {
    const xs = r.togetherSamples[v];
    if (xs.length === 0) continue;
    const col = (f: (s: Sample) => number | undefined) => {
      const vals = xs.map(f).filter((x): x is number => x !== undefined);
      return vals.length === 0 ? "—" : `${fmt(pct(vals, 50))} / ${fmt(Math.max(...vals))}`;
    };
    phaseRows.push(
      `| ${r.runtime} | ${v} | ${xs.length} | ${col((s) => s.startedMs)} | ${col((s) => s.runMs)} | ` +
        `${col((s) => s.servingMs)} | ${col((s) => s.ms)} |`,
    );
  }
}
const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
const out = `# Lab ready time benchmark

Reproduce: \`npm run bench -- lab-ready\` (or \`node --import tsx bench/lab-ready.bench.ts [--runtime=docker,docker-cli,local]\`;
needs dockerd and the \`${DEFAULT_LAB_IMAGE}\` image from
\`npm run image\`). Writes this file. \`docker\` is Loom's docker runtime as it runs (the Engine API on the
socket); \`docker-cli\` the same runtime through the \`docker\` CLI, a process per call (what it used before,
and still uses behind a docker context), in the same run for the ratio.

A round of 4 through a Supervisor (spawn → each Lab's first /status answer, cold and with
LOOM_LAB_POOL) is \`bench/round-start.bench.ts\`.

**Direct**: from \`runtime.run(labSpec(...))\` (through the real runtime from \`selectRuntime\`) to the first 200
from \`GET /status\` over the Lab's socket, polled every ${POLL_MS} ms. Each Lab is contained as the Supervisor
runs it: a real clone with program.md on \`lab/gen-N\` (\`prepareWorkspace\`, not timed), no network, its
socket folder with the model proxy's socket and the secrets file, the Lab's token on /status. It is
stopped and removed right after it answers (4 at once: after all four answered). The alternative
(**floor**) is a bare \`node -e "http.createServer(...).listen(socket)"\` started through the same runtime
with the same spec (image, mounts, env, limits, no network); "Loom's cost" is Lab p50 − floor p50. 1 Lab:
${SINGLE_RUNS} runs each, Lab and floor interleaved, after one unmeasured start of each; 4 at once:
${CONCURRENT_ROUNDS} rounds, every Lab's own time counted. The 4-at-once target is on the slowest Lab.

| runtime | case | n | Lab p50 | Lab min–max | floor p50 | floor min–max | Lab / floor | Loom's cost | target |
|---|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}

Where the time of the 4-at-once starts went (p50 / max, from \`runtime.run\`'s call): the engine's StartedAt
(container created and its process started), \`run\` returned (the engine's answer to create + start), the Lab's "serving" log line
(its server listening: node's start and the Lab's imports), the first answer over the socket.

| runtime | variant | n | engine StartedAt | run returned | Lab serving | answered |
|---|---|---|---|---|---|---|
${phaseRows.join("\n")}

${localEntry === undefined ? "Local Labs were not run" : `Local Labs ran ${localEntry}`} (\`localLabEntry\`: the bundle when fresh, else \`bin/loom.js\`
through tsx); the docker image \`${DEFAULT_LAB_IMAGE}\` was built from revision \`${dockerImage}\`.

Machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.type()} ${os.release()}.
Shared machine; \`uptime\` at the start: \`${uptimeStart}\`; at the end: \`${uptimeEnd}\`.
Run at ${new Date().toISOString()}.
`;
await writeFile(path.join(here, "results", "lab-ready.md"), out);
console.log(out);
