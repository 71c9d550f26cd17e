import { sharedEvalEngine } from "../../../lab-runtime/eval/shared-engines.ts";
import { defineTool } from "../tool.ts";
import { evalSpec } from "./eval-spec.ts";

/**
 * The Lab's eval server as a tool: probe the workspace's current code in milliseconds, right after an
 * edit, without a build. Same engine and protocol as POST /eval, so the same containment: the form runs
 * in an evaluator process that a timeout or memory exhaustion kills, never the Lab.
 */
export const evalTool = defineTool({
  ...evalSpec,
  async run(input, ctx) {
    const response = await sharedEvalEngine(ctx.workspace).eval(input.form, input.timeout);
    if (response.status === "error")
      return { content: response.message ?? "eval failed", isError: true, details: response };
    const value = response.value === undefined ? "undefined" : JSON.stringify(response.value);
    const output = response.message ? `\n${response.message}` : "";
    return { content: `value: ${value}${output}`, details: response };
  },
});
