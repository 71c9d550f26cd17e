import { formatWithOptions, inspect } from "node:util";

type ConsoleMethod = "log" | "info" | "debug" | "warn" | "error" | "trace" | "dir" | "table";

/**
 * Collects console output of evaluated code in order, as lines prefixed with their kind
 * (`[log] …`, `[warn] …`), bounded to `maxChars` with a truncation marker.
 */
export class ConsoleCapture {
  private lines: string[] = [];
  private chars = 0;
  private dropped = 0;

  constructor(private readonly maxChars: number) {}

  push(kind: string, text: string): void {
    for (const line of text.split("\n")) {
      const entry = `[${kind}] ${line}`;
      if (this.chars + entry.length + 1 > this.maxChars) {
        this.dropped += entry.length + 1;
        continue;
      }
      this.lines.push(entry);
      this.chars += entry.length + 1;
    }
  }

  /** Everything captured since the last take, and reset. */
  take(): string {
    let out = this.lines.join("\n");
    if (this.dropped > 0) out += `\n…[truncated: ${this.dropped} more characters of console output]`;
    this.lines = [];
    this.chars = 0;
    this.dropped = 0;
    return out;
  }

  /** Route `target`'s printing methods to `sink` (this capture by default) instead of stdout/stderr. */
  install(target: Console, sink: { push(kind: string, text: string): void } = this): void {
    const format = (args: unknown[]) => formatWithOptions({ colors: false, depth: 4 }, ...args);
    const methods: Record<ConsoleMethod, (...args: unknown[]) => void> = {
      log: (...args) => sink.push("log", format(args)),
      info: (...args) => sink.push("info", format(args)),
      debug: (...args) => sink.push("debug", format(args)),
      warn: (...args) => sink.push("warn", format(args)),
      error: (...args) => sink.push("error", format(args)),
      trace: (...args) => {
        const stack = new Error().stack?.split("\n").slice(2).join("\n") ?? "";
        sink.push("trace", `${format(args)}\n${stack}`);
      },
      dir: (obj) => sink.push("log", inspect(obj, { depth: 4 })),
      table: (data) => sink.push("log", inspect(data, { depth: 4 })),
    };
    Object.assign(target, methods);
  }
}
