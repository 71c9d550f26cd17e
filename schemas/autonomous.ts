import { z } from "zod";
import { GenerationNumber, GenerationOutcome } from "./generation.ts";
import { CandidateCount, RoundNumber } from "./round.ts";

/**
 * The autonomous loop's persisted state. A fixed point because the Prime that reads it after a
 * promotion runs the code that promotion merged: the state must outlive any one generation's code.
 */

const count = z.number().int().nonnegative();

export const AutonomousStopReason = z.enum([
  "max_generations",
  "token_budget",
  "plateau",
  "consecutive_failures",
  "aborted",
  "error",
]);
export type AutonomousStopReason = z.infer<typeof AutonomousStopReason>;

/** Where a run is; each is written before the step it names, so a restarted Prime redoes or checks it. */
export const AutonomousPhase = z.enum([
  "reflecting",
  "spawning",
  "waiting_lab",
  /** A round of several candidates: their Labs, the cheap stages, finalists, the losers settled. */
  "round",
  "verifying",
  "awaiting_approval",
  "promoting",
  "rolling_back",
  "stopped",
]);
export type AutonomousPhase = z.infer<typeof AutonomousPhase>;

export const AutonomousOptions = z.strictObject({
  /** Generations this run may start; 0 = unlimited. */
  maxGenerations: count,
  /** Tokens (Prime's and the Labs') this run may use; 0 = unlimited. */
  tokenBudget: count,
  /** Stop after this many promoted generations without beating the best fitness; 0 = never. */
  plateauWindow: count,
  /** Stop after this many generations in a row that were not promoted; 0 = never. */
  maxConsecutiveFailures: count,
  promoteMode: z.enum(["auto", "manual"]),
  /** Candidates each round spawns (LOOM_CANDIDATES, --candidates); absent in runs from before rounds: 1. */
  candidates: CandidateCount.optional(),
  /**
   * Of a round's candidates that pass the cheap stages, how many get the full suite and the review
   * (best first, until one wins); absent: 1.
   */
  finalists: CandidateCount.optional(),
  /**
   * LOOM_PARENT: `archive` lets candidates build on stepping stones, and promotes one only when its
   * fitness beats main's; absent: main (the original's behaviour).
   */
  parent: z.enum(["main", "archive"]).optional(),
});
export type AutonomousOptions = z.infer<typeof AutonomousOptions>;

/**
 * One generation this run started, as the lineage tells it now (derived for the run's report, never
 * persisted: the record is the one source).
 */
export const AutonomousGeneration = z.strictObject({
  generation: GenerationNumber,
  outcome: GenerationOutcome,
  fitness: z.number().nullable(),
  /** Why it was not promoted (the lesson), null when it was. */
  reason: z.string().nullable(),
  /** The round it was a candidate of (absent for generations from before rounds). */
  round: RoundNumber.optional(),
});
export type AutonomousGeneration = z.infer<typeof AutonomousGeneration>;

export const AutonomousState = z
  .strictObject({
    /** 2: what the lineage holds (outcomes, fitness, the best, Lab tokens) is no longer kept here. */
    version: z.literal(2),
    runId: z.string().min(1),
    status: z.enum(["running", "stopped"]),
    phase: AutonomousPhase,
    /** The generation the phase is about; null while reflecting (and when stopped between generations). */
    generation: GenerationNumber.nullable(),
    /**
     * The candidates of the round in progress (a spawn of several), in order, until all are settled;
     * null or absent between rounds and for rounds of one.
     */
    round: z.array(GenerationNumber).min(2).nullable().optional(),
    /** program.md being spawned (phase spawning), to find its generation after a restart by its hash. */
    program: z.string().nullable(),
    /** Highest generation number in the lineage when spawning began: the spawned one is above it. */
    spawnFloor: count.nullable(),
    /** The rollback reason (phase rolling_back). */
    reason: z.string().nullable(),
    options: AutonomousOptions,
    startedAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    /**
     * The generations this run started and finished with, in order; their outcome, fitness, reason and
     * tokens are read from the lineage, and so are the best fitness and the plateau count.
     */
    generations: z.array(GenerationNumber),
    /** Tokens Prime's own model used in this run, summed across restarts (no record holds them). */
    primeTokens: count,
    stopReason: AutonomousStopReason.nullable(),
    /** What stopped the run, in words (the error's message for `error`). */
    stopDetail: z.string().nullable(),
  })
  .superRefine((s, ctx) => {
    if ((s.status === "stopped") !== (s.stopReason !== null)) {
      ctx.addIssue({
        code: "custom",
        path: ["stopReason"],
        message: "a stopped run, and only a stopped run, has a stopReason",
      });
    }
    const needsGeneration = ["waiting_lab", "verifying", "awaiting_approval", "promoting", "rolling_back"];
    if (needsGeneration.includes(s.phase) && s.generation === null) {
      ctx.addIssue({ code: "custom", path: ["generation"], message: `phase ${s.phase} needs a generation` });
    }
    if (s.phase === "round" && !s.round) {
      ctx.addIssue({ code: "custom", path: ["round"], message: "phase round needs the round's generations" });
    }
    if (s.phase === "spawning" && (s.program === null || s.spawnFloor === null)) {
      ctx.addIssue({
        code: "custom",
        path: ["program"],
        message: "phase spawning needs program and spawnFloor",
      });
    }
  });
export type AutonomousState = z.infer<typeof AutonomousState>;
