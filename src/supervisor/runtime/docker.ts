import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { EngineApi } from "./engine-api.ts";
import { EngineApiRuntime } from "./engine-api-runtime.ts";
import type { EngineFlavor } from "./engine-body.ts";
import { EngineCliRuntime, type EngineOptions } from "./engine-runtime.ts";
import type {
  Availability,
  ContainerInfo,
  HostBindingInput,
  HostContainerInfo,
  HostHandle,
  HostRuntime,
  RunSpecInput,
  WaitOptions,
  WaitOutcome,
} from "./runtime.ts";

/** `--init` so the command is not PID 1 and SIGTERM reaches it. */
const DOCKER: EngineFlavor = { init: true };
const DEFAULT_SOCKET = "unix:///var/run/docker.sock";

/**
 * Docker: through its Engine API on the local socket (no `docker` process per call), or through its CLI
 * when the CLI is what knows where the engine is — a binary given by name, a DOCKER_HOST that is not a
 * unix socket (tcp://, ssh://), or a docker context. Decided on each call, as the CLI reads its
 * environment on each run.
 */
export class DockerRuntime implements HostRuntime {
  readonly name = "docker" as const;
  private readonly cli: EngineCliRuntime;
  private readonly viaApi: EngineApiRuntime | undefined;
  private apiFor: { host: string; api: EngineApi } | undefined;

  constructor(options: EngineOptions = {}) {
    this.cli = new EngineCliRuntime("docker", DOCKER, options);
    this.viaApi = options.binary === undefined ? new EngineApiRuntime(() => this.api(), DOCKER) : undefined;
  }

  /** Which of the two answers now: the API when the engine is a unix socket the CLI would use too. */
  transport(): "api" | "cli" {
    return this.pick() === this.cli ? "cli" : "api";
  }

  private pick(): HostRuntime {
    return this.viaApi && socketHost() !== undefined ? this.viaApi : this.cli;
  }

  /** The API client for the socket in use (kept while DOCKER_HOST names the same one). */
  private api(): EngineApi {
    const host = socketHost() ?? DEFAULT_SOCKET;
    if (this.apiFor?.host !== host) this.apiFor = { host, api: new EngineApi({ host }) };
    return this.apiFor.api;
  }

  available(): Promise<Availability> {
    return this.pick().available();
  }
  run(spec: RunSpecInput): Promise<HostHandle> {
    return this.pick().runOnHost(spec, {});
  }
  runOnHost(spec: RunSpecInput, binding: HostBindingInput): Promise<HostHandle> {
    return this.pick().runOnHost(spec, binding);
  }
  stop(id: string, options?: { timeoutMs?: number }): Promise<void> {
    return this.pick().stop(id, options);
  }
  remove(id: string): Promise<void> {
    return this.pick().remove(id);
  }
  inspect(id: string): Promise<HostContainerInfo | undefined> {
    return this.pick().inspect(id);
  }
  wait(id: string, options: WaitOptions): Promise<WaitOutcome> {
    return this.pick().wait(id, options);
  }
  logs(id: string, options?: { tail?: number }): Promise<string> {
    return this.pick().logs(id, options);
  }
  list(labels: Readonly<Record<string, string>>): Promise<ContainerInfo[]> {
    return this.pick().list(labels);
  }
}

/**
 * The engine's unix socket as DOCKER_HOST names it (unset: the default socket), or undefined when
 * the CLI must decide: another scheme, or a context chosen by DOCKER_CONTEXT or the CLI's config.
 */
function socketHost(): string | undefined {
  const context = process.env.DOCKER_CONTEXT;
  if (context && context !== "default") return undefined;
  const host = process.env.DOCKER_HOST;
  if (host) return host.startsWith("unix://") && host.length > "unix://".length ? host : undefined;
  if (!context && configuredContext() !== undefined) return undefined;
  return DEFAULT_SOCKET;
}

let configured: { dir: string; context: string | undefined } | undefined;

/** The CLI config's `currentContext` when it names one other than "default" (read once per folder). */
function configuredContext(): string | undefined {
  const dir = process.env.DOCKER_CONFIG || path.join(os.homedir(), ".docker");
  if (configured?.dir !== dir) {
    let context: string | undefined;
    try {
      const config = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8")) as {
        currentContext?: unknown;
      };
      if (typeof config.currentContext === "string" && config.currentContext !== "default")
        context = config.currentContext;
    } catch {}
    configured = { dir, context };
  }
  return configured.context;
}
