import { z } from "zod";
import { lazyTool, type Tool, type ToolRole, type ToolSpec } from "../../tool.ts";
import type * as InProcess from "./index.ts";

/**
 * What the model and the registry see of each structural TypeScript tool — name, description, input
 * schema, effect, declared properties — apart from the code that runs it, so a process that only lists
 * the tools (the Lab's main thread, whose ts_* calls run in the TypeScript worker thread) never loads
 * ts-morph. `./index.ts` is imported only dynamically, by the first call.
 */

export const MemberPosition = z.union([
  z.enum(["first", "last"]),
  z.object({ before: z.string().min(1) }).strict(),
  z.object({ after: z.string().min(1) }).strict(),
]);
export type MemberPosition = z.infer<typeof MemberPosition>;

const PathInput = z.object({
  path: z
    .string()
    .min(1)
    .describe(
      'Workspace-relative file or folder, optionally with a symbol: "src/x.ts", "src/", "src/x.ts#Class"',
    ),
});

export const tsAddImportSpec = {
  name: "ts_add_import",
  description:
    'Add an import to a file (`path` is the file, e.g. "src/x.ts"): `module` is the specifier as written in code ' +
    '("./util.ts", "node:path", "zod"); `named` lists "name", "name as alias" or "type Name"; `default` is the ' +
    "default import's local name. Merges into an existing import from the same module or adds one after the last import, " +
    "in the file's own quotes and semicolons; other imports stay as written.",
  input: z.object({
    path: z.string().min(1).describe('The file to edit, e.g. "src/x.ts"'),
    module: z.string().min(1).describe('Module specifier, e.g. "./util.ts" or "node:fs"'),
    named: z
      .array(z.string().min(1))
      .optional()
      .describe('e.g. ["readFile", "type Stats", "join as joinPath"]'),
    default: z.string().min(1).optional().describe("Local name of the default import"),
  }),
  effect: "edit",
} satisfies ToolSpec;

export const tsInsertMemberSpec = {
  name: "ts_insert_member",
  description:
    "Insert a method, property or accessor into a class, interface, type literal or object literal. `path` names " +
    'the container ("src/x.ts#Rect", "src/x.ts#config"); `member` is the full member text as it should read ' +
    '(e.g. "get size(): number {\\n  return this.n;\\n}"). `position`: "first", "last" (default), ' +
    '{"before": "memberName"} or {"after": "memberName"}. Commas/semicolons and indentation are handled.',
  input: z.object({
    path: z.string().min(1).describe('Symbol path of the container, e.g. "src/x.ts#Rect"'),
    member: z.string().min(1).describe("The member's source text"),
    position: MemberPosition.optional().describe(
      '"first" | "last" | {before: name} | {after: name}; default "last"',
    ),
  }),
  effect: "edit",
} satisfies ToolSpec;

export const tsRenameSpec = {
  name: "ts_rename",
  description:
    "Rename a declaration everywhere in the project with the language service (imports, re-exports, shorthand " +
    'properties and member accesses stay correct). `path` names the declaration ("src/x.ts#parse", ' +
    '"src/x.ts#Class.method", "src/x.ts#config.load"); `newName` must be an identifier not already in scope.',
  input: z.object({
    path: z.string().min(1).describe('Symbol path of the declaration to rename, e.g. "src/x.ts#parse"'),
    newName: z.string().describe("New identifier, e.g. parseConfig"),
  }),
  effect: "edit",
  timeoutMs: 60_000,
} satisfies ToolSpec;

export const tsReplaceBodySpec = {
  name: "ts_replace_body",
  description:
    "Replace the body of a function, method, constructor, accessor, arrow function or function expression " +
    '(also one held in a variable, "#handler", or an object-literal member, "#config.load"). `body` is the ' +
    "statements WITHOUT the surrounding braces; it is re-indented to fit. An expression-bodied arrow becomes a " +
    'block, so include `return`. For a get/set pair, "#Class.size" is the getter and "#Class.size:set" the setter.' +
    " The edit is refused if it breaks the syntax; new type errors are reported.",
  input: z.object({
    path: z
      .string()
      .min(1)
      .describe('Symbol path, e.g. "src/x.ts#parse", "src/x.ts#Parser.next", "src/x.ts#handler"'),
    body: z.string().describe("Statements of the new body, without the enclosing { }"),
  }),
  effect: "edit",
} satisfies ToolSpec;

export const tsReplaceDeclarationSpec = {
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
} satisfies ToolSpec;

export const tsRemoveDeclarationSpec = {
  name: "ts_remove_declaration",
  description:
    'Remove a declaration addressed by symbol path ("src/x.ts#oldHelper", "#Class.member", "#config.key") with its ' +
    "JSDoc and overloads; list commas are kept valid. Uses elsewhere are not removed: they come back as new type errors.",
  input: z.object({ path: z.string().min(1).describe('Symbol path, e.g. "src/x.ts#oldHelper"') }),
  effect: "edit",
} satisfies ToolSpec;

export const tsOutlineSpec = {
  name: "ts_outline",
  description:
    "Outline of a TypeScript file or folder (recursively .ts/.tsx, skipping node_modules): every declaration " +
    "with its symbol path (#name, #Class.member, #config.load, #default), kind, line span and one-line signature " +
    'without bodies. Use the "#..." paths with ts_read and the ts_* edit tools. "file.ts#Class" outlines one declaration.',
  input: PathInput,
  effect: "read",
} satisfies ToolSpec;

export const tsReadSpec = {
  name: "ts_read",
  description:
    'Source of one declaration addressed by symbol path ("src/x.ts#parse", "#Class.method", "#config.load", ' +
    '"#default"), including its JSDoc, with its line span. Overloads and get/set pairs are returned together.',
  input: z.object({
    path: z.string().min(1).describe('Symbol path: "path/to/file.ts#Name" or "path/to/file.ts#Class.member"'),
  }),
  effect: "read",
} satisfies ToolSpec;

/** The first call on a workspace loads its whole Project (seconds on a big one). */
export const TS_TOOL_TIMEOUT_MS = 60_000;

type SymbolPathInput = { readonly path: string };

/** The file part of a symbol path ("src/x.ts#A.b" → "src/x.ts"), which the registry confines. */
export function symbolPathFile(input: SymbolPathInput): string | undefined {
  return input.path.split("#")[0]!.trim() || undefined;
}

/** Readers are Prime's too; every ts_* tool is hosted by the TypeScript worker thread when there is one. */
const READER: readonly ToolRole[] = ["lab", "prime", "worker"];
const EDITOR: readonly ToolRole[] = ["lab", "worker"];

/**
 * The manifest entry of a structural tool: confined to the workspace (edits as writes: never under
 * schemas/), one call at a time per workspace (the Project is shared state), its code loaded with
 * ts-morph on the first call.
 */
function tsEntry<I extends SymbolPathInput>(
  spec: ToolSpec<I>,
  roles: readonly ToolRole[],
  implementation: (loaded: typeof InProcess) => Tool<I>,
): Tool<I> {
  return lazyTool({
    ...spec,
    timeoutMs: spec.timeoutMs ?? TS_TOOL_TIMEOUT_MS,
    roles,
    confine: { access: spec.effect === "read" ? "read" : "write", path: symbolPathFile },
    exclusive: true,
    load: () => import("./index.ts").then((loaded) => loaded.inProcess(implementation(loaded))),
  });
}

/** The structural tools' part of the tool manifest (src/agent/tool-manifest.ts), in the order offered. */
export const tsToolSpecs: readonly Tool[] = [
  tsEntry(tsOutlineSpec, READER, (m) => m.tsOutline),
  tsEntry(tsReadSpec, READER, (m) => m.tsRead),
  tsEntry(tsReplaceBodySpec, EDITOR, (m) => m.tsReplaceBody),
  tsEntry(tsInsertMemberSpec, EDITOR, (m) => m.tsInsertMember),
  tsEntry(tsReplaceDeclarationSpec, EDITOR, (m) => m.tsReplaceDeclaration),
  tsEntry(tsRemoveDeclarationSpec, EDITOR, (m) => m.tsRemoveDeclaration),
  tsEntry(tsAddImportSpec, EDITOR, (m) => m.tsAddImport),
  tsEntry(tsRenameSpec, EDITOR, (m) => m.tsRename),
];
