"""The built-in local agent server: every dialect agentnb speaks, offline, with no account.

Start it from Python (a daemon thread, a free port, a random key)::

    from agentnb.server import start_server
    with start_server() as server:
        print(server.base_url, server.url_for("openai"))

or from a shell: ``agentnb serve --port 8765`` (prints the key when it makes one).

Every request needs the key as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``; without
it the answer is 401 JSON. Unknown agent: 404. Invalid body: 422
``{"detail": [{"loc", "msg", "type"}]}``. Bodies are capped at 1 MiB (413). On the OpenAI paths
errors use OpenAI's ``{"error": {"message", "type", "param", "code"}}`` (422s also carry
``detail``).

Agents: ``finance_agent`` (reasoning, ``get_stock_price`` over a bundled DEMO price table,
``calculator``, a markdown answer with a table), ``echo``, ``writer`` (long markdown; option
``paragraphs``), ``structured`` (JSON valid for the request's JSON schema).

Endpoints and frames (* marks an agentnb extension)
----------------------------------------------------

SeekrFlow
    ``POST /v1/threads`` {meta_data}, ``GET /v1/threads/{tid}``,
    ``POST /v1/threads/{tid}/messages`` {role, content}, ``GET .../messages``: thread and
    ``thread.message`` objects. ``POST /v1/threads/{tid}/runs/stream`` (body ``RunRequest``;
    the message is the thread's last user message): data-only ``{"type": "streaming_chunk",
    "data": {"type", ..., "meta_data"}, "meta_data": {run_id, thread_id, agent_id}}`` with
    inner types ``user_prompt``, ``stream_reasoning`` {reasoning}, ``text_delta`` {text},
    ``streaming_tool_request`` {tool_id, tool_name, tool_args}, ``streaming_tool_response``
    {tool_id, tool_output}, ``end_node`` {final_output; meta_data.followups}, ``error``*
    {message, code, retry_after}; then ``[DONE]``. ``POST .../runs/stream/vercel``: the Vercel
    UI message stream below. ``GET /v1/threads/{tid}/runs?limit&order&offset``: a bare array
    of ``thread.run`` objects, the only place SeekrFlow reports usage.

run-agent.ai
    ``POST /v1/agents/{agent_id}/stream`` {query, session_id, parameters {resume_from_index,
    stream_delay_ms, chunk_size, response_format*, followups*, paragraphs*}}: named events
    ``start`` {message, session_id, run_id*}, ``chunk`` {content, index}, ``done`` {message,
    usage {prompt_tokens, completion_tokens, total_tokens}, execution_time, followups*},
    ``error`` {error, code, retry_after?}. Answer text only: the documented stream has no
    reasoning or tool frames, so none are invented.

Operativus
    ``POST /api/agents/{agentId}/runs/stream`` {message, sessionId, userId, orgId,
    generateFollowups, media, options, responseFormat*, metadata*}: data-only
    ``{"event", "data", "timestamp"}`` with START (JSON string {runId, sessionId}),
    REASONING_DELTA, TOOL_START (JSON string {name, arguments, id}), TOOL_END (JSON string
    {name, result, id}, or {name, result: null, error, id}), CONTENT_DELTA, STOP (``""``, or
    the JSON string {followups} with generateFollowups), ERROR (the message).
    ``GET /api/agents/{agentId}/runs/{runId}/status`` and
    ``GET /api/agents/{agentId}/runs/status?runIds=a,b`` (at most 100; unknown ids absent):
    AgentRun {id, agentId, sessionId, userId, orgId, status RUNNING|COMPLETED|FAILED|CANCELLED,
    createdAt, startedAt, completedAt, output, error, usage {promptTokens, completionTokens,
    totalTokens}, executionTime, followups}.

runtools.ai
    ``POST /v1/run`` {agent, prompt | messages, stream, threadId, config {responseFormat*,
    followups*, paragraphs*}, metadata}: headers ``X-Run-ID``, ``X-Thread-ID``; named events
    ``start`` {runId, threadId, agent}, ``thinking`` {content}, ``tool_call`` {id, name,
    arguments}, ``tool_result`` {id, name, result | error}, ``text`` {content}, ``complete``
    {runId, threadId, output, usage {promptTokens, completionTokens, totalTokens},
    executionTime, followups?}, ``error`` {message, code, retryAfter?}. ``stream: false``
    answers one JSON object {runId, threadId, status, output, text, reasoning, toolCalls,
    usage, executionTime, followups, error}.

OpenAI-compatible (base URL ``.../v1``)
    ``POST /v1/chat/completions`` (``model`` = agent name), ``GET /v1/models``.
    ``chat.completion.chunk`` frames: delta.role, delta.reasoning_content, delta.content,
    delta.tool_calls [{index, id, type, function {name, arguments}}] with the arguments in
    pieces, delta.agentnb_tool_result* (the server runs the demo tools itself; real OpenAI
    would stop with ``tool_calls``), finish_reason ``stop`` (+ agentnb_followups*), a usage
    chunk with empty choices when ``stream_options.include_usage``, then ``[DONE]``.
    ``stream: false``: a ``chat.completion`` (tool calls in message.agentnb_tool_calls*).

Vercel AI SDK UI message stream (``POST /api/chat`` {id, messages: [UIMessage], agent,
followups, metadata, responseFormat*}, and SeekrFlow's ``/runs/stream/vercel``)
    Header ``x-vercel-ai-ui-message-stream: v1``; data-only parts: ``start`` {messageId,
    messageMetadata {runId, threadId}}, ``start-step``, ``reasoning-start/delta/end``,
    ``tool-input-start/delta/available``, ``tool-output-available`` | ``tool-output-error``,
    ``finish-step`` + ``start-step`` after tool output, ``text-start/delta/end``,
    ``data-followups`` {data: {followups}}, ``finish-step``, ``finish`` {messageMetadata
    {runId, usage {inputTokens, outputTokens, totalTokens}, executionTime}}, or ``error``
    {errorText}; then ``[DONE]``.

Follow-ups: Operativus ``generateFollowups``; run-agent
``parameters.followups``; runtools ``config.followups``; Vercel chat ``followups``; SeekrFlow
and OpenAI ``metadata: {"followups": "true"}``.

Streams, resume and pacing
--------------------------
Every event has ``id: <run_id>:<n>`` (n counts the frames of that dialect's stream from 0);
the first frame of a response also sends ``retry: 1000``. A run executes once on the server
and keeps running if its client goes away. Re-sending the same POST with
``Last-Event-ID: <run_id>:<n>`` replays the frames after n (then continues live); run-agent
also resumes with ``parameters.resume_from_index`` + ``session_id`` (a ``start`` frame, chunks
from that index, ``done``). Finished runs are kept for an hour, or the last 1000 runs.
Per-chunk delay: ``start_server(delay_ms=...)`` / ``--delay-ms``, per request the header
``X-AgentNB-Delay-Ms`` or run-agent's ``stream_delay_ms``.

Usage: prompt tokens (conversation + message + tool results) and completion tokens
(reasoning + answer + tool arguments) come from a deterministic word/punctuation tokenizer.

Faults (servers started with ``faults=True`` only): request header
``X-AgentNB-Fault: k=v;k=v`` with ``drop-after=N``, ``malformed-after=N``, ``stall-after=N``,
``no-end``, ``no-ids``, ``status=CODE;retry-after=S;times=K``,
``stream-error=CODE;retry-after=S;times=K``, ``html``, ``content-type=VALUE``, ``tag=ANY``
(see :mod:`agentnb.server._faults`).
"""

from __future__ import annotations

from ._app import create_app
from ._serve import DIALECT_PROVIDERS, ServerHandle, local_server, start_server

__all__ = ["DIALECT_PROVIDERS", "ServerHandle", "create_app", "local_server", "start_server"]
