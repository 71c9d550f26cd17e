import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { closeSync, promises as fs, openSync } from "node:fs";
import os from "node:os";
import { killGroupOnExit } from "./local-exit-guard.ts";
import { groupHasLiveMembers, isSameLiveProcess, procIdentity, signalGroup, sleep } from "./local-proc.ts";
import { type LocalRecord, LocalRegistry } from "./local-registry.ts";
import {
  detectBwrap,
  isContained,
  prepareNestedMounts,
  resolveCwd,
  type Sandbox,
  sandboxArgv,
} from "./local-sandbox.ts";
import { defaultHostView, type HostView } from "./local-view.ts";
import { pollWait } from "./poll-wait.ts";
import {
  type Availability,
  DEFAULT_STOP_TIMEOUT_MS,
  type HostBindingInput,
  type HostContainerInfo,
  type HostHandle,
  type HostRunSpec,
  type HostRuntime,
  parseHostRunSpec,
  type RunSpec,
  type RunSpecInput,
  RuntimeError,
  type RuntimeLog,
  refuseRelay,
  type WaitOptions,
  type WaitOutcome,
} from "./runtime.ts";

/**
 * The embedded runtime for machines without a container engine: the "container" is a detached host
 * process in its own process group, with a stripped environment and its own HOME, under bubblewrap
 * when that works. Isolation is weaker than a container and `available()` says so.
 */

export interface LocalOptions {
  /** Records, logs and HOME dirs live under `<stateDir>/runtime-local`. */
  readonly stateDir: string;
  readonly log?: RuntimeLog;
  /** "auto" uses bwrap when it works here; "none" never does. */
  readonly sandbox?: "auto" | "none";
  readonly bwrapBinary?: string;
  /** What a contained process sees of the host (default: the toolchain, this installation; state hidden). */
  readonly view?: HostView;
}

const KILL_GRACE_MS = 5_000;
const POLL_MS = 50;
const MAX_LOG_READ = 32 * 1024 * 1024;

export class LocalRuntime implements HostRuntime {
  readonly name = "local" as const;
  private readonly registry: LocalRegistry;
  private readonly log: RuntimeLog;
  private readonly options: LocalOptions;
  private sandbox: Promise<Sandbox> | undefined;
  private readonly view: HostView;
  /** Children this process started: their exit is recorded with its code. */
  private readonly exits = new Map<string, Promise<void>>();

  constructor(options: LocalOptions) {
    this.options = options;
    this.registry = new LocalRegistry(options.stateDir);
    this.log = options.log ?? (() => {});
    this.view = options.view ?? defaultHostView(options.stateDir);
  }

  private getSandbox(): Promise<Sandbox> {
    this.sandbox ??=
      this.options.sandbox === "none"
        ? Promise.resolve({ kind: "none", why: "sandboxing turned off" } as const)
        : detectBwrap(this.options.bwrapBinary);
    return this.sandbox;
  }

  /** Said once, at start-up (the Supervisor logs it): what this runtime does and does not contain. */
  async available(): Promise<Availability> {
    if (process.platform === "win32")
      return { ok: false, reason: "the local runtime needs process groups (Linux or macOS)" };
    const sandbox = await this.getSandbox();
    const common =
      "no memory/pids/cpu limits, image ignored (host binaries run); the Supervisor's own processes run as the same user";
    const warning =
      sandbox.kind === "bwrap"
        ? `local runtime: bubblewrap contains Labs and verification — own network namespace (only the model proxy's and the Lab's unix sockets), a pid namespace, a filesystem view of their workspace, the toolchain and this installation read-only, a private /tmp and HOME; ${common}`
        : `local runtime: NOT CONTAINED (${sandbox.why}) — Labs and verification run as plain host processes: network: not contained (they reach 127.0.0.1, the Supervisor's API and any host); filesystem: not contained (the whole host readable and writable as this user, the state folder, its log and other workspaces included; read-only mounts not enforced); processes: not contained (they can see and signal every process of this user); secrets: only the environment is stripped (no API key is passed, the proxy token is handed over in a file the Lab deletes), files readable by this user are readable to them; ${common}`;
    return { ok: true, warning };
  }

  run(input: RunSpecInput): Promise<HostHandle> {
    return this.runOnHost(input, {});
  }

  async runOnHost(input: RunSpecInput, binding: HostBindingInput): Promise<HostHandle> {
    const spec = parseHostRunSpec(input, binding);
    refuseRelay(spec, "local");
    const sandbox = await this.getSandbox();
    const id = randomBytes(6).toString("hex");
    const home = this.registry.homeOf(id);
    const cwd = resolveCwd(spec, home);
    await this.registry.create(id);
    try {
      await prepareNestedMounts(sandbox, spec.mounts);
      return await this.start(id, spec, sandbox, cwd, home);
    } catch (err) {
      await this.registry.delete(id);
      throw err;
    }
  }

  private async start(
    id: string,
    spec: HostRunSpec,
    sandbox: Sandbox,
    cwd: string,
    home: string,
  ): Promise<HostHandle> {
    // Background work is niced before it runs (set afterwards, a quick command could beat it); its
    // children inherit it.
    const argv = sandboxArgv(sandbox, spec, cwd, home, this.view);
    const [bin, ...args] = spec.limits.priority === "background" ? ["nice", "-n", "10", ...argv] : argv;
    // Only what the spec gives, plus PATH (to find programs) and the container's own HOME.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: home,
    };
    if (sandbox.kind === "bwrap" && !isContained(spec)) {
      // Under bubblewrap the host's /tmp is read-only; temp files go to a folder of the container's own.
      env.TMPDIR = `${home}/tmp`;
      await fs.mkdir(env.TMPDIR, { recursive: true });
    }
    Object.assign(env, spec.env);
    // Output goes straight to a file: no pipe to fill or drain. Under bwrap (--die-with-parent) the
    // process ends with this one; without it, it can outlive a crash and the registry lets the next reap it.
    const out = openSync(this.registry.logOf(id), "a");
    let child: ChildProcess;
    let exitInfo: Promise<[number | null, NodeJS.Signals | null]>;
    try {
      child = spawn(bin as string, args, { cwd, env, detached: true, stdio: ["ignore", out, out] });
      // Listen before any await: a quick command can exit before the record is written.
      exitInfo = new Promise((resolve) => child.once("exit", (code, signal) => resolve([code, signal])));
      await Promise.race([once(child, "spawn"), once(child, "error").then(([e]) => Promise.reject(e))]);
    } catch (err) {
      throw new RuntimeError(
        "ENGINE_FAILED",
        `local runtime could not start ${JSON.stringify(spec.command[0])}: ${err instanceof Error ? err.message : err}`,
      );
    } finally {
      closeSync(out);
    }
    const pid = child.pid as number;
    child.unref();
    const release = killGroupOnExit(pid);
    const identity = await procIdentity(pid);
    const endpoints = spec.ports.map((p) => ({
      containerPort: p.container,
      host: "127.0.0.1",
      port: p.container,
    }));
    const record: LocalRecord = {
      version: 1,
      id,
      name: spec.name ?? `loom-${id}`,
      pid,
      startTime: identity?.startTime ?? "",
      labels: spec.labels,
      image: spec.image,
      command: spec.command,
      cwd,
      sandbox: sandbox.kind,
      startedAt: new Date().toISOString(),
      endpoints,
    };
    await this.registry.write(record);
    const exited = exitInfo.then(async ([code, signal]) => {
      release();
      const exitCode =
        typeof code === "number" ? code : 128 + (os.constants.signals[signal as NodeJS.Signals] ?? 0);
      // The directory is gone if it was removed meanwhile; nothing to record then.
      await this.registry
        .write({ ...record, exitCode, finishedAt: new Date().toISOString() })
        .catch(() => {});
    });
    this.exits.set(id, exited);
    return { id, name: record.name, endpoints, warnings: this.warningsFor(spec, sandbox) };
  }

  private warningsFor(spec: HostRunSpec, sandbox: Sandbox): string[] {
    const warnings = [`image ${spec.image} ignored: the local runtime runs host programs`];
    // Priority is honoured (nice); the rest is not.
    const limits = Object.keys(spec.limits).filter(
      (k) => k !== "priority" && spec.limits[k as keyof RunSpec["limits"]] !== undefined,
    );
    if (limits.length > 0) warnings.push(`limits not enforced by the local runtime: ${limits.join(", ")}`);
    if (spec.network === "none" && sandbox.kind === "none")
      warnings.push("network none not enforced without bubblewrap: the process shares the host network");
    else if (spec.network && spec.network !== "host" && spec.network !== "none")
      warnings.push(`network ${spec.network} ignored: local processes share the host network`);
    if (sandbox.kind === "none" && spec.mounts.some((m) => m.readOnly))
      warnings.push("read-only mounts not enforced without bubblewrap");
    return warnings;
  }

  private async mustRead(id: string): Promise<LocalRecord> {
    const record = await this.registry.read(id, this.log);
    if (!record) throw new RuntimeError("NOT_FOUND", `no local container ${JSON.stringify(id)}`);
    return record;
  }

  async stop(id: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const record = await this.mustRead(id);
    // A group we started may outlive its leader (a backgrounded grandchild); a group found after a
    // restart is only signalled while its recorded leader still lives, so a reused pid is never hit.
    const ours = this.exits.has(id) && signalGroup(record.pid, 0);
    if (ours || (await isSameLiveProcess(record.pid, record.startTime))) {
      signalGroup(record.pid, "SIGTERM");
      if (!(await this.waitGone(record, options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS))) {
        signalGroup(record.pid, "SIGKILL");
        await this.waitGone(record, KILL_GRACE_MS);
      }
    }
    await this.settled(id);
  }

  /** Waits until the leader is gone and its group is empty (when we started it, we know the group is ours). */
  private async waitGone(record: LocalRecord, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      const leaderAlive = await isSameLiveProcess(record.pid, record.startTime);
      const groupAlive = this.exits.has(record.id) && (await groupHasLiveMembers(record.pid));
      if (!leaderAlive && !groupAlive) return true;
      if (Date.now() >= deadline) return false;
      await sleep(POLL_MS);
    }
  }

  /** The exit record of a child we started is written before stop/remove return. */
  private async settled(id: string): Promise<void> {
    const exited = this.exits.get(id);
    if (!exited) return;
    let timer: NodeJS.Timeout | undefined;
    // Cleared once the exit is in: a pending timer would hold the process open after every stop.
    await Promise.race([
      exited,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, KILL_GRACE_MS))),
    ]);
    clearTimeout(timer);
  }

  async remove(id: string): Promise<void> {
    const record = await this.registry.read(id, this.log);
    if (record && (await isSameLiveProcess(record.pid, record.startTime)))
      await this.stop(id, { timeoutMs: 0 });
    await this.settled(id);
    this.exits.delete(id);
    await this.registry.delete(id);
  }

  /** A child of ours answers on its exit event; one another Supervisor started is asked by polling. */
  async wait(id: string, options: WaitOptions): Promise<WaitOutcome> {
    const exited = this.exits.get(id);
    if (!exited) return pollWait((c) => this.inspect(c), id, options);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const ended = await Promise.race([
      exited.then(() => "exited" as const),
      new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), options.timeoutMs))),
      new Promise<"aborted">((resolve) => {
        onAbort = () => resolve("aborted");
        if (options.signal?.aborted) onAbort();
        else options.signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener("abort", onAbort);
    if (ended !== "exited") return { kind: ended };
    const info = await this.inspect(id);
    return info ? { kind: "exited", exitCode: info.exitCode } : { kind: "gone" };
  }

  async inspect(id: string): Promise<HostContainerInfo | undefined> {
    const record = await this.registry.read(id, this.log);
    return record ? this.toInfo(record) : undefined;
  }

  private async toInfo(record: LocalRecord): Promise<HostContainerInfo> {
    let r = record;
    const running = await isSameLiveProcess(r.pid, r.startTime);
    if (!running && r.exitCode === undefined && this.exits.has(r.id)) {
      // Our child just died and its exit is being recorded: report the code, not "unknown".
      await this.settled(r.id);
      r = (await this.registry.read(r.id, this.log)) ?? r;
    }
    return {
      id: r.id,
      name: r.name,
      state: running ? "running" : "exited",
      exitCode: running ? undefined : r.exitCode,
      oomKilled: false,
      labels: r.labels,
      startedAt: r.startedAt,
      endpoints: r.endpoints,
    };
  }

  async logs(id: string, options: { tail?: number } = {}): Promise<string> {
    await this.mustRead(id);
    const file = this.registry.logOf(id);
    const handle = await fs.open(file, "r");
    let text: string;
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, MAX_LOG_READ);
      const buf = Buffer.alloc(length);
      await handle.read(buf, 0, length, size - length);
      text = buf.toString("utf8");
    } finally {
      await handle.close();
    }
    if (options.tail === undefined) return text;
    const lines = text.split("\n");
    const hasFinalNewline = text.endsWith("\n");
    if (hasFinalNewline) lines.pop();
    const kept = lines.slice(Math.max(0, lines.length - Math.max(0, Math.floor(options.tail))));
    return kept.length === 0 ? "" : `${kept.join("\n")}${hasFinalNewline ? "\n" : ""}`;
  }

  async list(labels: Readonly<Record<string, string>>): Promise<HostContainerInfo[]> {
    const infos: HostContainerInfo[] = [];
    for (const id of await this.registry.ids()) {
      const record = await this.registry.read(id, this.log);
      if (record && Object.entries(labels).every(([k, v]) => record.labels[k] === v))
        infos.push(await this.toInfo(record));
    }
    return infos;
  }
}
