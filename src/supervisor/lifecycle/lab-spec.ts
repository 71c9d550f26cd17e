import { createHash } from "node:crypto";
import path from "node:path";
import type { Config } from "../../shared/config.ts";
import { type LabClaim, STANDBY_SOCKET } from "../../shared/lab-claim.ts";
import type { ContainerRuntime, Launch } from "../runtime/index.ts";
import { LAB_SOCKET, LAB_SOCKET_DIR, MODEL_SOCKET, SECRETS_FILE } from "./lab-sockets.ts";
import { localLabEntry } from "./local-lab-entry.ts";

export const DEFAULT_LAB_IMAGE = "loom-lab:latest";
/** Where the workspace appears inside a Lab. */
export const LAB_WORKSPACE = "/workspace";
/**
 * Two CPUs: a Lab runs its own type check and tests (vitest workers, the eval worker thread) beside the
 * agent; on one CPU the demo generation's Lab phase took 1.5 s longer. Still a cap on bigger machines.
 */
export const LAB_LIMITS = { memoryMb: 2048, pids: 512, cpus: 2 } as const;

/** Labels every Lab carries: Loom's mark plus which repo it serves, so two Supervisors never reap each other's. */
export function repoLabels(repoPath: string): Record<string, string> {
  const hash = createHash("sha256").update(path.resolve(repoPath)).digest("hex").slice(0, 16);
  return { loom: "1", "loom.repo": hash };
}

export interface LabSpecInput {
  /** Host path of the repo's installed packages, mounted read-only as the workspace's node_modules. */
  readonly packages?: string;
  readonly runtime: ContainerRuntime["name"];
  readonly generation: number;
  /** The port the Lab serves /status on inside the container (behind lab.sock when it has sockets). */
  readonly port: number;
  /**
   * Host path of the generation's socket folder (lab-sockets.ts). With it the Lab runs without network:
   * it serves on its socket there, reaches the model only through the proxy's socket, and reads its
   * secrets from the file there. Without it (Apple's VMs cannot share a unix socket) it keeps a port.
   */
  readonly sockets?: string;
  /** Without sockets, the token the Lab's server requires, passed in its environment (apple). */
  readonly labToken?: string;
  /** Host path of the generation's clone. */
  readonly workspace: string;
  readonly config: Config;
  readonly image: string;
  /** The Loom installation the `local` runtime runs (its Lab bundle when fresh, else `bin/loom.js`). */
  readonly loomRoot: string;
  /**
   * Swarm: the Lab reaches its generation through the gateway (lifecycle/relay-lab.ts): nothing is
   * mounted; the relay in front of it clones the workspace and rebuilds the socket folder.
   */
  readonly relay?: { readonly url: string; readonly token: string };
}

/**
 * Only the Lab's own variables cross into it: its model, base and loop limits. Prime's
 * ANTHROPIC_API_KEY never does. A Lab behind the model proxy (`modelSocket`) gets no key and no base at
 * all (its token arrives in the secrets file); one without (apple) gets its own key and base.
 */
export function labEnv(
  config: Config,
  bindHost: string,
  modelSocket?: string,
  labToken?: string,
): Record<string, string> {
  const env: Record<string, string> = {
    LOOM_LAB_MODEL: config.labModel,
    LOOM_MAX_ITERATIONS: String(config.maxIterations),
    LOOM_TOKEN_BUDGET: String(config.tokenBudget),
    LOOM_REQUEST_TIMEOUT_MS: String(config.requestTimeoutMs),
    LOOM_MAX_RETRIES: String(config.maxRetries),
    LOOM_TOOL_TIMEOUT_MS: String(config.toolTimeoutMs),
    LOOM_EVAL_TIMEOUT_MS: String(config.evalTimeoutMs),
    LOOM_MAX_CONTEXT_MESSAGES: String(config.maxContextMessages),
    LOOM_BIND_HOST: bindHost,
  };
  if (modelSocket) {
    env.LOOM_LAB_MODEL_SOCKET = modelSocket;
    return env;
  }
  if (config.labApiKey) env.LOOM_LAB_API_KEY = config.labApiKey;
  if (config.labApiBase) env.LOOM_LAB_API_BASE = config.labApiBase;
  if (labToken) env.LOOM_LAB_TOKEN = labToken;
  return env;
}

/**
 * The container spec of one Lab, and what it needs of the host unless it reaches its generation through
 * the gateway (`relay`); `local` runs the same `loom lab` with the host's node (see localLabEntry).
 */
export function labSpec(input: LabSpecInput): Launch {
  const { config, generation: n, port } = input;
  const local = input.runtime === "local";
  // The local runtime maps only the working directory, not arguments: there paths are host paths.
  const inside = local ? input.workspace : LAB_WORKSPACE;
  const sockets = input.sockets === undefined ? undefined : local ? input.sockets : LAB_SOCKET_DIR;
  // With sockets the port is the Lab's own loopback (its private network), reached through lab.sock.
  const args = ["lab", "--workspace", inside, "--generation", String(n), "--port", String(port), "--exit"];
  if (sockets) args.push("--socket", `${sockets}/${LAB_SOCKET}`, "--secrets", `${sockets}/${SECRETS_FILE}`);
  const loopback = sockets !== undefined || config.network === "host";
  const spec = {
    image: input.image,
    command: local ? [process.execPath, localLabEntry(input.loomRoot), ...args] : args,
    // On a bridge network the Lab must listen on all its interfaces for the published port to reach it.
    env: labEnv(
      config,
      loopback ? "127.0.0.1" : "0.0.0.0",
      sockets && `${sockets}/${MODEL_SOCKET}`,
      input.labToken,
    ),
    labels: { ...repoLabels(config.repoPath), "loom.generation": String(n) },
    workdir: LAB_WORKSPACE,
    // No network at all: the sockets are the Lab's only way out.
    network: sockets ? "none" : config.network,
    name: `loom-gen-${n}-${repoLabels(config.repoPath)["loom.repo"]?.slice(0, 8)}`,
    limits: { ...LAB_LIMITS },
    noNewPrivileges: true,
  };
  if (input.relay) return { spec: { ...spec, relay: input.relay } };
  const mounts = [
    { host: input.workspace, container: LAB_WORKSPACE },
    { host: path.join(input.workspace, "schemas"), container: `${LAB_WORKSPACE}/schemas`, readOnly: true },
    // The frozen acceptance suite: a Lab runs it but may not change it.
    {
      host: path.join(input.workspace, "acceptance"),
      container: `${LAB_WORKSPACE}/acceptance`,
      readOnly: true,
    },
    ...(input.packages
      ? [{ host: input.packages, container: `${LAB_WORKSPACE}/node_modules`, readOnly: true }]
      : []),
    ...(input.sockets ? [{ host: input.sockets, container: LAB_SOCKET_DIR }] : []),
  ];
  return { spec, host: { mounts, ports: sockets ? [] : [{ container: port }] } };
}

/** The label a pooled Lab carries (its slot's name) until it is claimed and beyond. */
export const POOL_LABEL = "loom.pool";

/**
 * A pooled Lab's container (lab-pool.ts): a Lab's spec — the same image, mounts, limits, no network —
 * whose command waits for a claim (`loom lab-standby`) instead of naming a generation. Only for engine
 * runtimes with the socket folder mounted.
 */
export function standbyLabSpec(
  input: Omit<LabSpecInput, "generation" | "port" | "labToken" | "relay" | "sockets"> & {
    readonly sockets: string;
    readonly slot: string;
  },
): Launch {
  const cold = labSpec({ ...input, generation: 1, port: 1 });
  const repo = repoLabels(input.config.repoPath);
  return {
    spec: {
      ...cold.spec,
      command: ["lab-standby", "--socket", `${LAB_SOCKET_DIR}/${STANDBY_SOCKET}`],
      labels: { ...repo, [POOL_LABEL]: input.slot },
      name: `loom-pool-${input.slot}-${repo["loom.repo"]?.slice(0, 8)}`,
    },
    ...(cold.host ? { host: cold.host } : {}),
  };
}

/** What claiming a pooled Lab sends it: the command line and environment of the generation's own spec. */
export function labClaimOf(launch: Launch): LabClaim {
  return { args: [...launch.spec.command], env: { ...launch.spec.env } };
}
