import { z } from "zod";
import { LoomError } from "../../shared/errors.ts";
import { formatIssues } from "../../shared/zod-issues.ts";

/**
 * One interface over container engines (docker, podman, Apple's `container`) and the embedded `local`
 * backend. Bind mounts and host ports are details each backend resolves; callers speak in container
 * paths and container ports and get real host endpoints back.
 */

export type RuntimeErrorCode =
  | "INVALID_SPEC"
  | "ENGINE_NOT_FOUND"
  | "ENGINE_UNAVAILABLE"
  | "ENGINE_FAILED"
  | "ENGINE_TIMEOUT"
  | "NOT_FOUND"
  | "BAD_ENGINE_OUTPUT"
  | "RUNTIME_UNAVAILABLE"
  | "UNKNOWN_RUNTIME"
  | "ABORTED";

export class RuntimeError extends LoomError {
  declare readonly code: RuntimeErrorCode;
  constructor(code: RuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

const envName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    "environment names are letters, digits and '_', not starting with a digit",
  );
const labelKey = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}$/, "label keys are letters, digits, '.', '-', '_' or '/'");
const absolutePath = z.string().refine((p) => p.startsWith("/"), "must be an absolute path");
const port = z.number().int().min(1).max(65535);

export const Mount = z.strictObject({
  host: absolutePath,
  container: absolutePath,
  readOnly: z.boolean().default(false),
});
export type Mount = z.infer<typeof Mount>;

export const RunSpec = z.strictObject({
  image: z.string().min(1),
  command: z.array(z.string()).min(1, "command needs at least the program to run"),
  /**
   * Replaces the image's entrypoint with this program, `command` becoming its arguments (verification
   * and Prime containers run `node`/`sh` in the Lab image). The local backend runs it first in the line.
   */
  entrypoint: z.string().min(1).optional(),
  /** The whole environment the container sees (plus what the engine itself adds); never the host's. */
  env: z.record(envName, z.string()).default({}),
  labels: z
    .record(
      labelKey,
      z.string().refine((v) => !/[\r\n]/.test(v), "label values may not contain newlines"),
    )
    .default({}),
  /** A container path; the local backend maps it through the mount that contains it. */
  workdir: absolutePath.optional(),
  mounts: z.array(Mount).default([]),
  ports: z.array(z.strictObject({ container: port })).default([]),
  /** "host" shares the host's network (an endpoint is then the same port on 127.0.0.1). */
  network: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "network names are letters, digits, '_', '.' or '-'")
    .optional(),
  name: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, "names are letters, digits, '_', '.' or '-'")
    .optional(),
  limits: z
    .strictObject({
      memoryMb: z.number().int().min(6).optional(),
      pids: z.number().int().min(1).optional(),
      cpus: z.number().positive().optional(),
      /**
       * "background": yields the CPU to every normal container when both want it (work done ahead of
       * time, such as a baseline measured while a Lab works). Docker/podman CPU shares, `nice` locally.
       */
      priority: z.enum(["normal", "background"]).optional(),
    })
    .default({}),
  noNewPrivileges: z.boolean().default(true),
  /**
   * Swarm and docker: the task reaches Loom through the Supervisor's gateway at `url`, not through
   * mounts. Loom's relay (`loom lab-relay`) runs first, as root on the host's network, rebuilds the
   * workspace and socket folder from the gateway, and runs the command in the jail (no network). Other
   * runtimes refuse it (`refuseRelay`).
   */
  relay: z
    .strictObject({
      url: z.string().regex(/^http:\/\/[^/\s]+$/, "the gateway's URL is http://HOST:PORT"),
      token: z.string().regex(/^[0-9a-f]{64}$/, "a gateway token is 64 hex digits"),
    })
    .optional(),
});
/** What callers write (defaults optional). */
export type RunSpecInput = z.input<typeof RunSpec>;
/** What backends read (defaults filled). */
export type RunSpec = z.infer<typeof RunSpec>;

/** Validates a spec once, at the interface, with a message naming each bad field. */
export function parseRunSpec(input: RunSpecInput): RunSpec {
  const parsed = RunSpec.safeParse(input);
  if (!parsed.success) {
    throw new RuntimeError(
      "INVALID_SPEC",
      `invalid container spec: ${formatIssues(parsed.error, { root: "(spec)" })}`,
    );
  }
  return parsed.data;
}

/** For a runtime that has no relay: a spec that asks for one is refused before anything starts. */
export function refuseRelay(spec: RunSpec, runtime: string): void {
  if (spec.relay)
    throw new RuntimeError(
      "INVALID_SPEC",
      `the ${runtime} runtime cannot reach Loom through the gateway (spec.relay); only docker and swarm can: use LOOM_WORKSPACE_TRANSPORT=mount here`,
    );
}

/** Where a container port is reachable from the host. */
export interface Endpoint {
  readonly containerPort: number;
  readonly host: string;
  readonly port: number;
}

export type ContainerState =
  | "created"
  | "running"
  | "paused"
  | "restarting"
  | "stopping"
  | "removing"
  | "exited"
  | "dead"
  | "unknown";

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly state: ContainerState;
  /** Undefined while running, or when the backend cannot know (e.g. Apple's CLI). */
  readonly exitCode: number | undefined;
  /** True when the engine killed it for exceeding its memory limit. */
  readonly oomKilled: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** ISO time; undefined if it never started. */
  readonly startedAt: string | undefined;
  readonly endpoints: readonly Endpoint[];
}

export interface ContainerHandle {
  readonly id: string;
  readonly name: string;
  readonly endpoints: readonly Endpoint[];
  /** Parts of the spec this backend could not honour (e.g. limits under `local`). */
  readonly warnings: readonly string[];
}

export interface Availability {
  readonly ok: boolean;
  /** Why it is not usable. */
  readonly reason?: string;
  /** Usable, but with a caveat the operator should see (weaker isolation). */
  readonly warning?: string;
}

/** How waiting for a container to end came out. */
export type WaitOutcome =
  | { readonly kind: "exited"; readonly exitCode: number | undefined }
  /** Unknown to the engine (never existed, or already removed). */
  | { readonly kind: "gone" }
  | { readonly kind: "timeout" }
  | { readonly kind: "aborted" };

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface ContainerRuntime {
  readonly name: "docker" | "podman" | "apple" | "local" | "swarm";
  available(): Promise<Availability>;
  /** Starts a container detached; the spec is validated first (INVALID_SPEC). */
  run(spec: RunSpecInput): Promise<ContainerHandle>;
  /** SIGTERM, then SIGKILL after timeoutMs. A container that already exited is fine; unknown → NOT_FOUND. */
  stop(id: string, options?: { timeoutMs?: number }): Promise<void>;
  /** Removes it, killing it if running. Idempotent: an unknown id is not an error. */
  remove(id: string): Promise<void>;
  inspect(id: string): Promise<ContainerInfo | undefined>;
  /**
   * Resolves once the container has exited (or is unknown), after at most `timeoutMs`, or early when
   * `signal` fires. Engines that can say so themselves answer the moment it exits (`docker wait`, the
   * child's exit event) instead of being polled: no delay, no CLI started every few hundred ms.
   */
  wait(id: string, options: WaitOptions): Promise<WaitOutcome>;
  /** stdout and stderr, interleaved as the backend keeps them; tail = last N lines. Unknown → NOT_FOUND. */
  logs(id: string, options?: { tail?: number }): Promise<string>;
  /** Every container (running or not) carrying all the given labels. */
  list(labels: Readonly<Record<string, string>>): Promise<ContainerInfo[]>;
}

export type RuntimeLog = (message: string) => void;

export const DEFAULT_STOP_TIMEOUT_MS = 10_000;
