import { z } from "zod";
import { LoomError } from "../../shared/errors.ts";
import { formatIssues } from "../../shared/zod-issues.ts";

/**
 * One interface over container engines (docker, podman, Apple's `container`, a Docker Swarm) and the
 * embedded `local` backend. `ContainerRuntime` and its `RunSpec` name nothing of a host: no host path, no
 * host port. A task lands wherever the runtime puts it (any node of a swarm) and reaches Loom through
 * the gateway (`relay`) or not at all. Only a runtime bound to the Supervisor's own host (`HostRuntime`:
 * docker, podman, apple, local) also takes a `HostBinding` — bind mounts and a port on the host — for the
 * faster workspace-by-mount path and for Prime, which runs beside the Supervisor.
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
  /** A container path (the local backend maps it through the host binding's mount that contains it). */
  workdir: absolutePath.optional(),
  /** "host" shares the network of the node it runs on; "none" (or absent, under swarm) has only its own lo. */
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
  return parseOrRefuse(RunSpec, input, "container spec");
}

function parseOrRefuse<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new RuntimeError(
      "INVALID_SPEC",
      `invalid ${what}: ${formatIssues(parsed.error, { root: "(spec)" })}`,
    );
  }
  return parsed.data;
}

export const Mount = z.strictObject({
  host: absolutePath,
  container: absolutePath,
  readOnly: z.boolean().default(false),
});
export type Mount = z.infer<typeof Mount>;

/**
 * What a task asks of the Supervisor's own host, given only to a `HostRuntime`: host folders bind-mounted
 * at container paths, and container ports reachable from the host (on the host's network, the same port).
 */
export const HostBinding = z.strictObject({
  mounts: z.array(Mount).default([]),
  ports: z.array(z.strictObject({ container: port })).default([]),
});
export type HostBindingInput = z.input<typeof HostBinding>;
export type HostBinding = z.infer<typeof HostBinding>;

/** A spec and its host binding, as a host runtime's backend reads them (one object, both validated). */
export type HostRunSpec = RunSpec & HostBinding;

export function parseHostRunSpec(input: RunSpecInput, binding: HostBindingInput = {}): HostRunSpec {
  const spec = parseRunSpec(input);
  if (spec.relay && ((binding.mounts?.length ?? 0) > 0 || (binding.ports?.length ?? 0) > 0))
    throw new RuntimeError(
      "INVALID_SPEC",
      "a task that reaches Loom through the gateway (spec.relay) takes no host binding: nothing of the host is mounted or published for it",
    );
  return { ...spec, ...parseOrRefuse(HostBinding, binding, "host binding") };
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
}

export interface ContainerHandle {
  readonly id: string;
  readonly name: string;
  /** Parts of the spec this backend could not honour (e.g. limits under `local`). */
  readonly warnings: readonly string[];
}

/** A host runtime's answer: also where each of the binding's ports is reachable from the host. */
export interface HostHandle extends ContainerHandle {
  readonly endpoints: readonly Endpoint[];
}

/** What a host runtime's inspect also knows: the host endpoints of the container's ports. */
export interface HostContainerInfo extends ContainerInfo {
  readonly endpoints: readonly Endpoint[];
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

/**
 * A runtime bound to the Supervisor's own host: it can also mount the host's folders and publish a port
 * there. `run(spec)` is `runOnHost(spec, {})`.
 */
export interface HostRuntime extends ContainerRuntime {
  readonly name: "docker" | "podman" | "apple" | "local";
  runOnHost(spec: RunSpecInput, binding: HostBindingInput): Promise<HostHandle>;
  inspect(id: string): Promise<HostContainerInfo | undefined>;
}

export function isHostRuntime(runtime: ContainerRuntime): runtime is HostRuntime {
  return typeof (runtime as Partial<HostRuntime>).runOnHost === "function";
}

/** The runtime as a host runtime, or a clear error naming what needs one (a swarm has no host of Loom's). */
function hostRuntime(runtime: ContainerRuntime, forWhat: string): HostRuntime {
  if (isHostRuntime(runtime)) return runtime;
  throw new RuntimeError(
    "INVALID_SPEC",
    `${forWhat} needs the Supervisor's own host (mounts or a host port), which the ${runtime.name} runtime does not give; it reaches its tasks through the gateway only`,
  );
}

/**
 * A task to start: its spec, and, when it reaches Loom through the Supervisor's host rather than the
 * gateway, what it needs of that host. `host` present means only a host runtime can start it.
 */
export interface Launch {
  readonly spec: RunSpecInput;
  readonly host?: HostBindingInput;
}

/** Starts a launch: on the host when it asks for it (or a clear error), else anywhere the runtime runs. */
export async function launch(
  runtime: ContainerRuntime,
  task: Launch,
  forWhat: string,
): Promise<ContainerHandle & { readonly endpoints?: readonly Endpoint[] }> {
  return task.host ? hostRuntime(runtime, forWhat).runOnHost(task.spec, task.host) : runtime.run(task.spec);
}

export type RuntimeLog = (message: string) => void;

export const DEFAULT_STOP_TIMEOUT_MS = 10_000;
