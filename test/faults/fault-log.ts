import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Damage } from "./invariants.ts";

export interface FaultRow {
  readonly fault: string;
  readonly damage: Damage;
  /** A SIGTERM/SIGINT that did not end in a clean exit (code 0), or anything else that broke a promise. */
  readonly broken: readonly string[];
  /** How long the fault took, from injecting it to the promises checked. */
  readonly ms: number;
  /** false for a check between faults (the final stop): its damage counts, it is not a fault tried. */
  readonly injected: boolean;
}

const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/faults/", import.meta.url));

/** The faults one suite injected and what each left, printed as the table the reliability page keeps. */
export class FaultLog {
  readonly rows: FaultRow[] = [];
  private since = Date.now();
  constructor(readonly suite: string) {}

  /** Starts the clock of the next fault (otherwise it runs from the previous one's end). */
  begin(): void {
    this.since = Date.now();
  }

  add(fault: string, damage: Damage, broken: readonly string[] = [], injected = true): FaultRow {
    const row = { fault, damage, broken, ms: Date.now() - this.since, injected };
    this.since = Date.now();
    this.rows.push(row);
    return row;
  }

  totals() {
    const count = (f: (r: FaultRow) => readonly unknown[]) => this.rows.filter((r) => f(r).length > 0).length;
    return {
      faults: this.rows.filter((r) => r.injected).length,
      corruptedMains: count((r) => r.damage.corruptedMain),
      orphans: count((r) => r.damage.orphans),
      lostRecords: count((r) => r.damage.lostRecords),
      broken: count((r) => r.broken),
    };
  }

  /** Prints the table and writes it to test-artifacts/faults/<suite>.json. */
  async report(): Promise<string> {
    const t = this.totals();
    const lines = [
      `fault suite ${this.suite}: ${t.faults} faults tried / ${t.corruptedMains} corrupted mains / ${t.orphans} orphans / ${t.lostRecords} lost records / ${t.broken} other broken promises`,
      ...this.rows.map((r) => {
        const bad = [...r.damage.corruptedMain, ...r.damage.orphans, ...r.damage.lostRecords, ...r.broken];
        return `  ${bad.length === 0 ? "ok " : "BAD"} ${r.injected ? "" : "(check) "}${r.fault} (${(r.ms / 1000).toFixed(1)} s)${bad.length ? `: ${bad.join("; ")}` : ""}`;
      }),
    ];
    const text = lines.join("\n");
    process.stdout.write(`${text}\n`);
    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(
      path.join(ARTIFACTS, `${this.suite}.json`),
      `${JSON.stringify({ totals: t, rows: this.rows }, null, 2)}\n`,
    );
    return text;
  }
}
