// Parses a text/event-stream (raw bytes on stdin) with the `eventsource-parser` npm package,
// an SSE parser independent of agentnb's, and prints its events as JSON:
// [{event, data, id}, ...] plus {retry} entries where the stream set one.
//
//   node sse_parse.mjs parse < stream.sse
//
// Driven by tests/interop (pytest); without the `parse` argument it does nothing.
import { createParser } from "eventsource-parser";

const [mode] = process.argv.slice(2);
if (mode === "parse") {
  const out = [];
  const parser = createParser({
    onEvent: (event) => out.push({ event: event.event ?? null, data: event.data, id: event.id ?? null }),
    onRetry: (retry) => out.push({ retry }),
    onError: (error) => out.push({ error: String(error?.message ?? error) }),
  });
  const decoder = new TextDecoder();
  for await (const chunk of process.stdin) parser.feed(decoder.decode(chunk, { stream: true }));
  parser.feed(decoder.decode());
  process.stdout.write(JSON.stringify(out));
}
