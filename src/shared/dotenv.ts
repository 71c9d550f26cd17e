import { readFileSync } from "node:fs";
import { ConfigError } from "./errors.ts";

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ACCEPTED = 'expected KEY=VALUE, optionally prefixed by "export "';
const DOUBLE_ESCAPES: Readonly<Record<string, string>> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\" };

type LineResult = { key: string; value: string } | { error: string } | undefined;

/** What may follow a closing quote: nothing, or whitespace and a comment. */
function restIsComment(rest: string): boolean {
  const trimmed = rest.trimStart();
  return trimmed === "" || trimmed.startsWith("#");
}

function parseDoubleQuoted(body: string): { value: string; rest: string } | undefined {
  let value = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch === '"') return { value, rest: body.slice(i + 1) };
    if (ch === "\\" && i + 1 < body.length) {
      const next = body[++i]!;
      // Unknown escapes keep their backslash so Windows-style paths survive.
      value += DOUBLE_ESCAPES[next] ?? `\\${next}`;
    } else value += ch;
  }
  return undefined;
}

function parseValue(raw: string): { value: string } | { error: string } {
  const text = raw.trimStart();
  if (text.startsWith('"')) {
    const parsed = parseDoubleQuoted(text.slice(1));
    if (!parsed) return { error: "unterminated double quote (values must fit on one line; use \\n)" };
    if (!restIsComment(parsed.rest)) return { error: "unexpected text after the closing double quote" };
    return { value: parsed.value };
  }
  if (text.startsWith("'")) {
    const end = text.indexOf("'", 1);
    if (end < 0) return { error: "unterminated single quote" };
    if (!restIsComment(text.slice(end + 1)))
      return { error: "unexpected text after the closing single quote" };
    return { value: text.slice(1, end) };
  }
  // A "#" only starts a comment after whitespace, so `URL=http://x/#a` and `KEY=#1` keep theirs.
  const comment = raw.search(/\s#/);
  return { value: (comment < 0 ? raw : raw.slice(0, comment)).trim() };
}

function parseLine(line: string): LineResult {
  const trimmed = line.trim();
  if (trimmed === "" || trimmed.startsWith("#")) return undefined;
  const body = trimmed.startsWith("export ") ? trimmed.slice("export ".length).trimStart() : trimmed;
  const eq = body.indexOf("=");
  if (eq < 0) return { error: 'missing "="' };
  const key = body.slice(0, eq).trim();
  if (!KEY.test(key)) {
    return {
      error: `${JSON.stringify(key)} is not a variable name (letters, digits and _, not starting with a digit)`,
    };
  }
  const parsed = parseValue(body.slice(eq + 1));
  return "error" in parsed ? parsed : { key, value: parsed.value };
}

/**
 * Parses .env text: KEY=VALUE lines, an optional `export ` prefix, single quotes (literal), double quotes
 * (\n \r \t \" \\ escapes), ` #` comments after unquoted values, blank and comment lines. Later lines win.
 * Every malformed line is reported, one per line of the ConfigError message, as `file:line: reason`.
 */
export function parseDotenv(text: string, file = ".env"): Record<string, string> {
  // Null prototype: a key such as __proto__ must be data, not a prototype change.
  const out: Record<string, string> = Object.create(null);
  const problems: string[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((line, index) => {
    const result = parseLine(line);
    if (result === undefined) return;
    if ("error" in result) problems.push(`${file}:${index + 1}: ${result.error}; ${ACCEPTED}`);
    else out[result.key] = result.value;
  });
  if (problems.length > 0) throw new ConfigError(problems.join("\n"));
  return out;
}

/** Reads and parses a .env file; `undefined` when it does not exist, ConfigError when it cannot be read. */
export function readDotenvFile(file: string): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new ConfigError(`${file}: cannot be read (${code ?? String(err)}); expected a readable .env file`);
  }
  return parseDotenv(text, file);
}
