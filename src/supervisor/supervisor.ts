import type { SupervisorEvent } from "../../schemas/events.ts";
import type { Config } from "../shared/config.ts";
import { ConfigError } from "../shared/errors.ts";
import { httpLimitsOf } from "../shared/http/limits.ts";
import { SseHub, SseSlots } from "../shared/http/sse.ts";
import { loomRoot as installedLoomRoot } from "../shared/loom-root.ts";
import { startGateway } from "./gateway/gateway.ts";
import { archive, fetchLabBranch, prepareWorkspace, promote, rollback } from "./git/index.ts";
import { GenerationController } from "./lifecycle/controller.ts";
import { LabPool } from "./lifecycle/lab-pool.ts";
import { DEFAULT_LAB_IMAGE } from "./lifecycle/lab-spec.ts";
import { type ReapResult, reapLeftovers } from "./lifecycle/reap.ts";
import { type ReconcileResult, reconcileIntents } from "./lifecycle/reconcile.ts";
import { createModelProxy, DEFAULT_UPSTREAM } from "./model-proxy/index.ts";
import { PrimeKeeper } from "./prime/prime-keeper.ts";
import { type ContainerRuntime, DockerRuntime, isHostRuntime, selectRuntime } from "./runtime/index.ts";
import { registryResolver } from "./runtime/swarm-images.ts";
import { assertBindAllowed, startSupervisorServer } from "./server/server.ts";
import { GenerationStore, IntentJournal } from "./store/index.ts";

export interface StartSupervisorOptions {
  readonly config: Config;
  /** Defaults to selectRuntime(config.runtime). */
  readonly runtime?: ContainerRuntime;
  readonly log: (line: string) => void;
  /** Override config.supervisorPort / config.bindHost (CLI flags; tests pass port 0). */
  readonly port?: number;
  readonly host?: string;
  /** Lab image for engine runtimes (default loom-lab:latest, or LOOM_LAB_IMAGE in the CLI). */
  readonly image?: string;
  /** Each event as it happens, besides the SSE stream. */
  readonly onEvent?: (event: SupervisorEvent) => void;
  readonly readyTimeoutMs?: number;
  readonly pollMs?: number;
  /** How long close() waits for a promotion or rollback in flight (default LOOM_SHUTDOWN_GRACE_MS). */
  readonly shutdownGraceMs?: number;
  /**
   * Keep a Prime running: started once the server listens, restarted on every promoted main behind a
   * health check (an unhealthy one reverts the promotion), stopped by close(). Absent: no Prime.
   */
  readonly prime?: PrimeOptions;
}

export interface PrimeOptions {
  /** Default LOOM_PRIME_PORT. */
  readonly port?: number;
  /** Default LOOM_PRIME_HEALTH_TIMEOUT_MS. */
  readonly healthTimeoutMs?: number;
  /** The Loom Prime runs when the repo is not a Loom checkout; default this installation. */
  readonly loomRoot?: string;
  /** Grace a stopping Prime gets before it is killed (default 10 s). */
  readonly stopGraceMs?: number;
  /** How often a running Prime is checked for having exited by itself (default 2 s). */
  readonly watchMs?: number;
}

export interface Supervisor {
  readonly url: string;
  readonly port: number;
  readonly runtime: ContainerRuntime;
  readonly controller: GenerationController;
  /** LOOM_LAB_POOL's Labs, when the runtime has them. */
  readonly labPool: LabPool | undefined;
  /** The Prime kept running, when `prime` was given. */
  readonly prime: PrimeKeeper | undefined;
  /** What restart safety found and cleaned on start. */
  readonly reaped: ReapResult;
  /** The interrupted promotions, rollbacks and reverts an earlier run journaled, finished or undone. */
  readonly reconciled: ReconcileResult;
  /**
   * Refuses new work, waits (bounded) for a promotion or rollback in flight, then stops Prime, any
   * running Lab (container removed, branch fetched, generation aborted) and the server.
   */
  close(): Promise<void>;
}

/** The composition root: store + runtime + git + lifecycle + HTTP server; reaps leftovers before serving. */
export async function startSupervisor(options: StartSupervisorOptions): Promise<Supervisor> {
  const { config, log } = options;
  const host = options.host ?? config.bindHost;
  const token = config.supervisorToken;
  // Refuse before touching anything, so a bad bind leaves no trace.
  assertBindAllowed(host, token);
  const store = await GenerationStore.open(config.stateDir);
  const journal = await IntentJournal.open(config.stateDir);
  // Under LOOM_RUNTIME=swarm the Lab image is pushed to a registry the nodes pull from, by digest.
  const images = registryResolver({
    stateDir: config.stateDir,
    registry: config.registry,
    port: config.registryPort,
    log,
  });
  const runtime =
    options.runtime ??
    (await selectRuntime(config.runtime, {
      log,
      stateDir: config.stateDir,
      swarm: { constraints: config.swarmConstraints ?? [], resolveImage: images.resolveImage },
    }));
  // A transport this runtime cannot give is refused before anything runs or is served.
  const relayed = gatewayTransport(runtime.name, config);
  // Limits from the config, so a value in .env applies as it does for Prime.
  const hub = new SseHub<SupervisorEvent>(200, new SseSlots(config.sseMaxClients));
  const emit = (event: SupervisorEvent): void => {
    hub.publish(event);
    options.onEvent?.(event);
  };
  const git = { prepareWorkspace, fetchLabBranch };
  // Git and records first: an interrupted promotion is settled before anything reads main.
  const reconciled = await reconcileIntents({ store, journal, config, emit, primeKept: !!options.prime });
  for (const line of reconciled.actions) log(`supervisor: reconciled ${line}`);
  // Prime runs beside the Supervisor, its repo and state mounted: on a swarm, on the manager's own engine.
  const primeRuntime = options.prime ? (isHostRuntime(runtime) ? runtime : new DockerRuntime()) : undefined;
  const reaped = await reapLeftovers({
    store,
    runtime,
    ...(primeRuntime ? { primeRuntime } : {}),
    git,
    config,
    emit,
  });
  if (reaped.containers.length + reaped.workspaces.length + reaped.aborted.length > 0) {
    log(
      `supervisor: reaped ${reaped.containers.length} container(s), ${reaped.workspaces.length} workspace(s); aborted ${reaped.aborted.length} generation(s)`,
    );
  }
  // This installation of Loom: what the local runtime runs as a Lab.
  const loomRoot = installedLoomRoot() ?? process.cwd();
  const prime =
    options.prime && primeRuntime
      ? new PrimeKeeper({
          runtime: primeRuntime,
          config,
          store,
          journal,
          emit,
          loomRoot: options.prime.loomRoot ?? loomRoot,
          image: options.image ?? DEFAULT_LAB_IMAGE,
          port: options.prime.port ?? config.primePort,
          healthTimeoutMs: options.prime.healthTimeoutMs ?? config.primeHealthTimeoutMs,
          ...(options.pollMs ? { pollMs: options.pollMs } : {}),
          ...(options.prime.stopGraceMs !== undefined ? { stopGraceMs: options.prime.stopGraceMs } : {}),
          ...(options.prime.watchMs !== undefined ? { watchMs: options.prime.watchMs } : {}),
        })
      : undefined;
  // Every Lab's only way to its model: one socket and token per generation, the real key stays here.
  const modelProxy = createModelProxy({
    upstream: config.labApiBase ?? DEFAULT_UPSTREAM,
    apiKey: config.labApiKey,
    log: (line) => log(`model proxy: ${line}`),
  });
  // Under swarm a Lab may run on any node: it reaches its generation through the gateway, not mounts
  // (docker too, with LOOM_WORKSPACE_TRANSPORT=git).
  const gateway = relayed
    ? await startGateway({
        host: config.bindHost,
        port: config.gatewayPort,
        ...(config.gatewayUrl ? { url: config.gatewayUrl.replace(/\/+$/, "") } : {}),
      })
    : undefined;
  if (gateway) log(`supervisor: Lab gateway at ${gateway.url} (LOOM_GATEWAY_URL)`);
  const labPool = labPoolFor(runtime, config, relayed, {
    image: options.image ?? DEFAULT_LAB_IMAGE,
    loomRoot,
    log,
  });
  const controller = new GenerationController({
    store,
    runtime,
    git,
    config,
    emit,
    loomRoot,
    modelProxy,
    ...(gateway ? { gateway } : {}),
    ...(labPool ? { labPool } : {}),
    portsInUse: new Set<number>(),
    decide: { promote, rollback, archive },
    journal,
    ...(prime ? { prime } : {}),
    ...(config.fitness === "tasks"
      ? { tasks: (await import("../bench-agent/task-runner.ts")).benchTaskRunner(config, log) }
      : {}),
    ...(options.image ? { image: options.image } : {}),
    ...(options.readyTimeoutMs ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
  });
  // Before anyone can ask: a verification the last process left running is over.
  for (const n of await controller.recoverVerifications()) {
    log(`supervisor: the verification of gen-${n} was cut short by the last stop; recorded stopped`);
  }
  let server: Awaited<ReturnType<typeof startSupervisorServer>>;
  try {
    server = await startSupervisorServer({
      host,
      port: options.port ?? config.supervisorPort,
      token,
      promoteMode: config.promote,
      api: controller,
      hub,
      limits: httpLimitsOf(config),
      log,
    });
  } catch (err) {
    hub.close();
    throw err;
  }
  // After the server listens: Prime talks to it from its first moment.
  await prime?.start(server.url, reconciled.unchecked);
  labPool?.fill();
  const graceMs = options.shutdownGraceMs ?? config.shutdownGraceMs;
  return {
    url: server.url,
    port: server.port,
    runtime,
    controller,
    labPool,
    prime,
    reaped,
    reconciled,
    close: async () => {
      // A promotion in flight finishes first (bounded); one that does not is settled by the next start.
      if (!(await controller.drain(graceMs))) {
        log(
          `supervisor: a promotion or rollback still ran after ${graceMs} ms; its journal lets the next start finish it`,
        );
      }
      // Prime next, so it starts nothing new while the Lab is being stopped.
      await prime?.close();
      await controller.close();
      await labPool?.close();
      await modelProxy.closeAll();
      await gateway?.close();
      await server.close();
      await images.close();
    },
  };
}

/**
 * LOOM_LAB_POOL's Labs, where a Lab is a container whose workspace is mounted (docker, podman); elsewhere
 * the setting is named in the log as not applying, and every Lab starts when spawned.
 */
function labPoolFor(
  runtime: ContainerRuntime,
  config: Config,
  relayed: boolean,
  at: { image: string; loomRoot: string; log: (line: string) => void },
): LabPool | undefined {
  if (config.labPool === 0) return undefined;
  if (relayed || !isHostRuntime(runtime) || runtime.name === "local" || runtime.name === "apple") {
    at.log(
      `supervisor: LOOM_LAB_POOL=${config.labPool} does not apply to ${relayed ? "Labs that reach their workspace through the gateway" : `the ${runtime.name} runtime`} (only docker and podman with the workspace mounted); every Lab starts when spawned`,
    );
    return undefined;
  }
  return new LabPool({
    runtime,
    config,
    size: config.labPool,
    image: at.image,
    loomRoot: at.loomRoot,
    log: (line) => at.log(`supervisor: ${line}`),
  });
}

/**
 * Whether Labs and steps reach their generation through the gateway: always under swarm (a node shares
 * no folder with the Supervisor), under docker when LOOM_WORKSPACE_TRANSPORT=git; nowhere else.
 */
function gatewayTransport(runtime: ContainerRuntime["name"], config: Config): boolean {
  if (runtime === "swarm") {
    if (config.sources.LOOM_WORKSPACE_TRANSPORT !== "default" && config.workspaceTransport === "mount")
      throw new ConfigError(
        "LOOM_WORKSPACE_TRANSPORT=mount cannot be used with LOOM_RUNTIME=swarm: a Lab on another node shares no folder with the Supervisor (swarm always uses git)",
      );
    return true;
  }
  if (config.workspaceTransport !== "git") return false;
  if (runtime !== "docker")
    throw new ConfigError(
      `LOOM_WORKSPACE_TRANSPORT=git needs LOOM_RUNTIME=docker or swarm (the relay runs in a container on the host's network); this Supervisor runs ${runtime}: use mount`,
    );
  return true;
}
