import { mkdir } from "node:fs/promises";
import path from "node:path";
import { AutonomousState } from "../../../schemas/autonomous.ts";
import { atomicWriteFile } from "../../shared/atomic-write.ts";
import { LoomError } from "../../shared/errors.ts";
import { readVersionedJson } from "../../shared/versioned-json.ts";

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
      const invalid = (why: string) =>
        new LoomError(
          "AUTONOMOUS_STATE_INVALID",
          `${file}: ${why}; fix the file or remove it to start a new autonomous run`,
        );
      const state = await readVersionedJson(file, {
        what: "autonomous state",
        schema: AutonomousState,
        upgrade: (raw) => upgradeAutonomousState(raw, invalid),
        invalid,
      });
      return state ?? null;
    },
    async save(state) {
      const checked = AutonomousState.parse(state);
      await mkdir(path.dirname(file), { recursive: true });
      await atomicWriteFile(file, `${JSON.stringify(checked, null, 2)}\n`);
    },
  };
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
