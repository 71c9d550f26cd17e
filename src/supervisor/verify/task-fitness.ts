import type { TaskFitness, TaskScore } from "../../../schemas/verification.ts";
import { mcnemar } from "../../bench-agent/paired.ts";

/** Which of main's tasks a run takes: the staged subset (LOOM_TASKS_SCREEN of them) or all. */
export type TaskStage = "screen" | "full";

/**
 * LOOM_FITNESS=tasks: the Lab agent at a commit, run on main's tasks/ (never the candidate's: a
 * candidate cannot change what it is measured on). Implemented outside the domain (`loom bench-agent`'s
 * harness); main's own score is reused while main, the model and the tasks stay the same.
 */
export interface TaskRunner {
  score(commit: string, main: string, stage: TaskStage, signal?: AbortSignal): Promise<TaskScore>;
}

const share = (s: TaskScore): number => (s.total === 0 ? 0 : s.solved / s.total);

/**
 * The staged subset: a cheap screen, not a judgement. A candidate that solves fewer of its tasks than
 * main stops here; a tie or better goes on to the expensive stages.
 */
export function judgeScreen(candidate: TaskScore, main: TaskScore): { passed: boolean; detail: string } {
  const detail = `tasks (staged subset of ${candidate.total}): the candidate's agent solved ${candidate.solved}, main's ${main.solved}`;
  return candidate.solved >= main.solved
    ? { passed: true, detail }
    : { passed: false, detail: `${detail}: fewer than main` };
}

/**
 * The whole suite, paired task by task: promoted only when McNemar's exact test on the tasks one solved
 * and the other did not calls the candidate better (not noise) and its gain in solved share is at
 * least `minGain`.
 */
export function judgeFull(
  candidate: TaskScore,
  main: TaskScore,
  minGain: number,
): { passed: boolean; detail: string; full: NonNullable<TaskFitness["full"]> } {
  // Paired by task. Tasks neither solved leave McNemar's test as it is (only the discordant ones move
  // it): the pairs are the tasks either one solved, and one such unsolved pair, so that neither
  // solving anything is a comparison too (no difference), not an empty one.
  const names = [...new Set([...candidate.solvedTasks, ...main.solvedTasks])];
  const [c, m] = [new Set(candidate.solvedTasks), new Set(main.solvedTasks)];
  const test = mcnemar([...names.map((n) => c.has(n)), false], [...names.map((n) => m.has(n)), false]);
  const verdict =
    test.verdict === "A better"
      ? "candidate better"
      : test.verdict === "B better"
        ? "main better"
        : "within noise";
  const gain = Math.round((share(candidate) - share(main)) * 10_000) / 10_000;
  const full = {
    candidate,
    main,
    candidateOnly: test.aOnly,
    mainOnly: test.bOnly,
    pValue: test.pValue,
    verdict,
    gain,
    minGain,
  } as const;
  const p = test.pValue < 0.001 ? "p < 0.001" : `p = ${test.pValue.toFixed(3)}`;
  const said = `tasks: the candidate's agent solved ${candidate.solved}/${candidate.total}, main's ${main.solved}/${main.total} (${test.aOnly} only the candidate, ${test.bOnly} only main; ${p}, McNemar's exact test)`;
  if (verdict !== "candidate better")
    return {
      passed: false,
      detail: `${said}: ${verdict === "main better" ? "main is better" : "within noise"}, so no gain is shown`,
      full,
    };
  if (gain < minGain)
    return { passed: false, detail: `${said}: a gain of ${gain} is below LOOM_MIN_GAIN=${minGain}`, full };
  return { passed: true, detail: said, full };
}

/** The staged subset of main's tasks: main's agent first (its score is reused), then the candidate's. */
export async function screenStage(
  runner: TaskRunner,
  commit: string,
  main: string,
  signal?: AbortSignal,
): Promise<{ passed: boolean; detail: string; screen: NonNullable<TaskFitness["screen"]> }> {
  const mainScore = await runner.score(main, main, "screen", signal);
  const candidate = await runner.score(commit, main, "screen", signal);
  return { ...judgeScreen(candidate, mainScore), screen: { candidate, main: mainScore } };
}

/** All of main's tasks, paired: main's agent first, then the candidate's. */
export async function fullStage(
  runner: TaskRunner,
  commit: string,
  main: string,
  minGain: number,
  signal?: AbortSignal,
): Promise<ReturnType<typeof judgeFull>> {
  const mainScore = await runner.score(main, main, "full", signal);
  const candidate = await runner.score(commit, main, "full", signal);
  return judgeFull(candidate, mainScore, minGain);
}
