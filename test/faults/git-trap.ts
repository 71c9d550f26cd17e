import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

/**
 * A `git` first on the Supervisor's PATH that runs the real one, except once when armed: when the
 * Supervisor (its parent, by pid) runs the armed subcommand, it sends the Supervisor a signal before
 * the real git runs ("before": git does not run at all), while it runs ("during": signal, then git),
 * or after it ran ("after"), or a step that outlasts the shutdown grace ("stall": signal, then git
 * only 3 s later; `stalledDone` tells when it finished). Every subcommand the Supervisor runs is logged, so a test can see the
 * steps it took.
 */
export type TrapWhen = "before" | "during" | "after" | "stall";
export type TrapSignal = "KILL" | "TERM" | "INT";

export interface Trap {
  readonly subcommand: string;
  readonly when: TrapWhen;
  readonly signal: TrapSignal;
  /** Fire on the nth run of the subcommand (default 1); runs are counted from arming. */
  readonly nth?: number;
}

export interface GitTrap {
  /** Put first on the Supervisor's PATH. */
  readonly bin: string;
  /** The Supervisor to signal: only git run by this pid counts. */
  watch(pid: number): Promise<void>;
  arm(trap: Trap): Promise<void>;
  disarm(): Promise<void>;
  /** Whether the armed trap has fired. */
  fired(): Promise<boolean>;
  /** Whether a "stall" trap's git has finished. */
  stalledDone(): Promise<boolean>;
  /** The subcommands the watched Supervisor ran since the last arm/disarm. */
  ran(): Promise<string[]>;
}

const SCRIPT = `#!/bin/sh
# The first argument that is not an option (or an option's value) names the subcommand.
sub=""; skip=""
for a in "$@"; do
  if [ -n "$skip" ]; then skip=""; continue; fi
  case "$a" in
    -c|-C) skip=1 ;;
    -*) ;;
    *) sub="$a"; break ;;
  esac
done
d="__TRAP_DIR__"; real="__REAL_GIT__"
if [ -f "$d/pid" ] && [ "$PPID" = "$(cat "$d/pid")" ]; then
  echo "$sub" >> "$d/ran"
  if [ -f "$d/armed" ]; then
    set -- "$@"
    read -r t_sub t_when t_sig t_nth < "$d/armed"
    if [ "$sub" = "$t_sub" ]; then
      n=$(grep -cx "$sub" "$d/ran")
      if [ "$n" = "$t_nth" ] && mkdir "$d/fired" 2>/dev/null; then
        case "$t_when" in
          before) kill -"$t_sig" "$PPID"; exit 1 ;;
          during) kill -"$t_sig" "$PPID"; exec "$real" "$@" ;;
          after) "$real" "$@"; rc=$?; kill -"$t_sig" "$PPID"; exit $rc ;;
          stall) kill -"$t_sig" "$PPID"; sleep 3; "$real" "$@"; rc=$?; touch "$d/fired/done"; exit $rc ;;
        esac
      fi
    fi
  fi
fi
exec "$real" "$@"
`;

export async function makeGitTrap(dir: string): Promise<GitTrap> {
  const bin = path.join(dir, "bin");
  const state = path.join(dir, "state");
  await mkdir(bin, { recursive: true });
  await mkdir(state, { recursive: true });
  const real = (await execa("sh", ["-c", "command -v git"])).stdout.trim();
  // Paths written in: the Supervisor's git runs with GIT_* variables stripped, and a Lab with a bare env.
  await writeFile(path.join(bin, "git"), SCRIPT.replace("__TRAP_DIR__", state).replace("__REAL_GIT__", real));
  await chmod(path.join(bin, "git"), 0o755);
  const reset = async () => {
    await rm(path.join(state, "fired"), { recursive: true, force: true });
    await rm(path.join(state, "ran"), { force: true });
  };
  return {
    bin,
    watch: (pid) => writeFile(path.join(state, "pid"), String(pid)),
    arm: async (t) => {
      await reset();
      await writeFile(path.join(state, "armed"), `${t.subcommand} ${t.when} ${t.signal} ${t.nth ?? 1}\n`);
    },
    disarm: async () => {
      await rm(path.join(state, "armed"), { force: true });
      await reset();
    },
    fired: () =>
      readFile(path.join(state, "fired"), "utf8").then(
        () => true,
        (e: NodeJS.ErrnoException) => e.code === "EISDIR",
      ),
    stalledDone: () =>
      readFile(path.join(state, "fired", "done")).then(
        () => true,
        () => false,
      ),
    ran: async () =>
      (await readFile(path.join(state, "ran"), "utf8").catch(() => "")).split("\n").filter(Boolean),
  };
}
