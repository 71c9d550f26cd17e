import type { GenerationRecord } from "../../../../schemas/generation-record.ts";

/** 1234 → "1,234"; 1234567 → "1.23M": compact enough for a table cell, exact in the title. */
export function formatTokens(n: number): string {
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(2)}M`;
  if (n >= 10_000) return `${(n / 1000).toFixed(1)}k`;
  return n.toLocaleString("en-US");
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** How long a generation took (or has taken so far, when it is still going). */
export function generationDuration(r: GenerationRecord, now = Date.now()): number | null {
  const start = Date.parse(r.createdAt);
  const end = r.finishedAt ? Date.parse(r.finishedAt) : r.outcome === "running" ? now : Number.NaN;
  return Number.isFinite(start) && Number.isFinite(end) ? end - start : null;
}

/** "2026-12-01 19:33:58 UTC": unambiguous without knowing the reader's zone. */
export function formatTime(iso: string | null): string {
  if (!iso) return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** The record's fitness, or the verification's score when only that was written. */
export function fitnessOf(r: GenerationRecord): number | null {
  return r.fitness ?? r.verification?.fitness?.score ?? null;
}

export function formatFitness(f: number | null): string {
  return f === null ? "–" : f.toFixed(3).replace(/\.?0+$/, "") || "0";
}
