import { createHash, randomUUID } from "node:crypto";
import {
  AutonomousOptions,
  type AutonomousState,
  type AutonomousStopReason,
} from "../../../schemas/autonomous.ts";
import { isLabInProgress } from "../../../schemas/generation.ts";
import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import type { Verification } from "../../../schemas/verification.ts";
import { errorMessage, LoomError } from "../../shared/errors.ts";
import { formatIssues } from "../../shared/zod-issues.ts";
import type { AutonomousEvent } from "./events.ts";
import { type RunProgress, runProgress } from "./progress.ts";
import { mainFitness, nextRoundStep, rollbackReason } from "./round-step.ts";
import type { AutonomousStatePort } from "./state-file.ts";
import { roundSize, stopRuleFor } from "./stop-rules.ts";

/**
 * What the loop acts through. Each method gets the run's signal; none is called twice for the same
 * step within one process, but after a restart a step whose effect cannot be seen in `records()`
 * (reflect, spawn before its record exists, verify before its review is recorded) is done again.
 */
export interface AutonomousPorts {
  /** The next program.md (reflect on the analysis, lineage and lessons). */
  reflect(signal: AbortSignal): Promise<string>;
  /** Starts a round of `candidates` generations; answers their numbers, in candidate order. */
  spawn(program: string, signal: AbortSignal, candidates: number): Promise<number[]>;
  /** Resolves when the generation's record has left pending/running. */
  waitForLab(generation: number, signal: AbortSignal): Promise<GenerationRecord>;
  /** Both verification stages, recorded on the generation. */
  verify(generation: number, signal: AbortSignal): Promise<Verification>;
  /**
   * Stage 1 through the tests the change can reach only (the cheap stages of a round's candidates),
   * recorded on the generation; it can never be promoted on this alone.
   */
  screen(generation: number, signal: AbortSignal): Promise<unknown>;
  promote(generation: number, signal: AbortSignal): Promise<unknown>;
  rollback(generation: number, reason: string, signal: AbortSignal): Promise<unknown>;
  /** Keeps a round's candidate that passed what it ran but was not promoted (outcome archived). */
  archive(generation: number, reason: string, signal: AbortSignal): Promise<unknown>;
  /** Tokens Prime's own model used in this process so far (monotonic; restarts at 0 with the process). */
  tokensUsed(): number | Promise<number>;
  /** The whole lineage. */
  records(signal: AbortSignal): Promise<GenerationRecord[]>;
  emit(event: AutonomousEvent): void;
  readonly state: AutonomousStatePort;
  /** Waits between polls of a generation awaiting a person's decision; setTimeout by default. */
  sleep?(ms: number, signal: AbortSignal): Promise<void>;
}

export interface AutonomousRunOptions extends Partial<AutonomousOptions> {
  /** A person's stop: the run ends with stopReason "aborted" and is not resumed. */
  readonly signal?: AbortSignal;
  /** Prime shutting down (e.g. restarted after a promotion): the state stays active, to be resumed. */
  readonly suspendSignal?: AbortSignal;
  /** Between polls while a generation awaits a person's promote/rollback (default 2 s). */
  readonly pollMs?: number;
  readonly now?: () => Date;
}

export interface AutonomousResult {
  /** Why the run ended here; "suspended" means it was left active for the next Prime to resume. */
  readonly stopReason: AutonomousStopReason | "suspended";
  readonly state: AutonomousState;
  /** The run's generations, best fitness and Lab tokens as the lineage last read says. */
  readonly progress: RunProgress;
}

export const DEFAULT_AUTONOMOUS_OPTIONS: AutonomousOptions = {
  maxGenerations: 5,
  tokenBudget: 0,
  plateauWindow: 3,
  maxConsecutiveFailures: 5,
  promoteMode: "auto",
};

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

class Suspended extends Error {}

/** Whether a saved state is a run in progress that a (restarted) Prime should resume. */
export function isActive(state: AutonomousState | null): boolean {
  return state?.status === "running";
}

/**
 * reflect → spawn → wait for the Lab → verify → promote or roll back, until a stop rule holds. The
 * state is saved before each step; started with an active saved state, the run goes on from its
 * phase, checking each generation's real outcome in the lineage before repeating any step.
 */
export async function runAutonomousLoop(
  ports: AutonomousPorts,
  options: AutonomousRunOptions = {},
): Promise<AutonomousResult> {
  const now = options.now ?? (() => new Date());
  const stopSignal = options.signal ?? new AbortController().signal;
  const suspendSignal = options.suspendSignal ?? new AbortController().signal;
  const signal = AbortSignal.any([stopSignal, suspendSignal]);
  const pollMs = options.pollMs ?? 2_000;
  const sleep = ports.sleep ?? defaultSleep;

  const saved = await ports.state.load();
  const resumed = isActive(saved);
  let state: AutonomousState;
  if (resumed && saved) {
    state = saved;
  } else {
    const { signal: _s, suspendSignal: _u, pollMs: _p, now: _n, ...requested } = options;
    const checked = AutonomousOptions.safeParse({ ...DEFAULT_AUTONOMOUS_OPTIONS, ...defined(requested) });
    if (!checked.success) {
      throw new LoomError(
        "AUTONOMOUS_BAD_OPTION",
        `autonomous option ${formatIssues(checked.error, { root: "(options)" })}; accepted: maxGenerations, ` +
          "tokenBudget, plateauWindow, maxConsecutiveFailures (whole numbers, 0 = no limit), promoteMode auto|manual, " +
          "candidates and finalists (whole numbers from 1 to 16)",
      );
    }
    const runOptions = checked.data;
    const at = now().toISOString();
    state = {
      version: 2,
      runId: randomUUID(),
      status: "running",
      phase: "reflecting",
      generation: null,
      program: null,
      spawnFloor: null,
      reason: null,
      options: runOptions,
      startedAt: at,
      updatedAt: at,
      generations: [],
      primeTokens: 0,
      stopReason: null,
      stopDetail: null,
    };
  }
  // The lineage as last read: what the run's progress (outcomes, best fitness, Lab tokens) is read from.
  let lineage: GenerationRecord[] = [];
  const records = async (): Promise<GenerationRecord[]> => {
    lineage = await ports.records(signal);
    return lineage;
  };
  const progress = (): RunProgress => runProgress(state, lineage);
  // Prime's usage counter restarts with the process: add this process's part to what was saved.
  const tokenBase = await ports.tokensUsed();
  const primeBefore = state.primeTokens;

  const save = async (patch: Partial<AutonomousState>): Promise<void> => {
    const used = Math.max(0, (await ports.tokensUsed()) - tokenBase);
    state = { ...state, ...patch, primeTokens: primeBefore + used, updatedAt: now().toISOString() };
    await ports.state.save(state);
    if (patch.phase && patch.phase !== "stopped") {
      ports.emit({ type: "phase", phase: state.phase, generation: state.generation });
    }
  };
  const finish = async (reason: AutonomousStopReason, detail: string | null): Promise<AutonomousResult> => {
    await save({
      status: "stopped",
      phase: "stopped",
      stopReason: reason,
      stopDetail: detail,
      program: null,
      spawnFloor: null,
      reason: null,
    });
    ports.emit({ type: "stopped", reason, detail });
    return { stopReason: reason, state, progress: progress() };
  };
  const recordOf = async (generation: number): Promise<GenerationRecord> => {
    const found = (await records()).find((r) => r.generation === generation);
    if (!found) {
      throw new LoomError(
        "AUTONOMOUS_GENERATION_MISSING",
        `generation ${generation} of the autonomous run is not in the lineage; GET /generations lists what exists`,
      );
    }
    return found;
  };
  /** Books a generation whose outcome is final (or held for a person) and moves on to the next reflect. */
  const complete = async (record: GenerationRecord): Promise<void> => {
    // A finalist of a round: its decision is made; the round settles its other candidates next.
    if (state.round) {
      await save({ phase: "round", generation: null, reason: null });
      return;
    }
    await save({
      phase: "reflecting",
      generation: null,
      reason: null,
      generations: [...state.generations, record.generation],
    });
    const entry = progress().generations.at(-1);
    if (entry) ports.emit({ type: "generation_done", ...entry });
  };
  const checkAbort = () => {
    if (stopSignal.aborted) throw stopSignal.reason ?? new Error("aborted");
    if (suspendSignal.aborted) throw new Suspended();
  };

  await save({});
  ports.emit({ type: "run_started", runId: state.runId, resumed, phase: state.phase });
  try {
    for (;;) {
      checkAbort();
      const n = state.generation;
      switch (state.phase) {
        case "reflecting": {
          const stop = stopRuleFor(state, runProgress(state, await records()));
          if (stop) return await finish(stop.reason, stop.detail);
          const program = await ports.reflect(signal);
          const floor = Math.max(0, ...(await records()).map((r) => r.generation));
          await save({ phase: "spawning", program, spawnFloor: floor, generation: null });
          break;
        }
        case "spawning": {
          const program = state.program!;
          // A restart between the spawn and the save: the generation exists, found by its program's hash.
          const hash = sha256(program);
          const existing = (await records())
            .filter((r) => r.generation > state.spawnFloor! && r.programHash === hash)
            .map((r) => r.generation)
            .sort((a, b) => a - b);
          const spawned =
            existing.length > 0 ? existing : await ports.spawn(program, signal, roundSize(state));
          const [first] = spawned;
          if (first === undefined) {
            throw new LoomError("AUTONOMOUS_BAD_SPAWN", "the spawn answered no generation");
          }
          await save(
            spawned.length > 1
              ? { phase: "round", round: spawned, generation: null, program: null, spawnFloor: null }
              : { phase: "waiting_lab", generation: first, program: null, spawnFloor: null },
          );
          break;
        }
        case "round": {
          const round = state.round!;
          const step = nextRoundStep(round, await records(), state.options.finalists ?? 1, {
            requireGain: state.options.parent === "archive",
          });
          if (step.kind === "wait") {
            await ports.waitForLab(step.generation, signal);
          } else if (step.kind === "screen") {
            // Side by side: each is its own verification in its own containers.
            await Promise.all(step.generations.map((g) => ports.screen(g, signal)));
          } else if (step.kind === "rollback") {
            await ports.rollback(step.generation, step.reason, signal);
          } else if (step.kind === "archive") {
            await ports.archive(step.generation, step.reason, signal);
          } else if (step.kind === "finalist") {
            await save({ phase: "verifying", generation: step.generation });
          } else if (step.kind === "promote") {
            const phase = state.options.promoteMode === "auto" ? "promoting" : "awaiting_approval";
            await save({ phase, generation: step.generation });
          } else {
            await save({
              phase: "reflecting",
              round: null,
              generation: null,
              generations: [...state.generations, ...round],
            });
            const booked = new Set(round);
            for (const entry of progress().generations.filter((g) => booked.has(g.generation))) {
              ports.emit({ type: "generation_done", ...entry });
            }
          }
          break;
        }
        case "waiting_lab": {
          const record = await ports.waitForLab(n!, signal);
          if (isLabInProgress(record.outcome)) {
            throw new LoomError(
              "AUTONOMOUS_BAD_WAIT",
              `waitForLab(${n}) resolved while the generation is still ${record.outcome}`,
            );
          }
          // failed / timed_out are terminal already: no rollback, but the lesson counts.
          if (record.outcome === "verifying") await save({ phase: "verifying" });
          else await complete(await recordOf(n!));
          break;
        }
        case "verifying": {
          const record = await recordOf(n!);
          if (record.outcome !== "verifying") {
            await complete(record);
            break;
          }
          // Both stages already on the record (a restart after verify): no second container run.
          const v = record.verification?.review ? record.verification : await ports.verify(n!, signal);
          if (v.passed && v.mechanical.gate?.touched) {
            // A gate change waits for a person (the Supervisor refuses to promote it without an
            // explicit approval); the run books it as held (the lineage says why) and moves on.
            await complete(await recordOf(n!));
          } else if (
            v.passed &&
            !state.round &&
            state.options.parent === "archive" &&
            (v.fitness?.score ?? 0) <= mainFitness(lineage, [n!])
          ) {
            // LOOM_PARENT=archive: passed, but no better than main — kept as a stepping stone, not promoted.
            const main = mainFitness(lineage, [n!]);
            await ports.archive(
              n!,
              `not promoted: its fitness ${v.fitness?.score ?? 0} does not beat main's ${main} (LOOM_PARENT=archive); it passed every stage`,
              signal,
            );
            await complete(await recordOf(n!));
          } else if (v.passed && state.round) {
            // A finalist of a round: promoted only once every finalist is verified, if it is the best.
            await complete(await recordOf(n!));
          } else if (v.passed) {
            await save({ phase: state.options.promoteMode === "auto" ? "promoting" : "awaiting_approval" });
          } else {
            await save({ phase: "rolling_back", reason: rollbackReason(v) });
          }
          break;
        }
        case "awaiting_approval": {
          // A person promotes or rolls back; the run follows the record.
          let record = await recordOf(n!);
          while (record.outcome === "verifying") {
            await sleep(pollMs, signal);
            checkAbort();
            record = await recordOf(n!);
          }
          await complete(record);
          break;
        }
        case "promoting": {
          let record = await recordOf(n!);
          if (record.outcome === "verifying") {
            await ports.promote(n!, signal);
            record = await recordOf(n!);
          }
          await complete(record);
          break;
        }
        case "rolling_back": {
          const reason = state.reason ?? "verification did not pass";
          let record = await recordOf(n!);
          if (record.outcome === "verifying") {
            await ports.rollback(n!, reason, signal);
            record = await recordOf(n!);
          }
          await complete(record);
          break;
        }
        case "stopped":
          throw new LoomError("AUTONOMOUS_STATE_INVALID", "an active run cannot be in phase stopped");
      }
    }
  } catch (error) {
    if (stopSignal.aborted) {
      const where =
        state.generation !== null ? ` during ${state.phase} of generation ${state.generation}` : "";
      return finish("aborted", `stopped by request${where}; the generation is left as it is`);
    }
    if (suspendSignal.aborted || error instanceof Suspended) {
      ports.emit({ type: "suspended", phase: state.phase, generation: state.generation });
      return { stopReason: "suspended", state, progress: progress() };
    }
    const message = errorMessage(error);
    const code = (error as { code?: unknown }).code;
    return finish(
      "error",
      `${typeof code === "string" ? `${code}: ` : ""}${message} (during ${state.phase})`,
    );
  }
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
