export { AutonomousEvent, describeAutonomousEvent } from "./events.ts";
export { heldReason, type RunProgress, runProgress } from "./progress.ts";
export {
  fullyVerified,
  mainFitness,
  nextRoundStep,
  type RoundStep,
  rankFinalists,
  rollbackReason,
} from "./round-step.ts";
export {
  type AutonomousPorts,
  type AutonomousResult,
  type AutonomousRunOptions,
  DEFAULT_AUTONOMOUS_OPTIONS,
  isActive,
  runAutonomousLoop,
} from "./run-loop.ts";
export { AUTONOMOUS_STATE_FILE, type AutonomousStatePort, fileStatePort } from "./state-file.ts";
export { stopRuleFor } from "./stop-rules.ts";
