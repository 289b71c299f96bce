// The AI SDK's own chat client against a UI message stream endpoint: `AbstractChat` with the
// `DefaultChatTransport`, `addToolApprovalResponse` and `sendAutomaticallyWhen:
// lastAssistantMessageIsCompleteWithApprovalResponses`, as `useChat` wires them.
//
//   node ui_message_chat.mjs chat BASE_URL API_KEY AGENT DECISION MESSAGE...
//
// Sends each MESSAGE in turn; DECISION (approve | deny | none) answers every tool call that
// asks for approval. Prints {messages, finishReasons, errors, status} as JSON. Driven by
// tests/interop (pytest); without the `chat` argument it does nothing.
import {
  AbstractChat,
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithApprovalResponses,
} from "ai";

class State {
  status = "ready";
  error = undefined;
  messages = [];
  pushMessage = (message) => {
    this.messages = this.messages.concat(message);
  };
  popMessage = () => {
    this.messages = this.messages.slice(0, -1);
  };
  replaceMessage = (index, message) => {
    this.messages = this.messages.map((m, i) => (i === index ? this.snapshot(message) : m));
  };
  snapshot = (thing) => structuredClone(thing);
}

class Chat extends AbstractChat {
  constructor(init) {
    super({ ...init, state: new State() });
  }
}

async function until(condition, what) {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const [mode, base, key, agent, decision, ...texts] = process.argv.slice(2);
if (mode === "chat") {
  const errors = [];
  const finishReasons = [];
  const chat = new Chat({
    id: `chat-${Date.now()}`,
    transport: new DefaultChatTransport({
      api: `${base}/api/chat`,
      headers: { Authorization: `Bearer ${key}` },
      body: { agent },
    }),
    onError: (error) => errors.push(String(error?.message ?? error)),
    onFinish: ({ finishReason }) => finishReasons.push(finishReason ?? null),
    sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
  });
  for (const text of texts) {
    const finished = finishReasons.length;
    await chat.sendMessage({ text });
    await until(() => finishReasons.length > finished && chat.status !== "streaming", "a turn");
    const last = chat.messages.at(-1);
    const asking = (last?.parts ?? []).filter((p) => p.state === "approval-requested");
    if (asking.length === 0 || decision === "none") continue;
    for (const part of asking) {
      await chat.addToolApprovalResponse({
        id: part.approval.id,
        approved: decision === "approve",
        reason: `the SDK says ${decision}`,
      });
    }
    await until(() => finishReasons.length > finished + 1 && chat.status === "ready", "the continuation");
  }
  process.stdout.write(
    JSON.stringify({ messages: chat.messages, finishReasons, errors, status: chat.status }),
  );
}
