import { z } from "zod";

const count = z.number().int().nonnegative();

/** Token usage of one model call or a whole run (the four counters the Messages API reports). */
export const Usage = z.object({
  input: count,
  output: count,
  cacheRead: count,
  cacheWrite: count,
});
export type Usage = z.infer<typeof Usage>;
