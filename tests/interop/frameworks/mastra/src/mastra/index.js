// A Mastra project as `mastra dev` serves one: an agent (`calc`) with one tool (`add`), its
// model the AI SDK's OpenAI-compatible provider at MODEL_URL (the scripted model), asking for
// usage (`includeUsage`: Mastra's own `{ providerId, url }` model does not), and `@mastra/ai-sdk`'s
// `chatRoute` at `/chat/:agentId` streaming the AI SDK UI message stream, with the model's
// reasoning (`sendReasoning`) and its usage in the finish chunk's metadata (`messageMetadata`).
// The server listens on 127.0.0.1:PORT; `/health` answers once it serves.
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { chatRoute } from "@mastra/ai-sdk";
import { Agent } from "@mastra/core/agent";
import { Mastra } from "@mastra/core/mastra";
import { createTool } from "@mastra/core/tools";
import { z } from "zod";

const add = createTool({
  id: "add",
  description: "Adds two whole numbers.",
  inputSchema: z.object({ a: z.number().int(), b: z.number().int() }),
  execute: async ({ a, b }) => a + b,
});

const calc = new Agent({
  id: "calc",
  name: "calc",
  instructions: "You add numbers with the add tool.",
  model: createOpenAICompatible({
    name: "scripted",
    baseURL: process.env.MODEL_URL,
    apiKey: "sk-scripted",
    includeUsage: true,
  }).chatModel("m"),
  tools: { add },
});

export const mastra = new Mastra({
  agents: { calc },
  server: {
    host: "127.0.0.1",
    port: Number(process.env.PORT),
    apiRoutes: [
      chatRoute({
        path: "/chat/:agentId",
        sendReasoning: true,
        messageMetadata: ({ part }) => (part.type === "finish" ? { usage: part.totalUsage } : undefined),
      }),
    ],
  },
});
