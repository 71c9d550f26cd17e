import type { GenerationDiff } from "../../schemas/generation-diff.ts";
import type { GenerationRecord } from "../../schemas/generation-record.ts";
import type { ProgramContract } from "../../schemas/program.ts";
import type { ReviewStage } from "../../schemas/verification.ts";
import type { ModelPort } from "../agent/model-port.ts";
import type { AnalysisReport } from "../analyze/report-schema.ts";
import type { SupervisorClient } from "./supervisor-client.ts";

/** Stage-2 review of one generation's diff (src/prime/review/); never throws for a bad verdict. */
export type ReviewFn = (args: {
  model: ModelPort;
  diff: GenerationDiff;
  signal?: AbortSignal;
}) => Promise<ReviewStage>;

/** Reflection: the codebase and the lineage in, the next program.md out (src/prime/reflect/). */
export type ReflectFn = (args: {
  model: ModelPort;
  analysis: AnalysisReport;
  lineage: readonly GenerationRecord[];
  /** A person's steer for this reflection. */
  guidance?: string;
  signal?: AbortSignal;
}) => Promise<{ program: string; contract: ProgramContract }>;

/**
 * The autonomous loop itself (src/prime/autonomous/ bound to the Supervisor client and the thinking
 * functions): runs or resumes to its end, with its state in a file so a restarted Prime goes on.
 */
export interface AutonomousEngine {
  run(options: {
    maxGenerations?: number;
    /** Candidates each round spawns (default LOOM_CANDIDATES). */
    candidates?: number;
    /** A person's stop: the run ends and is not resumed. */
    signal: AbortSignal;
    /** Prime shutting down: the state stays active, for the next Prime to resume. */
    suspendSignal: AbortSignal;
    log: (line: string) => void;
  }): Promise<unknown>;
  /** The persisted state, and whether it says a run is in progress (to resume after a restart). */
  readState(): Promise<{ active: boolean; state: unknown }>;
}

/** The autonomous loop as Prime's tools and server see it: one background run at a time. */
export interface AutonomousControl {
  /** Starts a run (or resumes the active one from its state file); refuses while one runs. */
  start(options: { maxGenerations?: number }): Promise<AutonomousSnapshot>;
  /** Whether a run is in progress in this process, and the state file's content. */
  snapshot(): Promise<AutonomousSnapshot>;
}

export interface AutonomousSnapshot {
  readonly running: boolean;
  /** The loop's persisted state (its own schema), or null before any run. */
  readonly state: unknown;
  /** Why the last run in this process ended, if it did. */
  readonly lastError: string | null;
}

/** Everything Prime's self-modify tools need besides their input; built once by the composition root. */
export interface PrimeToolDeps {
  readonly client: SupervisorClient;
  /** Prime's model, for the review and the reflection. */
  readonly model: ModelPort;
  /** The repository Prime reads (read-only for Prime: Labs change it, through generations). */
  readonly repo: string;
  /** LOOM_STATE_DIR: program.md, chat.jsonl, the autonomous state. */
  readonly stateDir: string;
  readonly review: ReviewFn;
  readonly reflect: ReflectFn;
  readonly autonomous: AutonomousControl;
  /** How long spawn_lab waits for a Lab (LOOM_LAB_TIMEOUT_MS plus a margin). */
  readonly labWaitMs: number;
  /** How long POST /verify may take: every stage-1 step may run LOOM_VERIFY_TIMEOUT_MS (default 1 h). */
  readonly verifyWaitMs?: number;
  readonly pollMs?: number;
}

/** The deps without the autonomous control: what reflect and verify need (the loop itself uses them). */
export type PrimeCoreDeps = Omit<PrimeToolDeps, "autonomous">;
