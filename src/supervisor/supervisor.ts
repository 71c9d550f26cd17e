import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../shared/config.ts";
import { fetchLabBranch, prepareWorkspace, promote, rollback } from "./git/index.ts";
import { GenerationController } from "./lifecycle/controller.ts";
import type { SupervisorEvent } from "./lifecycle/events.ts";
import { type ReapResult, reapLeftovers } from "./lifecycle/reap.ts";
import { type ContainerRuntime, selectRuntime } from "./runtime/index.ts";
import { EventHub } from "./server/event-hub.ts";
import { assertBindAllowed, startSupervisorServer } from "./server/server.ts";
import { GenerationStore } from "./store/index.ts";

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
}

export interface Supervisor {
  readonly url: string;
  readonly port: number;
  readonly runtime: ContainerRuntime;
  readonly controller: GenerationController;
  /** What restart safety found and cleaned on start. */
  readonly reaped: ReapResult;
  /** Stops the server and any running Lab (container removed, branch fetched, generation aborted). */
  close(): Promise<void>;
}

/**
 * This installation of Loom, what the local runtime runs as a Lab: the nearest folder above this module
 * holding bin/loom.js (sources run from src/supervisor/, a bundle from dist/).
 */
function findLoomRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, "bin", "loom.js"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** The composition root: store + runtime + git + lifecycle + HTTP server; reaps leftovers before serving. */
export async function startSupervisor(options: StartSupervisorOptions): Promise<Supervisor> {
  const { config, log } = options;
  const host = options.host ?? config.bindHost;
  const token = config.supervisorToken;
  // Refuse before touching anything, so a bad bind leaves no trace.
  assertBindAllowed(host, token);
  const store = await GenerationStore.open(config.stateDir);
  const runtime =
    options.runtime ?? (await selectRuntime(config.runtime, { log, stateDir: config.stateDir }));
  const hub = new EventHub();
  const emit = (event: SupervisorEvent): void => {
    hub.publish(event);
    options.onEvent?.(event);
  };
  const git = { prepareWorkspace, fetchLabBranch };
  const reaped = await reapLeftovers({ store, runtime, git, config, emit });
  if (reaped.containers.length + reaped.workspaces.length + reaped.aborted.length > 0) {
    log(
      `supervisor: reaped ${reaped.containers.length} container(s), ${reaped.workspaces.length} workspace(s); aborted ${reaped.aborted.length} generation(s)`,
    );
  }
  const controller = new GenerationController({
    store,
    runtime,
    git,
    config,
    emit,
    loomRoot: findLoomRoot(),
    portsInUse: new Set<number>(),
    decide: { promote, rollback },
    ...(options.image ? { image: options.image } : {}),
    ...(options.readyTimeoutMs ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
  });
  let server: Awaited<ReturnType<typeof startSupervisorServer>>;
  try {
    server = await startSupervisorServer({
      host,
      port: options.port ?? config.supervisorPort,
      token,
      promoteMode: config.promote,
      api: controller,
      hub,
      log,
    });
  } catch (err) {
    hub.close();
    throw err;
  }
  return {
    url: server.url,
    port: server.port,
    runtime,
    controller,
    reaped,
    close: async () => {
      await controller.close();
      await server.close();
    },
  };
}
