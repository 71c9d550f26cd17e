import { ToolError } from "../agent/tool.ts";
import { errorMessage } from "../shared/errors.ts";
import type { AutonomousControl, AutonomousEngine, AutonomousSnapshot } from "./ports.ts";

/**
 * One autonomous run at a time, in the background of Prime's process: started by the
 * run_autonomous_loop tool or, after a restart, resumed from the state file.
 */
export class AutonomousRunner implements AutonomousControl {
  #running: { stop: AbortController; suspend: AbortController; done: Promise<void> } | undefined;
  #lastError: string | null = null;

  constructor(
    private readonly engine: AutonomousEngine,
    private readonly log: (line: string) => void,
  ) {}

  async start(options: { maxGenerations?: number }): Promise<AutonomousSnapshot> {
    if (this.#running) {
      throw new ToolError(
        "AUTONOMOUS_RUNNING",
        "the autonomous loop is already running; GET /stats shows its state",
      );
    }
    const stop = new AbortController();
    const suspend = new AbortController();
    this.#lastError = null;
    const done = this.engine
      .run({ ...options, signal: stop.signal, suspendSignal: suspend.signal, log: this.log })
      .then(
        () => this.log("autonomous loop: finished"),
        (err: unknown) => {
          this.#lastError = errorMessage(err);
          this.log(`autonomous loop: stopped: ${this.#lastError}`);
        },
      )
      .finally(() => {
        this.#running = undefined;
      });
    this.#running = { stop, suspend, done };
    this.log(
      `autonomous loop: started${options.maxGenerations ? ` (at most ${options.maxGenerations} generations)` : ""}`,
    );
    return this.snapshot();
  }

  /** On start: goes on with a run the state file says was in progress when Prime stopped. */
  async resumeIfActive(): Promise<boolean> {
    const { active } = await this.engine.readState();
    if (!active || this.#running) return false;
    this.log("autonomous loop: resuming the run in progress before the restart");
    await this.start({});
    return true;
  }

  async snapshot(): Promise<AutonomousSnapshot> {
    const { state } = await this.engine.readState().catch((err: unknown) => ({
      state: { unreadable: errorMessage(err) },
    }));
    return { running: this.#running !== undefined, state, lastError: this.#lastError };
  }

  /** Prime shutting down: the run is suspended, its state left active for the next Prime to resume. */
  async suspend(): Promise<void> {
    const running = this.#running;
    if (!running) return;
    running.suspend.abort();
    await running.done;
  }

  /** A person's stop: the run ends and is not resumed. */
  async stop(): Promise<void> {
    const running = this.#running;
    if (!running) return;
    running.stop.abort();
    await running.done;
  }
}
