// The Lab start of a round as the Supervisor lives it: `controller.spawn(program, {candidates: K})`
// on a real Supervisor (its runtime, model proxy, sockets, no network, the default /status poll), on
// the demo round's repository (vitest, so main's baseline is measured while the Labs start, as in a
// real round). Per Lab: spawn → container running (workspace clone, sockets, `run`) and spawn → the
// Supervisor's first /status answer (its lab_status event). A fresh repository and Supervisor per
// round, so no round finds main's baseline cached by the one before.
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import type { SupervisorEvent } from "../schemas/events.ts";
import { demoProgram, demoRoundRepoFiles } from "../src/demo/demo-repo.ts";
import { loadConfig } from "../src/shared/config.ts";
import { startScriptedModel } from "../src/shared/scripted-model/index.ts";
import type { ContainerRuntime } from "../src/supervisor/runtime/index.ts";
import { startSupervisor } from "../src/supervisor/supervisor.ts";

export interface LabStart {
  /** Spawn → the Lab's container runs (`runtime.run` returned). */
  readonly runningMs: number;
  /** Spawn → the Supervisor's first answer from the Lab's /status. */
  readonly readyMs: number;
}

const loomNodeModules = () =>
  path.dirname(path.dirname(createRequire(import.meta.url).resolve("tsx/package.json")));

async function demoRepo(repo: string): Promise<void> {
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

const TERMINAL = new Set(["verifying", "failed", "timed_out", "aborted"]);

/** One round of `k` Labs through a fresh Supervisor; every Lab's start, in candidate order. */
export async function supervisedRoundStart(
  runtime: "docker" | "local",
  k: number,
  /** `engine`: the runtime the Supervisor is given (default: the one LOOM_RUNTIME selects). */
  /** `pool`: LOOM_LAB_POOL; the round is spawned once that many pooled Labs are ready (as after a round). */
  options: {
    pollMs?: number;
    engine?: ContainerRuntime;
    pool?: number;
    /** Told how long the pool took to fill from the Supervisor's start (the cost paid ahead). */
    onPoolFilled?: (ms: number) => void;
  } = {},
): Promise<LabStart[]> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), "loom-bench-round-start-"));
  const repo = path.join(scratch, "repo");
  await demoRepo(repo);
  // Each Lab ends its run at its first model call: the round is over soon after every Lab answered.
  const model = await startScriptedModel(Array.from({ length: k * 4 }, () => ({ text: "nothing to do" })));
  const config = loadConfig({
    cwd: scratch,
    env: {
      LOOM_REPO_PATH: repo,
      LOOM_STATE_DIR: path.join(scratch, "state"),
      LOOM_RUNTIME: runtime,
      LOOM_NETWORK: "host",
      LOOM_LAB_API_KEY: "bench-key",
      LOOM_LAB_API_BASE: model.url,
      LOOM_MAX_RETRIES: "0",
      LOOM_LAB_POOL: String(options.pool ?? 0),
    },
  });
  const running = new Map<number, number>();
  const ready = new Map<number, number>();
  const ended = new Set<number>();
  let allEnded: () => void = () => {};
  const over = new Promise<void>((resolve) => {
    allEnded = resolve;
  });
  const onEvent = (e: SupervisorEvent) => {
    const now = performance.now();
    if (!("generation" in e) || e.generation === null) return;
    const n = e.generation;
    if (e.type === "log" && /^Lab \S+ (started|claimed from the pool) on /.test(e.message) && !running.has(n))
      running.set(n, now);
    if (e.type === "lab_status" && !ready.has(n)) ready.set(n, now);
    if (e.type === "generation" && TERMINAL.has(e.outcome)) {
      ended.add(n);
      if (ended.size === k) allEnded();
    }
  };
  const started = performance.now();
  const supervisor = await startSupervisor({
    config,
    log: () => {},
    port: 0,
    onEvent,
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
    ...(options.engine ? { runtime: options.engine } : {}),
  });
  try {
    for (let waited = 0; (supervisor.labPool?.size ?? 0) < (options.pool ?? 0); waited += 20) {
      if (waited > 120_000) throw new Error(`the pool did not fill in 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (options.pool) options.onPoolFilled?.(performance.now() - started);
    const t0 = performance.now();
    const spawned = await supervisor.controller.spawn(demoProgram, { candidates: k });
    const trace = (what: string) =>
      process.env.LOOM_BENCH_TRACE && console.error(`  ${what} at ${(performance.now() - t0).toFixed(0)} ms`);
    await Promise.race([
      over,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("the round did not end in 120 s")), 120_000),
      ),
    ]);
    trace("every Lab ended");
    return spawned.generations.map(({ generation: n }) => {
      const r = running.get(n);
      const s = ready.get(n);
      if (r === undefined || s === undefined) {
        throw new Error(`gen-${n} never ${r === undefined ? "started" : "answered /status"}`);
      }
      return { runningMs: r - t0, readyMs: s - t0 };
    });
  } finally {
    const c0 = performance.now();
    await supervisor.close();
    if (process.env.LOOM_BENCH_TRACE)
      console.error(`  supervisor closed in ${(performance.now() - c0).toFixed(0)} ms`);
    await model.close();
    await rm(scratch, { recursive: true, force: true }).catch((err: Error) =>
      console.error(`cleanup: ${err.message}`),
    );
  }
}
