import { z } from "zod";
import { CommitSha } from "./supervisor.ts";
import { Usage } from "./usage.ts";

/** `GET /health` of Prime: 200 with this once it serves; the Supervisor's check after a restart. */
export const PrimeHealth = z.object({
  ok: z.literal(true),
  /** The commit of the Loom code this Prime runs, when it runs from a git checkout. */
  commit: CommitSha.optional(),
});
export type PrimeHealth = z.infer<typeof PrimeHealth>;

/** `GET /stats` of Prime: its conversation in numbers and the autonomous loop. */
export const PrimeStats = z.object({
  model: z.string(),
  supervisorUrl: z.string(),
  startedAt: z.iso.datetime(),
  /** Chat turns so far, across restarts. */
  turns: z.number().int().nonnegative(),
  /** Whether a chat turn is running now. */
  busy: z.boolean(),
  /** Tokens the chat used, across restarts. */
  tokens: Usage,
  totalTokens: z.number().int().nonnegative(),
  autonomous: z.object({
    running: z.boolean(),
    /** The loop's persisted state, or null before any run. */
    state: z.unknown(),
    lastError: z.string().nullable(),
  }),
});
export type PrimeStats = z.infer<typeof PrimeStats>;
