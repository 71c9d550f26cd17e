import { AsyncLocalStorage } from "node:async_hooks";
import timers from "node:timers";
import { ConsoleCapture } from "./console-capture.ts";

/** One eval as seen from the code it runs: its number, whether it has answered, its live timers. */
interface EvalScope {
  id: number;
  answered: boolean;
  /** Timers it set, with the function that clears each (the kinds must not be mixed up). */
  timers: Map<TimerHandle, (handle: TimerHandle) => void>;
}

interface TimerHandle {
  _destroyed?: boolean;
  hasRef?: () => boolean;
}

type TimerApi = "setTimeout" | "setInterval" | "setImmediate";
const CLEAR: Record<TimerApi, "clearTimeout" | "clearInterval" | "clearImmediate"> = {
  setTimeout: "clearTimeout",
  setInterval: "clearInterval",
  setImmediate: "clearImmediate",
};

/**
 * Ties everything a form starts to the eval that ran it. Code runs inside an AsyncLocalStorage scope,
 * which follows callbacks and promises, so:
 * - console output, uncaught errors and unhandled rejections land in the eval that caused them; when
 *   that eval has already answered they are kept apart and shown in the next answer under a line
 *   naming the eval they came from, never as the next eval's own output;
 * - timers (setTimeout/setInterval/setImmediate, global or from node:timers) still pending when the
 *   eval answers are cancelled — a form's timers do not outlive it — and a timer set afterwards from
 *   that eval's leftover callbacks is cancelled at once.
 */
export class EvalScopes {
  private readonly storage = new AsyncLocalStorage<EvalScope>();
  private current: EvalScope | undefined;
  private readonly own: ConsoleCapture;
  private readonly late: ConsoleCapture;
  /** Eval whose late output the `late` capture's last header names (to print one header per eval). */
  private lateFrom: number | undefined;

  constructor(maxChars: number) {
    this.own = new ConsoleCapture(maxChars);
    this.late = new ConsoleCapture(maxChars);
  }

  /** Route console output of every eval through here. */
  installConsole(target: Console): void {
    this.own.install(target, this);
  }

  /** Wrap the timer functions (globals and node:timers) so each eval's timers are known. */
  installTimers(): void {
    for (const api of Object.keys(CLEAR) as TimerApi[]) {
      const create = globalThis[api] as unknown as (...args: unknown[]) => TimerHandle;
      const clear = globalThis[CLEAR[api]] as unknown as (handle: TimerHandle) => void;
      const tracked = this.trackTimer(create, clear);
      // Keep util.promisify(setTimeout) and the like working: they are symbol-keyed properties.
      for (const sym of Object.getOwnPropertySymbols(create)) {
        const desc = Object.getOwnPropertyDescriptor(create, sym);
        if (desc) Object.defineProperty(tracked, sym, desc);
      }
      (globalThis as Record<string, unknown>)[api] = tracked;
      (timers as unknown as Record<string, unknown>)[api] = tracked;
    }
  }

  /** Console output: to the running eval, or kept as late output of the eval it came from. */
  push(kind: string, text: string): void {
    const scope = this.storage.getStore();
    if (scope && !scope.answered && scope === this.current) {
      this.own.push(kind, text);
      return;
    }
    const from = scope?.id ?? -1;
    if (this.lateFrom !== from) {
      this.lateFrom = from;
      this.late.push("lab", `@late:${from}`);
    }
    this.late.push(kind, text);
  }

  /** Run `body` as eval `id`; its async work stays attributed to it. */
  run<T>(id: number, body: () => Promise<T>): Promise<T> {
    const scope: EvalScope = { id, answered: false, timers: new Map() };
    this.current = scope;
    return this.storage.run(scope, body);
  }

  /**
   * End the running eval: cancel its pending timers and return its output — late output of earlier
   * evals first, each under a line naming the eval, then this eval's own — and how many timers went.
   */
  finish(): { console: string; cancelledTimers: number } {
    const scope = this.current;
    let cancelled = 0;
    if (scope) {
      scope.answered = true;
      for (const [handle, clear] of scope.timers) {
        if (handle._destroyed) continue;
        // Unref'd ones are library housekeeping (keep-alive sockets, servers' timeout checks): cancelled
        // too, but not worth a note on every eval that used fetch.
        if (handle.hasRef?.() !== false) cancelled++;
        clear(handle);
      }
      scope.timers.clear();
    }
    this.current = undefined;
    const late = this.takeLate(scope?.id ?? 0);
    const own = this.own.take();
    return { console: [late, own].filter((p) => p.length > 0).join("\n"), cancelledTimers: cancelled };
  }

  private takeLate(currentId: number): string {
    this.lateFrom = undefined;
    const text = this.late.take();
    if (!text) return "";
    return text.replace(/^\[lab\] @late:(-?\d+)$/gm, (_, id: string) => {
      const back = currentId - Number(id);
      const which =
        Number(id) < 0
          ? "code outside any eval"
          : back === 1
            ? "the previous eval"
            : `an earlier eval (${back} before this one)`;
      return `[lab] printed by ${which} after it had answered:`;
    });
  }

  private trackTimer(
    create: (...args: unknown[]) => TimerHandle,
    clear: (handle: TimerHandle) => void,
  ): (...args: unknown[]) => TimerHandle {
    const storage = this.storage;
    return function tracked(this: unknown, ...args: unknown[]): TimerHandle {
      const handle = create.apply(this, args);
      const scope = storage.getStore();
      if (!scope) return handle;
      if (scope.answered) {
        clear(handle);
        return handle;
      }
      // Fired and cleared timers are dropped now and then, so a form setting many stays bounded.
      if (scope.timers.size >= 1024) {
        for (const h of scope.timers.keys()) if (h._destroyed) scope.timers.delete(h);
      }
      scope.timers.set(handle, clear);
      return handle;
    };
  }
}
