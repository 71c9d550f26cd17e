import { Node } from "ts-morph";
import { defineTool } from "../../tool.ts";
import { checkedEdit } from "../check/checked-edit.ts";
import { openWorkspaceProject } from "../project/project-cache.ts";
import { describeDecl } from "../syntax/declarations.ts";
import { assertNotSchema, resolveSymbol } from "../syntax/symbol-path.ts";
import { indentAt, reindent, spliceFile } from "../syntax/text-edit.ts";
import { tsRemoveDeclarationSpec, tsReplaceDeclarationSpec } from "./tool-specs.ts";

export const tsReplaceDeclaration = defineTool({
  ...tsReplaceDeclarationSpec,
  async run(input, ctx) {
    const wp = await openWorkspaceProject(ctx.workspace);
    const { sf, decl, all, parsed } = resolveSymbol(wp, input.path);
    assertNotSchema(wp, sf.getFilePath());
    const text = sf.getFullText();
    const start = Math.min(...all.map((d) => d.node.getStart(true)));
    const end = Math.max(...all.map((d) => d.node.getEnd()));
    const indent = indentAt(text, start);
    let replacement = reindent(input.text, indent).slice(indent.length);
    // Object-literal members do not include their comma; the list keeps its own.
    if (Node.isObjectLiteralExpression(decl.node.getParent())) replacement = replacement.replace(/,\s*$/, "");
    return checkedEdit(wp, {
      signal: ctx.signal,
      planned: [sf],
      apply: () => spliceFile(sf, [{ start, end, text: replacement }]),
      summary: `replaced ${describeDecl(decl)} in ${parsed.rel}`,
    });
  },
});

export const tsRemoveDeclaration = defineTool({
  ...tsRemoveDeclarationSpec,
  async run(input, ctx) {
    const wp = await openWorkspaceProject(ctx.workspace);
    const { sf, decl, all, parsed } = resolveSymbol(wp, input.path);
    assertNotSchema(wp, sf.getFilePath());
    return checkedEdit(wp, {
      signal: ctx.signal,
      planned: [sf],
      apply: () => {
        // Last first: removing one node does not move the ones before it.
        for (const d of [...all].reverse()) {
          const node = d.node as Node & { remove?: () => void };
          // Removing an implementation also removes its overloads.
          if (node.wasForgotten()) continue;
          if (typeof node.remove === "function") node.remove();
          else spliceFile(sf, [{ start: node.getStart(true), end: node.getEnd(), text: "" }]);
        }
      },
      summary: `removed ${describeDecl(decl)} from ${parsed.rel}`,
    });
  },
});
