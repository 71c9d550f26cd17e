import { isBuiltin } from "node:module";
import type { Metafile } from "esbuild";

/**
 * Source paths (below `src/`) that belong to self-modification: spawning, verifying, promoting or
 * rolling back generations, reflection, autonomy, and the Supervisor and Prime processes. None of them
 * may be reachable from the Lab's bundle.
 */
export const SELF_MODIFY_PATH =
  /(spawn|verify|promote|rollback|reflect|autonomous|self-modify|supervisor|prime)/;

/** The part of a metafile input path below its `src/` directory, or undefined if it is not under one. */
function belowSrc(input: string): string | undefined {
  const normalized = input.replaceAll("\\", "/");
  if (normalized.startsWith("src/")) return normalized.slice("src/".length);
  const at = normalized.indexOf("/src/");
  return at === -1 ? undefined : normalized.slice(at + "/src/".length);
}

/**
 * Every module esbuild parsed for the bundle (reachable by a static or literal dynamic import, even if
 * tree-shaking later dropped its code) whose path under `src/` names self-modification.
 */
export function selfModifyInputs(metafile: Metafile): string[] {
  return Object.keys(metafile.inputs).filter((input) => {
    const rest = belowSrc(input);
    return rest !== undefined && SELF_MODIFY_PATH.test(rest);
  });
}

/**
 * Imports the bundle leaves to run time that are not npm packages or Node builtins, i.e. that would
 * load a file (such as the workspace's `src/`) instead of code fixed in the bundle.
 */
export function runtimeFileImports(metafile: Metafile): string[] {
  const found = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imp of output.imports) {
      // The build's own chunks (code splitting) are part of the bundle, not source files.
      if (imp.path in metafile.outputs) continue;
      // A bare specifier (`zod`, `@scope/pkg/sub`); relative, absolute and `file:` paths are files.
      const isPackage = !imp.path.startsWith(".") && !imp.path.startsWith("/") && !imp.path.includes(":");
      if (!isBuiltin(imp.path) && !(imp.external && isPackage)) found.add(imp.path);
    }
  }
  return [...found];
}

/** What is wrong with a bundle: self-modify modules (Lab only) and run-time file imports (every bundle). */
export function bundleProblems(name: string, metafile: Metafile): string[] {
  const selfModify = name === "lab" ? selfModifyInputs(metafile) : [];
  return [
    ...selfModify.map((input) => `${name}: self-modify module reachable: ${input}`),
    ...runtimeFileImports(metafile).map(
      (path) => `${name}: imports a file at run time instead of bundling it: ${path}`,
    ),
  ];
}
