import { z } from "zod";
import { GenerationNumber, GenerationOutcome, LabBranch } from "./generation.ts";
import { Candidate, CandidateCount, CandidateHint, MAX_CANDIDATES, RoundNumber } from "./round.ts";
import { Usage } from "./usage.ts";

/** program.md travels in the spawn body; 64 KiB of UTF-8 is far beyond any useful contract. */
export const PROGRAM_MAX_BYTES = 64 * 1024;
export const REASON_MAX_CHARS = 4_000;

const utf8Bytes = (s: string): number => new TextEncoder().encode(s).byteLength;

/** Git object names: SHA-1 (40 hex) or SHA-256 (64 hex) repositories. */
export const CommitSha = z
  .string()
  .regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, "expected a full lowercase commit sha");

/**
 * `POST /spawn`: start a round — `candidates` Labs at once (absent: LOOM_CANDIDATES), each a new
 * generation on this program.md. `hints[i]` is candidate i+1's approach hint, added to its program.md;
 * there may be fewer hints than candidates, never more (checked against the round's size).
 */
export const SpawnRequest = z.strictObject({
  candidates: CandidateCount.optional(),
  /**
   * What every candidate builds on: main's latest promoted generation or an archived one verified in
   * full; absent: LOOM_PARENT decides (main, or a draw from the archive).
   */
  parent: GenerationNumber.optional(),
  hints: z.array(CandidateHint).max(MAX_CANDIDATES, `expected at most ${MAX_CANDIDATES} hints`).optional(),
  program: z
    .string()
    .min(1)
    .max(PROGRAM_MAX_BYTES)
    .refine((s) => s.trim() !== "", "program must not be only whitespace")
    .refine(
      (s) => utf8Bytes(s) <= PROGRAM_MAX_BYTES,
      `program must be at most ${PROGRAM_MAX_BYTES} bytes of UTF-8`,
    ),
});
export type SpawnRequest = z.infer<typeof SpawnRequest>;

const branchMatchesGeneration = (v: { generation: number; branch: string }, ctx: z.RefinementCtx): void => {
  if (v.branch !== `lab/gen-${v.generation}`) {
    ctx.addIssue({ code: "custom", path: ["branch"], message: `branch must be lab/gen-${v.generation}` });
  }
};

/** One candidate of a spawned round, as it stood when the spawn was answered. */
export const SpawnedGeneration = z
  .object({
    generation: GenerationNumber,
    branch: LabBranch,
    outcome: GenerationOutcome,
    reason: z.string().nullable(),
    candidate: Candidate,
  })
  .superRefine(branchMatchesGeneration);
export type SpawnedGeneration = z.infer<typeof SpawnedGeneration>;

/**
 * The round a spawn started: `generations` lists every candidate in index order; the top-level
 * generation, branch, outcome and reason repeat the first, so a caller that runs one Lab at a time
 * reads what it always read.
 */
export const SpawnResponse = z
  .object({
    generation: GenerationNumber,
    branch: LabBranch,
    outcome: GenerationOutcome,
    reason: z.string().nullable(),
    round: RoundNumber,
    generations: z.array(SpawnedGeneration).min(1).max(MAX_CANDIDATES),
  })
  .superRefine(branchMatchesGeneration)
  .superRefine((v, ctx) => {
    if (v.generations[0]?.generation !== v.generation) {
      ctx.addIssue({
        code: "custom",
        path: ["generations", 0],
        message: `the first candidate must be generation ${v.generation}`,
      });
    }
  });
export type SpawnResponse = z.infer<typeof SpawnResponse>;

/**
 * `POST /promote`: merge `lab/gen-N` into main and tag it. A generation that touches the gate
 * (schemas/gate.ts) is promoted only with `approveGateChange: true`, a person's explicit approval.
 */
export const PromoteRequest = z.strictObject({
  generation: GenerationNumber,
  approveGateChange: z.boolean().optional(),
});
export type PromoteRequest = z.infer<typeof PromoteRequest>;

export const PromoteResponse = z
  .object({
    generation: GenerationNumber,
    tag: z.string().regex(/^gen-[1-9][0-9]*$/, "expected a tag named gen-N"),
    mergeCommit: CommitSha,
  })
  .superRefine((v, ctx) => {
    if (v.tag !== `gen-${v.generation}`) {
      ctx.addIssue({ code: "custom", path: ["tag"], message: `tag must be gen-${v.generation}` });
    }
  });
export type PromoteResponse = z.infer<typeof PromoteResponse>;

/**
 * `POST /archive`: keep a verifying candidate that passed verification (or a round's cheap stages) but
 * was not promoted: `lab/gen-N` moves to `refs/loom/archive/gen-N`, a stepping stone to build on later;
 * the reason says why it was not chosen.
 */
export const ArchiveRequest = z.strictObject({
  generation: GenerationNumber,
  reason: z.string().min(1).max(REASON_MAX_CHARS),
});
export type ArchiveRequest = z.infer<typeof ArchiveRequest>;

export const ArchiveResponse = z.object({
  generation: GenerationNumber,
  /** archived: verified in full, moved to refs/loom/archive/gen-N; screened: only the cheap stages ran, lab/gen-N kept. */
  outcome: z.enum(["archived", "screened"]),
  ref: z
    .string()
    .regex(
      /^(refs\/loom\/archive\/gen-[1-9][0-9]*|refs\/heads\/lab\/gen-[1-9][0-9]*)$/,
      "expected refs/loom/archive/gen-N or refs/heads/lab/gen-N",
    ),
  reason: z.string(),
});
export type ArchiveResponse = z.infer<typeof ArchiveResponse>;

/** `POST /rollback`: discard `lab/gen-N`; the reason becomes a lesson. */
export const RollbackRequest = z.strictObject({
  generation: GenerationNumber,
  reason: z.string().min(1).max(REASON_MAX_CHARS).optional(),
});
export type RollbackRequest = z.infer<typeof RollbackRequest>;

export const RollbackResponse = z.object({
  generation: GenerationNumber,
  outcome: z.literal("rolled_back"),
  reason: z.string(),
});
export type RollbackResponse = z.infer<typeof RollbackResponse>;

/** Every non-2xx JSON body: a stable UPPER_SNAKE code and a message naming what was wrong. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string().regex(/^[A-Z][A-Z0-9_]*$/, "expected an UPPER_SNAKE_CASE error code"),
    message: z.string().min(1),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

const count = z.number().int().nonnegative();

/**
 * Where the Prime the Supervisor keeps stands: `disabled` (started with --no-prime), `starting` (first
 * start, waiting for /health), `running` (healthy), `restarting` (on a newly promoted main),
 * `reverting` (that Prime was unhealthy: main goes back, the previous Prime comes back), `failed` (no
 * healthy Prime; the Supervisor's log says why), `stopped` (shut down).
 */
export const PrimeState = z.enum([
  "disabled",
  "starting",
  "running",
  "restarting",
  "reverting",
  "failed",
  "stopped",
]);
export type PrimeState = z.infer<typeof PrimeState>;

/** The `prime` field of `GET /stats`. */
export const PrimeStatus = z.object({
  state: PrimeState,
  /** The main commit Prime runs (or is being started) on; null when none. */
  commit: CommitSha.nullable(),
  /** Where Prime answers, e.g. http://127.0.0.1:8401; null when it is not running. */
  url: z.string().nullable(),
});
export type PrimeStatus = z.infer<typeof PrimeStatus>;

/** `GET /stats` of the Supervisor: the lineage in numbers and what runs now. */
export const SupervisorStats = z.object({
  generations: count,
  byOutcome: z.record(GenerationOutcome, count),
  tokens: Usage,
  totalTokens: count,
  /** The generation whose Lab is running now, if any (the first still running of a round). */
  running: GenerationNumber.nullable(),
  /** Every generation of the running round whose Lab has not finished, in order; absent from older Supervisors. */
  runningGenerations: z.array(GenerationNumber).optional(),
  runtime: z.string(),
  prime: PrimeStatus,
});
export type SupervisorStats = z.infer<typeof SupervisorStats>;
