import { z } from "zod";
import { GateStage } from "./gate.ts";
import { ReviewVerdict } from "./review.ts";
import { CommitSha } from "./supervisor.ts";

/** Producers keep the tail of step output within this; the record is for lessons, not archives. */
export const TEST_OUTPUT_MAX_CHARS = 16_384;

/** One command of stage-1 verification (install, check, acceptance), run in a fresh container. */
export const StepResult = z.object({
  passed: z.boolean(),
  /** null when the process was killed (timeout, signal) before exiting. */
  exitCode: z.number().int().nullable(),
  /** The tail of stdout+stderr. */
  output: z.string().max(TEST_OUTPUT_MAX_CHARS),
  durationMs: z.number().nonnegative(),
});
export type StepResult = z.infer<typeof StepResult>;

/** `npm test` of the Lab branch: a step plus how many tests it ran. */
export const TestStage = StepResult.extend({
  testCount: z.number().int().nonnegative(),
});
export type TestStage = z.infer<typeof TestStage>;

/** The frozen acceptance suite (`acceptance/`, beside the schemas): unchanged by the Lab and passing. */
export const AcceptanceStage = z.object({
  /** false when there is no acceptance/ folder on main: nothing is frozen, nothing to run. */
  present: z.boolean(),
  unchanged: z.boolean(),
  run: StepResult.nullable(),
});
export type AcceptanceStage = z.infer<typeof AcceptanceStage>;

/** The stages of stage 1, cheapest first; the cascade stops at the first that fails. */
export const CascadeStageName = z.enum([
  "fixed_points",
  "install",
  "check",
  "reachable_tests",
  // LOOM_FITNESS=tasks only: the candidate's Lab agent on a staged subset of tasks/ (main's), then on all of them.
  "tasks_screen",
  "full_tests",
  "acceptance",
  "tasks",
]);
export type CascadeStageName = z.infer<typeof CascadeStageName>;

/** skipped: not needed or not narrower (detail says why); not_run: an earlier stage failed or the run stopped before it. */
export const CascadeStageState = z.enum(["passed", "failed", "skipped", "not_run"]);
export type CascadeStageState = z.infer<typeof CascadeStageState>;

export const CascadeStage = z.object({
  name: CascadeStageName,
  state: CascadeStageState,
  durationMs: z.number().nonnegative(),
  /** Why it was skipped or not run, or what failed (its words in `failures`, plus an output tail for tests). */
  detail: z.string().optional(),
  /** Tests the stage ran (reachable_tests, full_tests). */
  testsRun: z.number().int().nonnegative().optional(),
});
export type CascadeStage = z.infer<typeof CascadeStage>;

/** A Lab agent's score on tasks (`loom bench-agent`): which were solved, and what it cost. */
export const TaskScore = z.object({
  /** The commit whose Lab agent ran. */
  ref: CommitSha,
  solved: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  /** Names of the tasks it solved (the pairing of a comparison). */
  solvedTasks: z.array(z.string()),
  costUsd: z.number().nonnegative().nullable(),
  /** sha256 of the task set (main's tasks/, or the staged subset of it). */
  taskSet: z.string(),
});
export type TaskScore = z.infer<typeof TaskScore>;

/**
 * LOOM_FITNESS=tasks: the candidate's Lab agent against main's on main's tasks/, paired task by task.
 * `screen` is the staged subset run among the cheap stages; `full` the whole suite, for finalists.
 */
export const TaskFitness = z.object({
  screen: z.object({ candidate: TaskScore, main: TaskScore }).nullable(),
  full: z
    .object({
      candidate: TaskScore,
      main: TaskScore,
      /** Tasks only the candidate solved, only main solved. */
      candidateOnly: z.number().int().nonnegative(),
      mainOnly: z.number().int().nonnegative(),
      /** McNemar's exact two-sided p-value on those discordant tasks. */
      pValue: z.number().min(0).max(1),
      verdict: z.enum(["candidate better", "main better", "within noise"]),
      /** Solved share, candidate minus main. */
      gain: z.number().min(-1).max(1),
      /** LOOM_MIN_GAIN when it was judged. */
      minGain: z.number().min(0).max(1),
    })
    .nullable(),
});
export type TaskFitness = z.infer<typeof TaskFitness>;

/** How far `POST /verify` runs the cascade: through the reachable tests only, or every stage (default). */
export const VerifyThrough = z.enum(["reachable", "full"]);
export type VerifyThrough = z.infer<typeof VerifyThrough>;

/**
 * Stage 1, mechanical: what a fresh container made of `lab/gen-N` shows, never what the Lab claims.
 * `failures` says in words why `passed` is false (empty when it passed).
 */
export const MechanicalVerification = z.object({
  passed: z.boolean(),
  /** The lab/gen-N commit verified and the main it was compared with. */
  commit: CommitSha,
  base: CommitSha,
  /** null when the lockfile is unchanged and main's installed packages were reused. */
  install: StepResult.nullable(),
  check: StepResult,
  tests: TestStage,
  /** Tests main ran at `base`; the Lab's count may not be lower. */
  baselineTestCount: z.number().int().nonnegative(),
  schemaFingerprintOk: z.boolean(),
  acceptance: AcceptanceStage,
  /** The gate's paths the candidate changes (schemas/gate.ts); absent on records verified before it was measured. */
  gate: GateStage.optional(),
  failures: z.array(z.string()),
  durationMs: z.number().nonnegative(),
  /** Each stage of the cascade in order, with its time; absent on records verified before the cascade. */
  stages: z.array(CascadeStage).optional(),
  /**
   * false when the run stopped after the reachable tests (`through: "reachable"`): `passed` then means
   * it passed every stage it ran, and it can be neither given a fitness nor promoted. Absent = complete.
   */
  complete: z.boolean().optional(),
  /** LOOM_FITNESS=tasks: the task scores the cascade measured; absent under LOOM_FITNESS=gates. */
  taskFitness: TaskFitness.optional(),
});
export type MechanicalVerification = z.infer<typeof MechanicalVerification>;

/** Stage 2, Prime's LLM review; a missing or invalid verdict is a rejection with `error` saying why. */
export const ReviewStage = z.object({
  verdict: ReviewVerdict.nullable(),
  error: z.string().nullable(),
  durationMs: z.number().nonnegative(),
});
export type ReviewStage = z.infer<typeof ReviewStage>;

/**
 * Fitness that adding trivial tests cannot game: zero unless every gate holds (check, tests, frozen
 * acceptance, schemas, review); above the gate it weighs signals the Lab cannot write for itself.
 */
export const Fitness = z.object({
  score: z.number(),
  gated: z.boolean(),
  components: z.record(z.string(), z.number()),
});
export type Fitness = z.infer<typeof Fitness>;

/** Both stages of one generation's verification, as stored on its record. */
export const Verification = z.object({
  /** true only when stage 1 passed and the review approved. */
  passed: z.boolean(),
  mechanical: MechanicalVerification,
  /** null until Prime has reviewed (stage 1 alone never promotes). */
  review: ReviewStage.nullable(),
  fitness: Fitness.nullable(),
});
export type Verification = z.infer<typeof Verification>;

/**
 * Where the last stage-1 verification of a generation is: `POST /verify` answers 202 with the record
 * showing `running`; it ends `done` (the result is the record's `verification`), `stopped` (a shutdown
 * or restart cut it short; POST /verify again) or `error` (it could not run; `error` says why).
 */
export const VerificationRunState = z.enum(["running", "done", "stopped", "error"]);
export type VerificationRunState = z.infer<typeof VerificationRunState>;

export const VerificationRun = z.strictObject({
  state: VerificationRunState,
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
  /** Why it was stopped or could not run, as an ErrorBody's code and message; null otherwise. */
  error: z.strictObject({ code: z.string(), message: z.string() }).nullable(),
});
export type VerificationRun = z.infer<typeof VerificationRun>;

/** Whether a verification is still running; every other state is final for that run. */
export const isVerificationRunning = (run: VerificationRun | null | undefined): boolean =>
  run?.state === "running";

/**
 * `POST /verify`: start stage 1 of a verifying generation in fresh containers (202; follow the record).
 * `through: "reachable"` stops the cascade after the tests the change can reach (cheap rejection of
 * losers); the default "full" runs every stage, which a promotion requires.
 */
export const VerifyRequest = z.strictObject({
  generation: z.number().int().min(1),
  through: VerifyThrough.optional(),
});
export type VerifyRequest = z.infer<typeof VerifyRequest>;

/** `POST /review`: record Prime's stage-2 verdict (or why there is none) on a verified generation. */
export const ReviewRequest = z.strictObject({
  generation: z.number().int().min(1),
  verdict: ReviewVerdict.nullable(),
  error: z.string().max(4_000).nullable(),
  durationMs: z.number().nonnegative(),
});
export type ReviewRequest = z.infer<typeof ReviewRequest>;
