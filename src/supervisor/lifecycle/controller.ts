import { createHash } from "node:crypto";
import type { GenerationDiff } from "../../../schemas/generation-diff.ts";
import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import type { Candidate } from "../../../schemas/round.ts";
import type {
  ArchiveResponse,
  PromoteResponse,
  RollbackResponse,
  SpawnResponse,
} from "../../../schemas/supervisor.ts";
import type { ReviewRequest, Verification, VerifyThrough } from "../../../schemas/verification.ts";
import type { SupervisorApi, SupervisorStats } from "../api.ts";
import { ConflictError, generationNotFound, notVerifying, ShuttingDownError } from "../errors.ts";
import type { ArchiveInput, PromoteInput, PromoteResult, RollbackInput } from "../git/index.ts";
import type { PrimeHooks } from "../prime/prime-keeper.ts";
import type { IntentJournal } from "../store/index.ts";
import { lineageTotals } from "../store/lineage-totals.ts";
import type { TaskRunner } from "../verify/task-fitness.ts";
import { Verifier } from "../verify/verifier.ts";
import { chooseParents, type ParentChoice } from "./choose-parent.ts";
import { planRound, type RoundRequest } from "./round.ts";
import { runRoundLabs } from "./round-labs.ts";
import type { LifecyclePorts } from "./run-generation.ts";

export interface ControllerPorts extends LifecyclePorts {
  readonly decide: {
    promote(input: PromoteInput): Promise<PromoteResult>;
    rollback(input: RollbackInput): Promise<{ deleted: boolean }>;
    archive(input: ArchiveInput): Promise<{ ref: string; commit: string }>;
  };
  /** The Prime kept running: restarted after each promotion, which is reverted if that Prime is unhealthy. */
  readonly prime?: PrimeHooks;
  /** Where promote and rollback write what they are about to do; a restart finishes or undoes it. */
  readonly journal: IntentJournal;
  /** LOOM_FITNESS=tasks: runs a commit's Lab agent on main's tasks (the verification's task stages). */
  readonly tasks?: TaskRunner;
}

/** The round whose Labs run now: its generations leave `running` as each Lab ends. */
interface RoundSlot {
  round: number | null;
  readonly running: Set<number>;
  done: Promise<unknown>;
  readonly abort: AbortController;
}

/**
 * The Supervisor's decisions over generations. One round at a time: a spawn starts K Labs at once
 * (each its own generation, Lab, proxy token and sockets), and a spawn while any of them still runs is
 * refused as a GENERATION_RUNNING conflict (the caller retries later) rather than queued, so a crash
 * never leaves a hidden backlog.
 */
export class GenerationController implements SupervisorApi {
  private current: RoundSlot | undefined;
  /** Promotions and rollbacks, one at a time; shutdown waits for the one in flight. */
  private deciding: Promise<unknown> = Promise.resolve();
  private closing = false;

  private readonly verifier: Verifier;

  constructor(private readonly ports: ControllerPorts) {
    this.verifier = new Verifier(ports);
  }

  /**
   * Starts a round on this program.md: `candidates` Labs (default LOOM_CANDIDATES), candidate i on
   * LOOM_LAB_MODELS' model in turn and with hints[i - 1] added to its program.md. Answers at once (202)
   * with every candidate pending; one Lab failing never stops its siblings.
   */
  async spawn(program: string, request: RoundRequest = {}): Promise<SpawnResponse> {
    this.refuseWhileClosing("spawned");
    if (this.current) {
      const running = [...this.current.running];
      const named = running.length > 0 ? running.map((n) => `gen-${n}`).join(", ") : "(starting)";
      throw new ConflictError(
        "GENERATION_RUNNING",
        `round ${this.current.round ?? "(starting)"} is still running (${named}); spawn again when it has finished (GET /generations${running.length === 1 ? `/${running[0]}` : ""})`,
      );
    }
    const candidates = planRound(this.ports.config, request);
    const abort = new AbortController();
    // Claimed before the first await so two concurrent spawns cannot both start.
    const slot: RoundSlot = { round: null, running: new Set(), done: Promise.resolve(), abort };
    this.current = slot;
    let allocated: { round: number; records: GenerationRecord[] };
    let parents: ParentChoice[];
    try {
      // A Lab must not start from a main whose promotion may still be reverted (Prime being restarted).
      await this.ports.prime?.idle();
      parents = chooseParents(await this.ports.store.list(), candidates.length, this.ports.config.parent, {
        ...(request.parent !== undefined ? { explicit: request.parent } : {}),
      });
      const programHash = createHash("sha256").update(program).digest("hex");
      allocated = await this.ports.store.allocateRound({
        programHash,
        parent: parents[0]?.generation ?? null,
        parents: parents.map((p) => p.generation),
        candidates,
      });
    } catch (err) {
      this.current = undefined;
      throw err;
    }
    const { round, records } = allocated;
    slot.round = round;
    for (const r of records) slot.running.add(r.generation);
    const labs = runRoundLabs(
      {
        lifecycle: this.ports,
        verifier: this.verifier,
        archive: (p, reason) => this.archive(p, reason),
        rollback: (p, reason) => this.rollback(p, reason),
      },
      { round, program, records, candidates, parents },
      abort.signal,
      (n) => slot.running.delete(n),
    );
    slot.done = labs.finally(() => {
      if (this.current === slot) this.current = undefined;
    });
    const generations = records.map((r, i) => ({
      generation: r.generation,
      branch: r.branch,
      outcome: r.outcome,
      reason: r.reason,
      candidate: r.candidate ?? (candidates[i] as Candidate),
    }));
    const first = generations[0] as (typeof generations)[number];
    return {
      generation: first.generation,
      branch: first.branch,
      outcome: first.outcome,
      reason: first.reason,
      round,
      generations,
    };
  }

  private verifying(n: number, action: string): Promise<GenerationRecord> {
    return this.recordIn(n, action, ["verifying"]);
  }

  /** A candidate still to be decided on: verifying, or screened (kept after a round's cheap stages). */
  private undecided(n: number, action: string): Promise<GenerationRecord> {
    return this.recordIn(n, action, ["verifying", "screened"]);
  }

  private async recordIn(
    n: number,
    action: string,
    outcomes: readonly GenerationRecord["outcome"][],
  ): Promise<GenerationRecord> {
    const record = await this.ports.store.get(n);
    if (!record) throw generationNotFound(n);
    if (!outcomes.includes(record.outcome)) throw notVerifying(n, record.outcome, action);
    return record;
  }

  /**
   * Promotions run one at a time, each after the previous one's Prime restart (and any revert) is over:
   * a revert resets main only from the merge it undoes, so nothing may land on top of it meanwhile.
   */
  promote(n: number, approveGateChange?: boolean): Promise<PromoteResponse> {
    return this.decide(() => this.promoteNow(n, approveGateChange), "promoted");
  }

  private decide<T>(task: () => Promise<T>, action: string): Promise<T> {
    try {
      this.refuseWhileClosing(action);
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.deciding.then(task);
    this.deciding = run.catch(() => {});
    return run;
  }

  private refuseWhileClosing(action: string): void {
    if (this.closing) {
      throw new ShuttingDownError(
        `the Supervisor is shutting down, so nothing can be ${action} now; try again once it has restarted`,
      );
    }
  }

  private async promoteNow(n: number, approveGateChange?: boolean): Promise<PromoteResponse> {
    await this.ports.prime?.idle();
    const { journal } = this.ports;
    const record = await this.verifying(n, "promoted");
    // No stage is skipped for what reaches main: a run through the reachable tests only is not enough.
    if (!this.verifier.isRunning(n) && record.verification?.mechanical.complete === false) {
      throw new ConflictError(
        "VERIFICATION_INCOMPLETE",
        `generation ${n} was verified only through the reachable tests; POST /verify {"generation": ${n}, "through": "full"} to run every stage, then POST /review, before promoting it`,
      );
    }
    if (this.verifier.isRunning(n) || !record.verification?.passed) {
      throw new ConflictError(
        "NOT_VERIFIED",
        `generation ${n} has not passed verification${record.verification ? ` (${record.verification.review ? "stage 1 or the review did not pass" : "no review yet"})` : ""}; POST /verify {"generation": ${n}}, wait for its verificationRun to be done, then POST /review with the verdict first, and promote only when verification.passed is true`,
      );
    }
    // A gate change waits for a person, whoever asks (the autonomous loop never approves).
    await this.verifier.assertGateRule(record, approveGateChange);
    let before: string | undefined;
    const result = await this.ports.decide
      .promote({
        repo: this.ports.config.repoPath,
        generation: n,
        onPlanned: async (plan) => {
          await journal.write({ op: "promote", ...plan });
          before = plan.base;
        },
      })
      .catch(async (err: unknown) => {
        // A refused or undone promotion changed nothing, so there is nothing for a restart to finish.
        if (before) await journal.remove(n);
        throw err;
      });
    await this.ports.store.update(n, { outcome: "promoted", reason: null });
    // From here on only Prime's health check can undo the promotion; a restart repeats that check.
    if (this.ports.prime && before) {
      await journal.write({
        op: "prime-restart",
        generation: n,
        mergeCommit: result.mergeCommit,
        previous: before,
      });
    } else await journal.remove(n);
    await this.verifier.seedBaseline(record, result.mergeCommit).catch((err: Error) =>
      this.ports.emit({
        type: "log",
        at: new Date().toISOString(),
        generation: n,
        message: `could not seed the baseline of ${result.mergeCommit}: ${err.message}`,
      }),
    );
    this.ports.emit({
      type: "generation",
      at: new Date().toISOString(),
      generation: n,
      outcome: "promoted",
      reason: null,
    });
    // Restarts Prime on the new main after this response is sent; an unhealthy one reverts the promotion.
    this.ports.prime?.afterPromote({ generation: n, mergeCommit: result.mergeCommit });
    return { generation: n, tag: result.tag, mergeCommit: result.mergeCommit };
  }

  rollback(n: number, reason: string | undefined): Promise<RollbackResponse> {
    return this.decide(() => this.rollbackNow(n, reason), "rolled back");
  }

  private async rollbackNow(n: number, reason: string | undefined): Promise<RollbackResponse> {
    await this.undecided(n, "rolled back");
    const why = reason ?? "rolled back on request";
    await this.ports.journal.write({ op: "rollback", generation: n, reason: why });
    await this.ports.decide.rollback({ repo: this.ports.config.repoPath, generation: n });
    await this.ports.store.update(n, { outcome: "rolled_back", reason: why });
    await this.ports.journal.remove(n);
    this.ports.emit({
      type: "generation",
      at: new Date().toISOString(),
      generation: n,
      outcome: "rolled_back",
      reason: why,
    });
    return { generation: n, outcome: "rolled_back", reason: why };
  }

  archive(n: number, reason: string): Promise<ArchiveResponse> {
    return this.decide(() => this.archiveNow(n, reason), "archived");
  }

  /**
   * Keeps a candidate that was not promoted but passed every stage it ran as a stepping stone: verified
   * in full, it is archived (refs/loom/archive/gen-N); after a round's cheap stages only, it is
   * `screened` (lab/gen-N kept), to be verified in full if it is ever drawn as a parent. One that failed
   * a stage is rolled back, not kept.
   */
  private async archiveNow(n: number, reason: string): Promise<ArchiveResponse> {
    const record = await this.undecided(n, "archived");
    const m = record.verification?.mechanical;
    if (this.verifier.isRunning(n) || !m?.passed) {
      throw new ConflictError(
        "NOT_ARCHIVABLE",
        this.verifier.isRunning(n)
          ? `generation ${n} is being verified; archive it once its verification has ended`
          : `generation ${n} ${m ? "failed verification" : "has not been verified"}; only a candidate that passed every stage it ran is archived — roll it back instead (POST /rollback)`,
      );
    }
    if (m.complete === false) {
      if (record.outcome === "screened")
        throw notVerifying(n, record.outcome, "archived before it is verified in full");
      await this.ports.store.update(n, { outcome: "screened", reason });
      this.ports.emit({
        type: "generation",
        at: new Date().toISOString(),
        generation: n,
        outcome: "screened",
        reason,
      });
      return { generation: n, outcome: "screened", ref: `refs/heads/lab/gen-${n}`, reason };
    }
    await this.ports.journal.write({ op: "archive", generation: n, reason });
    const { ref } = await this.ports.decide.archive({ repo: this.ports.config.repoPath, generation: n });
    await this.ports.store.update(n, { outcome: "archived", reason });
    await this.ports.journal.remove(n);
    this.ports.emit({
      type: "generation",
      at: new Date().toISOString(),
      generation: n,
      outcome: "archived",
      reason,
    });
    return { generation: n, outcome: "archived", ref, reason };
  }

  /** Starts stage 1 of verification in fresh containers (POST /verify, 202): the record shows it running. */
  async verify(n: number, through?: VerifyThrough): Promise<GenerationRecord> {
    this.refuseWhileClosing("verified");
    return this.verifier.verify(n, through);
  }

  /** Verifications an earlier process left `running` on their records, recorded as stopped (start-up). */
  recoverVerifications(): Promise<number[]> {
    return this.verifier.recoverInterrupted();
  }

  /** Prime's stage-2 verdict and the fitness (POST /review). */
  review(request: ReviewRequest): Promise<Verification> {
    return this.verifier.review(request);
  }

  diff(n: number): Promise<GenerationDiff> {
    return this.verifier.diff(n);
  }

  list(): Promise<GenerationRecord[]> {
    return this.ports.store.list();
  }

  get(n: number): Promise<GenerationRecord | undefined> {
    return this.ports.store.get(n);
  }

  async stats(): Promise<SupervisorStats> {
    return {
      ...lineageTotals(await this.ports.store.list()),
      running: this.current ? (this.current.running.values().next().value ?? null) : null,
      runningGenerations: this.current ? [...this.current.running] : [],
      runtime: this.ports.runtime.name,
      prime: this.ports.prime?.status() ?? { state: "disabled", commit: null, url: null },
    };
  }

  /** Resolves when no round is running (tests and shutdown). */
  async idle(): Promise<void> {
    await this.current?.done;
  }

  /**
   * Refuses new spawns, verifications, promotions and rollbacks (SHUTTING_DOWN) and waits up to
   * `graceMs` for the promotion or rollback in flight to finish; true when it did. One that outlasts the grace is left to
   * its journal: the next start finishes or undoes it.
   */
  async drain(graceMs: number): Promise<boolean> {
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      this.deciding.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    return done;
  }

  /** Stops the running round's Labs: each container removed, each branch fetched, each recorded aborted. */
  async close(): Promise<void> {
    this.closing = true;
    await this.verifier.close();
    const current = this.current;
    if (!current) return;
    current.abort.abort();
    await current.done;
  }
}
