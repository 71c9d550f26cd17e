import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { type StepResult, TEST_OUTPUT_MAX_CHARS } from "../../../schemas/verification.ts";
import type { Config } from "../../shared/config.ts";
import { stopAndRemove } from "../lifecycle/lab-cleanup.ts";
import { repoLabels } from "../lifecycle/lab-spec.ts";
import type { ContainerRuntime, RunSpecInput, WaitOutcome } from "../runtime/index.ts";

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
  return {
    network: ctx.runtime.name === "local" ? "host" : ctx.config.network,
    env: { npm_config_ignore_scripts: "true" },
  };
}

export function stepSpec(ctx: StepContext, step: string, script: string): RunSpecInput {
  const repo = repoLabels(ctx.config.repoPath);
  const mounts: RunSpecInput["mounts"] = [{ host: ctx.clone, container: VERIFY_WORKDIR }];
  if (ctx.packages) mounts.push({ host: ctx.packages, container: VERIFY_PACKAGES, readOnly: true });
  const net = stepNetwork(ctx, step);
  return {
    image: ctx.image,
    entrypoint: "sh",
    command: ["-c", script],
    env: { ...STEP_ENV, ...net.env },
    labels: { ...repo, "loom.verify": ctx.subject, "loom.step": step },
    workdir: VERIFY_WORKDIR,
    mounts,
    network: net.network,
    name: `loom-verify-${ctx.subject}-${step}-${randomBytes(3).toString("hex")}`.replace(
      /[^a-zA-Z0-9_.-]/g,
      "-",
    ),
    limits: { ...VERIFY_LIMITS, ...(ctx.priority ? { priority: ctx.priority } : {}) },
    noNewPrivileges: true,
  };
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
 * killed. Its end is the engine's own answer (`wait`), not a poll. Its output is read unless
 * `needsOutput` says the step left everything it needs elsewhere. The container is removed whatever
 * happens; an abort throws.
 */
async function runSpec(
  ctx: StepContext,
  spec: RunSpecInput,
  timeoutMs: number,
  needsOutput: () => Promise<boolean> = async () => true,
): Promise<SpecRun> {
  const started = performance.now();
  // Stopped already (a shutdown): a container started now could outlive the Supervisor.
  if (ctx.signal?.aborted)
    throw new Error(
      `verification of ${ctx.subject} was stopped before running ${spec.labels?.["loom.step"] ?? "a step"}`,
    );
  const handle = await ctx.runtime.run(spec);
  let ended: WaitOutcome | undefined;
  let output = "";
  try {
    ended = await ctx.runtime.wait(handle.id, { timeoutMs, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    if (ended.kind === "timeout" || ended.kind === "aborted")
      await ctx.runtime.stop(handle.id, { timeoutMs: STOP_GRACE_MS }).catch(() => {});
    if (await needsOutput())
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
  const run = await runSpec(ctx, stepSpec(ctx, step, script), timeoutMs);
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

/** One command of a batch; batches run their `parallel` group together, then the rest in order. */
export interface BatchStep {
  readonly name: string;
  readonly command: string;
  /** Runs alongside the other parallel steps (at the start), instead of after them. */
  readonly parallel?: boolean;
}

/** Where a batch's per-step output files appear inside a verification container. */
export const VERIFY_OUT = "/verify-out";
const TIMEOUT_CODES = new Set([124, 137]);
const stepName = /^[a-z][a-z0-9-]*$/;

/** POSIX sh quoting: the command is data inside the batch script. */
const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * The batch script: each step under coreutils `timeout` (its own LOOM_VERIFY_TIMEOUT_MS), its output,
 * exit code and duration written to files in `out`; the parallel steps first, together, then the rest.
 */
export function batchScript(steps: readonly BatchStep[], out: string, timeoutMs: number): string {
  const secs = Math.max(1, Math.ceil(timeoutMs / 1000));
  const lines = [
    "set +e",
    `run() { s=$(date +%s%3N); timeout -k 5 ${secs} sh -c "$2" > ${quote(out)}/"$1".out 2>&1; echo $? > ${quote(out)}/"$1".rc; echo $(( $(date +%s%3N) - s )) > ${quote(out)}/"$1".ms; }`,
  ];
  const together = steps.filter((s) => s.parallel);
  const after = steps.filter((s) => !s.parallel);
  if (together.length > 0) {
    lines.push(`${together.map((s) => `run ${s.name} ${quote(s.command)} &`).join(" ")} wait`);
  }
  for (const s of after) lines.push(`run ${s.name} ${quote(s.command)}`);
  return lines.join("\n");
}

/**
 * Several commands in ONE fresh container (one start instead of one per step; the parallel ones use
 * both cores), each still with its own time limit, exit code, output and duration. The container is
 * removed whatever happens; engine failures throw, a command's failure is data.
 */
export async function runSteps(
  ctx: StepContext,
  steps: readonly BatchStep[],
  timeoutMs: number,
): Promise<Map<string, StepRun>> {
  for (const s of steps) {
    if (!stepName.test(s.name))
      throw new Error(`step name ${JSON.stringify(s.name)} is not a lowercase word`);
  }
  const local = ctx.runtime.name === "local";
  const outHost = `${ctx.clone}-out`;
  await rm(outHost, { recursive: true, force: true });
  await mkdir(outHost, { recursive: true });
  // The container's user writes the step files.
  if (!local) await chmod(outHost, 0o777);
  const out = local ? outHost : VERIFY_OUT;
  const parallel = steps.filter((s) => s.parallel).length > 0 ? 1 : 0;
  const serial = steps.filter((s) => !s.parallel).length;
  // Each step is limited inside; the container's own limit only catches a stuck shell.
  const overall = (parallel + serial) * (timeoutMs + 10_000);
  const spec = stepSpec(ctx, steps.map((s) => s.name).join("+"), batchScript(steps, out, timeoutMs));
  // local: a writable bind at its own host path (bwrap shows the rest of the host read-only).
  spec.mounts = [...(spec.mounts ?? []), { host: outHost, container: VERIFY_OUT }];
  try {
    const read = (name: string, ext: string) =>
      readFile(path.join(outHost, `${name}.${ext}`), "utf8").catch(() => undefined);
    // Each step's files, read once the container has exited; its own output only explains a step that
    // never finished.
    let files: (string | undefined)[][] = [];
    const someUnfinished = async () => {
      files = await Promise.all(
        steps.map((s) => Promise.all([read(s.name, "out"), read(s.name, "rc"), read(s.name, "ms")])),
      );
      return files.some(([, rc]) => rc === undefined);
    };
    const batch = await runSpec(ctx, spec, overall, someUnfinished);
    const runs = new Map<string, StepRun>();
    for (const [i, s] of steps.entries()) {
      const [output = "", rc, ms] = files[i] ?? [];
      const code = rc === undefined ? null : Number(rc.trim());
      const timedOut = code !== null && TIMEOUT_CODES.has(code);
      const missing = code === null || Number.isNaN(code);
      const marker = timedOut
        ? `\n[killed after ${timeoutMs} ms: LOOM_VERIFY_TIMEOUT_MS]\n`
        : missing
          ? `\n[the step did not finish: ${batch.timedOut ? "the verification container was killed" : "no exit code was written"}]\n${batch.output ? tail(batch.output, 2000) : ""}`
          : "";
      runs.set(s.name, {
        result: {
          passed: !timedOut && !missing && code === 0,
          exitCode: timedOut || missing ? null : code,
          output: tail(output + marker),
          durationMs: Number(ms?.trim()) || 0,
        },
        output,
        timedOut: timedOut || (missing && batch.timedOut),
      });
    }
    return runs;
  } finally {
    await rm(outHost, { recursive: true, force: true }).catch(() => {});
  }
}
