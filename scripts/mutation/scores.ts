import path from "node:path";

/** A mutant as Stryker's JSON report (mutation-testing-report-schema) has it. */
interface ReportMutant {
  readonly status: string;
  readonly mutatorName: string;
  readonly replacement?: string;
  readonly location: { readonly start: { readonly line: number; readonly column: number } };
}
export interface MutationReport {
  readonly files: Record<string, { readonly mutants: readonly ReportMutant[] }>;
}

export interface ModuleScore {
  readonly file: string;
  readonly detected: number;
  readonly undetected: number;
  /** Percentage of valid mutants detected (killed or timed out); 100 when a file has none. */
  readonly score: number;
  /** Surviving and uncovered mutants, `line:column mutator → replacement`. */
  readonly survivors: readonly string[];
}

const DETECTED = new Set(["Killed", "Timeout"]);
const UNDETECTED = new Set(["Survived", "NoCoverage"]);

/** Per-file mutation scores from a report; compile and runtime errors and ignored mutants do not count. */
export function scoresOf(report: MutationReport, root: string): ModuleScore[] {
  return Object.entries(report.files)
    .map(([file, { mutants }]) => {
      const detected = mutants.filter((m) => DETECTED.has(m.status)).length;
      const undetected = mutants.filter((m) => UNDETECTED.has(m.status));
      const valid = detected + undetected.length;
      return {
        file: path.isAbsolute(file) ? path.relative(root, file) : file,
        detected,
        undetected: undetected.length,
        score: valid === 0 ? 100 : Math.floor((detected / valid) * 10_000) / 100,
        survivors: undetected.map(
          (m) =>
            `${m.location.start.line}:${m.location.start.column} ${m.status} ${m.mutatorName} → ${JSON.stringify(m.replacement ?? "")}`,
        ),
      };
    })
    .sort((a, b) => a.file.localeCompare(b.file));
}

/** Modules below their floor, as messages; a module without a floor must reach `target`. */
export function belowFloors(
  scores: readonly ModuleScore[],
  floors: Readonly<Record<string, number>>,
  target: number,
): string[] {
  return scores
    .filter((s) => s.score < (floors[s.file] ?? target))
    .map(
      (s) =>
        `${s.file}: mutation score ${s.score} % is below its floor of ${floors[s.file] ?? target} % ` +
        `(${s.undetected} mutant(s) not detected: ${s.survivors.join("; ")})`,
    );
}
