import { z } from "zod";
import { sharedEvalEngine } from "../../../lab-runtime/eval/shared-engines.ts";
import { EVAL_TIMEOUT_MAX_MS } from "../../../schemas/index.ts";
import { defineTool } from "../tool.ts";

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

/**
 * The Lab's eval server as a tool: probe the workspace's current code in milliseconds, right after an
 * edit, without a build. Same engine and protocol as POST /eval, so the same containment: the form runs
 * in an evaluator process that a timeout or memory exhaustion kills, never the Lab.
 */
export const evalTool = defineTool({
  name: "eval",
  description:
    'Run TypeScript against the workspace\'s current source in milliseconds, without a build. Import modules by relative path from the workspace root (import { f } from "./src/x.ts"); top-level await works; the value of the last expression is returned with any console output. Use it to check a function right after editing it. Module state persists between calls; changed files and their importers are re-run. It runs in a separate process with its own memory limits and no API keys in process.env; timers still pending when the form answers are cancelled, and a timeout or out-of-memory resets module state.',
  input: EvalInput,
  effect: "exec",
  timeoutMs: EVAL_TIMEOUT_MAX_MS + 10_000,
  async run(input, ctx) {
    const response = await sharedEvalEngine(ctx.workspace).eval(input.form, input.timeout);
    if (response.status === "error")
      return { content: response.message ?? "eval failed", isError: true, details: response };
    const value = response.value === undefined ? "undefined" : JSON.stringify(response.value);
    const output = response.message ? `\n${response.message}` : "";
    return { content: `value: ${value}${output}`, details: response };
  },
});
