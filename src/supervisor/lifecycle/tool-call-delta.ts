import type { ToolCallCounts } from "../../../schemas/lab-status.ts";

export interface ToolCallDelta {
  readonly tool: string;
  readonly calls: number;
  readonly errors: number;
  readonly totalCalls: number;
  readonly totalErrors: number;
}

/**
 * What a Lab's per-tool counters gained between two polls of /status, one entry per tool that moved,
 * in the order the Lab's counters list them. A counter that went down (a restarted Lab) counts from zero.
 */
export function toolCallDelta(
  before: ToolCallCounts | undefined,
  after: ToolCallCounts | undefined,
): ToolCallDelta[] {
  const out: ToolCallDelta[] = [];
  for (const [tool, now] of Object.entries(after ?? {})) {
    const was = before?.[tool] ?? { calls: 0, errors: 0 };
    const reset = now.calls < was.calls || now.errors < was.errors;
    const calls = reset ? now.calls : now.calls - was.calls;
    const errors = reset ? now.errors : now.errors - was.errors;
    if (calls > 0 || errors > 0) {
      out.push({ tool, calls, errors, totalCalls: now.calls, totalErrors: now.errors });
    }
  }
  return out;
}
