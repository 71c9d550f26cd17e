import { z } from "zod";
import { EVAL_TIMEOUT_MAX_MS } from "../../../schemas/index.ts";
import type { ToolSpec } from "../tool.ts";

const EvalInput = z.strictObject({
  form: z
    .string()
    .min(1)
    .describe(
      'TypeScript statements; import workspace modules by relative path, e.g. import { f } from "./src/x.ts"; the last expression is the value',
    ),
  timeout: z
    .number()
    .int()
    .positive()
    .max(EVAL_TIMEOUT_MAX_MS)
    .optional()
    .describe("milliseconds (default 5000)"),
});

/** What the model sees of the eval tool, apart from the engine that runs it (src/agent/tools/eval.ts). */
export const evalSpec = {
  name: "eval",
  description:
    'Run TypeScript against the workspace\'s current source in milliseconds, without a build. Import modules by relative path from the workspace root (import { f } from "./src/x.ts"); top-level await works; the value of the last expression is returned with any console output. Use it to check a function right after editing it. Module state persists between calls; changed files and their importers are re-run. It runs in a separate process with its own memory limits and no API keys in process.env; timers still pending when the form answers are cancelled, and a timeout or out-of-memory resets module state.',
  input: EvalInput,
  effect: "exec",
  timeoutMs: EVAL_TIMEOUT_MAX_MS + 10_000,
} satisfies ToolSpec<z.infer<typeof EvalInput>>;
