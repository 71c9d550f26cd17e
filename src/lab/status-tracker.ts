import type { LabStatus, ToolCallCounts } from "../../schemas/index.ts";
import type { AgentEvent } from "../shared/events.ts";

/**
 * Folds the agent's event stream into the Lab's `/status` answer: a one-line progress, per-tool
 * call and error counts, and the final state. The worker feeds it; the server only reads it.
 */
export class LabStatusTracker {
  private state: LabStatus["status"] = "starting";
  private progress = "starting";
  private error: string | null = null;
  private readonly counts: ToolCallCounts = {};
  private modelCalls = 0;

  constructor(private readonly generation?: number) {}

  readonly onEvent = (event: AgentEvent): void => {
    switch (event.type) {
      case "turn_start":
        this.state = "running";
        this.progress = "working";
        break;
      case "model_call":
        this.modelCalls++;
        this.progress = `model call ${event.iteration}`;
        break;
      case "tool_start":
        this.progress = `running ${event.name}`;
        break;
      case "tool_end": {
        const c = this.counts[event.name] ?? { calls: 0, errors: 0 };
        this.counts[event.name] = { calls: c.calls + 1, errors: c.errors + (event.isError ? 1 : 0) };
        this.progress = `${event.name} ${event.isError ? "failed" : "done"}`;
        break;
      }
      default:
        break;
    }
  };

  setProgress(progress: string): void {
    this.progress = progress;
  }

  finish(outcome: { ok: true; progress: string } | { ok: false; error: string }): void {
    this.state = outcome.ok ? "done" : "failed";
    this.progress = outcome.ok ? outcome.progress : "failed";
    this.error = outcome.ok ? null : outcome.error;
  }

  get toolCalls(): ToolCallCounts {
    return structuredClone(this.counts);
  }

  get modelCallCount(): number {
    return this.modelCalls;
  }

  snapshot(): LabStatus {
    return {
      status: this.state,
      progress: this.progress,
      error: this.error,
      toolCalls: this.toolCalls,
      ...(this.generation !== undefined ? { generation: this.generation } : {}),
    };
  }
}
