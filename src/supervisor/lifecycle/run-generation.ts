import { randomBytes } from "node:crypto";
import { appendFile, mkdir } from "node:fs/promises";
import path from "node:path";
import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import type { Config } from "../../shared/config.ts";
import { errorMessage } from "../../shared/errors.ts";
import type { Gateway } from "../gateway/gateway.ts";
import type { RelayedTask } from "../gateway/relay-task.ts";
import type { FetchLabBranchInput, PrepareWorkspaceInput } from "../git/index.ts";
import { createModelProxy, DEFAULT_UPSTREAM, type ModelProxy } from "../model-proxy/index.ts";
import {
  type ContainerHandle,
  type ContainerRuntime,
  type Endpoint,
  isHostRuntime,
  launch,
} from "../runtime/index.ts";
import type { GenerationPatch, GenerationStore } from "../store/index.ts";
import type { SupervisorEmit } from "./events.ts";
import { freePort } from "./free-port.ts";
import { finish, type Verdict, verdictOf } from "./lab-end.ts";
import {
  claimOrRemove,
  type LabPool,
  movePooledWorkspace,
  type PooledLab,
  repoPackages,
} from "./lab-pool.ts";
import { type LabSockets, makeLabSockets, removeStaleLabSockets, writeLabSecrets } from "./lab-sockets.ts";
import { DEFAULT_LAB_IMAGE, labSpec } from "./lab-spec.ts";
import { relayLab } from "./relay-lab.ts";
import { shareWorkspace } from "./share-workspace.ts";
import { type LabAddress, watchLab } from "./watch-lab.ts";

export interface LifecycleGit {
  prepareWorkspace(input: PrepareWorkspaceInput): Promise<string>;
  fetchLabBranch(input: FetchLabBranchInput): Promise<string>;
}

/** Everything a generation run touches, passed in so tests and the Supervisor wire real parts alike. */
export interface LifecyclePorts {
  readonly store: GenerationStore;
  readonly runtime: ContainerRuntime;
  readonly git: LifecycleGit;
  readonly config: Config;
  readonly emit: SupervisorEmit;
  readonly clock?: () => number;
  /** Container image for engine runtimes (default loom-lab:latest). */
  readonly image?: string;
  /** The Loom installation the local runtime runs. */
  readonly loomRoot: string;
  /** How long a Lab may take to first answer /status (default LOOM_LAB_READY_TIMEOUT_MS). */
  readonly readyTimeoutMs?: number;
  readonly pollMs?: number;
  /** Ports handed to running Labs; shared across runs so host-network Labs never collide. */
  readonly portsInUse?: Set<number>;
  /**
   * The Supervisor's model proxy, the Lab's only way to its model. Without one, a proxy is made for
   * this generation alone (from LOOM_LAB_API_BASE and the Lab key) and closed with it.
   */
  readonly modelProxy?: ModelProxy;
  /**
   * How a Lab reaches its generation without mounts (workspace by git, model proxy, lab.sock): under
   * swarm, and docker with LOOM_WORKSPACE_TRANSPORT=git. Absent: the socket folder and workspace are mounted.
   */
  readonly gateway?: Gateway;
  /** Labs started ahead (LOOM_LAB_POOL): a generation whose Lab mounts its workspace claims one. */
  readonly labPool?: LabPool;
}

export interface RunGenerationInput {
  /** An allocated record (outcome pending). */
  readonly generation: number;
  readonly program: string;
  /** Aborting stops the Lab and records the generation as aborted. */
  readonly signal?: AbortSignal;
  /** Called once the Lab's container runs (work that should not slow its start waits for this). */
  readonly onLabStarted?: () => void;
  /** The Lab's model when not LOOM_LAB_MODEL (a candidate's draw from LOOM_LAB_MODELS). */
  readonly model?: string;
  /** The ref its branch starts from when not main (an archived parent, refs/loom/archive/gen-P). */
  readonly from?: string;
  /** Named in the log lines of a round's candidate, e.g. "round 3, candidate 2 of 4". */
  readonly roundLabel?: string;
}

export function workspaceOf(stateDir: string, n: number): string {
  return path.join(stateDir, "workspaces", `gen-${n}`);
}

/**
 * Runs one generation until its Lab is over: workspace clone on lab/gen-N with program.md, the Lab
 * container, /status polling, the hard timeout. Whatever happens, the container is stopped and removed,
 * lab/gen-N is fetched back when the workspace holds it, the workspace is removed, and the record ends
 * `verifying` (Lab done, branch fetched) or terminal with a reason. Never throws for a Lab's failure.
 */
export async function runGeneration(
  ports: LifecyclePorts,
  input: RunGenerationInput,
): Promise<GenerationRecord> {
  const { store, runtime, config, emit } = ports;
  const n = input.generation;
  const signal = input.signal ?? new AbortController().signal;
  const now = ports.clock ?? Date.now;
  const taken = ports.portsInUse ?? new Set<number>();
  const workspace = workspaceOf(config.stateDir, n);
  const at = () => new Date(now()).toISOString();
  const log = (text: string) => emit({ type: "log", at: at(), generation: n, message: text });
  const labConfig = input.model ? { ...config, labModel: input.model } : config;
  const setOutcome = async (patch: GenerationPatch): Promise<GenerationRecord> => {
    const record = await store.update(n, patch);
    emit({ type: "generation", at: at(), generation: n, outcome: record.outcome, reason: record.reason });
    return record;
  };

  let verdict: Verdict;
  let containerId: string | undefined;
  let sockets: LabSockets | undefined;
  const ownProxy = ports.modelProxy ? undefined : labModelProxy(config, log);
  const proxy = ports.modelProxy ?? (ownProxy as ModelProxy);
  let proxyOpen = false;
  let exitedEarly = false;
  let finished = false;
  let port: number | undefined;
  let relayed: RelayedTask | undefined;
  let pooled: PooledLab | undefined;
  let answered = false;
  try {
    // Recorded while the workspace is made (a round's records are written one at a time); awaited
    // before the Lab starts, so no Lab runs under a record that does not say so.
    const running = setOutcome({ outcome: "running" });
    running.catch(() => {});
    // The repo's installed packages, for the Lab's tests and type check (a clone has no node_modules):
    // mounted read-only, and excluded in the clone so a Lab's commit never picks up the mount point.
    const packages = await repoPackages(config.repoPath);
    // A pooled Lab mounting what this one would takes the generation: from here it is this run's.
    if (ports.labPool && !ports.gateway && isHostRuntime(runtime))
      pooled = await ports.labPool.take(packages);
    if (pooled) {
      containerId = pooled.id;
      sockets = pooled.sockets;
      await movePooledWorkspace(pooled, workspace);
    }
    await ports.git.prepareWorkspace({
      repo: config.repoPath,
      workspace,
      generation: n,
      program: input.program,
      ...(input.from ? { from: input.from } : {}),
      ...(pooled ? { pooled: true } : {}),
    });
    if (signal.aborted) throw new Error("the Supervisor shut down before the Lab started");
    // The read-only schemas and acceptance mounts need their sources, even in a repo without them.
    await mkdir(path.join(workspace, "schemas"), { recursive: true });
    await mkdir(path.join(workspace, "acceptance"), { recursive: true });
    if (packages) await appendFile(path.join(workspace, ".git", "info", "exclude"), "\n/node_modules\n");
    if (runtime.name !== "local") await shareWorkspace(workspace);
    // Unique even where Labs share the host's network (local without bubblewrap).
    port = await freePort(taken);
    taken.add(port);
    const labToken = randomBytes(24).toString("hex");
    let lab: LabAddress;
    // Apple's VMs cannot share a unix socket: only there does a Lab keep a network and a port.
    if (runtime.name === "apple") lab = { url: "", token: labToken };
    else {
      // Folders a killed Supervisor left (its proxy no longer answers) go before a new one is made.
      for (const dir of await removeStaleLabSockets()) log(`cleanup: removed a stale socket folder ${dir}`);
      sockets ??= await makeLabSockets(n);
      const { token } = await proxy.open({
        generation: n,
        socketPath: sockets.modelSocket,
        budgetTokens: config.tokenBudget,
        // The image's user, not the Supervisor's, connects to it; the folder's parent is private.
        socketMode: 0o666,
      });
      proxyOpen = true;
      await writeLabSecrets(sockets, { apiKey: token, labToken });
      lab = { socketPath: sockets.labSocket, hostHeader: `127.0.0.1:${port}`, token: labToken };
      if (ports.gateway)
        relayed = await relayLab(ports.gateway, { generation: n, sockets, workspace, packages });
    }
    await running;
    const spec = labSpec({
      runtime: runtime.name,
      generation: n,
      port,
      workspace,
      config: labConfig,
      image: ports.image ?? DEFAULT_LAB_IMAGE,
      loomRoot: ports.loomRoot,
      ...(packages ? { packages } : {}),
      ...(sockets ? { sockets: sockets.dir } : { labToken }),
      ...(relayed ? { relay: relayed.relay } : {}),
    });
    let handle: (ContainerHandle & { readonly endpoints?: readonly Endpoint[] }) | undefined;
    if (pooled) {
      handle = await claimOrRemove(runtime, pooled, spec, log);
      if (!handle) containerId = undefined;
    }
    handle ??= await launch(runtime, spec, "a Lab whose workspace is mounted");
    containerId = handle.id;
    input.onLabStarted?.();
    for (const w of handle.warnings) log(w);
    await store.update(n, { containerId: handle.id });
    if ("url" in lab) {
      const endpoint = handle.endpoints?.find((e) => e.containerPort === port) ?? { host: "127.0.0.1", port };
      lab = {
        url: `http://${endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`,
        token: labToken,
      };
    }
    log(
      `Lab ${handle.name} ${pooled && handle.id === pooled.id ? "claimed from the pool" : "started"} on ${runtime.name}${input.roundLabel ? ` (${input.roundLabel}, model ${labConfig.labModel})` : ""}, /status at ${"url" in lab ? lab.url : `${lab.socketPath} (no network)`}`,
    );
    const end = await watchLab({
      runtime,
      containerId: handle.id,
      lab,
      timeoutMs: config.labTimeoutMs,
      readyTimeoutMs: ports.readyTimeoutMs ?? config.labReadyTimeoutMs,
      pollMs: ports.pollMs ?? 250,
      signal,
      now,
      onStatus: (s) => {
        // The pool is refilled once this Lab answers, not while it (and its round) start.
        if (!answered) ports.labPool?.fill();
        answered = true;
        emit({ type: "lab_status", at: at(), generation: n, status: s.status, progress: s.progress });
      },
      onToolCalls: (deltas) => {
        for (const d of deltas) emit({ type: "lab_tool", at: at(), generation: n, ...d });
      },
    });
    finished = end.kind === "finished";
    exitedEarly = end.kind === "exited";
    verdict = await verdictOf(end, ports, handle.id, workspace);
  } catch (err) {
    verdict = signal.aborted
      ? { outcome: "aborted", reason: `the Supervisor shut down: ${errorMessage(err)}` }
      : { outcome: "failed", reason: errorMessage(err) };
  }
  try {
    return await finish(ports, {
      n,
      workspace,
      containerId,
      verdict,
      exitedEarly,
      finished,
      relayed: relayed !== undefined,
      log,
      setOutcome,
      // Read once the Lab is gone: the proxy's count is final then.
      closeProxy: async () => {
        if (!proxyOpen) return undefined;
        proxyOpen = false;
        return proxy.close(n);
      },
    });
  } finally {
    // Released only once the Lab is gone, so no other Lab can be handed a port still in use.
    if (port !== undefined) taken.delete(port);
    await relayed?.close().catch((err) => log(`cleanup: gateway: ${errorMessage(err)}`));
    if (proxyOpen) await proxy.close(n).catch((err) => log(`cleanup: model proxy: ${errorMessage(err)}`));
    await ownProxy?.closeAll().catch(() => {});
    await sockets?.remove().catch((err) => log(`cleanup: ${errorMessage(err)}`));
  }
}

/** A proxy for one generation, when the caller keeps none (tests, tools that run one generation). */
function labModelProxy(config: Config, log: (text: string) => void): ModelProxy {
  return createModelProxy({
    upstream: config.labApiBase ?? DEFAULT_UPSTREAM,
    apiKey: config.labApiKey,
    log,
  });
}
