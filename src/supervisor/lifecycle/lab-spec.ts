import { createHash } from "node:crypto";
import path from "node:path";
import type { Config } from "../../shared/config.ts";
import type { ContainerRuntime, RunSpecInput } from "../runtime/index.ts";
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
  /** The port the Lab serves /status on (inside the container). */
  readonly port: number;
  /** Host path of the generation's clone. */
  readonly workspace: string;
  readonly config: Config;
  readonly image: string;
  /** The Loom installation the `local` runtime runs (its Lab bundle when fresh, else `bin/loom.js`). */
  readonly loomRoot: string;
}

/**
 * Only the Lab's own variables cross into it: its key (LOOM_LAB_API_KEY, which Config already resolves
 * to the Lab key when one is set), base, model and loop limits. Prime's ANTHROPIC_API_KEY never does.
 */
export function labEnv(config: Config, bindHost: string): Record<string, string> {
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
  if (config.labApiKey) env.LOOM_LAB_API_KEY = config.labApiKey;
  if (config.labApiBase) env.LOOM_LAB_API_BASE = config.labApiBase;
  return env;
}

/** The container spec of one Lab; `local` runs the same `loom lab` with the host's node (see localLabEntry). */
export function labSpec(input: LabSpecInput): RunSpecInput {
  const { config, generation: n, port } = input;
  const local = input.runtime === "local";
  const hostNetwork = local || config.network === "host";
  // The local runtime maps only the working directory, not arguments: there the workspace is its host path.
  const inside = local ? input.workspace : LAB_WORKSPACE;
  const args = ["lab", "--workspace", inside, "--generation", String(n), "--port", String(port), "--exit"];
  return {
    image: input.image,
    command: local ? [process.execPath, localLabEntry(input.loomRoot), ...args] : args,
    // On a bridge network the Lab must listen on all its interfaces for the published port to reach it.
    env: labEnv(config, hostNetwork ? "127.0.0.1" : "0.0.0.0"),
    labels: { ...repoLabels(config.repoPath), "loom.generation": String(n) },
    workdir: LAB_WORKSPACE,
    mounts: [
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
    ],
    ports: [{ container: port }],
    network: local ? "host" : config.network,
    name: `loom-gen-${n}-${repoLabels(config.repoPath)["loom.repo"]?.slice(0, 8)}`,
    limits: { ...LAB_LIMITS },
    noNewPrivileges: true,
  };
}
