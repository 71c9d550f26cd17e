import { errorMessage } from "../../shared/errors.ts";
import { demuxLogs, type EngineApi, engineFailure, engineMessage, imageFactsOf } from "./engine-api.ts";
import { BUILTIN_NETWORKS, type EngineFlavor, knownEndpoints, planEngineRun } from "./engine-body.ts";
import { parseEngineInspect } from "./engine-inspect.ts";
import { cachedImageFacts } from "./jail.ts";
import {
  type Availability,
  type ContainerInfo,
  DEFAULT_STOP_TIMEOUT_MS,
  type HostBindingInput,
  type HostContainerInfo,
  type HostHandle,
  type HostRuntime,
  type RunSpecInput,
  RuntimeError,
  type WaitOptions,
  type WaitOutcome,
} from "./runtime.ts";

/**
 * Docker through its Engine API on the local socket: the same containers the CLI makes (one create
 * body, engine-body.ts), without a `docker` process per call. Starting four Labs at once, those
 * processes were most of the time spent before the Labs' own start; the suite's polls and waits
 * paid the same.
 */

const id = (x: string) => encodeURIComponent(x);

export class EngineApiRuntime implements HostRuntime {
  readonly name = "docker" as const;
  private readonly networksReady = new Set<string>();

  /** `api()` is asked on every call, so a DOCKER_HOST changed since is followed as the CLI would. */
  constructor(
    private readonly api: () => EngineApi,
    private readonly flavor: EngineFlavor,
  ) {}

  async available(): Promise<Availability> {
    try {
      const r = await this.api().request("GET", "/_ping", undefined, { timeoutMs: 15_000 });
      if (r.status === 200) return { ok: true };
      return { ok: false, reason: `the Docker engine answered /_ping with ${r.status}: ${engineMessage(r)}` };
    } catch (err) {
      return { ok: false, reason: errorMessage(err) };
    }
  }

  run(input: RunSpecInput): Promise<HostHandle> {
    return this.runOnHost(input, {});
  }

  async runOnHost(input: RunSpecInput, binding: HostBindingInput): Promise<HostHandle> {
    const api = this.api();
    const plan = await planEngineRun(input, binding, {
      name: this.name,
      flavor: this.flavor,
      imageFacts: this.imageFacts,
    });
    const { spec, name } = plan;
    if (spec.network && !plan.task) await this.ensureNetwork(api, spec.network);
    const created = await api.request("POST", `/containers/create?name=${id(name)}`, plan.body, {
      timeoutMs: 120_000,
    });
    if (created.status === 404)
      throw new RuntimeError(
        "ENGINE_FAILED",
        `docker run ${spec.image} failed: the engine has no image ${spec.image} (${engineMessage(created)}); build it (\`npm run image\` for Loom's Lab image) or pull it`,
      );
    if (created.status !== 201)
      throw new RuntimeError(
        "ENGINE_FAILED",
        `docker run ${spec.image} failed (${created.status}): ${engineMessage(created)}`,
      );
    const containerId = (JSON.parse(created.body.toString("utf8")) as { Id: string }).Id;
    const started = await api
      .request("POST", `/containers/${id(containerId)}/start`, undefined, { timeoutMs: 120_000 })
      .catch((err: unknown) => err as Error);
    if (started instanceof Error || (started.status !== 204 && started.status !== 304)) {
      // Created but not started (bad command, port clash): never leave it behind.
      await api.request("DELETE", `/containers/${id(containerId)}?force=true&v=true`).catch(() => undefined);
      if (started instanceof Error) throw started;
      throw new RuntimeError(
        "ENGINE_FAILED",
        `docker run ${spec.image} failed (${started.status}): ${engineMessage(started)}`,
      );
    }
    const endpoints = knownEndpoints(plan) ?? (await this.inspect(containerId))?.endpoints ?? [];
    return { id: containerId, name, endpoints, warnings: [] };
  }

  async stop(cid: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    const seconds = Math.max(0, Math.ceil(timeoutMs / 1000));
    const r = await this.api().request("POST", `/containers/${id(cid)}/stop?t=${seconds}`, undefined, {
      timeoutMs: timeoutMs + 30_000,
    });
    // 304: it had already stopped.
    if (r.status === 204 || r.status === 304) return;
    if (r.status === 404) throw new RuntimeError("NOT_FOUND", `no docker container ${JSON.stringify(cid)}`);
    throw engineFailure("POST", "/containers/stop", r);
  }

  async remove(cid: string): Promise<void> {
    const r = await this.api().request("DELETE", `/containers/${id(cid)}?force=true&v=true`, undefined, {
      timeoutMs: 60_000,
    });
    // 404: already gone; 409 "removal already in progress" ends the same way.
    if (
      r.status === 204 ||
      r.status === 404 ||
      (r.status === 409 && /already in progress/.test(engineMessage(r)))
    )
      return;
    throw engineFailure("DELETE", "/containers", r);
  }

  async inspect(cid: string): Promise<HostContainerInfo | undefined> {
    const r = await this.api().request("GET", `/containers/${id(cid)}/json`);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw engineFailure("GET", "/containers/json", r);
    return parseEngineInspect(`[${r.body.toString("utf8")}]`)[0];
  }

  /** The engine answers the wait when the container exits: no polling. */
  async wait(cid: string, options: WaitOptions): Promise<WaitOutcome> {
    const timeout = AbortSignal.timeout(Math.max(0, options.timeoutMs));
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let r: Awaited<ReturnType<EngineApi["request"]>>;
    try {
      r = await this.api().request("POST", `/containers/${id(cid)}/wait`, undefined, {
        signal,
        timeoutMs: options.timeoutMs + 30_000,
      });
    } catch (err) {
      if (!(err instanceof RuntimeError) || err.code !== "ABORTED") throw err;
      return options.signal?.aborted ? { kind: "aborted" } : { kind: "timeout" };
    }
    if (r.status === 404) return { kind: "gone" };
    if (r.status !== 200) throw engineFailure("POST", "/containers/wait", r);
    const code = (JSON.parse(r.body.toString("utf8")) as { StatusCode?: unknown }).StatusCode;
    return {
      kind: "exited",
      exitCode: typeof code === "number" && Number.isInteger(code) ? code : undefined,
    };
  }

  async logs(cid: string, options: { tail?: number } = {}): Promise<string> {
    const tail = options.tail === undefined ? "all" : String(Math.max(0, Math.floor(options.tail)));
    const r = await this.api().request("GET", `/containers/${id(cid)}/logs?stdout=1&stderr=1&tail=${tail}`);
    if (r.status === 404) throw new RuntimeError("NOT_FOUND", `no docker container ${JSON.stringify(cid)}`);
    if (r.status !== 200) throw engineFailure("GET", "/containers/logs", r);
    return demuxLogs(r.body);
  }

  async list(labels: Readonly<Record<string, string>>): Promise<ContainerInfo[]> {
    const api = this.api();
    const filters = JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) });
    const found = await api.json<{ Id: string }[]>("GET", `/containers/json?all=1&filters=${id(filters)}`);
    // One inspect each, at once; a container removed in between is simply not listed.
    const infos = await Promise.all((found ?? []).map((c) => this.inspect(c.Id)));
    return infos.filter(
      (c): c is HostContainerInfo =>
        c !== undefined && Object.entries(labels).every(([k, v]) => c.labels[k] === v),
    );
  }

  /** The image's entrypoint and user, which the jail needs to run its command as the image would. */
  private readonly imageFacts = cachedImageFacts(async (image) => {
    const facts = await imageFactsOf(this.api(), image);
    if (facts) return facts;
    throw new RuntimeError(
      "INVALID_SPEC",
      `docker has no image ${image}: build it (\`npm run image\`) or pull it`,
    );
  });

  /** A named user network must exist before the create; make it (labelled as Loom's) the first time. */
  private async ensureNetwork(api: EngineApi, network: string): Promise<void> {
    if (BUILTIN_NETWORKS.has(network) || this.networksReady.has(network)) return;
    const found = await api.request("GET", `/networks/${id(network)}`);
    if (found.status === 404) {
      const made = await api.request("POST", "/networks/create", {
        Name: network,
        CheckDuplicate: true,
        Labels: { "loom.managed": "true" },
      });
      // Another supervisor may have made it meanwhile; only a still-missing network is an error.
      if (made.status !== 201 && made.status !== 409)
        throw new RuntimeError(
          "ENGINE_FAILED",
          `docker network create ${network} failed (${made.status}): ${engineMessage(made)}`,
        );
    } else if (found.status !== 200) throw engineFailure("GET", "/networks", found);
    this.networksReady.add(network);
  }
}
