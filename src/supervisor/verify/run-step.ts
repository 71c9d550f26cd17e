import { randomBytes } from "node:crypto";
import { type StepResult, TEST_OUTPUT_MAX_CHARS } from "../../../schemas/verification.ts";
import type { Config } from "../../shared/config.ts";
import { stopAndRemove } from "../lifecycle/lab-cleanup.ts";
import { repoLabels } from "../lifecycle/lab-spec.ts";
import type { ContainerRuntime, RunSpecInput } from "../runtime/index.ts";

/** Where the clone appears inside a verification container. */
export const VERIFY_WORKDIR = "/verify";
/** Where the repo's installed packages appear (read-only) when a clone reuses them. */
export const VERIFY_PACKAGES = "/verify-packages/node_modules";
/** Room for a real test suite (type check, vitest workers), still bounded. */
export const VERIFY_LIMITS = { memoryMb: 4096, pids: 1024, cpus: 2 } as const;
const POLL_MS = 200;
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
const STEP_ENV: Record<string, string> = {
  CI: "1",
  NO_COLOR: "1",
  npm_config_update_notifier: "false",
  npm_config_fund: "false",
  npm_config_audit: "false",
};

export function stepSpec(ctx: StepContext, step: string, script: string): RunSpecInput {
  const local = ctx.runtime.name === "local";
  const repo = repoLabels(ctx.config.repoPath);
  const mounts: RunSpecInput["mounts"] = [{ host: ctx.clone, container: VERIFY_WORKDIR }];
  if (ctx.packages) mounts.push({ host: ctx.packages, container: VERIFY_PACKAGES, readOnly: true });
  return {
    image: ctx.image,
    entrypoint: "sh",
    command: ["-c", script],
    env: { ...STEP_ENV },
    labels: { ...repo, "loom.verify": ctx.subject, "loom.step": step },
    workdir: VERIFY_WORKDIR,
    mounts,
    network: local ? "host" : ctx.config.network,
    name: `loom-verify-${ctx.subject}-${step}-${randomBytes(3).toString("hex")}`.replace(
      /[^a-zA-Z0-9_.-]/g,
      "-",
    ),
    limits: { ...VERIFY_LIMITS },
    noNewPrivileges: true,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  const started = performance.now();
  const handle = await ctx.runtime.run(stepSpec(ctx, step, script));
  let timedOut = false;
  let aborted = false;
  let exitCode: number | null = null;
  let output = "";
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await ctx.runtime.inspect(handle.id);
      if (!info || info.state === "exited" || info.state === "dead") {
        exitCode = info?.exitCode ?? null;
        break;
      }
      if (ctx.signal?.aborted) {
        aborted = true;
        break;
      }
      if (Date.now() >= deadline) {
        timedOut = true;
        break;
      }
      await sleep(POLL_MS);
    }
    if (timedOut || aborted) await ctx.runtime.stop(handle.id, { timeoutMs: STOP_GRACE_MS }).catch(() => {});
    output = await ctx.runtime
      .logs(handle.id)
      .catch((err: Error) => `(the output could not be read: ${err.message})`);
  } finally {
    await stopAndRemove(ctx.runtime, handle.id, STOP_GRACE_MS);
  }
  const durationMs = Math.round(performance.now() - started);
  if (aborted) throw new Error(`verification of ${ctx.subject} was stopped while running ${step}`);
  const marker = timedOut ? `\n[killed after ${timeoutMs} ms: LOOM_VERIFY_TIMEOUT_MS]\n` : "";
  return {
    result: {
      passed: !timedOut && exitCode === 0,
      exitCode: timedOut ? null : exitCode,
      output: tail(output + marker),
      durationMs,
    },
    output,
    timedOut,
  };
}
