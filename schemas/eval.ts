import { z } from "zod";

/** Longest an eval may run; the Lab's eval server enforces it (the original never did). */
export const EVAL_TIMEOUT_MAX_MS = 60_000;

/** Prime ↔ Lab eval protocol, request side: a module source to run, and an optional timeout in ms. */
export const EvalRequest = z.strictObject({
  form: z.string().describe("TypeScript module source to evaluate"),
  timeout: z.number().int().positive().max(EVAL_TIMEOUT_MAX_MS).optional().describe("milliseconds"),
});
export type EvalRequest = z.infer<typeof EvalRequest>;

/** Eval protocol, response side: `value` on success, `message` on error. */
export const EvalResponse = z.object({
  status: z.enum(["ok", "error"]),
  value: z.unknown().optional(),
  message: z.string().optional(),
});
export type EvalResponse = z.infer<typeof EvalResponse>;
