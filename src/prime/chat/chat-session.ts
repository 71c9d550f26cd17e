import { type LoopOptions, type LoopResult, runAgentLoop, type ToolExecutor } from "../../agent/loop.ts";
import type { MessageParam, ModelPort } from "../../agent/model-port.ts";
import { LoomError } from "../../shared/errors.ts";
import { type AgentEvent, addUsage, type EventSink, type Usage } from "../../shared/events.ts";
import type { ChatLog } from "./chat-log.ts";

export interface ChatSessionOptions {
  readonly model: ModelPort;
  readonly tools: ToolExecutor;
  /** The repository the tools read. */
  readonly workspace: string;
  readonly log: ChatLog;
  readonly loop: Pick<LoopOptions, "system" | "maxIterations" | "maxContextMessages" | "maxTokens">;
  /** Every event of every turn (the /logs stream). */
  readonly publish?: EventSink;
}

/** Thrown when a turn is asked for while another runs: one turn at a time. */
export class ChatBusyError extends LoomError {
  constructor() {
    super("CHAT_BUSY", "Prime is answering another message; wait for its done event, then send yours");
  }
}

/** Said in the history where a turn did not end with Prime's reply, so roles keep alternating. */
const interruptedNote = (why: string): MessageParam => ({
  role: "assistant",
  content: [{ type: "text", text: `(This turn ended without a reply: ${why}.)` }],
});

/**
 * Prime's conversation: the message history across turns and restarts (chat.jsonl), one turn at a
 * time through the shared agent loop.
 */
export class ChatSession {
  readonly #options: ChatSessionOptions;
  #messages: MessageParam[];
  #usage: Usage;
  #turns: number;
  #running: AbortController | undefined;

  private constructor(
    options: ChatSessionOptions,
    loaded: { messages: MessageParam[]; usage: Usage; turns: number },
  ) {
    this.#options = options;
    this.#messages = loaded.messages;
    this.#usage = loaded.usage;
    this.#turns = loaded.turns;
  }

  /** Loads the history; a turn a restart cut short is closed with a note so the history stays valid. */
  static async open(options: ChatSessionOptions): Promise<ChatSession> {
    const loaded = await options.log.load();
    const session = new ChatSession(options, loaded);
    const last = loaded.messages.at(-1);
    const unanswered =
      last?.role === "assistant" && typeof last.content !== "string"
        ? last.content.filter((b) => b.type === "tool_use")
        : [];
    if (unanswered.length > 0) {
      // Every tool_use needs its tool_result for the history to stay valid to continue.
      await session.#record([
        {
          role: "user",
          content: unanswered.map((b) => ({
            type: "tool_result" as const,
            tool_use_id: (b as { id: string }).id,
            content:
              "Not finished: Prime restarted while this tool ran; check its effect before repeating it.",
            is_error: true,
          })),
        },
      ]);
    }
    if (session.#messages.at(-1)?.role === "user") {
      await session.#record([interruptedNote("Prime restarted during it")]);
    }
    return session;
  }

  get busy(): boolean {
    return this.#running !== undefined;
  }

  get turns(): number {
    return this.#turns;
  }

  get usage(): Usage {
    return this.#usage;
  }

  get messages(): readonly MessageParam[] {
    return this.#messages;
  }

  /**
   * Runs one turn for `message`, sending its events to `emit` (and to every /logs client). Throws
   * ChatBusyError at once if a turn is running; otherwise never throws for model or tool failures.
   */
  async turn(message: string, emit: EventSink = () => {}): Promise<LoopResult> {
    if (this.#running) throw new ChatBusyError();
    const abort = new AbortController();
    this.#running = abort;
    try {
      const userMessage: MessageParam = { role: "user", content: message };
      await this.#record([userMessage]);
      const before = this.#messages.length;
      const send = (event: AgentEvent) => {
        this.#options.publish?.(event);
        emit(event);
      };
      const progress = this.#recordAsItGoes();
      const result = await runAgentLoop(
        this.#messages,
        {
          model: progress.model,
          tools: progress.tools,
          emit: send,
          workspace: this.#options.workspace,
          signal: abort.signal,
        },
        { ...this.#options.loop, tokenBudget: 0 },
      );
      // The loop's history is the truth; what was already written is its prefix.
      const added = result.messages.slice(before + progress.written());
      if (result.messages.at(-1)?.role === "user")
        added.push(interruptedNote(`it stopped (${result.reason})`));
      await this.#record(added);
      this.#usage = addUsage(this.#usage, result.usage);
      this.#turns++;
      await this.#options.log.appendTurn(result.reason, result.usage);
      return result;
    } finally {
      this.#running = undefined;
    }
  }

  /**
   * Ports that write the turn to chat.jsonl as it happens: each model reply when it arrives, each
   * round of tool results before the next model call. A Prime killed mid-turn (the Supervisor restarts
   * it right after a promotion) so keeps what its tools did.
   */
  #recordAsItGoes(): { model: ModelPort; tools: ToolExecutor; written: () => number } {
    const { model, tools } = this.#options;
    let written = 0;
    // After a reply that asked for tools, the loop's next request ends with the user message that
    // answers them (results of the calls it ran and of those it refused to run).
    let answerPending = false;
    return {
      written: () => written,
      model: {
        model: model.model,
        call: async (request, signal) => {
          const answer = request.messages.at(-1);
          if (answerPending && answer?.role === "user") {
            await this.#record([answer]);
            written++;
          }
          answerPending = false;
          const response = await model.call(request, signal);
          await this.#record([{ role: "assistant", content: [...response.content] }]);
          written++;
          answerPending = true;
          return response;
        },
      },
      tools,
    };
  }

  /** Aborts the running turn, if any (on shutdown). */
  abort(): void {
    this.#running?.abort();
  }

  async #record(messages: readonly MessageParam[]): Promise<void> {
    await this.#options.log.appendMessages(messages);
    this.#messages = [...this.#messages, ...messages];
  }
}
