import { type Node, type SourceFile, ts } from "ts-morph";
import { defineTool, ToolError } from "../../tool.ts";
import { checkedEdit } from "../check/checked-edit.ts";
import { directImporters } from "../project/importers.ts";
import { openWorkspaceProject, type WorkspaceProject } from "../project/project-cache.ts";
import { type Decl, describeDecl } from "../syntax/declarations.ts";
import { assertNotSchema, relPath, resolveSymbol } from "../syntax/symbol-path.ts";
import { type Splice, spliceFile } from "../syntax/text-edit.ts";
import { tsRenameSpec } from "./tool-specs.ts";

const RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for " +
    "function if import in instanceof new null return super switch this throw true try typeof var void while with " +
    "implements interface let package private protected public static yield await any boolean number string symbol " +
    "never unknown undefined object bigint"
  ).split(" "),
);
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export interface RenameLocation {
  readonly file: string;
  readonly start: number;
  readonly length: number;
}

const MEMBER_KINDS = new Set(["method", "property", "getter", "setter", "enum-member"]);

/** Whether `newName` already names something where the renamed symbol is used (it would be captured). */
function findCollision(
  wp: WorkspaceProject,
  decl: Decl,
  decls: readonly Decl[],
  locations: readonly ts.RenameLocation[],
  newName: string,
): string | undefined {
  if (MEMBER_KINDS.has(decl.kind)) {
    const parentPath = decl.path.slice(0, decl.path.lastIndexOf("."));
    const parent = decls.find((d) => d.path === parentPath && (d.container || d.kind === "enum"));
    const holder: Node | undefined = parent?.container ?? parent?.node;
    if (holder?.getType().getProperty(newName)) {
      return `\`${parentPath}\` already has a member \`${newName}\``;
    }
    return undefined;
  }
  const checker = wp.project.getTypeChecker().compilerObject;
  const program = wp.project.getProgram().compilerObject;
  const meaning =
    ts.SymbolFlags.Value | ts.SymbolFlags.Type | ts.SymbolFlags.Namespace | ts.SymbolFlags.Alias;
  for (const loc of locations) {
    const file = program.getSourceFile(loc.fileName);
    if (!file) continue;
    const node = findToken(file, loc.textSpan.start);
    const clash = node && checker.resolveName(newName, node, meaning, false);
    if (clash) {
      const line = file.getLineAndCharacterOfPosition(loc.textSpan.start).line + 1;
      return `\`${newName}\` is already in scope at ${relPath(wp, loc.fileName)}:${line}`;
    }
  }
  return undefined;
}

function findToken(file: ts.SourceFile, pos: number): ts.Node | undefined {
  let found: ts.Node | undefined;
  const visit = (n: ts.Node): void => {
    if (pos < n.getStart(file) || pos >= n.getEnd()) return;
    found = n;
    n.forEachChild(visit);
  };
  file.forEachChild(visit);
  return found;
}

export const tsRename = defineTool({
  ...tsRenameSpec,
  async run(input, ctx) {
    const newName = input.newName.trim();
    if (!IDENTIFIER.test(newName) || RESERVED.has(newName)) {
      throw new ToolError(
        "TS_BAD_NAME",
        `newName "${input.newName}" is not a usable identifier: expected letters, digits, _ or $ (not starting ` +
          "with a digit) and not a reserved word",
      );
    }
    const wp = await openWorkspaceProject(ctx.workspace);
    const { sf, decl, decls, parsed } = resolveSymbol(wp, input.path);
    assertNotSchema(wp, sf.getFilePath());
    if (!decl.nameNode) {
      throw new ToolError("TS_CANNOT_RENAME", `${describeDecl(decl)} has no name of its own to rename`);
    }
    const oldName = decl.nameNode.getText();
    if (oldName === newName) {
      throw new ToolError("TS_SAME_NAME", `${describeDecl(decl)} is already named \`${newName}\``);
    }
    const ls = wp.project.getLanguageService().compilerObject;
    const fileName = sf.getFilePath();
    const pos = decl.nameNode.getStart();
    const info = ls.getRenameInfo(fileName, pos, { allowRenameOfImportPath: false });
    if (!info.canRename) {
      throw new ToolError(
        "TS_CANNOT_RENAME",
        `${describeDecl(decl)} cannot be renamed: ${info.localizedErrorMessage}`,
      );
    }
    const locations =
      ls.findRenameLocations(fileName, pos, false, false, { providePrefixAndSuffixTextForRename: true }) ??
      [];
    const byFile = new Map<SourceFile, Splice[]>();
    for (const loc of locations) {
      const target = wp.project.getSourceFile(loc.fileName);
      if (!target || !wp.files.has(target.getFilePath())) {
        throw new ToolError(
          "TS_CANNOT_RENAME",
          `renaming ${describeDecl(decl)} would edit ${loc.fileName}, which is not a workspace source file`,
        );
      }
      assertNotSchema(wp, target.getFilePath());
      const list = byFile.get(target) ?? [];
      const start = loc.textSpan.start;
      list.push({
        start,
        end: start + loc.textSpan.length,
        text: `${loc.prefixText ?? ""}${newName}${loc.suffixText ?? ""}`,
      });
      byFile.set(target, list);
    }
    const collision = findCollision(wp, decl, decls, locations, newName);
    if (collision) {
      throw new ToolError(
        "TS_NAME_COLLISION",
        `rename refused, no file was changed: ${collision}. Choose another name.`,
      );
    }
    const details = {
      oldName,
      newName,
      locations: locations.map(
        (l): RenameLocation => ({
          file: relPath(wp, l.fileName),
          start: l.textSpan.start,
          length: l.textSpan.length,
        }),
      ),
    };
    return checkedEdit(wp, {
      signal: ctx.signal,
      planned: [...byFile.keys()],
      apply: () => {
        for (const [target, splices] of byFile) spliceFile(target, splices);
      },
      summary:
        `renamed ${describeDecl(decl)} in ${parsed.rel} to \`${newName}\`: ` +
        `${locations.length} occurrence${locations.length === 1 ? "" : "s"} in ${byFile.size} file${byFile.size === 1 ? "" : "s"}`,
      details,
      renamed: { from: oldName, to: newName },
      // A member's name is part of its container's structure, which importers may match against: check
      // touched files and importers. Other names are not structural, and the collision check above already
      // proved no reference can be captured, so only the declaring file is type-checked (fast on big renames).
      scope: MEMBER_KINDS.has(decl.kind) ? "importers" : "touched",
      // Barrels (`export * from`) are not touched by a rename but can get a new name clash; check them too.
      checkOnly: MEMBER_KINDS.has(decl.kind)
        ? undefined
        : [
            sf,
            ...directImporters(wp, [sf]).filter((f) =>
              f.getExportDeclarations().some((e) => e.isNamespaceExport()),
            ),
          ],
    });
  },
});
