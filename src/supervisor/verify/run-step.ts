import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type StepResult, TEST_OUTPUT_MAX_CHARS } from "../../../schemas/verification.ts";
import type { Config } from "../../shared/config.ts";
import { runGit } from "../../shared/git/run-git.ts";
import type { Gateway } from "../gateway/gateway.ts";
import { type RelayedTask, relayTask } from "../gateway/relay-task.ts";
import { stopAndRemove } from "../lifecycle/lab-cleanup.ts";
import { repoLabels } from "../lifecycle/lab-spec.ts";
import {
  type ContainerRuntime,
  type Launch,
  launch,
  type RunSpecInput,
  type WaitOutcome,
} from "../runtime/index.ts";

/** Where the clone appears inside a verification container. */
export const VERIFY_WORKDIR = "/verify";
/** Where the repo's installed packages appear (read-only) when a clone reuses them. */
export const VERIFY_PACKAGES = "/verify-packages/node_modules";
/** Room for a real test suite (type check, vitest workers), still bounded. */
export const VERIFY_LIMITS = { memoryMb: 4096, pids: 1024, cpus: 2 } as const;
const STOP_GRACE_MS = 1000;

export interface StepContext {
  readonly runtime: ContainerRuntime;
  readonly config: Config;
  readonly image: string;
  /** Host path of the clone the step runs in. */
  readonly clone: string;
  /** Host path of installed packages to mount read-only at VERIFY_PACKAGES (the clone links to them). */
  readonly packages: string | undefined;
  /** Value of the `loom.verify` label: `gen-N`, or `base-<sha>` for a baseline run. */
  readonly subject: string;
  readonly signal?: AbortSignal;
  readonly priority?: "background";
  /**
   * With a gateway (swarm; docker with LOOM_WORKSPACE_TRANSPORT=git): each step clones the candidate
   * through it (its relay) instead of a mount, so it can run on any node. Not for a clone whose packages
   * were installed into it (`viaMounts`).
   */
  readonly gateway?: Gateway;
  /** The install step wrote this clone's node_modules: every step sees the clone itself, mounted. */
  readonly viaMounts?: boolean;
  /** With a gateway, the install step's context: where what it installs is unpacked for the next steps. */
  readonly uploadPackagesTo?: string;
}

export interface StepRun {
  readonly result: StepResult;
  /** Everything the step printed (for counting tests), not only the kept tail. */
  readonly output: string;
  readonly timedOut: boolean;
}

/** The last `max` characters, marked when cut. */
export function tail(text: string, max = TEST_OUTPUT_MAX_CHARS): string {
  return text.length <= max ? text : `…${text.slice(text.length - max + 1)}`;
}

/** No secrets and nothing of the host: only what makes tools quiet and deterministic in a pipe. */
export const STEP_ENV: Readonly<Record<string, string>> = {
  CI: "1",
  NO_COLOR: "1",
  npm_config_update_notifier: "false",
  npm_config_fund: "false",
  npm_config_audit: "false",
};

/** The one step that needs a network: installing the candidate's packages when its lockfile changed. */
export const INSTALL_STEP = "install";

/**
 * A step runs the candidate's code, as hostile as the Lab that wrote it: no network at all. Only the
 * package install fetches (LOOM_NETWORK; the host's under `local`), and it runs no package's or the
 * candidate's install scripts, so none of the candidate's code runs while a network is there.
 */
function stepNetwork(ctx: StepContext, step: string): { network: string; env: Record<string, string> } {
  // Apple's CLI is not known to offer a network-less VM: there steps stay on LOOM_NETWORK (its warning says so).
  if (ctx.runtime.name === "apple") return { network: ctx.config.network, env: {} };
  if (step !== INSTALL_STEP) return { network: "none", env: {} };
  // Behind the relay (swarm; docker with git) a task is on the host's network, jailed or not.
  const host = ctx.runtime.name === "local" || ctx.runtime.name === "swarm" || ctx.gateway !== undefined;
  return {
    network: host ? "host" : ctx.config.network,
    env: { npm_config_ignore_scripts: "true" },
  };
}

export function stepSpec(
  ctx: StepContext,
  step: string,
  script: string,
  relay?: RelayedTask["relay"],
): Launch {
  const repo = repoLabels(ctx.config.repoPath);
  const net = stepNetwork(ctx, step);
  const spec: RunSpecInput = {
    image: ctx.image,
    entrypoint: "sh",
    command: ["-c", script],
    env: { ...STEP_ENV, ...net.env },
    labels: { ...repo, "loom.verify": ctx.subject, "loom.step": step },
    workdir: VERIFY_WORKDIR,
    network: net.network,
    name: `loom-verify-${ctx.subject}-${step}-${randomBytes(3).toString("hex")}`.replace(
      /[^a-zA-Z0-9_.-]/g,
      "-",
    ),
    limits: { ...VERIFY_LIMITS, ...(ctx.priority ? { priority: ctx.priority } : {}) },
    noNewPrivileges: true,
  };
  if (relay) return { spec: { ...spec, relay } };
  const mounts = [{ host: ctx.clone, container: VERIFY_WORKDIR, readOnly: false }];
  if (ctx.packages) mounts.push({ host: ctx.packages, container: VERIFY_PACKAGES, readOnly: true });
  return { spec, host: { mounts } };
}

/** With a gateway (swarm; docker with git), a step's way in: a git endpoint on its clone, for it alone. */
async function relayStep(ctx: StepContext, step: string): Promise<RelayedTask | undefined> {
  if (!ctx.gateway || ctx.runtime.name !== "swarm" || ctx.viaMounts || step === INSTALL_STEP)
    return undefined;
  const dir = await mkdtemp(path.join(os.tmpdir(), "loom-step-"));
  try {
    const commit = (await runGit(ctx.clone, ["rev-parse", "HEAD"])).trim();
    const key = `${ctx.subject}-${step}-${randomBytes(3).toString("hex")}`.replace(/[^A-Za-z0-9_.-]/g, "-");
    const relayed = await relayTask(ctx.gateway, {
      key,
      dir,
      repoPath: ctx.clone,
      checkout: { commit },
      ...(ctx.packages ? { packages: ctx.packages, packagesAt: VERIFY_PACKAGES } : {}),
      ...(step === INSTALL_STEP && ctx.uploadPackagesTo ? { uploadPackagesTo: ctx.uploadPackagesTo } : {}),
    });
    return {
      relay: relayed.relay,
      close: async () => {
        await relayed.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** How one verification container ended. */
interface SpecRun {
  readonly exitCode: number | null;
  readonly output: string;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

/**
 * Runs one container to its end, at most `timeoutMs`: past that, or when the signal fires, it is
 * killed. Its end is the engine's own answer (`wait`), not a poll. The container is removed whatever
 * happens; an abort throws.
 */
async function runSpec(ctx: StepContext, task: Launch, timeoutMs: number): Promise<SpecRun> {
  const { spec } = task;
  const started = performance.now();
  // Stopped already (a shutdown): a container started now could outlive the Supervisor.
  if (ctx.signal?.aborted)
    throw new Error(
      `verification of ${ctx.subject} was stopped before running ${spec.labels?.["loom.step"] ?? "a step"}`,
    );
  const handle = await launch(ctx.runtime, task, "a verification step on a mounted clone");
  let ended: WaitOutcome | undefined;
  let output = "";
  try {
    ended = await ctx.runtime.wait(handle.id, { timeoutMs, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    if (ended.kind === "timeout" || ended.kind === "aborted")
      await ctx.runtime.stop(handle.id, { timeoutMs: STOP_GRACE_MS }).catch(() => {});
    output = await ctx.runtime
      .logs(handle.id)
      .catch((err: Error) => `(the output could not be read: ${err.message})`);
  } finally {
    // An exited container has nothing left to stop.
    if (ended?.kind === "exited" || ended?.kind === "gone")
      await ctx.runtime.remove(handle.id).catch(() => {});
    else await stopAndRemove(ctx.runtime, handle.id, STOP_GRACE_MS);
  }
  if (ended.kind === "aborted")
    throw new Error(
      `verification of ${ctx.subject} was stopped while running ${spec.labels?.["loom.step"] ?? "a step"}`,
    );
  return {
    exitCode: ended.kind === "exited" ? (ended.exitCode ?? null) : null,
    output,
    timedOut: ended.kind === "timeout",
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * Runs one command (`sh -c script`) in a fresh container on the clone and waits for it, at most
 * `timeoutMs`: past that, or when `signal` fires, it is killed. The container is removed whatever
 * happens. Engine failures throw (they say nothing about the Lab's work); the command's own failure is data.
 */
export async function runStep(
  ctx: StepContext,
  step: string,
  script: string,
  timeoutMs: number,
): Promise<StepRun> {
  const relayed = await relayStep(ctx, step);
  let run: SpecRun;
  try {
    run = await runSpec(ctx, stepSpec(ctx, step, script, relayed?.relay), timeoutMs);
  } finally {
    await relayed?.close();
  }
  const marker = run.timedOut ? `\n[killed after ${timeoutMs} ms: LOOM_VERIFY_TIMEOUT_MS]\n` : "";
  return {
    result: {
      passed: !run.timedOut && run.exitCode === 0,
      exitCode: run.timedOut ? null : run.exitCode,
      output: tail(run.output + marker),
      durationMs: run.durationMs,
    },
    output: run.output,
    timedOut: run.timedOut,
  };
}
