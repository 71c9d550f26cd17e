import type { GenerationRecord } from "../../../schemas/generation-record.ts";

const REASON_MAX = 60;

function duration(r: GenerationRecord): string {
  if (r.finishedAt === null) return "-";
  const ms = Date.parse(r.finishedAt) - Date.parse(r.createdAt);
  if (!(ms >= 0)) return "-";
  const s = Math.round(ms / 1000);
  return s < 60
    ? `${s}s`
    : s < 3600
      ? `${Math.floor(s / 60)}m${s % 60}s`
      : `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

function oneLine(text: string | null): string {
  if (!text) return "";
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > REASON_MAX ? `${flat.slice(0, REASON_MAX - 1)}…` : flat;
}

/** A plain-text table for `loom generations`: one row per record, reasons flattened and cut short. */
export function formatGenerations(records: readonly GenerationRecord[]): string {
  if (records.length === 0) return "No generations yet.\n";
  const header = ["GEN", "OUTCOME", "PARENT", "CREATED", "DURATION", "TOKENS", "FITNESS", "REASON"];
  const rows = records.map((r) => [
    String(r.generation),
    r.outcome,
    r.parent === null ? "-" : String(r.parent),
    r.createdAt.replace("T", " ").replace(/\.\d+Z$|Z$/, ""),
    duration(r),
    String(r.tokens.input + r.tokens.output + r.tokens.cacheRead + r.tokens.cacheWrite),
    r.fitness === null ? "-" : String(r.fitness),
    oneLine(r.reason),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  const render = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return `${[header, ...rows].map(render).join("\n")}\n`;
}
