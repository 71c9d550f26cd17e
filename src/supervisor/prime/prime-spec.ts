import { randomBytes } from "node:crypto";
import path from "node:path";
import type { Config } from "../../shared/config.ts";
import { repoLabels } from "../lifecycle/lab-spec.ts";
import type { ContainerRuntime, HostBindingInput, Mount, RunSpecInput } from "../runtime/index.ts";

export const PRIME_ROLE = "prime";
export const PRIME_LIMITS = { memoryMb: 2048, pids: 512, cpus: 1 } as const;

/** Every Prime carries the repo's labels (so restart reaping finds it) and its role. */
export function primeLabels(repoPath: string): Record<string, string> {
  return { ...repoLabels(repoPath), "loom.role": PRIME_ROLE };
}

/**
 * Prime's own variables and nothing of the Lab's: its key and base, its model, how to reach the
 * Supervisor, and the loop's limits. LOOM_LAB_API_KEY never crosses into Prime.
 */
export function primeEnv(config: Config, supervisorUrl: string): Record<string, string> {
  const env: Record<string, string> = {
    LOOM_MODEL: config.primeModel,
    LOOM_SUPERVISOR_URL: supervisorUrl,
    LOOM_PROMOTE: config.promote,
    LOOM_MAX_GENERATIONS: String(config.maxGenerations),
    LOOM_TOKEN_BUDGET: String(config.tokenBudget),
    LOOM_PLATEAU_WINDOW: String(config.plateauWindow),
    LOOM_MAX_ITERATIONS: String(config.maxIterations),
    LOOM_REQUEST_TIMEOUT_MS: String(config.requestTimeoutMs),
    LOOM_MAX_RETRIES: String(config.maxRetries),
    LOOM_MAX_CONTEXT_MESSAGES: String(config.maxContextMessages),
    // How long Prime waits for a Lab and for a verification: as long as the Supervisor lets them run.
    LOOM_LAB_TIMEOUT_MS: String(config.labTimeoutMs),
    LOOM_LAB_READY_TIMEOUT_MS: String(config.labReadyTimeoutMs),
    LOOM_VERIFY_TIMEOUT_MS: String(config.verifyTimeoutMs),
  };
  if (config.anthropicApiKey) env.ANTHROPIC_API_KEY = config.anthropicApiKey;
  if (config.primeBaseUrl) env.ANTHROPIC_BASE_URL = config.primeBaseUrl;
  if (config.supervisorToken) env.LOOM_SUPERVISOR_TOKEN = config.supervisorToken;
  return env;
}

export interface PrimeSpecInput {
  readonly runtime: ContainerRuntime["name"];
  readonly config: Config;
  readonly image: string;
  /** Host folder holding the bin/loom.js Prime runs: a checkout of main, or the installed Loom. */
  readonly code: string;
  /** Host node_modules an engine mounts read-only at `<code>/node_modules` (a checkout's); none for the installed Loom. */
  readonly nodeModules: string | undefined;
  /** Prime's read-write state folder on the host. */
  readonly primeState: string;
  readonly port: number;
  readonly supervisorUrl: string;
  /** The main commit served, for the label and the name. */
  readonly commit: string;
}

/**
 * One Prime. Every host folder appears inside at its own path, so the arguments, a checkout's links
 * and git worktree pointers mean the same under `local` and in a container. Code and repo are
 * read-only; only Prime's state folder is writable.
 */
export function primeSpec(input: PrimeSpecInput): { spec: RunSpecInput; host: HostBindingInput } {
  const { config } = input;
  const local = input.runtime === "local";
  const repo = config.repoPath;
  const same = (host: string, readOnly: boolean): Mount => ({ host, container: host, readOnly });
  const mounts: Mount[] = [same(repo, true)];
  if (input.code !== repo) mounts.push(same(input.code, true));
  if (!local && input.nodeModules)
    mounts.push({
      host: input.nodeModules,
      container: path.join(input.code, "node_modules"),
      readOnly: true,
    });
  mounts.push(same(input.primeState, false));
  const args = [
    path.join(input.code, "bin", "loom.js"),
    "prime",
    "--port",
    String(input.port),
    // Always the host's network (see `network` below), so loopback is where the Supervisor finds it.
    "--host",
    "127.0.0.1",
    "--repo",
    repo,
    "--state",
    input.primeState,
    "--supervisor",
    input.supervisorUrl,
  ];
  const repoHash = repoLabels(repo)["loom.repo"]?.slice(0, 8);
  const spec: RunSpecInput = {
    image: input.image,
    // The local runtime runs the Supervisor's own node; an engine the image's.
    entrypoint: local ? process.execPath : "node",
    command: args,
    env: primeEnv(config, input.supervisorUrl),
    labels: { ...primeLabels(repo), "loom.commit": input.commit },
    workdir: input.primeState,
    // Prime talks to the Supervisor on the host's loopback, which no bridge network reaches; Labs stay on
    // LOOM_NETWORK, from where the host's loopback (and so Prime) is out of reach.
    network: "host",
    // A fresh suffix: a Prime that could not be removed never blocks the next one's name.
    name: `loom-prime-${repoHash}-${input.commit.slice(0, 8)}-${randomBytes(2).toString("hex")}`,
    limits: { ...PRIME_LIMITS },
    noNewPrivileges: true,
  };
  return { spec, host: { mounts, ports: [{ container: input.port }] } };
}
