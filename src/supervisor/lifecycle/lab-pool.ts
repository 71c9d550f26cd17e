import { randomBytes } from "node:crypto";
import { mkdir, realpath, rename, rm, stat } from "node:fs/promises";
import { connect } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../../shared/config.ts";
import { errorMessage } from "../../shared/errors.ts";
import { ClaimAnswer, type LabClaim, MAX_CLAIM_BYTES, STANDBY_SOCKET } from "../../shared/lab-claim.ts";
import { cloneAhead } from "../git/index.ts";
import type { ContainerHandle, ContainerRuntime, HostRuntime, Launch } from "../runtime/index.ts";
import { logTail, stopAndRemove } from "./lab-cleanup.ts";
import { type LabSockets, makeLabSockets } from "./lab-sockets.ts";
import { labClaimOf, standbyLabSpec } from "./lab-spec.ts";

/**
 * LOOM_LAB_POOL: Lab containers started ahead of their generation. A container's start (the engine's
 * create and start, node, the Lab's modules) is most of a Lab's start, and a round starts K at once on
 * the same cores; a pooled Lab has paid it while the previous round worked. Each is a Lab's own spec
 * (lab-spec.ts `standbyLabSpec`: image, limits, no network, its own workspace folder and socket folder
 * mounted) running `loom lab-standby`, and serves exactly one generation: claiming it renames its
 * workspace folder to the generation's (a bind mount follows the folder), clones into it, and sends
 * the generation's command line and environment over its standby socket (shared/lab-claim.ts). From
 * then on it is that generation's Lab, stopped and removed with it like any other; it is never reused.
 */

/** A pooled Lab older than this is replaced rather than claimed (it runs the image as it was then). */
export const POOL_MAX_AGE_MS = 15 * 60_000;
/** Starts that fail in a row before the pool stops trying until asked again. */
const MAX_FAILURES = 2;

export interface PooledLab {
  readonly id: string;
  readonly name: string;
  /** Host path of its workspace folder: empty but for its mount points until claimed. */
  readonly workspace: string;
  readonly sockets: LabSockets;
  /** The repo's packages it has mounted as node_modules (undefined: none). */
  readonly packages: string | undefined;
  readonly startedAt: number;
}

export interface LabPoolPorts {
  readonly runtime: HostRuntime;
  readonly config: Config;
  readonly image: string;
  readonly loomRoot: string;
  /** How many Labs to keep started (LOOM_LAB_POOL). */
  readonly size: number;
  readonly log: (message: string) => void;
  /** How long a pooled Lab may take to listen on its standby socket (default LOOM_LAB_READY_TIMEOUT_MS). */
  readonly readyTimeoutMs?: number;
  readonly now?: () => number;
}

/** Where the pooled Labs' workspace folders live (swept whole when a Supervisor starts). */
export function poolRoot(stateDir: string): string {
  return path.join(stateDir, "lab-pool");
}

/** The repo's installed packages, as a Lab mounts them (undefined when it has none). */
export async function repoPackages(repo: string): Promise<string | undefined> {
  const dir = path.join(repo, "node_modules");
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) return undefined;
  return realpath(dir);
}

export class LabPool {
  private readonly ready: PooledLab[] = [];
  private readonly starting = new Set<Promise<void>>();
  /** Claimers waiting for a Lab still starting (one each), first come first served. */
  private readonly waiting: ((lab: PooledLab | undefined) => void)[] = [];
  private failures = 0;
  private closed = false;

  constructor(private readonly ports: LabPoolPorts) {}

  /** Pooled Labs ready to be claimed. */
  get size(): number {
    return this.ready.length;
  }

  /** Starts Labs in the background until `size` are ready or starting; failures are logged. */
  fill(): void {
    this.failures = Math.min(this.failures, MAX_FAILURES - 1);
    while (!this.closed && this.ready.length + this.starting.size < this.ports.size) {
      if (this.failures >= MAX_FAILURES) return;
      const started: Promise<void> = this.startOne().finally(() => this.starting.delete(started));
      this.starting.add(started);
    }
  }

  /**
   * A Lab for a generation whose Lab mounts `packages`, now its caller's (never handed out twice), or
   * undefined: a ready one, else one still starting that no other claimer waits for (it is further
   * along than a cold start would be), else none. Labs too old, or mounting other packages, are
   * removed on the way.
   */
  async take(packages: string | undefined): Promise<PooledLab | undefined> {
    while (this.ready.length > 0) {
      const lab = this.ready.shift() as PooledLab;
      if (this.claimable(lab, packages)) return lab;
      void this.discard(lab);
    }
    if (this.closed || this.starting.size <= this.waiting.length) return undefined;
    const lab = await new Promise<PooledLab | undefined>((resolve) => this.waiting.push(resolve));
    if (!lab || this.claimable(lab, packages)) return lab;
    void this.discard(lab);
    return undefined;
  }

  private claimable(lab: PooledLab, packages: string | undefined): boolean {
    return lab.packages === packages && (this.ports.now ?? Date.now)() - lab.startedAt < POOL_MAX_AGE_MS;
  }

  /** Removes a Lab that will not be claimed: its container, workspace and socket folders. */
  async discard(lab: PooledLab): Promise<void> {
    for (const p of await stopAndRemove(this.ports.runtime, lab.id, 1000)) this.ports.log(`lab pool: ${p}`);
    await rm(lab.workspace, { recursive: true, force: true }).catch(() => {});
    await lab.sockets.remove().catch(() => {});
  }

  /** Stops filling, waits for starts in flight, and removes every unclaimed Lab. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.starting]);
    await Promise.all(this.ready.splice(0).map((lab) => this.discard(lab)));
  }

  private async startOne(): Promise<void> {
    const { runtime, config, log } = this.ports;
    const slot = randomBytes(4).toString("hex");
    const workspace = path.join(poolRoot(config.stateDir), slot);
    let sockets: LabSockets | undefined;
    let id: string | undefined;
    try {
      const packages = await repoPackages(config.repoPath);
      // Main's clone now (a claim only fetches what main gained since); the mount points exist before
      // the engine mounts them, owned by the Supervisor's user.
      await mkdir(path.dirname(workspace), { recursive: true });
      await cloneAhead(config.repoPath, workspace);
      for (const dir of ["schemas", "acceptance", ...(packages ? ["node_modules"] : [])])
        await mkdir(path.join(workspace, dir), { recursive: true });
      sockets = await makeLabSockets(0);
      const launch = standbyLabSpec({
        runtime: runtime.name,
        workspace,
        config,
        image: this.ports.image,
        loomRoot: this.ports.loomRoot,
        sockets: sockets.dir,
        slot,
        ...(packages ? { packages } : {}),
      });
      const handle = await runtime.runOnHost(launch.spec, launch.host ?? {});
      id = handle.id;
      await this.untilListening(id, path.join(sockets.dir, STANDBY_SOCKET));
      const lab = {
        id,
        name: handle.name,
        workspace,
        sockets,
        packages,
        startedAt: (this.ports.now ?? Date.now)(),
      };
      this.failures = 0;
      const waiter = this.waiting.shift();
      if (waiter) waiter(lab);
      else if (this.closed) await this.discard(lab);
      else this.ready.push(lab);
    } catch (err) {
      // A claimer waiting for this one starts its Lab itself.
      this.waiting.shift()?.(undefined);
      this.failures++;
      log(`lab pool: a pooled Lab did not start: ${errorMessage(err)}`);
      if (id) await stopAndRemove(runtime, id, 1000).catch(() => {});
      await rm(workspace, { recursive: true, force: true }).catch(() => {});
      await sockets?.remove().catch(() => {});
    }
  }

  /** Until the standby socket accepts a connection; fails if the container ends or time runs out. */
  private async untilListening(id: string, socketPath: string): Promise<void> {
    const deadline = Date.now() + (this.ports.readyTimeoutMs ?? this.ports.config.labReadyTimeoutMs);
    for (let i = 0; ; i++) {
      if (await accepts(socketPath)) return;
      if (this.closed) throw new Error("the pool closed");
      if (i % 20 === 19) {
        const info = await this.ports.runtime.inspect(id);
        if (!info || info.state === "exited" || info.state === "dead")
          throw new Error(`its container ended before listening: ${await logTail(this.ports.runtime, id)}`);
      }
      if (Date.now() > deadline) throw new Error(`it did not listen on ${socketPath} in time`);
      await sleep(25);
    }
  }
}

function accepts(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Claims a pooled Lab for a generation: sends it the generation's command line and environment and
 * waits for its answer. Rejects with the reason when it does not take it (then it is the caller's to
 * remove, and a cold start takes its place).
 */
export function claimPooledLab(lab: PooledLab, claim: LabClaim, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(path.join(lab.sockets.dir, STANDBY_SOCKET));
    let answer = "";
    const fail = (why: string) => {
      socket.destroy();
      reject(new Error(`the pooled Lab ${lab.name} was not claimed: ${why}`));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`));
    socket.setEncoding("utf8");
    socket.once("error", (err) => fail(err.message));
    socket.once("connect", () => socket.write(`${JSON.stringify(claim)}\n`));
    socket.on("data", (chunk: string) => {
      answer += chunk;
      if (answer.length > MAX_CLAIM_BYTES) return fail("its answer is too long");
      const end = answer.indexOf("\n");
      if (end < 0) return;
      socket.destroy();
      let parsed: ReturnType<typeof ClaimAnswer.safeParse>;
      try {
        parsed = ClaimAnswer.safeParse(JSON.parse(answer.slice(0, end)));
      } catch {
        return fail("its answer is not JSON");
      }
      if (!parsed.success) return fail("its answer is not {ok}");
      if (!parsed.data.ok) return fail(parsed.data.error);
      resolve();
    });
    socket.once("end", () => {
      if (!answer.includes("\n")) fail("it closed the socket without answering");
    });
  });
}

/** Moves a claimed pooled Lab's folder to the generation's workspace: its container's mount follows it. */
export async function movePooledWorkspace(lab: PooledLab, workspace: string): Promise<void> {
  await mkdir(path.dirname(workspace), { recursive: true });
  await rename(lab.workspace, workspace).catch(async (err: unknown) => {
    await rm(lab.workspace, { recursive: true, force: true });
    throw err;
  });
}

/**
 * Claims a pooled Lab with the command line and environment of the generation's own spec: its handle;
 * or, when it does not take the claim, undefined once it is removed (the caller starts a Lab instead).
 */
export async function claimOrRemove(
  runtime: ContainerRuntime,
  lab: PooledLab,
  spec: Launch,
  log: (line: string) => void,
): Promise<ContainerHandle | undefined> {
  try {
    await claimPooledLab(lab, labClaimOf(spec));
    return { id: lab.id, name: lab.name, warnings: [] };
  } catch (err) {
    log(`${errorMessage(err)}; starting a Lab instead`);
    for (const p of await stopAndRemove(runtime, lab.id, 1000)) log(`cleanup: ${p}`);
    return undefined;
  }
}
