import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const ROOT = path.resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
/** A file not in the last measure (new since): about the median file's time. */
const UNKNOWN_MS = 1500;

/** Each test file's wall time in the last measured run, written by `bench/test-suite.bench.ts`. */
export function readDurations(file = path.join(ROOT, "test/durations.json")): Record<string, number> {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, number>;
  } catch {
    return {};
  }
}

/** A run of fewer files than this share of the suite is a focused one (`vitest related`, a few files). */
const FOCUSED_SHARE = 0.5;

/**
 * The order of the suite's files, by the committed durations. The whole suite: longest first, so with
 * 2 workers each taking the next file the slow fault, image and end-to-end files start at once
 * instead of last (a clean checkout has no vitest cache, whose order would be by file size). A
 * focused run (verification's reachable tests, `vitest related --bail=1`): shortest first, so a broken
 * module's own unit test fails in seconds instead of after the end-to-end files that also import it.
 * Ties keep vitest's own order.
 */
export function orderFiles<T>(
  files: readonly T[],
  pathOf: (f: T) => string,
  durations: Readonly<Record<string, number>>,
): T[] {
  const known = Object.keys(durations).length;
  const focused = known > 0 && files.length < known * FOCUSED_SHARE;
  const ms = (f: T) => durations[pathOf(f)] ?? UNKNOWN_MS;
  return files
    .map((f, i) => ({ f, i, ms: ms(f) }))
    .sort((a, b) => (focused ? a.ms - b.ms : b.ms - a.ms) || a.i - b.i)
    .map((x) => x.f);
}

export class SlowestFirst extends BaseSequencer {
  readonly #durations = readDurations();

  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    return orderFiles(
      base,
      (f) => path.relative(ROOT, f.moduleId).split(path.sep).join("/"),
      this.#durations,
    );
  }
}
