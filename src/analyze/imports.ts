import { existsSync } from "node:fs";
import path from "node:path";
import { ts } from "ts-morph";

/** One module reference in a file; `names` are the imported export names (`*` = all of them). */
export interface RawImport {
  specifier: string;
  names: string[];
  typeOnly: boolean;
}

/** Static imports, re-exports, `import x = require()`, dynamic `import("…")` and `import("…")` types. */
export function collectImports(sf: ts.SourceFile): RawImport[] {
  const out: RawImport[] = [];
  for (const stmt of sf.statements) {
    if (ts.isImportDeclaration(stmt) && ts.isStringLiteral(stmt.moduleSpecifier)) {
      const clause = stmt.importClause;
      const names: string[] = [];
      if (clause?.name) names.push("default");
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.push("*");
      if (bindings && ts.isNamedImports(bindings)) {
        for (const el of bindings.elements) names.push((el.propertyName ?? el.name).text);
      }
      out.push({ specifier: stmt.moduleSpecifier.text, names, typeOnly: clause?.isTypeOnly ?? false });
    } else if (
      ts.isExportDeclaration(stmt) &&
      stmt.moduleSpecifier &&
      ts.isStringLiteral(stmt.moduleSpecifier)
    ) {
      const clause = stmt.exportClause;
      const names =
        !clause || ts.isNamespaceExport(clause)
          ? ["*"]
          : clause.elements.map((el) => (el.propertyName ?? el.name).text);
      out.push({ specifier: stmt.moduleSpecifier.text, names, typeOnly: stmt.isTypeOnly });
    } else if (
      ts.isImportEqualsDeclaration(stmt) &&
      ts.isExternalModuleReference(stmt.moduleReference) &&
      ts.isStringLiteral(stmt.moduleReference.expression)
    ) {
      out.push({ specifier: stmt.moduleReference.expression.text, names: ["*"], typeOnly: stmt.isTypeOnly });
    }
  }
  // Dynamic imports can hide anywhere; the import keyword is rare, so a text probe skips most files.
  if (sf.text.includes("import(")) collectDynamic(sf, out);
  return out;
}

function collectDynamic(node: ts.Node, out: RawImport[]): void {
  ts.forEachChild(node, (child) => {
    if (
      ts.isCallExpression(child) &&
      child.expression.kind === ts.SyntaxKind.ImportKeyword &&
      child.arguments[0] &&
      ts.isStringLiteralLike(child.arguments[0])
    ) {
      out.push({ specifier: child.arguments[0].text, names: ["*"], typeOnly: false });
    } else if (
      ts.isImportTypeNode(child) &&
      ts.isLiteralTypeNode(child.argument) &&
      ts.isStringLiteral(child.argument.literal)
    ) {
      out.push({ specifier: child.argument.literal.text, names: ["*"], typeOnly: true });
    }
    collectDynamic(child, out);
  });
}

const TS_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".d.ts"];
/** Node-style ESM imports name the emitted file; the source has the TypeScript extension. */
const JS_TO_TS: Record<string, string[]> = {
  ".js": [".ts", ".tsx", ".d.ts"],
  ".jsx": [".tsx", ".ts"],
  ".mjs": [".mts", ".d.mts"],
  ".cjs": [".cts", ".d.cts"],
};

export function isRelativeSpecifier(spec: string): boolean {
  return (
    spec === "." || spec === ".." || spec.startsWith("./") || spec.startsWith("../") || spec.startsWith("/")
  );
}

/**
 * Resolves a relative specifier to a project file (absolute path) or null. Tries the exact path,
 * `.js`→`.ts` style mappings, extensionless + each TS extension, then `index` files of a directory.
 */
export function resolveSpecifier(fromFile: string, spec: string, files: ReadonlySet<string>): string | null {
  if (!isRelativeSpecifier(spec)) return null;
  const base = path.resolve(path.dirname(fromFile), spec);
  const candidates = [base];
  const ext = path.extname(base);
  const mapped = JS_TO_TS[ext];
  if (mapped) for (const e of mapped) candidates.push(base.slice(0, -ext.length) + e);
  for (const e of TS_EXTENSIONS) candidates.push(base + e);
  for (const e of TS_EXTENSIONS) candidates.push(path.join(base, `index${e}`));
  for (const c of candidates) if (files.has(c)) return c;
  return null;
}

/** Whether an unresolved relative import points at a real non-TS file (json, css…) rather than nothing. */
export function existsOnDisk(fromFile: string, spec: string): boolean {
  return existsSync(path.resolve(path.dirname(fromFile), spec));
}
