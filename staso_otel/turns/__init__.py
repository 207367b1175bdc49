"""The turn kernel: one reducer and one span assembler for every agent. [record -> span]

Flow: event -> record -> span -> export. A hook journals each agent event as a Record
(hook/, record/); the pipeline hands a session's new Records to its target; the target's
parser turns each Record into events of the small vocabulary below (targets/<agent>/
events.py); this kernel folds them into typed session state (turns/state.py), opening and
closing turns, model calls, tool calls and sub-agents (turns/reducer.py), and builds the
spans of every unit that closed (turns/assemble.py, through span/build.py); the pipeline
redacts, spools and exports them (pipeline/, export/).

The vocabulary (turns/vocabulary.py; every event carries `t`, `session_id`, `turn` - the
key of the unit it belongs to: a main turn's id, a sub-agent unit's key, or CURRENT (the
session's open main turn, for payloads that name no turn) - and, when known,
`agent_id`/`agent_type` (raised inside a sub-agent), `parent_turn`, `transcript_path`,
`model`, `cwd`, `permission_mode`):

    Event             context only (model, cwd, transcript); opens and closes nothing
    SessionStarted    source; fresh (read the transcript from byte 0), fork, restart
                      (open main turns end: a new conversation in the same session)
    SessionEnded      every open unit closes
    TurnStarted       the user's prompt (and, for a background task's notification, what
                      that task's call learned: `background`)
    ModelRequest      a model request began (kind, request id, attempt: all optional)
    ModelResponse     it ended (status, error, usage as span.build.Usage, response id)
    ToolStarted       a tool call began (call id, name, input; `extra`: the agent's own)
    ToolPermission    the user was asked (or refused: denied) about a call
    ToolFinished      it ended (response or error, interrupted, duration, spawned agent)
    ToolAnswered      what the model was told of a call that may never have run
    SubagentStarted   a sub-agent unit opens, linked to the call that spawned it
    SubagentStopped   it closes (its answer, its own transcript)
    Compaction        phase "pre" / "post" of a context compaction
    TurnStopped       the turn's answer is final (unless a Stop hook continues it)
    TurnFailed        the model request failed for good
    TurnInterrupted   the user interrupted the turn

A tool event with no call id is an open call of that tool: the latest, or the oldest when
the agent's Behaviour says `unnamed_call_is_oldest`.

How an agent plugs in (turns/agent.py, `Agent`; docs/adding-an-agent.md):
  - `parse(record)`: its hook payload -> zero or more vocabulary events;
  - `behaviour`: the few facts where agents really differ (`Behaviour`: a Stop that waits
    on the transcript, a late SubagentStop that still opens its unit, SessionEnd ending
    open turns at its own time, expiry meaning unfinished, unnamed calls FIFO);
  - its transcript reader: `collect` (the facts of a closing unit), `settled` (a waiting
    Stop is over), `opened` / `pruned` (bounding what it caches in `session.files` and
    `session.facts`, its own JSON);
  - its tool catalogue: `tool_type`, `category`, `spawns_agents`;
  - sub-agents: `link_subagent` (which call spawned it), `subagent_ids` (its span ids);
  - its span facts: `chat_rows` (its model calls: from hooks, `turn.calls`, or from its
    transcript), `tool_rows`, `root` (attributes, prompt, final response, version),
    `verdict` (how the transcript says an undecided unit ended);
  - and its installer (targets/<agent>/install.py), which the kernel never sees.
`KernelTarget(agent)` is the worker's `Target` for it: `process(state, records, ctx)` and
`expire(state, ctx)` stay the single entry point from Records (live hooks or `staso
import` alike).
"""
