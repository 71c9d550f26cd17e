import path from "node:path";
import type { PrimeState, PrimeStatus } from "../../../schemas/supervisor.ts";
import type { Config } from "../../shared/config.ts";
import { errorMessage } from "../../shared/errors.ts";
import { requireMain } from "../git/repo-state.ts";
import { resetMainTo } from "../git/reset-main.ts";
import { git } from "../git/run-git.ts";
import type { SupervisorEmit } from "../lifecycle/events.ts";
import { logTail, stopAndRemove } from "../lifecycle/lab-cleanup.ts";
import type { HostRuntime } from "../runtime/index.ts";
import type { GenerationStore, IntentJournal } from "../store/index.ts";
import { type Launch, launchPrime, type RunningPrime } from "./launch-prime.ts";
import { choosePrimeSource, type PrimeSource, pruneCheckouts } from "./prime-source.ts";

/** What the generation controller asks of whoever keeps Prime running. */
export interface PrimeHooks {
  /** Resolves when no start, restart or revert is in flight (a promotion waits for the previous one's). */
  idle(): Promise<void>;
  /** Called once a promotion is recorded; the restart runs after the promote response has been sent. */
  afterPromote(promotion: { readonly generation: number; readonly mergeCommit: string }): void;
  status(): PrimeStatus;
}

export interface PrimeKeeperPorts {
  /** A runtime on the Supervisor's own host (under swarm: the manager's engine, where the repo is). */
  readonly runtime: HostRuntime;
  readonly config: Config;
  readonly store: GenerationStore;
  /** Holds a promotion's pending health check and a revert in flight, so a restart finishes either. */
  readonly journal: IntentJournal;
  readonly emit: SupervisorEmit;
  /** The Loom the Supervisor runs from: Prime's code when the repo is not a Loom checkout. */
  readonly loomRoot: string;
  /** Image for engine runtimes (the Lab image: node, git and Loom's packages). */
  readonly image: string;
  /** Where Prime listens (LOOM_PRIME_PORT unless a caller overrides it). */
  readonly port: number;
  /** LOOM_PRIME_HEALTH_TIMEOUT_MS unless a caller overrides it. */
  readonly healthTimeoutMs: number;
  readonly pollMs?: number;
  /** How long a stopping Prime gets after SIGTERM before it is killed (default 10 s). */
  readonly stopGraceMs?: number;
  /** How often a running Prime is checked for having exited by itself (default 2 s). */
  readonly watchMs?: number;
}

/** A recorded promotion whose Prime health check had not finished when the Supervisor stopped. */
export interface UncheckedPromotion {
  readonly generation: number;
  readonly mergeCommit: string;
}

/** A Prime that exits by itself is started again, but not more than this often within CRASH_WINDOW_MS. */
const MAX_CRASH_RESTARTS = 3;
const CRASH_WINDOW_MS = 10 * 60_000;

const short = (sha: string): string => sha.slice(0, 12);
/** The Supervisor's own URL as a process on this host reaches it: a wildcard bind is reached on loopback. */
function reachable(url: string): string {
  const u = new URL(url);
  if (u.hostname === "0.0.0.0" || u.hostname === "[::]") u.hostname = "127.0.0.1";
  return u.toString().replace(/\/$/, "");
}

/**
 * Keeps one Prime running behind a health check, and keeps known-good known-good: after every
 * promotion it restarts Prime on the new main; a Prime that is then unhealthy has main reset to the
 * commit before the promotion (tag dropped in the same ref transaction), the generation recorded
 * rolled_back with the reason, and the previous Prime started again. A Prime that exits by itself is
 * started again (a few times at most). Starts, restarts and reverts run one at a time.
 */
export class PrimeKeeper implements PrimeHooks {
  private current: RunningPrime | undefined;
  private now: PrimeStatus = { state: "stopped", commit: null, url: null };
  private queue: Promise<void> = Promise.resolve();
  private source: PrimeSource | undefined;
  private supervisorUrl: string | undefined;
  private readonly abort = new AbortController();
  private watchTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private crashes: number[] = [];

  constructor(private readonly ports: PrimeKeeperPorts) {}

  status(): PrimeStatus {
    return this.now;
  }

  idle(): Promise<void> {
    return this.queue;
  }

  /**
   * Starts Prime on the current main once the Supervisor listens at `supervisorUrl`; never throws for
   * Prime's failure. `unchecked` is a promotion whose Prime health check an earlier run did not finish:
   * if main is still its merge, this start is that check, and an unhealthy Prime reverts it.
   */
  async start(supervisorUrl: string, unchecked?: UncheckedPromotion): Promise<PrimeStatus> {
    this.supervisorUrl = reachable(supervisorUrl);
    await this.enqueue(() => this.startNow(unchecked));
    this.watch();
    return this.now;
  }

  afterPromote(promotion: { readonly generation: number; readonly mergeCommit: string }): void {
    void this.enqueue(() => this.restart(promotion.generation, promotion.mergeCommit));
  }

  /** Stops Prime (an in-flight restart is cut short, never left half-done) and waits until it is gone. */
  async close(): Promise<void> {
    this.abort.abort();
    clearInterval(this.watchTimer);
    await this.queue;
    await this.stopCurrent();
    if (this.now.state !== "stopped") this.set("stopped", this.now.commit, null, null, "Prime stopped");
  }

  /** Notices a Prime that exited by itself (crashed, killed) and queues its recovery. */
  private watch(): void {
    if (this.watchTimer || this.abort.signal.aborted) return;
    this.watchTimer = setInterval(() => void this.check(), this.ports.watchMs ?? 2000);
    this.watchTimer.unref();
  }

  private async check(): Promise<void> {
    const running = this.current;
    if (!running || this.checking) return;
    this.checking = true;
    try {
      const info = await this.ports.runtime.inspect(running.id).then(
        (i) => ({ i }),
        () => undefined,
      );
      // An engine that cannot answer right now says nothing about Prime.
      if (!info || (info.i && info.i.state !== "exited" && info.i.state !== "dead")) return;
      void this.enqueue(() => this.recover(running, info.i?.exitCode));
    } finally {
      this.checking = false;
    }
  }

  private async recover(running: RunningPrime, exitCode: number | undefined): Promise<void> {
    // Replaced or stopped meanwhile (a restart, a revert, shutdown): nothing to recover.
    if (this.current !== running || this.abort.signal.aborted) return;
    const tail = await logTail(this.ports.runtime, running.id);
    this.current = undefined;
    for (const p of await stopAndRemove(this.ports.runtime, running.id, 1000)) this.log(`cleanup: ${p}`);
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    const what = `Prime on main ${short(running.commit)} exited by itself (code ${exitCode ?? "unknown"})${tail ? `; last output: ${tail}` : ""}`;
    if (this.crashes.length > MAX_CRASH_RESTARTS) {
      this.set(
        "failed",
        running.commit,
        null,
        null,
        `${what}; it did so ${this.crashes.length} times within ${CRASH_WINDOW_MS / 60_000} minutes, so it is not started again — restart the Supervisor once the cause is fixed`,
      );
      return;
    }
    this.set("restarting", running.commit, null, null, `${what}; starting it again`);
    const launched = await this.launch(running.commit);
    if (launched.ok) {
      this.set(
        "running",
        running.commit,
        null,
        launched.running.url,
        `Prime is healthy again on main ${short(running.commit)} at ${launched.running.url} (${launched.ms} ms)`,
      );
    } else {
      this.set(
        "failed",
        running.commit,
        null,
        null,
        `Prime on main ${short(running.commit)} did not become healthy again: ${launched.why}`,
      );
    }
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task).catch((err: unknown) => {
      this.set(
        "failed",
        this.now.commit,
        null,
        null,
        `Prime could not be kept running: ${errorMessage(err)}`,
      );
    });
    this.queue = run;
    return run;
  }

  private set(
    state: PrimeState,
    commit: string | null,
    generation: number | null,
    url: string | null,
    text: string,
  ): void {
    this.now = { state, commit, url };
    this.ports.emit({
      type: "prime",
      at: new Date().toISOString(),
      state,
      commit,
      url,
      generation,
      message: text,
    });
  }

  private log(text: string, generation: number | null = null): void {
    this.ports.emit({ type: "log", at: new Date().toISOString(), generation, message: text });
  }

  private async startNow(unchecked?: UncheckedPromotion): Promise<void> {
    const { config, runtime } = this.ports;
    if (this.abort.signal.aborted) return;
    const main = await requireMain(config.repoPath);
    if (unchecked && unchecked.mergeCommit !== main) {
      this.log(
        `gen-${unchecked.generation}'s Prime check is moot: main is no longer its merge`,
        unchecked.generation,
      );
      await this.ports.journal.remove(unchecked.generation);
      unchecked = undefined;
    }
    this.source = await choosePrimeSource({
      repo: config.repoPath,
      stateDir: config.stateDir,
      mainCommit: main,
      loomRoot: this.ports.loomRoot,
    });
    this.log(
      this.source.kind === "repo"
        ? `Prime runs from the repo's main (self-hosting): checkouts under ${path.join(config.stateDir, "prime")}; each promotion restarts it on the promoted code`
        : `Prime runs from the installed Loom at ${this.source.loomRoot} because ${this.source.why}; a restart after a promotion only reloads Prime's state, the promoted code does not change it`,
    );
    if (runtime.name === "local") {
      this.log("Prime runs as a local child process: weaker isolation than a container (LOOM_RUNTIME=local)");
    }
    if (unchecked) {
      this.log(`gen-${unchecked.generation} was promoted but its Prime was never checked; checking it now`);
      return this.restart(unchecked.generation, main);
    }
    this.set("starting", main, null, null, `starting Prime on main ${short(main)}`);
    const launched = await this.launch(main);
    if (launched.ok) {
      this.set(
        "running",
        main,
        null,
        launched.running.url,
        `Prime is healthy on main ${short(main)} at ${launched.running.url} (${launched.ms} ms)`,
      );
      // Checkouts of other commits (and any half-made one an interrupted run left) are not needed now.
      await this.prune([main]);
    } else {
      this.set(
        "failed",
        main,
        null,
        null,
        `Prime on main ${short(main)} did not become healthy: ${launched.why}`,
      );
    }
  }

  private async restart(n: number, mergeCommit: string): Promise<void> {
    // Let the promote response go out first: the caller may be the Prime about to be stopped.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.abort.signal.aborted || !this.source) return;
    const { config, store } = this.ports;
    const previous = (await git(config.repoPath, ["rev-parse", `${mergeCommit}^1`])).trim();
    this.set(
      "restarting",
      mergeCommit,
      n,
      null,
      this.source.kind === "repo"
        ? `gen-${n} promoted: restarting Prime on main ${short(mergeCommit)}`
        : `gen-${n} promoted: restarting Prime on main ${short(mergeCommit)} to reload its state (it runs the installed Loom at ${this.source.loomRoot}, so its code does not change)`,
    );
    await this.stopCurrent();
    const launched = await this.launch(mergeCommit);
    if (launched.ok) {
      this.set(
        "running",
        mergeCommit,
        n,
        launched.running.url,
        `Prime is healthy on main ${short(mergeCommit)} (gen-${n}) at ${launched.running.url} (${launched.ms} ms)`,
      );
      await this.ports.journal.remove(n);
      await this.prune([mergeCommit, previous]);
      return;
    }
    // Cut short by shutdown: the journal keeps the check for the next start.
    if (this.abort.signal.aborted) return;
    const reason = `promoted, but Prime on the new main failed its health check: ${launched.why}`;
    this.set("reverting", previous, n, null, `gen-${n} ${reason}; resetting main to ${short(previous)}`);
    try {
      await this.ports.journal.write({ op: "revert", generation: n, mergeCommit, previous, reason });
      await resetMainTo({
        repo: config.repoPath,
        commit: previous,
        expected: mergeCommit,
        dropTag: `gen-${n}`,
      });
      const record = await store.revertPromotion(n, reason);
      await this.ports.journal.remove(n);
      this.ports.emit({
        type: "generation",
        at: new Date().toISOString(),
        generation: n,
        outcome: record.outcome,
        reason: record.reason,
      });
      this.log(`main reset to ${short(previous)}, tag gen-${n} deleted, gen-${n} rolled back`, n);
    } catch (err) {
      this.log(
        `could not revert gen-${n}: ${errorMessage(err)}; main stays at ${short(mergeCommit)} — inspect the repo and reset main by hand`,
        n,
      );
    }
    const back = await this.launch(previous);
    if (back.ok) {
      this.set(
        "running",
        previous,
        n,
        back.running.url,
        `Prime is healthy again on main ${short(previous)} at ${back.running.url} (gen-${n} reverted)`,
      );
      await this.prune([previous]);
    } else {
      this.set(
        "failed",
        previous,
        n,
        null,
        `the previous Prime on ${short(previous)} did not become healthy either: ${back.why}`,
      );
    }
  }

  private async launch(commit: string): Promise<Launch> {
    const { source, supervisorUrl } = this;
    if (!source || !supervisorUrl) return { ok: false, why: "Prime was never started" };
    const launched = await launchPrime(
      {
        runtime: this.ports.runtime,
        config: this.ports.config,
        image: this.ports.image,
        port: this.ports.port,
        healthTimeoutMs: this.ports.healthTimeoutMs,
        pollMs: this.ports.pollMs ?? 200,
        source,
        supervisorUrl,
        signal: this.abort.signal,
        log: (text) => this.log(text),
      },
      commit,
    );
    if (launched.ok) this.current = launched.running;
    return launched;
  }

  private async stopCurrent(): Promise<void> {
    const current = this.current;
    if (!current) return;
    this.current = undefined;
    for (const p of await stopAndRemove(this.ports.runtime, current.id, this.ports.stopGraceMs ?? 10_000))
      this.log(`cleanup: ${p}`);
  }

  private async prune(keep: readonly string[]): Promise<void> {
    if (this.source?.kind !== "repo") return;
    await pruneCheckouts(this.source.repo, this.source.stateDir, keep).catch((err: unknown) =>
      this.log(`could not remove old Prime checkouts: ${errorMessage(err)}`),
    );
  }
}
