import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { GenerationRecord } from "../../schemas/generation-record.ts";
import type { ReviewVerdict } from "../../schemas/review.ts";
import {
  type AutonomousEvent,
  type AutonomousPorts,
  type AutonomousRunOptions,
  type AutonomousStatePort,
  fileStatePort,
  runAutonomousLoop,
} from "../../src/prime/autonomous/index.ts";
import { record, verification } from "./records.ts";

/** How one spawned generation turns out. */
export interface GenPlan {
  lab?: "verifying" | "failed" | "timed_out";
  failures?: string[];
  verdict?: ReviewVerdict;
  fitness?: number;
  /** What the cheap stages (through the reachable tests) find: failures, else a pass with this many tests. */
  cheapFailures?: string[];
  reachableTests?: number;
  /** Its diff touches the gate (schemas/gate.ts): verified as usual, never promoted by the loop. */
  gate?: boolean;
}

const approve: ReviewVerdict = { approved: true, issues: [], confidence: 0.9, summary: "good" };
export const LAB_TOKENS = 1_000;
export const REFLECT_TOKENS = 500;

/** Where a simulated restart of Prime happens: in a port method, before or after its effect. */
export interface Crash {
  method:
    | "reflect"
    | "spawn"
    | "waitForLab"
    | "verify"
    | "screen"
    | "promote"
    | "rollback"
    | "archive"
    | "sleep";
  when: "before" | "after";
}

/**
 * An in-memory Supervisor with a plan per generation, and the loop's ports over it as a plain object.
 * A crash aborts the run's suspend signal and fails the call, as a Prime killed mid-step would leave it.
 */
export class FakeSupervisor {
  readonly lineage: GenerationRecord[] = [];
  readonly calls: string[] = [];
  readonly events: AutonomousEvent[] = [];
  readonly programs: string[] = [];
  /** The round size each spawn asked for. */
  readonly candidates: number[] = [];
  prime = 0;
  crash: Crash | undefined;
  /** Called on each sleep of the manual-approval poll: a person acting. */
  onSleep: ((n: number) => void) | undefined;
  #sleeps = 0;
  #planned = 0;
  readonly #planOf = new Map<number, GenPlan>();

  constructor(
    private readonly plans: GenPlan[],
    initial: GenerationRecord[] = [],
  ) {
    this.lineage.push(...initial);
  }

  get(n: number): GenerationRecord {
    const r = this.lineage.find((x) => x.generation === n);
    if (!r) throw new Error(`no generation ${n}`);
    return r;
  }

  #set(n: number, patch: Partial<GenerationRecord>): void {
    const i = this.lineage.findIndex((x) => x.generation === n);
    const r = this.lineage[i]!;
    this.lineage[i] = record(n, patch.outcome ?? r.outcome, {
      parent: r.parent,
      programHash: r.programHash,
      tokens: r.tokens,
      reason: r.reason,
      fitness: r.fitness,
      verification: r.verification,
      ...(r.round !== undefined ? { round: r.round, candidate: r.candidate } : {}),
      ...patch,
    });
  }

  /** A person promoting or rolling back from the dashboard (not through the loop's ports). */
  personPromotes(n: number): void {
    this.#set(n, { outcome: "promoted", fitness: this.#planOf.get(n)?.fitness ?? null });
  }
  personRollsBack(n: number, reason: string): void {
    this.#set(n, { outcome: "rolled_back", reason });
  }

  ports(state: AutonomousStatePort, suspend: AbortController): AutonomousPorts {
    const step = async <T>(method: Crash["method"], effect: () => T | Promise<T>): Promise<T> => {
      const crash = this.crash?.method === method ? this.crash : undefined;
      if (crash?.when === "before") {
        this.crash = undefined;
        suspend.abort();
        throw new Error(`Prime killed before ${method}`);
      }
      const result = await effect();
      if (crash?.when === "after") {
        this.crash = undefined;
        suspend.abort();
        throw new Error(`Prime killed after ${method}`);
      }
      return result;
    };
    return {
      reflect: () =>
        step("reflect", () => {
          this.calls.push("reflect");
          this.prime += REFLECT_TOKENS;
          return `# Task\n\nImprovement ${this.calls.length}\n`;
        }),
      spawn: (program, _signal, candidates) =>
        step("spawn", () => {
          this.programs.push(program);
          this.candidates.push(candidates);
          const round = this.candidates.length;
          const spawned: number[] = [];
          for (let i = 1; i <= candidates; i++) {
            const n = Math.max(0, ...this.lineage.map((r) => r.generation)) + 1;
            spawned.push(n);
            // Each candidate takes the next plan, in order.
            const plan = this.plans[this.#planned++] ?? {};
            this.#planOf.set(n, plan);
            // A round's Labs are still running when the spawn answers; waitForLab sees them end.
            const lab = candidates > 1 ? "running" : (plan.lab ?? "verifying");
            this.lineage.push(
              record(n, lab, {
                programHash: createHash("sha256").update(program).digest("hex"),
                tokens: { input: LAB_TOKENS, output: 0, cacheRead: 0, cacheWrite: 0 },
                reason:
                  lab === "failed"
                    ? "Lab stopped: no commit"
                    : lab === "timed_out"
                      ? "Lab exceeded 1800 s"
                      : null,
                ...(candidates > 1 ? { round, candidate: { index: i, of: candidates } } : {}),
              }),
            );
          }
          this.calls.push(`spawn ${spawned.join(",")}`);
          return spawned;
        }),
      waitForLab: (n) =>
        step("waitForLab", () => {
          this.calls.push(`wait ${n}`);
          if (this.get(n).outcome === "running") {
            const lab = this.#planOf.get(n)?.lab ?? "verifying";
            const reason =
              lab === "failed"
                ? "Lab stopped: no commit"
                : lab === "timed_out"
                  ? "Lab exceeded 1800 s"
                  : null;
            this.#set(n, { outcome: lab, reason });
          }
          return this.get(n);
        }),
      verify: (n) =>
        step("verify", () => {
          this.calls.push(`verify ${n}`);
          const plan = this.#planOf.get(n) ?? {};
          const full = verification({
            failures: plan.failures ?? [],
            verdict: plan.verdict ?? approve,
            score: plan.fitness ?? null,
          });
          const v = plan.gate
            ? {
                ...full,
                mechanical: { ...full.mechanical, gate: { touched: true, files: ["schemas/gate.ts"] } },
              }
            : full;
          this.#set(n, { verification: v });
          return v;
        }),
      screen: (n) =>
        step("screen", () => {
          this.calls.push(`screen ${n}`);
          const plan = this.#planOf.get(n) ?? {};
          const failures = plan.cheapFailures ?? [];
          const base = verification({ failures });
          const reachable = failures.length === 0 ? "passed" : "failed";
          const v = {
            ...base,
            passed: failures.length === 0,
            review: null,
            fitness: null,
            mechanical: {
              ...base.mechanical,
              complete: false,
              stages: [
                { name: "fixed_points" as const, state: "passed" as const, durationMs: 5 },
                { name: "check" as const, state: "passed" as const, durationMs: 5 },
                {
                  name: "reachable_tests" as const,
                  state: reachable as "passed" | "failed",
                  durationMs: 5,
                  testsRun: plan.reachableTests ?? 3,
                },
                { name: "full_tests" as const, state: "not_run" as const, durationMs: 0 },
              ],
            },
          };
          this.#set(n, { verification: v });
          return v.mechanical;
        }),
      promote: (n) =>
        step("promote", () => {
          this.calls.push(`promote ${n}`);
          this.personPromotes(n);
          return { generation: n };
        }),
      rollback: (n, reason) =>
        step("rollback", () => {
          this.calls.push(`rollback ${n}: ${reason}`);
          this.personRollsBack(n, reason);
          return { generation: n };
        }),
      archive: (n, reason) =>
        step("archive", () => {
          this.calls.push(`archive ${n}: ${reason}`);
          this.#set(n, { outcome: "archived", reason });
          return { generation: n };
        }),
      tokensUsed: () => this.prime,
      records: async () => this.lineage.map((r) => ({ ...r })),
      emit: (e) => this.events.push(e),
      state,
      sleep: (_ms, _signal) =>
        step("sleep", () => {
          this.#sleeps++;
          this.calls.push("sleep");
          this.onSleep?.(this.#sleeps);
        }),
    };
  }
}

/**
 * One Prime process running the loop over `world`: a fresh state port over `<dir>/autonomous.json` and
 * a fresh suspend signal (a crash suspends it); no plateau or failure stop unless asked.
 */
export function runLoop(world: FakeSupervisor, dir: string, options: AutonomousRunOptions = {}) {
  const suspend = new AbortController();
  const state = fileStatePort(path.join(dir, "autonomous.json"));
  return runAutonomousLoop(world.ports(state, suspend), {
    maxConsecutiveFailures: 0,
    plateauWindow: 0,
    pollMs: 1,
    ...options,
    suspendSignal: suspend.signal,
  });
}

/** The loop's state file as a plain object over the real file, for reading in assertions. */
export async function readStateFile(dir: string): Promise<unknown> {
  return JSON.parse(await readFile(path.join(dir, "autonomous.json"), "utf8"));
}
