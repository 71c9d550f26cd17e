/**
 * Node links an ES module's named imports before running any of it: `import { gone } from "./x"`
 * fails with a SyntaxError when ./x has no export `gone`. Modules here run as CommonJS (esbuild
 * transforms each file), where the same import reads `import_x.gone` as undefined and runs on. These
 * helpers restore the check from the transformed code alone.
 */

/** `var import_x = require("./x")` and `__toESM(require("./x"))`: how esbuild prints an ESM import in CommonJS. */
const IMPORT_VAR = /\bvar (import_[\w$]+) = (?:__toESM\()?require\("([^"\\]+)"\)/g;
/** Each use of an imported name: `import_x.name` (also inside `(0, import_x.name)(…)` calls). */
const IMPORT_USE = /\b(import_[\w$]+)\.([\w$]+)/g;

/** The export names each required specifier must provide, from a module's CommonJS output. */
export function namedImports(code: string): Map<string, Set<string>> {
  const specOf = new Map<string, string>();
  for (const [, variable, spec] of code.matchAll(IMPORT_VAR)) {
    if (variable !== undefined && spec !== undefined) specOf.set(variable, spec);
  }
  const out = new Map<string, Set<string>>();
  if (specOf.size === 0) return out;
  for (const [, variable, name] of code.matchAll(IMPORT_USE)) {
    const spec = variable === undefined ? undefined : specOf.get(variable);
    if (spec === undefined || name === undefined) continue;
    const names = out.get(spec) ?? new Set<string>();
    names.add(name);
    out.set(spec, names);
  }
  return out;
}

const MAX_LISTED = 12;

/**
 * Throws Node's link error when `exports` (of `file`, required as `spec`) lacks a name the importer
 * uses. Only ES modules compiled to CommonJS (`__esModule`) have their names fixed before they run;
 * a CommonJS module's names are whatever it assigned, so it is not checked, as Node's own lexer
 * would mostly find them too.
 */
export function checkNamedImports(
  spec: string,
  file: string,
  exports: unknown,
  names: ReadonlySet<string> | undefined,
): void {
  if (!names || names.size === 0) return;
  if ((typeof exports !== "object" && typeof exports !== "function") || exports === null) return;
  if ((exports as { __esModule?: unknown }).__esModule !== true) return;
  for (const name of names) {
    if (name in exports) continue;
    const available = Object.keys(exports).filter((k) => k !== "__esModule");
    const listed =
      available.length === 0
        ? "it has no exports"
        : `its exports: ${available.slice(0, MAX_LISTED).join(", ")}${available.length > MAX_LISTED ? `, … (${available.length} in all)` : ""}`;
    const err = new SyntaxError(
      `The requested module '${spec}' (${file}) does not provide an export named '${name}'; ${listed}`,
    );
    (err as SyntaxError & { code: string }).code = "ERR_MISSING_EXPORT";
    throw err;
  }
}
