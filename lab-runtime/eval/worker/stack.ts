import { SourceMap } from "node:module";
import path from "node:path";
import { inspect } from "node:util";
import { type ColumnShift, unshiftColumn } from "../protocol.ts";

/** Shown in stacks for the form itself. */
export const FORM_LABEL = "[eval]";

interface CallSiteLike {
  getFileName(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  getFunctionName(): string | null;
  getTypeName(): string | null;
  getMethodName(): string | null;
  isConstructor(): boolean;
  isAsync(): boolean;
  isNative(): boolean;
  isToplevel(): boolean;
  isEval(): boolean;
  toString(): string;
}

/**
 * Maps stack frames of transformed modules back to their TypeScript lines, through the source map
 * esbuild produced with each module. Installed as `Error.prepareStackTrace`, so `err.stack` read by
 * user code is mapped too. Maps are parsed only when a frame in that file is formatted.
 */
export class StackMapper {
  private readonly raw = new Map<string, string>();
  private readonly parsed = new Map<string, SourceMap | null>();
  private readonly shifts = new Map<string, ColumnShift[]>();

  constructor(
    private readonly workspace: string,
    private readonly formFile: string,
    /** Characters the module wrapper adds in front of line 1. */
    private readonly lineOneOffset: number,
  ) {}

  set(file: string, map: string, shifts: ColumnShift[] = []): void {
    this.raw.set(file, map);
    this.parsed.delete(file);
    if (shifts.length > 0) this.shifts.set(file, shifts);
    else this.shifts.delete(file);
  }

  delete(file: string): void {
    this.raw.delete(file);
    this.parsed.delete(file);
  }

  install(): void {
    Error.prepareStackTrace = (error: unknown, callsites: CallSiteLike[]) => {
      let header: string;
      try {
        header = Error.prototype.toString.call(error);
      } catch {
        header = "Error";
      }
      return header + callsites.map((cs) => `\n    at ${this.frame(cs)}`).join("");
    };
  }

  private sourceMap(file: string): SourceMap | null {
    let map = this.parsed.get(file);
    if (map === undefined) {
      const raw = this.raw.get(file);
      try {
        map = raw ? new SourceMap(JSON.parse(raw)) : null;
      } catch {
        map = null;
      }
      this.parsed.set(file, map);
    }
    return map;
  }

  private display(file: string): string {
    if (file === this.formFile) return FORM_LABEL;
    const rel = path.relative(this.workspace, file);
    return rel.startsWith("..") || path.isAbsolute(rel) ? file : rel;
  }

  private location(cs: CallSiteLike): string {
    const file = cs.getFileName();
    if (cs.isNative()) return "native";
    if (!file) return "<anonymous>";
    let line = cs.getLineNumber() ?? 0;
    let col = cs.getColumnNumber() ?? 0;
    const map = this.raw.has(file) ? this.sourceMap(file) : null;
    if (!map) return `${file}:${line}:${col}`;
    if (line === 1) col = Math.max(1, col - this.lineOneOffset);
    const entry = map.findEntry(line - 1, col - 1) as { originalLine?: number; originalColumn?: number };
    if (typeof entry.originalLine === "number" && typeof entry.originalColumn === "number") {
      line = entry.originalLine + 1;
      col = unshiftColumn(this.shifts.get(file) ?? [], entry.originalLine, entry.originalColumn) + 1;
    }
    return `${this.display(file)}:${line}:${col}`;
  }

  private frame(cs: CallSiteLike): string {
    try {
      const where = this.location(cs);
      const fn = cs.getFunctionName();
      const type = cs.isToplevel() || cs.isConstructor() ? null : cs.getTypeName();
      let name = fn ?? (type ? `${type}.${cs.getMethodName() ?? "<anonymous>"}` : null);
      if (name && type && fn && !fn.startsWith(`${type}.`) && type !== "Object") name = `${type}.${fn}`;
      if (name && cs.isConstructor()) name = `new ${name}`;
      if (name && cs.isAsync()) name = `async ${name}`;
      return name ? `${name} (${where})` : where;
    } catch {
      return cs.toString();
    }
  }
}

/** Frames that belong to the runtime itself, not to the user's code. */
function isRuntimeFrame(line: string): boolean {
  return line.includes("(node:") || line.includes(" node:") || line.includes("[worker eval]");
}

/** `Name: message` plus the user's frames (runtime frames dropped), for an eval's error response. */
export function describeError(err: unknown, depth = 0): string {
  const maxFrames = depth === 0 ? 15 : 3;
  if (!(err instanceof Error)) {
    return `Uncaught ${inspect(err, { depth: 3, breakLength: 120 })}`;
  }
  const stack = typeof err.stack === "string" ? err.stack : "";
  const lines = stack.split("\n");
  const firstFrame = lines.findIndex((l) => l.startsWith("    at "));
  const head =
    firstFrame === -1 ? stack || `${err.name}: ${err.message}` : lines.slice(0, firstFrame).join("\n");
  const frames = firstFrame === -1 ? [] : lines.slice(firstFrame);
  const user = frames.filter((l) => !isRuntimeFrame(l));
  const shown = (user.length > 0 ? user : frames).slice(0, maxFrames);
  const cause =
    err.cause !== undefined && depth < 3 ? `\n[cause] ${describeError(err.cause, depth + 1)}` : "";
  return [head, ...shown].join("\n") + cause;
}
