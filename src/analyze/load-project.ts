import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { Project, type SourceFile } from "ts-morph";
import { LoomError } from "../shared/errors.ts";

/** Bad input to `loom analyze`: a missing directory, an unreadable tsconfig, an option out of range. */
export class AnalyzeInputError extends LoomError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export interface LoadedProject {
  root: string;
  /** tsconfig that chose the files (absolute), or null when the tree was walked. */
  tsconfig: string | null;
  files: SourceFile[];
}

const SKIPPED_DIR = /(^|[\\/])(node_modules|dist|\.[^\\/]+)([\\/]|$)/;
const SOURCE_FILE = /\.(ts|tsx|mts|cts)$/;

/**
 * Parses every TypeScript file of a repo without resolving dependencies or lib files (only syntax is
 * needed). Files come from the tsconfig when present, else from walking the tree; either way
 * node_modules, dist, dot-directories and declaration files are skipped.
 */
export function loadProject(dir: string, tsconfig?: string): LoadedProject {
  const root = path.resolve(dir);
  if (!existsSync(root)) {
    throw new AnalyzeInputError(
      "ANALYZE_DIR_NOT_FOUND",
      `analyze: directory ${dir} does not exist; pass a repo root`,
    );
  }
  if (!statSync(root).isDirectory()) {
    throw new AnalyzeInputError(
      "ANALYZE_NOT_A_DIRECTORY",
      `analyze: ${dir} is a file; pass the repo's root directory`,
    );
  }
  const configPath = tsconfig ? path.resolve(root, tsconfig) : path.join(root, "tsconfig.json");
  if (tsconfig && !existsSync(configPath)) {
    throw new AnalyzeInputError(
      "ANALYZE_TSCONFIG_NOT_FOUND",
      `analyze: tsconfig ${tsconfig} not found under ${root}; pass an existing tsconfig path or omit it`,
    );
  }
  const options = { skipFileDependencyResolution: true, skipLoadingLibFiles: true } as const;
  if (existsSync(configPath)) {
    let project: Project;
    try {
      project = new Project({ ...options, tsConfigFilePath: configPath });
    } catch (cause) {
      throw new AnalyzeInputError(
        "ANALYZE_TSCONFIG_INVALID",
        `analyze: cannot read ${path.relative(root, configPath)}: ${(cause as Error).message}; fix it or pass another tsconfig`,
        { cause },
      );
    }
    const files = keep(project.getSourceFiles(), root);
    // A solution-style tsconfig (files: [], references) picks nothing: fall back to the tree.
    if (files.length > 0) return { root, tsconfig: configPath, files };
  }
  const project = new Project({ ...options, compilerOptions: { allowJs: false } });
  project.addSourceFilesAtPaths([
    `${root}/**/*.{ts,tsx,mts,cts}`,
    `!${root}/**/node_modules/**`,
    `!${root}/**/dist/**`,
  ]);
  return { root, tsconfig: null, files: keep(project.getSourceFiles(), root) };
}

function keep(files: SourceFile[], root: string): SourceFile[] {
  return files.filter((sf) => {
    const rel = path.relative(root, sf.getFilePath());
    return (
      !rel.startsWith("..") &&
      !path.isAbsolute(rel) &&
      SOURCE_FILE.test(rel) &&
      !/\.d\.[cm]?ts$/.test(rel) &&
      !SKIPPED_DIR.test(rel)
    );
  });
}
