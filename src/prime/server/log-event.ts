import type { PrimeLogEvent } from "../../../schemas/events.ts";

export const logLine = (message: string): PrimeLogEvent => ({
  type: "log",
  at: new Date().toISOString(),
  message,
});
