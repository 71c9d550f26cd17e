export { lessonsFrom } from "./lessons.ts";
export {
  type Proposal,
  ReflectError,
  type ReflectOptions,
  reflectAndPropose,
} from "./reflect-and-propose.ts";
export {
  buildReflectPrompt,
  PROPOSE_TOOL,
  REFLECT_LIMITS,
  REFLECT_SYSTEM,
  renderLessons,
  renderLineage,
} from "./reflect-prompt.ts";
