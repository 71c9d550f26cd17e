import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { AutonomousState } from "../../../schemas/autonomous.ts";
import { atomicWriteFile } from "../../shared/atomic-write.ts";
import { LoomError } from "../../shared/errors.ts";

/** Where the autonomous loop keeps its state; written before every step so a restart can go on. */
export interface AutonomousStatePort {
  /** The saved state, or null when no run was ever saved. */
  load(): Promise<AutonomousState | null>;
  save(state: AutonomousState): Promise<void>;
}

export const AUTONOMOUS_STATE_FILE = "autonomous.json";

/** The state as one JSON file, validated on every read and replaced atomically on every write. */
export function fileStatePort(file: string): AutonomousStatePort {
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw error;
      }
      return parseState(text, file);
    },
    async save(state) {
      const checked = AutonomousState.parse(state);
      await mkdir(path.dirname(file), { recursive: true });
      await atomicWriteFile(file, `${JSON.stringify(checked, null, 2)}\n`);
    },
  };
}

function parseState(text: string, file: string): AutonomousState {
  const invalid = (why: string) =>
    new LoomError(
      "AUTONOMOUS_STATE_INVALID",
      `${file}: ${why}; fix the file or remove it to start a new autonomous run`,
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(`not valid JSON (${(error as Error).message})`);
  }
  const upgraded = upgradeAutonomousState(json, invalid);
  const parsed = AutonomousState.safeParse(upgraded);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw invalid(issues.join("; "));
  }
  return parsed.data;
}

/**
 * Brings a saved state to version 2, step by step. Version 1 also kept copies of what the lineage
 * holds (each generation's outcome, fitness and reason, the best fitness, the plateau count, the Labs'
 * tokens); from version 2 only the run's generation numbers are kept and the rest is read from it.
 */
export function upgradeAutonomousState(raw: unknown, invalid: (why: string) => Error): unknown {
  const version = (raw as { version?: unknown } | null)?.version;
  if (version === 2) return raw;
  if (version === 1) {
    const {
      bestFitness: _b,
      promotedWithoutGain: _p,
      labTokens: _l,
      generations,
      ...rest
    } = raw as Record<string, unknown>;
    const numbers = Array.isArray(generations)
      ? generations.map((g) =>
          g !== null && typeof g === "object" ? (g as { generation?: unknown }).generation : g,
        )
      : generations;
    return { ...rest, version: 2, generations: numbers };
  }
  throw invalid(`version ${JSON.stringify(version)} is not one this Loom reads (it reads versions 1 and 2)`);
}
