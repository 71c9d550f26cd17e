import { z } from "zod";
import type { MessageParam, ModelPort, ModelResponse, ToolDefinition } from "../agent/model-port.ts";
import { formatIssues } from "../shared/zod-issues.ts";

/**
 * One model call whose answer must come as the input of one named tool (tool_choice forces it), checked
 * against the zod schema the tool's input_schema was made from. Failures are data, so callers decide
 * between a rejection (review) and a corrective retry (reflect).
 */

export type ForcedToolResult<T> =
  | { ok: true; value: T; response: ModelResponse; toolUseId: string }
  | {
      ok: false;
      /** What was wrong, phrased so it can be told to the model. */
      why: string;
      kind: "no_tool_call" | "invalid_input";
      response: ModelResponse;
      /** The offending tool_use id, for a corrective tool_result. */
      toolUseId: string | undefined;
    };

export function toolFor(name: string, description: string, schema: z.ZodType): ToolDefinition {
  const { $schema: _drop, ...inputSchema } = z.toJSONSchema(schema) as Record<string, unknown>;
  return { name, description, input_schema: inputSchema as ToolDefinition["input_schema"] };
}

export async function callForcedTool<S extends z.ZodType>(args: {
  model: ModelPort;
  system: string;
  messages: readonly MessageParam[];
  tool: ToolDefinition;
  schema: S;
  maxTokens?: number;
  signal?: AbortSignal | undefined;
}): Promise<ForcedToolResult<z.infer<S>>> {
  const response = await args.model.call(
    {
      system: args.system,
      messages: args.messages,
      tools: [args.tool],
      toolChoice: { type: "tool", name: args.tool.name },
      ...(args.maxTokens ? { maxTokens: args.maxTokens } : {}),
    },
    args.signal,
  );
  const use = response.content.find((b) => b.type === "tool_use" && b.name === args.tool.name);
  if (use?.type !== "tool_use") {
    const text = response.content
      .filter((b) => b.type === "text")
      .map((b) => (b as { text: string }).text)
      .join(" ")
      .trim();
    const other = response.content.find((b) => b.type === "tool_use");
    return {
      ok: false,
      kind: "no_tool_call",
      why:
        `the model did not call ${args.tool.name} (stop_reason ${response.stopReason ?? "none"}` +
        (other?.type === "tool_use" ? `, called ${other.name} instead` : "") +
        (text ? `; it wrote: "${clip(text, 300)}"` : "") +
        ")",
      response,
      toolUseId: other?.type === "tool_use" ? other.id : undefined,
    };
  }
  const parsed = args.schema.safeParse(use.input);
  if (!parsed.success) {
    return {
      ok: false,
      kind: "invalid_input",
      why: `${args.tool.name} input is invalid: ${formatIssues(parsed.error, { root: "(input)" })}`,
      response,
      toolUseId: use.id,
    };
  }
  return { ok: true, value: parsed.data, response, toolUseId: use.id };
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more chars)`;
}
