import type { z } from "zod";
import {
  AutonomousGeneration,
  AutonomousOptions,
  AutonomousPhase,
  AutonomousState,
  AutonomousStopReason,
} from "./autonomous.ts";
import { ChatRequest } from "./chat.ts";
import { EvalRequest, EvalResponse } from "./eval.ts";
import { AgentEvent, PrimeLogEvent, PrimeLogLine, SupervisorEvent } from "./events.ts";
import { GateStage } from "./gate.ts";
import { GenerationNumber, GenerationOutcome, LabBranch } from "./generation.ts";
import { DeclarationChange, DeclarationSummary, GenerationDiff } from "./generation-diff.ts";
import { GenerationRecord } from "./generation-record.ts";
import { LabReport, LabStopReason } from "./lab-report.ts";
import { LabState, LabStatus, ToolCallCounts } from "./lab-status.ts";
import { PrimeHealth, PrimeStats } from "./prime.ts";
import { ProgramContract } from "./program.ts";
import { ReviewVerdict } from "./review.ts";
import { Candidate, CandidateCount, CandidateHint, RoundNumber } from "./round.ts";
import {
  ArchiveRequest,
  ArchiveResponse,
  CommitSha,
  ErrorBody,
  PrimeState,
  PrimeStatus,
  PromoteRequest,
  PromoteResponse,
  RollbackRequest,
  RollbackResponse,
  SpawnedGeneration,
  SpawnRequest,
  SpawnResponse,
  SupervisorStats,
} from "./supervisor.ts";
import { BenchAgentResult, BenchAgentTaskResult, TaskName, TaskSource, TaskSpec } from "./task.ts";
import { ModelUsage, Usage } from "./usage.ts";
import {
  AcceptanceStage,
  CascadeStage,
  CascadeStageName,
  CascadeStageState,
  Fitness,
  MechanicalVerification,
  ReviewRequest,
  ReviewStage,
  StepResult,
  TaskFitness,
  TaskScore,
  TestStage,
  Verification,
  VerificationRun,
  VerificationRunState,
  VerifyRequest,
  VerifyThrough,
} from "./verification.ts";

export * from "./autonomous.ts";
export * from "./chat.ts";
export * from "./eval.ts";
export * from "./events.ts";
export * from "./gate.ts";
export * from "./generation.ts";
export * from "./generation-diff.ts";
export * from "./generation-record.ts";
export * from "./lab-report.ts";
export * from "./lab-status.ts";
export * from "./prime.ts";
export * from "./program.ts";
export * from "./review.ts";
export * from "./round.ts";
export * from "./supervisor.ts";
export * from "./task.ts";
export * from "./usage.ts";
export * from "./verification.ts";

/** Every fixed point by name: snapshot tests and generated docs iterate over this one list. */
export const fixedPointSchemas: Record<string, z.ZodType> = {
  Usage,
  ModelUsage,
  EvalRequest,
  EvalResponse,
  LabState,
  ToolCallCounts,
  LabStatus,
  LabStopReason,
  LabReport,
  GenerationNumber,
  LabBranch,
  GenerationOutcome,
  RoundNumber,
  CandidateCount,
  CandidateHint,
  Candidate,
  CommitSha,
  SpawnRequest,
  SpawnedGeneration,
  SpawnResponse,
  PromoteRequest,
  PromoteResponse,
  RollbackRequest,
  RollbackResponse,
  ArchiveRequest,
  ArchiveResponse,
  ErrorBody,
  PrimeState,
  PrimeStatus,
  SupervisorStats,
  ReviewVerdict,
  StepResult,
  TestStage,
  AcceptanceStage,
  GateStage,
  CascadeStageName,
  CascadeStageState,
  CascadeStage,
  TaskScore,
  TaskFitness,
  MechanicalVerification,
  ReviewStage,
  Fitness,
  Verification,
  VerificationRunState,
  VerificationRun,
  VerifyThrough,
  VerifyRequest,
  ReviewRequest,
  GenerationRecord,
  DeclarationChange,
  DeclarationSummary,
  GenerationDiff,
  ChatRequest,
  PrimeHealth,
  PrimeStats,
  ProgramContract,
  AutonomousStopReason,
  AutonomousPhase,
  AutonomousOptions,
  AutonomousGeneration,
  AutonomousState,
  AgentEvent,
  SupervisorEvent,
  PrimeLogLine,
  PrimeLogEvent,
  TaskName,
  TaskSource,
  TaskSpec,
  BenchAgentTaskResult,
  BenchAgentResult,
};
