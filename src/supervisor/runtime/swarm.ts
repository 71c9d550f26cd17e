import { randomBytes } from "node:crypto";
import { errorMessage } from "../../shared/errors.ts";
import { sleepUntilAbort } from "../../shared/sleep-until-abort.ts";
import { parseDigestReference } from "../registry/reference.ts";
import { demuxLogs, EngineApi, engineFailure, engineMessage, imageFactsOf } from "./engine-api.ts";
import { cachedImageFacts } from "./jail.ts";
import { pollWait } from "./poll-wait.ts";
import {
  type Availability,
  type ContainerHandle,
  type ContainerInfo,
  type ContainerRuntime,
  type ContainerState,
  DEFAULT_STOP_TIMEOUT_MS,
  parseRunSpec,
  type RunSpecInput,
  RuntimeError,
  type WaitOptions,
  type WaitOutcome,
} from "./runtime.ts";
import { swarmServiceSpec, userLabels } from "./swarm-spec.ts";
import {
  type ApiNode,
  type ApiService,
  type ApiTask,
  ENDED,
  exitCodeOf,
  latest,
  taskState,
} from "./swarm-tasks.ts";

/**
 * Docker Swarm through the manager's Engine API: each `run` is a one-task service that Swarm schedules
 * on any node that satisfies LOOM_SWARM_CONSTRAINTS; the handle's id is the service's. Images run by the
 * reference `resolveImage` gives (pinned by digest in a registry every node pulls from), never by a tag a
 * node would try to pull from the internet.
 */

export interface SwarmOptions {
  /** The manager's DOCKER_HOST (`unix://...`); defaults to DOCKER_HOST, then /var/run/docker.sock. */
  readonly host?: string;
  /** Placement constraints added to every service. */
  readonly constraints?: readonly string[];
  /**
   * The reference nodes pull for a local image name (e.g. push it to Loom's registry, answer
   * `127.0.0.1:5000/loom-lab@sha256:…`). Without it only references already pinned by digest run.
   */
  readonly resolveImage?: (image: string) => Promise<string>;
  /** How often `wait` asks for the task's state. */
  readonly pollMs?: number;
  /**
   * How long `run` waits for the task to start (scheduling plus the node's pull). Past it, the handle is
   * returned with a warning that says why Swarm has not started it (e.g. no node meets the constraints).
   */
  readonly startTimeoutMs?: number;
}

/** How a stopped service ended, kept because scaling to 0 removes its task (and its logs) from the node. */
interface Tombstone {
  readonly exitCode: number | undefined;
  readonly logs: string;
  readonly startedAt: string | undefined;
}

export class SwarmRuntime implements ContainerRuntime {
  readonly name = "swarm" as const;
  private readonly api: EngineApi;
  private readonly constraints: readonly string[];
  private readonly resolveImage: (image: string) => Promise<string>;
  private readonly pollMs: number;
  private readonly startTimeoutMs: number;
  private readonly stopped = new Map<string, Tombstone>();
  /** Services whose task's node went down: what their logs say instead (the node took them along). */
  private readonly lost = new Map<string, string>();

  constructor(options: SwarmOptions = {}) {
    this.api = new EngineApi(options.host === undefined ? {} : { host: options.host });
    this.constraints = options.constraints ?? [];
    this.resolveImage = options.resolveImage ?? (async (image) => pinnedOnly(image));
    this.pollMs = options.pollMs ?? 250;
    this.startTimeoutMs = options.startTimeoutMs ?? 120_000;
  }

  async available(): Promise<Availability> {
    try {
      const info = await this.api.json<{ Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } }>(
        "GET",
        "/info",
      );
      const swarm = info?.Swarm;
      if (swarm?.LocalNodeState !== "active") {
        return {
          ok: false,
          reason: `the engine on ${this.api.socketPath} is not in a swarm (state ${swarm?.LocalNodeState ?? "unknown"}): run \`docker swarm init --advertise-addr 127.0.0.1\` (or join one), then start Loom again`,
        };
      }
      if (!swarm.ControlAvailable) {
        return {
          ok: false,
          reason: `the engine on ${this.api.socketPath} is a swarm worker; point DOCKER_HOST at a manager (\`docker node ls\` works there)`,
        };
      }
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: errorMessage(err) };
    }
  }

  async run(input: RunSpecInput): Promise<ContainerHandle> {
    const spec = parseRunSpec(input);
    const name = spec.name ?? `loom-${randomBytes(6).toString("hex")}`;
    const facts = await this.imageFacts(spec.image);
    const image = await this.resolveImage(spec.image);
    // Nothing of the Supervisor's host is in the spec: the task may land on any node the constraints allow.
    const body = swarmServiceSpec({ spec, name, image, facts, constraints: this.constraints });
    const r = await this.api.request("POST", "/services/create", body);
    if (r.status !== 201 && r.status !== 200) {
      const code = r.status === 400 ? "INVALID_SPEC" : "ENGINE_FAILED";
      throw new RuntimeError(
        code,
        `swarm service create ${name} (${spec.image}) failed: ${engineMessage(r)}`,
      );
    }
    const id = (JSON.parse(r.body.toString("utf8")) as { ID: string }).ID;
    const warnings: string[] = [];
    if (spec.limits.priority === "background")
      warnings.push("swarm has no CPU shares: a background task runs at normal priority");
    const task = await this.started(id);
    if (task.Status?.State !== "running" && !ENDED.has(task.Status?.State ?? "")) {
      const why = task.Status?.Err || task.Status?.Message || task.Status?.State || "not scheduled";
      warnings.push(`swarm service ${name} not started within ${this.startTimeoutMs} ms: ${why}`);
    }
    return { id, name, warnings };
  }

  /** Like `docker run -d`: back once the task runs (or already ended), or at startTimeoutMs. */
  private async started(id: string): Promise<ApiTask> {
    const deadline = Date.now() + this.startTimeoutMs;
    let task: ApiTask | undefined;
    for (;;) {
      task = latest(await this.tasks(id));
      const state = task?.Status?.State ?? "";
      if (task && (state === "running" || ENDED.has(state))) return task;
      if (Date.now() >= deadline) return task ?? { ID: "" };
      await new Promise((r) => setTimeout(r, 40));
    }
  }

  async stop(id: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    const service = await this.service(id);
    if (!service) {
      if (this.stopped.has(id)) return;
      throw new RuntimeError("NOT_FOUND", `no swarm service ${JSON.stringify(id)}`);
    }
    if (this.stopped.has(service.ID)) return;
    const tasks = await this.tasks(service.ID);
    const last = latest(tasks);
    const logs = await this.logs(service.ID).catch(() => "");
    const ended = last && taskState(last) === "exited";
    this.stopped.set(service.ID, {
      exitCode: ended ? exitCodeOf(last) : 137,
      logs,
      startedAt: last?.Status?.Timestamp,
    });
    if (ended) return;
    await this.scaleToZero(service, timeoutMs);
  }

  async remove(id: string): Promise<void> {
    this.stopped.delete(id);
    const service = await this.service(id);
    if (!service) return;
    this.stopped.delete(service.ID);
    const tasks = await this.tasks(service.ID);
    // Scaled to 0 first: the task is stopped and gone before the service is.
    await this.scaleToZero(service, 5_000).catch(() => undefined);
    // Then the service is deleted only once Swarm's task reaper has deleted its tasks (about 250 ms):
    // docker 20.10's manager dereferences a task the reaper deleted mid-delete and dies
    // (swarmkit SetServiceTasksRemove, no nil check). A task on a node that is down is never reaped.
    await this.untilTasksGone(service.ID, 15_000);
    const r = await this.api.request("DELETE", `/services/${encodeURIComponent(service.ID)}`);
    if (r.status !== 200 && r.status !== 204 && r.status !== 404)
      throw engineFailure("DELETE", "/services", r);
    // An agent removes its containers a moment after; the manager's own go now (this engine sees them),
    // so "removed" means no container left where the Supervisor runs. Other nodes follow within seconds.
    const here = await this.managerNodeId().catch(() => undefined);
    for (const t of tasks) {
      const container = t.Status?.ContainerStatus?.ContainerID;
      if (t.NodeID !== here || !container) continue;
      await this.api
        .request("DELETE", `/containers/${encodeURIComponent(container)}?force=true&v=true`)
        .catch(() => undefined);
    }
  }

  /** Until the service has no task left on a live node, at most `ms`. */
  private async untilTasksGone(serviceId: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const left = await this.tasks(serviceId);
      const live = await Promise.all(left.map(async (t) => !(t.NodeID && (await this.nodeDown(t.NodeID)))));
      if (!live.includes(true)) return;
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  async inspect(id: string): Promise<ContainerInfo | undefined> {
    const service = await this.service(id);
    if (!service) return undefined;
    return this.infoOf(service);
  }

  wait(id: string, options: WaitOptions): Promise<WaitOutcome> {
    return pollWait((x) => this.inspect(x), id, options, this.pollMs);
  }

  async logs(id: string, options: { tail?: number } = {}): Promise<string> {
    const service = await this.service(id);
    const kept = this.stopped.get(service?.ID ?? id);
    if (!service && !kept) throw new RuntimeError("NOT_FOUND", `no swarm service ${JSON.stringify(id)}`);
    let text: string;
    const lost = this.lost.get(service?.ID ?? id);
    if (kept || !service) text = kept?.logs ?? "";
    else if (lost) text = `${lost}\n`;
    else {
      const r = await this.api.request(
        "GET",
        `/services/${encodeURIComponent(service.ID)}/logs?stdout=true&stderr=true&follow=false`,
      );
      if (r.status === 404) throw new RuntimeError("NOT_FOUND", `no swarm service ${JSON.stringify(id)}`);
      if (r.status !== 200) throw engineFailure("GET", "/services/logs", r);
      text = demuxLogs(r.body);
    }
    if (options.tail === undefined) return text;
    const lines = text.split("\n");
    const trailing = lines.at(-1) === "" ? lines.pop() : undefined;
    const tail = Math.max(0, Math.floor(options.tail));
    return (
      lines.slice(tail === 0 ? lines.length : -tail).join("\n") + (trailing === "" && tail > 0 ? "\n" : "")
    );
  }

  async list(labels: Readonly<Record<string, string>>): Promise<ContainerInfo[]> {
    const filters = JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) });
    const services =
      (await this.api.json<ApiService[]>("GET", `/services?filters=${encodeURIComponent(filters)}`)) ?? [];
    const infos = await Promise.all(services.map((s) => this.infoOf(s)));
    return infos.filter((c) => Object.entries(labels).every(([k, v]) => c.labels[k] === v));
  }

  private async infoOf(service: ApiService): Promise<ContainerInfo> {
    const kept = this.stopped.get(service.ID);
    const task = latest(await this.tasks(service.ID));
    let state: ContainerState = kept ? "exited" : taskState(task);
    // Swarm leaves a task of a node that died "running" for ever: the node's state is the truth.
    if ((state === "running" || state === "created") && task?.NodeID) {
      const down = await this.nodeDown(task.NodeID);
      if (down) {
        state = "dead";
        this.lost.set(service.ID, down);
      }
    }
    const exitCode = kept ? kept.exitCode : state === "exited" && task ? exitCodeOf(task) : undefined;
    return {
      id: service.ID,
      name: service.Spec.Name,
      state,
      exitCode,
      oomKilled: false,
      labels: userLabels(service.Spec.Labels),
      startedAt: kept?.startedAt ?? (state === "created" ? undefined : task?.Status?.Timestamp),
    };
  }

  private service(id: string): Promise<ApiService | undefined> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id)) return Promise.resolve(undefined);
    return this.api.json<ApiService>("GET", `/services/${encodeURIComponent(id)}`);
  }

  private async tasks(serviceId: string): Promise<ApiTask[]> {
    const filters = JSON.stringify({ service: [serviceId] });
    return (await this.api.json<ApiTask[]>("GET", `/tasks?filters=${encodeURIComponent(filters)}`)) ?? [];
  }

  private managerNode: Promise<string> | undefined;

  private managerNodeId(): Promise<string> {
    this.managerNode ??= this.api.json<{ Swarm?: { NodeID?: string } }>("GET", "/info").then((info) => {
      const id = info?.Swarm?.NodeID;
      if (!id)
        throw new RuntimeError("ENGINE_FAILED", `the engine on ${this.api.socketPath} names no swarm node`);
      return id;
    });
    this.managerNode.catch(() => {
      this.managerNode = undefined;
    });
    return this.managerNode;
  }

  /** Where a service's task runs (or ran): the node's id, hostname and address; undefined before scheduling. */
  async placement(id: string): Promise<{ nodeId: string; hostname: string; address: string } | undefined> {
    const task = latest(await this.tasks(id));
    if (!task?.NodeID) return undefined;
    const node = await this.api.json<ApiNode>("GET", `/nodes/${encodeURIComponent(task.NodeID)}`);
    if (!node) return undefined;
    return {
      nodeId: task.NodeID,
      hostname: node.Description?.Hostname ?? "",
      address: node.Status?.Addr ?? "",
    };
  }

  /** Why the node is not there (down, disconnected, or left the swarm), or undefined while it is ready. */
  private async nodeDown(nodeId: string): Promise<string | undefined> {
    const node = await this.api.json<ApiNode>("GET", `/nodes/${encodeURIComponent(nodeId)}`);
    const name = node?.Description?.Hostname ?? nodeId;
    if (!node) return `swarm node ${name} left the swarm while running this task; its output is lost with it`;
    const st = node.Status?.State;
    if (st === "down" || st === "disconnected" || st === "unknown") {
      return `swarm node ${name} (${node.Status?.Addr ?? "no address"}) is ${st}${node.Status?.Message ? ` (${node.Status.Message})` : ""}; the task's output is lost with it`;
    }
    return undefined;
  }

  /** Replicas 0: Swarm sends SIGTERM, then SIGKILL after the grace period; waits until the task ended. */
  private async scaleToZero(service: ApiService, timeoutMs: number): Promise<void> {
    const current = await this.api.json<{ Version: { Index: number }; Spec: Record<string, unknown> }>(
      "GET",
      `/services/${encodeURIComponent(service.ID)}`,
    );
    if (!current) return;
    const spec = { ...current.Spec, Mode: { Replicated: { Replicas: 0 } } };
    const r = await this.api.request(
      "POST",
      `/services/${encodeURIComponent(service.ID)}/update?version=${current.Version.Index}`,
      spec,
    );
    if (r.status !== 200 && r.status !== 404) throw engineFailure("POST", "/services/update", r);
    const deadline = Date.now() + timeoutMs + 15_000;
    const never = new AbortController().signal;
    while (Date.now() < deadline) {
      const live = (await this.tasks(service.ID)).filter((t) => !ENDED.has(t.Status?.State ?? ""));
      const alive = await Promise.all(live.map(async (t) => !(t.NodeID && (await this.nodeDown(t.NodeID)))));
      if (!alive.includes(true)) return;
      await sleepUntilAbort(100, never);
    }
    throw new RuntimeError(
      "ENGINE_TIMEOUT",
      `swarm service ${service.Spec.Name} still has a running task ${timeoutMs + 15_000} ms after it was scaled to 0`,
    );
  }

  /** The image's entrypoint and user, from the manager's copy (the name the spec gives, before pinning). */
  private readonly imageFacts = cachedImageFacts(async (image) => {
    const facts = await imageFactsOf(this.api, image);
    if (facts) return facts;
    throw new RuntimeError(
      "INVALID_SPEC",
      `image ${image} is not on the swarm manager (${this.api.socketPath}); build it there (\`npm run image\`) so its entrypoint and user are known`,
    );
  });
}

/** Without a registry, only a reference pinned by digest: a tag would make each node pull it on its own. */
function pinnedOnly(image: string): string {
  if (parseDigestReference(image)) return image;
  throw new RuntimeError(
    "INVALID_SPEC",
    `the swarm runtime runs images pinned by digest from a registry every node can pull from, not ${JSON.stringify(image)}: push it (\`npm run image -- --push\`) or set LOOM_REGISTRY`,
  );
}
