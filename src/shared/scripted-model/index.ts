export { scriptFromFile } from "./load-script.ts";
export {
  FaultTurn,
  parseScript,
  ReplyTurn,
  Script,
  ScriptBlock,
  ScriptTurn,
  type ScriptTurnInput,
  ScriptUsage,
  TurnCondition,
} from "./script.ts";
export {
  type RecordedRequest,
  type ScriptedModelOptions,
  ScriptedModelServer,
  startScriptedModel,
} from "./server.ts";
export { type ApiUsage, estimateTokens } from "./usage.ts";
