import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import { ProgramContract } from "../../../schemas/program.ts";
import type { ContentBlock, MessageParam, ModelPort } from "../../agent/model-port.ts";
import type { AnalysisReport } from "../../analyze/report-schema.ts";
import { LoomError } from "../../shared/errors.ts";
import { parseProgram, renderProgram } from "../../shared/program.ts";
import { callForcedTool, toolFor } from "../forced-tool.ts";
import { lessonsFrom } from "./lessons.ts";
import { buildReflectPrompt, PROPOSE_TOOL, REFLECT_SYSTEM } from "./reflect-prompt.ts";

/** The model did not produce a usable contract, even after being told what was wrong. */
export class ReflectError extends LoomError {}

export interface ReflectOptions {
  readonly model: ModelPort;
  readonly analysis: AnalysisReport;
  readonly lineage: readonly GenerationRecord[];
  /** Lessons of failed generations; lessonsFrom(lineage) when left out. */
  readonly lessons?: readonly string[];
  /** A person's steer for this reflect, put first in the prompt. */
  readonly guidance?: string;
  readonly signal?: AbortSignal;
}

export interface Proposal {
  /** program.md, rendered from the contract so it always parses back. */
  readonly program: string;
  readonly contract: ProgramContract;
}

const PROPOSE_TOOL_DEF = toolFor(
  PROPOSE_TOOL,
  "Submit the next generation's program.md as a contract: task, objective, files, acceptance criteria, constraints.",
  ProgramContract,
);

type BlockParam = Exclude<MessageParam["content"], string>[number];

/** Assistant content sent back as request params: only the block fields the API accepts. */
function asParams(content: readonly ContentBlock[]): BlockParam[] {
  const out: BlockParam[] = [];
  for (const b of content) {
    if (b.type === "text" && b.text) out.push({ type: "text", text: b.text });
    else if (b.type === "tool_use") out.push({ type: "tool_use", id: b.id, name: b.name, input: b.input });
  }
  return out;
}

/**
 * Reads the analysis, the lineage and the lessons and asks the model for the next program.md through
 * a forced propose_program call. An invalid contract (or none) gets one corrective retry in which the
 * model is told exactly what was wrong; a second failure is a ReflectError. Model errors propagate.
 */
export async function reflectAndPropose(options: ReflectOptions): Promise<Proposal> {
  const lessons = options.lessons ?? lessonsFrom(options.lineage);
  const messages: MessageParam[] = [
    {
      role: "user",
      content: buildReflectPrompt({
        analysis: options.analysis,
        lineage: options.lineage,
        lessons,
        guidance: options.guidance,
      }),
    },
  ];
  let lastWhy = "";
  for (let attempt = 1; attempt <= 2; attempt++) {
    const result = await callForcedTool({
      model: options.model,
      system: REFLECT_SYSTEM,
      messages,
      tool: PROPOSE_TOOL_DEF,
      schema: ProgramContract,
      maxTokens: 4_096,
      signal: options.signal,
    });
    let why: string;
    if (result.ok) {
      const program = renderProgram(result.value);
      try {
        return { program, contract: parseProgram(program) };
      } catch (error) {
        why = `the contract does not render to a program.md that parses back: ${(error as Error).message}`;
      }
    } else {
      why = result.why;
    }
    lastWhy = why;
    const correction = `${why}. Call ${PROPOSE_TOOL} again with a corrected contract: every field required, lists non-empty.`;
    const assistant = asParams(result.response.content);
    // Every tool_use must be answered; the correction goes to the one that carried the bad contract.
    const uses = assistant.flatMap((b) => (b.type === "tool_use" ? [b.id] : []));
    const target = result.toolUseId ?? uses[0];
    messages.push({
      role: "assistant",
      content: assistant.length ? assistant : [{ type: "text", text: "(no answer)" }],
    });
    messages.push({
      role: "user",
      content: uses.length
        ? uses.map((id) => ({
            type: "tool_result" as const,
            tool_use_id: id,
            is_error: true,
            content: id === target ? correction : "ignored: only one propose_program call counts",
          }))
        : correction,
    });
  }
  throw new ReflectError(
    "REFLECT_INVALID_CONTRACT",
    `reflect: the model gave no valid program contract after one corrective retry; last problem: ${lastWhy}`,
  );
}
