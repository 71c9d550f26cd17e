import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileOf, type GateModule } from "./gate-modules.ts";

/** Why a mutation run cannot start; `npm run mutation` prints it and exits 2. */
export class MutationSetupError extends Error {
  readonly code = "MUTATION_SETUP";
}

/** Packages a run needs; checked before Stryker starts so a missing one is named, not a stack trace. */
export const REQUIRED_PACKAGES = [
  "@stryker-mutator/core",
  "@stryker-mutator/vitest-runner",
  "vitest",
] as const;

/**
 * Refuses a run that cannot start: a required package not installed, no module chosen, a module or
 * one of its test files missing. `resolve` finds a package from the project root (injectable for tests).
 */
export function preflight(
  root: string,
  modules: readonly GateModule[],
  resolve: (pkg: string) => unknown = createRequire(path.join(root, "package.json")).resolve,
  packages: readonly string[] = REQUIRED_PACKAGES,
): void {
  for (const pkg of packages) {
    try {
      resolve(`${pkg}/package.json`);
    } catch {
      throw new MutationSetupError(
        `${pkg} is not installed, so the mutation run cannot start; run npm install (it is a devDependency)`,
      );
    }
  }
  if (modules.length === 0) {
    throw new MutationSetupError("no gate module to mutate; scripts/mutation/gate-modules.ts lists them");
  }
  for (const m of modules) {
    const file = fileOf(m.mutate);
    if (!existsSync(path.join(root, file))) {
      throw new MutationSetupError(
        `gate module ${file} does not exist; update scripts/mutation/gate-modules.ts`,
      );
    }
    if (m.tests.length === 0) throw new MutationSetupError(`no tests found for ${file}: it lists none`);
    const missing = m.tests.filter((t) => !existsSync(path.join(root, t)));
    if (missing.length > 0) {
      throw new MutationSetupError(`no tests found for ${file}: ${missing.join(", ")} do(es) not exist`);
    }
  }
}
