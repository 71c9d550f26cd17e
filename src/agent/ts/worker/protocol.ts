import type { ToolResult } from "../../tool.ts";

/** The messages between the Lab's main thread and the TypeScript tools' worker thread. */

/** A throw inside the worker, rebuilt on the main thread so the registry renders it as in-process. */
export interface ThrownError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
  /** Something other than an Error was thrown; `message` is its String(). */
  readonly notError?: true;
}

export type MainToWorker =
  /** `input` was validated by the registry on the main thread; the worker runs it as is. */
  | {
      readonly type: "call";
      readonly id: number;
      readonly tool: string;
      readonly input: unknown;
      readonly workspace: string;
    }
  | { readonly type: "abort"; readonly id: number; readonly reason: string }
  /** Build the workspace's Project, program and type checkers before the first call needs them. */
  | { readonly type: "warm"; readonly id: number; readonly workspace: string }
  | { readonly type: "stats"; readonly id: number };

export interface WorkerStats {
  /** Projects built in the worker so far (a rebuilt one counts again). */
  readonly projectsBuilt: number;
}

export type WorkerToMain =
  | { readonly id: number; readonly result: ToolResult }
  | { readonly id: number; readonly warmed: { readonly ms: number } }
  | { readonly id: number; readonly stats: WorkerStats }
  | { readonly id: number; readonly error: ThrownError };
