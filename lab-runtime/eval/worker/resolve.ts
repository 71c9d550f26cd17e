import fs from "node:fs";
import path from "node:path";

/** Files the module system transforms and runs itself; anything else goes to Node's require. */
export const SOURCE_EXTENSIONS = new Set([".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"]);
const TRY_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".json"];
/** TS projects import `./x.js` meaning `./x.ts`: the TS source wins over a (possibly stale) JS file. */
const TS_FOR_JS: Record<string, string[]> = {
  ".js": [".ts", ".tsx"],
  ".mjs": [".mts"],
  ".cjs": [".cts"],
  ".jsx": [".tsx"],
};

function isFile(file: string): boolean {
  return fs.statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
}

export function isLocalSpecifier(spec: string): boolean {
  return (
    spec.startsWith("./") || spec.startsWith("../") || spec === "." || spec === ".." || path.isAbsolute(spec)
  );
}

export function notFound(spec: string, from: string): Error {
  const err = new Error(
    `Cannot find module '${spec}' imported from ${from} (tried the path as given, ` +
      `.js→.ts, the extensions ${TRY_EXTENSIONS.join(" ")} and index files)`,
  ) as Error & { code: string };
  err.code = "MODULE_NOT_FOUND";
  return err;
}

/**
 * The file a local specifier names: `.js`→`.ts` first, then the path as given, then with each known
 * extension, then as a directory's index file. Undefined when none exists.
 */
export function resolveFile(spec: string, fromDir: string): string | undefined {
  const base = path.resolve(fromDir, spec);
  const ext = path.extname(base);
  const candidates = [
    ...(TS_FOR_JS[ext] ?? []).map((ts) => base.slice(0, -ext.length) + ts),
    base,
    ...TRY_EXTENSIONS.map((e) => base + e),
    ...TRY_EXTENSIONS.map((e) => path.join(base, `index${e}`)),
  ];
  return candidates.find(isFile);
}
