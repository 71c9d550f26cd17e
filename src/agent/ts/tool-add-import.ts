import { type ImportDeclaration, type SourceFile, ts } from "ts-morph";
import { defineTool, ToolError } from "../tool.ts";
import { checkedEdit } from "./checked-edit.ts";
import { openWorkspaceProject, type WorkspaceProject } from "./project-cache.ts";
import { assertNotSchema, parseSymbolPath, requireSourceFile } from "./symbol-path.ts";
import { type Splice, spliceFile } from "./text-edit.ts";
import { tsAddImportSpec } from "./tool-specs.ts";

const NAMED = /^(type\s+)?([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?$/;

interface NamedSpec {
  readonly name: string;
  readonly alias: string | undefined;
  readonly isTypeOnly: boolean;
  readonly local: string;
}

function parseNamed(raw: string): NamedSpec {
  const m = NAMED.exec(raw.trim());
  if (!m) {
    throw new ToolError(
      "TS_BAD_IMPORT",
      `named import "${raw}" is not valid: expected "name", "name as alias" or "type Name"`,
    );
  }
  return { name: m[2]!, alias: m[3], isTypeOnly: m[1] !== undefined, local: m[3] ?? m[2]! };
}

/** Whether `local` already names something at the file's top level (an import or a declaration). */
function declaredInFile(wp: WorkspaceProject, sf: SourceFile, local: string): boolean {
  const checker = wp.project.getTypeChecker().compilerObject;
  const meaning =
    ts.SymbolFlags.Value | ts.SymbolFlags.Type | ts.SymbolFlags.Namespace | ts.SymbolFlags.Alias;
  const anchor = sf.compilerNode.statements[0] ?? sf.compilerNode;
  return checker.resolveName(local, anchor, meaning, true) !== undefined;
}

/** Sort and merge the file's imports (never drops unused ones: the new import is not used yet). */
function organize(wp: WorkspaceProject, sf: SourceFile): void {
  const ls = wp.project.getLanguageService().compilerObject;
  const changes = ls.organizeImports(
    { type: "file", fileName: sf.getFilePath(), mode: ts.OrganizeImportsMode.SortAndCombine },
    {
      ...wp.project.manipulationSettings.getFormatCodeSettings(),
      insertSpaceAfterCommaDelimiter: true,
      insertSpaceAfterOpeningAndBeforeClosingNonemptyBraces: true,
    },
    { quotePreference: "double" },
  );
  const splices: Splice[] = [];
  for (const fc of changes) {
    if (fc.fileName !== sf.getFilePath()) continue;
    for (const c of fc.textChanges) {
      splices.push({ start: c.span.start, end: c.span.start + c.span.length, text: c.newText });
    }
  }
  if (splices.length > 0) spliceFile(sf, splices);
}

export const tsAddImport = defineTool({
  ...tsAddImportSpec,
  async run(input, ctx) {
    const wp = await openWorkspaceProject(ctx.workspace);
    const parsed = parseSymbolPath(wp.root, input.path);
    if (parsed.symbol !== undefined) {
      throw new ToolError(
        "TS_BAD_PATH",
        `ts_add_import takes a file path without "#symbol", got "${input.path}"`,
      );
    }
    const sf = requireSourceFile(wp, parsed);
    assertNotSchema(wp, sf.getFilePath());
    const named = (input.named ?? []).map(parseNamed);
    if (input.default !== undefined && !/^[A-Za-z_$][\w$]*$/.test(input.default)) {
      throw new ToolError("TS_BAD_IMPORT", `default "${input.default}" is not an identifier`);
    }
    const sameModule = sf
      .getImportDeclarations()
      .filter((d) => d.getModuleSpecifierValue() === input.module && !d.getNamespaceImport());
    const existing: ImportDeclaration | undefined = sameModule.find((d) => !d.isTypeOnly()) ?? sameModule[0];
    const already = new Set(
      sameModule.flatMap((d) => [
        ...d.getNamedImports().map((n) => n.getAliasNode()?.getText() ?? n.getName()),
        ...(d.getDefaultImport() ? [d.getDefaultImport()!.getText()] : []),
      ]),
    );
    const toAdd = named.filter((n) => !already.has(n.local));
    const addDefault = input.default !== undefined && !already.has(input.default) ? input.default : undefined;
    for (const local of [...toAdd.map((n) => n.local), ...(addDefault ? [addDefault] : [])]) {
      if (declaredInFile(wp, sf, local)) {
        throw new ToolError(
          "TS_NAME_COLLISION",
          `\`${local}\` is already declared or imported in ${parsed.rel}: import it under another name ("${local} as other")`,
        );
      }
    }
    if (addDefault && existing?.getDefaultImport()) {
      throw new ToolError(
        "TS_NAME_COLLISION",
        `${parsed.rel} already imports the default of "${input.module}" as \`${existing.getDefaultImport()!.getText()}\``,
      );
    }
    const sideEffectOnly = named.length === 0 && input.default === undefined;
    return checkedEdit(wp, {
      signal: ctx.signal,
      planned: [sf],
      apply: () => {
        if (existing && !existing.isTypeOnly()) {
          if (toAdd.length)
            existing.addNamedImports(
              toAdd.map(({ name, alias, isTypeOnly }) => ({ name, alias, isTypeOnly })),
            );
          if (addDefault) existing.setDefaultImport(addDefault);
        } else if (toAdd.length || addDefault || (sideEffectOnly && sameModule.length === 0)) {
          sf.addImportDeclaration({
            moduleSpecifier: input.module,
            defaultImport: addDefault,
            namedImports: toAdd.map(({ name, alias, isTypeOnly }) => ({ name, alias, isTypeOnly })),
          });
        }
        organize(wp, sf);
      },
      summary: `added an import from "${input.module}" to ${parsed.rel}`,
    });
  },
});
