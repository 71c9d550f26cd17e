import { Node } from "ts-morph";
import { z } from "zod";
import { defineTool } from "../tool.ts";
import { checkedEdit } from "./checked-edit.ts";
import { describeDecl } from "./declarations.ts";
import { openWorkspaceProject } from "./project-cache.ts";
import { assertNotSchema, resolveSymbol } from "./symbol-path.ts";
import { indentAt, reindent, spliceFile } from "./text-edit.ts";

export const tsReplaceDeclaration = defineTool({
  name: "ts_replace_declaration",
  description:
    'Replace a whole declaration addressed by symbol path ("src/x.ts#parse", "#Class.method", "#config.load") ' +
    "with new source text. The old JSDoc, modifiers (export, async, static) and all overloads are replaced too, " +
    "so `text` is the complete declaration as it should read (as ts_read shows it). Refused on a syntax error.",
  input: z.object({
    path: z.string().min(1).describe('Symbol path, e.g. "src/x.ts#parse"'),
    text: z.string().min(1).describe("The complete new declaration, including JSDoc and modifiers"),
  }),
  effect: "edit",
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
  name: "ts_remove_declaration",
  description:
    'Remove a declaration addressed by symbol path ("src/x.ts#oldHelper", "#Class.member", "#config.key") with its ' +
    "JSDoc and overloads; list commas are kept valid. Uses elsewhere are not removed: they come back as new type errors.",
  input: z.object({ path: z.string().min(1).describe('Symbol path, e.g. "src/x.ts#oldHelper"') }),
  effect: "edit",
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
