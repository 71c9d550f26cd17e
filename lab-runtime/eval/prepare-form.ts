import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type { ts as TsNamespace } from "ts-morph";
import { LoomError } from "../../src/shared/errors.ts";
import { type ColumnShift, RUN_PARAM, unshiftColumn } from "./protocol.ts";
import { describeEsbuildFailure, type TransformCache, type TransformedModule } from "./transform-cache.ts";

/** The form called something the eval module system cannot run (syntax error, `export`, …). */
export class EvalFormError extends LoomError {
  constructor(message: string) {
    super("EVAL_FORM_INVALID", message);
  }
}

const VALUE_VAR = "__loomValue";

type Ts = typeof TsNamespace;
let tsPromise: Promise<Ts> | undefined;

/**
 * ts-morph's bundled compiler API, loaded once and only when a form is first prepared: required from
 * @ts-morph/common (found beside ts-morph) as CommonJS, which skips ts-morph's own module and the ESM
 * named-export scan of 9 MB — about 0.5 s instead of 0.7 s of a thread that also runs the agent.
 */
export function loadTypeScript(): Promise<Ts> {
  tsPromise ??= Promise.resolve().then(() => {
    const fromTsMorph = createRequire(createRequire(import.meta.url).resolve("ts-morph"));
    return (fromTsMorph("@ts-morph/common") as { ts: Ts }).ts;
  });
  return tsPromise;
}

/** An import statement on one line without comments, so it can move to line 1 and keep line numbers. */
function flattenImport(ts: Ts, text: string): string {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const tokens: string[] = [];
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    tokens.push(scanner.getTokenText());
  }
  return tokens.join(" ");
}

function hasExportModifier(ts: Ts, node: TsNamespace.Statement): boolean {
  const modifiers = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
  return modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
}

/**
 * Turn a form (TypeScript statements, top-level await, static imports) into a CommonJS-compatible
 * module: imports are hoisted onto line 1, the rest runs inside an async function, and the value of
 * the last top-level expression statement is returned. Every line keeps its number, so stack lines
 * mapped through esbuild's source map point at the form's own lines.
 */
export async function rewriteForm(form: string): Promise<{ text: string; shifts: ColumnShift[] }> {
  const ts = await loadTypeScript();
  const sf = ts.createSourceFile("eval.ts", form, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const imports: string[] = [];
  const blanks: [number, number][] = [];
  let last: TsNamespace.ExpressionStatement | undefined;
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st) || ts.isImportEqualsDeclaration(st)) {
      const start = st.getStart(sf);
      imports.push(flattenImport(ts, form.slice(start, st.end)));
      blanks.push([start, st.end]);
    } else if (ts.isExportDeclaration(st) || ts.isExportAssignment(st) || hasExportModifier(ts, st)) {
      const line = sf.getLineAndCharacterOfPosition(st.getStart(sf)).line + 1;
      throw new EvalFormError(
        `eval form line ${line}: \`export\` is not supported in a form; write plain statements — ` +
          "the value of the last expression statement is returned",
      );
    } else if (ts.isExpressionStatement(st)) {
      last = st;
    }
  }
  // Edits applied back to front so earlier offsets stay valid.
  const edits: { at: number; end: number; text: string }[] = blanks.map(([s, e]) => ({
    at: s,
    end: e,
    text: form.slice(s, e).replace(/[^\r\n]/g, " "),
  }));
  const head = `${imports.length > 0 ? `${imports.join("; ")}; ` : ""}${RUN_PARAM}(async () => { let ${VALUE_VAR}; `;
  const shifts: ColumnShift[] = [{ line: 0, at: 0, by: head.length }];
  if (last) {
    const expr = last.expression;
    const start = expr.getStart(sf);
    const assign = `${VALUE_VAR} = (`;
    edits.push({ at: start, end: expr.end, text: `${assign}${form.slice(start, expr.end)})` });
    const { line, character } = sf.getLineAndCharacterOfPosition(start);
    shifts.push({ line, at: character + (line === 0 ? head.length : 0), by: assign.length });
  }
  edits.sort((a, b) => b.at - a.at);
  let body = form;
  for (const edit of edits) body = body.slice(0, edit.at) + edit.text + body.slice(edit.end);
  return { text: `${head}${body}\n;return ${VALUE_VAR};\n});\n`, shifts };
}

export interface PreparedForm extends TransformedModule {
  shifts: ColumnShift[];
}

const prepared = new Map<string, PreparedForm>();
const PREPARED_KEPT = 200;

/** The form as CommonJS JavaScript plus its source map, cached by the form's content hash. */
export async function prepareForm(
  form: string,
  formFile: string,
  cache: TransformCache,
): Promise<PreparedForm> {
  const hash = createHash("sha1").update(form).digest("hex");
  const hit = prepared.get(hash);
  if (hit) return hit;
  const { text, shifts } = await rewriteForm(form);
  let result: PreparedForm;
  try {
    result = { ...(await cache.transform(formFile, text, `form-${hash}`, "ts")), shifts };
  } catch (err) {
    const where = (loc: { line: number; column: number }) =>
      `[eval]:${loc.line}:${unshiftColumn(shifts, loc.line - 1, loc.column) + 1}`;
    throw new EvalFormError(`the form does not compile:\n${describeEsbuildFailure(err, where)}`);
  }
  prepared.set(hash, result);
  if (prepared.size > PREPARED_KEPT) {
    const oldest = prepared.keys().next().value;
    if (oldest !== undefined) prepared.delete(oldest);
  }
  return result;
}
