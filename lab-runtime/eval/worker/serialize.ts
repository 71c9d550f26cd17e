import { inspect } from "node:util";

/** `text` cut to `max` characters with a marker saying how much was dropped. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}\n…[truncated: ${max} of ${text.length} characters shown]`;
}

/**
 * True when JSON.stringify would reproduce `value` exactly: plain objects, arrays without holes,
 * strings, finite numbers, booleans, null, valid Dates. Anything else (undefined inside, bigint,
 * Map/Set, class instances, functions, cycles, accessors) is shown as inspect text instead.
 */
function jsonFaithful(value: unknown, ancestors: Set<object>, budget: { nodes: number }): boolean {
  if (--budget.nodes < 0) return false;
  if (value === null) return true;
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object":
      break;
    default:
      return false;
  }
  const obj = value as object;
  if (ancestors.has(obj)) return false;
  if (obj instanceof Date) return !Number.isNaN(obj.getTime());
  const proto = Object.getPrototypeOf(obj);
  const isArray = Array.isArray(obj);
  if (isArray ? proto !== Array.prototype : proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(obj).length > 0) return false;
  ancestors.add(obj);
  try {
    if (isArray) {
      const arr = obj as unknown[];
      for (let i = 0; i < arr.length; i++) {
        if (!(i in arr) || !jsonFaithful(arr[i], ancestors, budget)) return false;
      }
      return true;
    }
    if ("toJSON" in obj) return false;
    for (const key of Object.keys(obj)) {
      const desc = Object.getOwnPropertyDescriptor(obj, key);
      if (!desc || desc.get || desc.set || !jsonFaithful(desc.value, ancestors, budget)) return false;
    }
    return true;
  } finally {
    ancestors.delete(obj);
  }
}

function inspectSafely(value: unknown, maxChars: number): string {
  try {
    return inspect(value, { depth: 6, maxArrayLength: 200, maxStringLength: maxChars, breakLength: 100 });
  } catch (err) {
    return `[value could not be inspected: ${err instanceof Error ? err.message : String(err)}]`;
  }
}

/**
 * The JSON text an eval returns as `value`, or undefined for `undefined` (the field is then absent).
 * JSON-faithful values go as themselves; everything else as a string of util.inspect output. Either is
 * bounded to `maxChars`: an oversized value becomes a truncated string with a marker.
 */
export function serializeValue(value: unknown, maxChars: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") return JSON.stringify(truncate(value, maxChars));
  if (jsonFaithful(value, new Set(), { nodes: maxChars + 1 })) {
    const json = JSON.stringify(value);
    return json.length <= maxChars ? json : JSON.stringify(truncate(json, maxChars));
  }
  return JSON.stringify(truncate(inspectSafely(value, maxChars), maxChars));
}
