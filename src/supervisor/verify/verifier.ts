import { rm } from "node:fs/promises";
import path from "node:path";
import type { GenerationDiff } from "../../../schemas/generation-diff.ts";
import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import {
  isVerificationRunning,
  type MechanicalVerification,
  type ReviewRequest,
  type Verification,
  type VerifyThrough,
} from "../../../schemas/verification.ts";
import type { Config } from "../../shared/config.ts";
import { errorMessage, LoomError } from "../../shared/errors.ts";
import { ConflictError, generationNotFound, notVerifying } from "../errors.ts";
import type { Gateway } from "../gateway/gateway.ts";
import { gateChanges } from "../git/fixed-points.ts";
import { resolveRef } from "../git/repo-state.ts";
import type { SupervisorEmit } from "../lifecycle/events.ts";
import { DEFAULT_LAB_IMAGE } from "../lifecycle/lab-spec.ts";
import type { ContainerRuntime } from "../runtime/index.ts";
import type { GenerationStore } from "../store/index.ts";
import { baselineAt, readBaseline, writeBaseline } from "./baseline.ts";
import { makeCheckSeed, sweepCheckSeeds } from "./check-seed.ts";
import { computeFitness } from "./fitness.ts";
import { assertGateRule } from "./gate-hold.ts";
import { generationDiff } from "./generation-diff.ts";
import { verifyMechanical } from "./mechanical.ts";
import type { StepsContext } from "./prepare-steps.ts";
import type { TaskRunner } from "./task-fitness.ts";
import { numstat } from "./verify-git.ts";

/** Tests the reachable-tests stage ran. */
const reachedCount = (m: MechanicalVerification): number =>
  m.stages?.find((s) => s.name === "reachable_tests")?.testsRun ?? 0;

export interface VerifierPorts {
  readonly store: GenerationStore;
  readonly runtime: ContainerRuntime;
  readonly config: Config;
  readonly emit: SupervisorEmit;
  /** The image verification containers run (default loom-lab:latest). */
  readonly image?: string;
  /** LOOM_FITNESS=tasks: what runs the cascade's task stages. */
  readonly tasks?: TaskRunner;
  /** Under swarm: steps clone the candidate through the gateway instead of a mount. */
  readonly gateway?: Gateway;
}

interface Slot {
  readonly abort: AbortController;
  /** Resolves once the run is on the record (or could not be). */
  readonly started: Promise<void>;
  done: Promise<unknown>;
}

/**
 * Verification of generations on the Supervisor's side: stage 1 in fresh containers (POST /verify, a job),
 * Prime's stage-2 verdict and the fitness (POST /review), and the diff a reviewer reads. At most one
 * verification per generation runs at a time.
 */
export class Verifier {
  private readonly running = new Map<number, Slot>();
  /** Clones an earlier Supervisor left under <stateDir>/verify when it died mid-verification. */
  private sweep: Promise<void> | undefined;
  private warming: Promise<void> | undefined;
  private readonly warmAbort = new AbortController();

  constructor(private readonly ports: VerifierPorts) {}

  isRunning(n: number): boolean {
    return this.running.has(n);
  }

  /** Resolves once generation n's verification in this process (if any) has ended on the record. */
  async settled(n: number): Promise<void> {
    await this.running.get(n)?.done;
  }

  private async verifyingRecord(n: number, action: string): Promise<GenerationRecord> {
    const record = await this.ports.store.get(n);
    if (!record) throw generationNotFound(n);
    if (record.outcome !== "verifying") throw notVerifying(n, record.outcome, action);
    return record;
  }

  private busy(n: number): ConflictError {
    return new ConflictError(
      "VERIFY_RUNNING",
      `generation ${n} is being verified now; follow GET /generations/${n} (verificationRun) or GET /logs until it ends, then try again`,
    );
  }

  private log(n: number | null, message: string): void {
    this.ports.emit({ type: "log", at: new Date().toISOString(), generation: n, message });
  }

  /**
   * Starts stage 1 and answers the record showing it `running`; the run goes on in the background and
   * ends on the record: `verification` with `verificationRun.state` done, or stopped (a shutdown) or
   * error (it could not run), each with why. Whoever waits follows the record and `GET /logs`.
   */
  async verify(n: number, through: VerifyThrough = "full"): Promise<GenerationRecord> {
    const found = await this.ports.store.get(n);
    // A screened candidate (kept after a round's cheap stages) is verified in full where it is.
    if (found?.outcome !== "screened" || through !== "full") await this.verifyingRecord(n, "verified");
    const busy = this.running.get(n);
    if (busy) {
      // Answered once the running one is on the record, so whoever joins it finds it there.
      await busy.started;
      throw this.busy(n);
    }
    const abort = new AbortController();
    let started!: () => void;
    const slot: Slot = {
      abort,
      started: new Promise<void>((resolve) => {
        started = resolve;
      }),
      done: Promise.resolve(),
    };
    // Claimed before any further await so two concurrent requests cannot both start.
    this.running.set(n, slot);
    const startedAt = new Date().toISOString();
    let record: GenerationRecord;
    try {
      record = await this.ports.store.update(n, {
        verificationRun: { state: "running", startedAt, finishedAt: null, error: null },
      });
    } catch (err) {
      this.running.delete(n);
      throw err;
    } finally {
      started();
    }
    this.emitRun(
      n,
      "running",
      `verifying gen-${n} in fresh ${this.ports.runtime.name} containers${through === "reachable" ? " through the reachable tests" : ""}`,
    );
    slot.done = this.run(n, startedAt, abort.signal, through).finally(() => {
      if (this.running.get(n) === slot) this.running.delete(n);
    });
    return record;
  }

  /** The background part of `verify`: never rejects; every end is written on the record. */
  private async run(
    n: number,
    startedAt: string,
    signal: AbortSignal,
    through: VerifyThrough,
  ): Promise<void> {
    const ended = (state: "done" | "stopped" | "error", error: { code: string; message: string } | null) => ({
      state,
      startedAt,
      finishedAt: new Date().toISOString(),
      error,
    });
    try {
      // Started by the first verification, before any clone of this process exists; later ones wait for it.
      await this.sweepOnce(n);
      const mechanical = await verifyMechanical(
        {
          runtime: this.ports.runtime,
          config: this.ports.config,
          image: this.ports.image ?? DEFAULT_LAB_IMAGE,
          signal,
          ...(this.ports.tasks ? { tasks: this.ports.tasks } : {}),
          ...(this.ports.gateway ? { gateway: this.ports.gateway } : {}),
        },
        n,
        through,
      );
      const verification: Verification = { passed: false, mechanical, review: null, fitness: null };
      await this.ports.store.update(n, { verification, fitness: null, verificationRun: ended("done", null) });
      this.emitRun(
        n,
        mechanical.passed ? "passed" : "failed",
        mechanical.passed
          ? mechanical.complete === false
            ? `gen-${n} passed stage 1 through the reachable tests (${reachedCount(mechanical)} tests); not complete: POST /verify {"generation": ${n}, "through": "full"} before it can be promoted`
            : `gen-${n} passed stage 1: ${mechanical.tests.testCount} tests (baseline ${mechanical.baselineTestCount})`
          : `gen-${n} failed stage 1: ${mechanical.failures.join("; ")}`,
      );
    } catch (err) {
      // Stopped by a shutdown: not the candidate's failure, and not ours either.
      const error = signal.aborted
        ? {
            code: "SHUTTING_DOWN",
            message: `verification of gen-${n} was stopped because the Supervisor is shutting down; the generation stays verifying: POST /verify {"generation": ${n}} again once it has restarted`,
          }
        : {
            code: err instanceof LoomError ? err.code : "VERIFY_FAILED",
            message: `verification of gen-${n} could not run: ${errorMessage(err)}; POST /verify {"generation": ${n}} to try again`,
          };
      const state = signal.aborted ? "stopped" : "error";
      await this.ports.store
        .update(n, { verificationRun: ended(state, error) })
        .then(() => this.emitRun(n, state, error.message))
        .catch((failed: Error) => this.log(n, `${error.message} (not recorded: ${failed.message})`));
    }
  }

  /**
   * Runs the record shows `running` though this process runs none: the Supervisor that started them
   * died. Recorded as stopped before the server listens, so nobody waits on them.
   */
  async recoverInterrupted(): Promise<number[]> {
    const recovered: number[] = [];
    for (const r of await this.ports.store.list()) {
      const run = r.verificationRun;
      if (
        (r.outcome !== "verifying" && r.outcome !== "screened") ||
        !run ||
        !isVerificationRunning(run) ||
        this.running.has(r.generation)
      )
        continue;
      const n = r.generation;
      await this.ports.store.update(n, {
        verificationRun: {
          ...run,
          state: "stopped",
          finishedAt: new Date().toISOString(),
          error: {
            code: "SUPERVISOR_RESTARTED",
            message: `the Supervisor stopped before the verification of gen-${n} finished; the generation stays verifying: POST /verify {"generation": ${n}} again`,
          },
        },
      });
      recovered.push(n);
    }
    return recovered;
  }

  private emitRun(
    n: number,
    state: "running" | "passed" | "failed" | "stopped" | "error",
    message: string,
  ): void {
    this.ports.emit({ type: "verification", at: new Date().toISOString(), generation: n, state, message });
  }

  /** Stage 2: records Prime's verdict, decides `passed` and computes the fitness. */
  async review(req: ReviewRequest): Promise<Verification> {
    const n = req.generation;
    const record = await this.verifyingRecord(n, "reviewed");
    if (this.running.has(n)) throw this.busy(n);
    const current = record.verification;
    if (!current) {
      throw new ConflictError(
        "NOT_VERIFIED",
        `generation ${n} has no stage-1 verification yet; POST /verify {"generation": ${n}} first, then POST /review`,
      );
    }
    const m = current.mechanical;
    const repo = this.ports.config.repoPath;
    const diff = await numstat(repo, m.base, m.commit).catch(() => null);
    const baseline = await readBaseline(this.ports.config.stateDir, m.base);
    const review = { verdict: req.verdict, error: req.error, durationMs: req.durationMs };
    // No fitness from an incomplete run: it has not run every stage the gate weighs.
    const complete = m.complete !== false;
    const fitness = complete
      ? computeFitness({
          mechanical: m,
          review,
          diff,
          baselineDurationMs: baseline?.durationMs ?? null,
        })
      : null;
    const verification: Verification = {
      passed: complete && m.passed && req.verdict?.approved === true,
      mechanical: m,
      review,
      fitness,
    };
    await this.ports.store.update(n, { verification, fitness: fitness?.score ?? null });
    this.log(
      n,
      fitness
        ? `gen-${n} reviewed: ${verification.passed ? "passed" : "not passed"}, fitness ${fitness.score}${fitness.gated ? " (gated)" : ""}`
        : `gen-${n} reviewed: not passed, no fitness (its verification ran through the reachable tests only)`,
    );
    return verification;
  }

  diff(n: number): Promise<GenerationDiff> {
    return this.ports.store.get(n).then((record) => {
      if (!record) throw generationNotFound(n);
      return generationDiff(this.ports.config.repoPath, n, record.outcome);
    });
  }

  /**
   * The gate's rule for promoting a verified record: measured again from git on the commit that was
   * verified (not read from the record), so a record written before the gate was measured, or edited,
   * cannot let a gate change through. Throws a ConflictError GATE_CHANGE_HELD / GATE_APPROVAL_UNEXPECTED.
   */
  async assertGateRule(record: GenerationRecord, approveGateChange: boolean | undefined): Promise<void> {
    const m = record.verification?.mechanical;
    if (!m) return;
    assertGateRule(
      record.generation,
      await gateChanges(this.ports.config.repoPath, m.commit),
      approveGateChange,
    );
  }

  /**
   * After a promotion whose merge commit has exactly the verified branch on top of the base it was
   * verified against, that commit's baseline is the branch's count: no need to run main's tests again.
   */
  async seedBaseline(record: GenerationRecord, mergeCommit: string): Promise<void> {
    const m = record.verification?.mechanical;
    if (!m?.passed || m.complete === false) return;
    const repo = this.ports.config.repoPath;
    const [first, second] = await Promise.all([
      resolveRef(repo, `${mergeCommit}^1`, true),
      resolveRef(repo, `${mergeCommit}^2`, true),
    ]);
    if (first !== m.base || second !== m.commit) return;
    await writeBaseline(this.ports.config.stateDir, {
      version: 1,
      commit: mergeCommit,
      testCount: m.tests.testCount,
      durationMs: m.tests.durationMs,
      source: "promotion",
      at: new Date().toISOString(),
    });
  }

  /**
   * Removes what an earlier process left under `<stateDir>/verify` and beside the check seeds, once,
   * before the first clone.
   */
  private sweepOnce(n: number | null): Promise<void> {
    const { stateDir } = this.ports.config;
    this.sweep ??= Promise.all([
      rm(path.join(stateDir, "verify"), { recursive: true, force: true }),
      sweepCheckSeeds(stateDir),
    ]).then(
      () => {},
      (err: Error) => this.log(n, `could not remove earlier verification clones: ${err.message}`),
    );
    return this.sweep;
  }

  /**
   * Makes main's check seed (check-seed.ts) and measures main's baseline test count now, while a Lab
   * works (spawn time), so its verification finds both ready instead of making them first. Failures are
   * only logged: without a seed the check runs whole; verify measures the baseline again.
   */
  warmBaseline(n: number): void {
    if (this.warming) return;
    const task = (async () => {
      await this.sweepOnce(n);
      const main = await resolveRef(this.ports.config.repoPath, "refs/heads/main");
      if (!main || this.warmAbort.signal.aborted) return;
      const ctx: StepsContext = {
        runtime: this.ports.runtime,
        config: this.ports.config,
        image: this.ports.image ?? DEFAULT_LAB_IMAGE,
        signal: this.warmAbort.signal,
        // The Lab is working meanwhile: it comes first.
        priority: "background",
        ...(this.ports.gateway ? { gateway: this.ports.gateway } : {}),
      };
      // The check's seed first: the check comes before the full suite that needs the baseline.
      await makeCheckSeed(ctx, main).catch((err: Error) => {
        if (!this.warmAbort.signal.aborted) this.log(n, `main's check seed not made: ${err.message}`);
      });
      if (this.warmAbort.signal.aborted) return;
      await baselineAt(ctx, main);
    })()
      .catch((err: Error) => {
        if (!this.warmAbort.signal.aborted)
          this.log(n, `baseline of main not measured ahead: ${err.message}`);
      })
      .finally(() => {
        this.warming = undefined;
      });
    this.warming = task;
  }

  /** Stops running verifications (their containers are removed; each recorded stopped) and waits for them. */
  async close(): Promise<void> {
    this.warmAbort.abort();
    const all = [...this.running.values()];
    for (const v of all) v.abort.abort();
    await Promise.all([...all.map((v) => v.done), this.warming]);
  }
}
