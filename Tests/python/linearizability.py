"""A linearizability checker for histories of a key-value store, recorded by concurrent clients.

The cluster's fault tests kill, freeze and partition servers while clients write and read;
"every acknowledged write is there" is not enough then: a read served by a deposed leader
may return a value that a newer leader has already overwritten. Linearizability says what
may be seen: every operation takes effect at one instant between its invocation and its
answer, and those instants order a sequential history of a register per key.

A history is a list of `Op` (or dicts with the same fields):

- `kind`: "put" (sets `value`), "delete" (sets None, absent) or "get" (`value` is what was
  read, None for absent). Values must be hashable (str, bytes, int, tuples).
- `invoke`, `complete`: `time.monotonic()` before sending and after the answer.
- `ok`: True, acknowledged; False, certainly not done (the server refused before doing
  anything: a 4xx, a 403 from a follower, a 307 to the leader); None, unknown (a timeout, a
  reset connection, a 503 after the write may have happened). An unknown write may take
  effect at any instant after its invocation, or never: its completion counts as +infinity.
  Failed writes and gets that are not acknowledged are dropped.

`check(history)` checks each key's register; `check_final(history, final_state)` checks the
same plus the state read after the run (each key's value or None), as a read at +infinity,
and names the two failures a test most wants spelled out: a value never written, and an
acknowledged write that nothing overwrote yet is gone.

The search is Wing & Gong's with Lowe's memoization ("Testing for linearizability", 2017),
as in porcupine: events in time order in a doubly linked list; an operation whose call is
reached is tried next in the linearization (lifted out of the list) if the model allows it
and the (set of linearized operations, state) pair is new; reaching the return of an
operation not yet linearized means the last choice was wrong, and the search backtracks. An
explicit stack, so per-key histories of any length do not meet Python's recursion limit.
The search is exponential at worst in how many operations overlap; a few thousand operations
over tens of keys with a handful of clients take milliseconds. Unknown writes overlap all that
follows them, so unknown puts of a value no read saw are left out first (they cannot explain
any read); many unknown deletes of one key pending together are the costly case left.
"""
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Hashable, Optional

INF = math.inf
FINAL_CLIENT = "final state"


@dataclass(frozen=True)
class Op:
    client: Any
    kind: str  # "put", "get" or "delete"
    key: Hashable
    value: Optional[Hashable]  # put: written; get: read (None: absent); delete: None
    invoke: float
    complete: float
    ok: Optional[bool]  # True acknowledged, False certainly not done, None unknown


def _op(o):
    op = o if isinstance(o, Op) else Op(**o)
    if op.kind not in ("put", "get", "delete"):
        raise ValueError(f"unknown kind {op.kind!r} in {op}")
    if op.ok is not None and op.complete < op.invoke:
        raise ValueError(f"completes before it is invoked: {op}")
    return op


def _relevant(ops):
    """What the search sees: acknowledged gets, acknowledged or unknown writes, an unknown
    write completing at +infinity."""
    out = []
    for op in ops:
        if op.kind == "get":
            if op.ok is True:
                out.append(op)
        elif op.ok is True:
            out.append(op)
        elif op.ok is None:
            out.append(Op(op.client, op.kind, op.key, op.value, op.invoke, INF, None))
    return out


def _step(state, op):
    """The register: (allowed, next state)."""
    if op.kind == "put":
        return True, op.value
    if op.kind == "delete":
        return True, None
    return state == op.value, state


def _fmt_time(t, t0):
    return "inf" if t == INF else f"{t - t0:+.3f}s"


def _describe(op, t0):
    if op.kind == "put":
        what = f"put {op.value!r}"
    elif op.kind == "delete":
        what = "delete"
    else:
        what = f"get -> {op.value!r}"
    if op.invoke == INF:
        return f"{op.client}: {what} (after the run)"
    outcome = {True: "", False: " (failed)", None: " (unknown outcome)"}[op.ok]
    return f"{op.client}: {what} [{_fmt_time(op.invoke, t0)} .. {_fmt_time(op.complete, t0)}]{outcome}"


def check_register(history, initial=None):
    """Whether one key's operations are linearizable for a register starting at `initial`.

    Returns (True, "") or (False, explanation): the longest linearizable prefix the search
    found, the operation it could not place (it must take effect before its answer, and no
    order of the operations that may precede it allows that), and the operations that could
    have taken effect before it, with times relative to the first invocation."""
    ops = _relevant([_op(o) for o in history])
    # An unknown put of a value no read saw can be left out: where it took effect, the next
    # write overwrote it before any read, so leaving it out changes no read. Without them the
    # search need not try every subset of the unknown puts pending at a point (2^k orders).
    seen_values = {op.value for op in ops if op.kind == "get"}
    ops = [op for op in ops if not (op.kind == "put" and op.ok is None and op.value not in seen_values)]
    if not ops:
        return True, ""
    n = len(ops)
    # Events: node 0 is the list's head; node 2i+1 is op i's call, 2i+2 its return. At equal
    # times calls come first: operations that merely touch are concurrent.
    events = sorted([(op.invoke, 0, 2 * i + 1) for i, op in enumerate(ops)]
                    + [(op.complete, 1, 2 * i + 2) for i, op in enumerate(ops)])
    nxt = [-1] * (2 * n + 1)
    prv = [-1] * (2 * n + 1)
    last = 0
    for _, _, node in events:
        nxt[last], prv[node] = node, last
        last = node

    def lift(call):
        for node in (call, call + 1):
            nxt[prv[node]] = nxt[node]
            if nxt[node] != -1:
                prv[nxt[node]] = prv[node]

    def unlift(call):
        for node in (call + 1, call):
            nxt[prv[node]] = node
            if nxt[node] != -1:
                prv[nxt[node]] = node

    seen = set()
    stack = []  # (call node, state before it)
    linearized = 0  # bit i: op i is in the linearization
    state = initial
    best = None  # (depth, linearized ops in order, state, the op that could not be placed)
    node = nxt[0]
    while nxt[0] != -1:
        i = (node - 1) >> 1
        if node & 1:  # a call: try op i next
            allowed, after = _step(state, ops[i])
            if allowed:
                key = (linearized | (1 << i), after)
                if key not in seen:
                    seen.add(key)
                    stack.append((node, state))
                    state, linearized = after, key[0]
                    lift(node)
                    node = nxt[0]
                    continue
            node = nxt[node]
        else:  # the return of op i, not linearized: undo the last choice
            if best is None or len(stack) > best[0]:
                best = (len(stack), [ops[(c - 1) >> 1] for c, _ in stack], state, ops[i])
            if not stack:
                return False, _explain(ops, initial, best)
            node, state = stack.pop()
            linearized &= ~(1 << ((node - 1) >> 1))
            unlift(node)
            node = nxt[node]
    return True, ""


def _explain(ops, initial, best):
    depth, order, state, stuck = best
    t0 = min(op.invoke for op in ops)
    done = set(map(id, order))
    candidates = sorted((op for op in ops if id(op) not in done and op is not stuck and op.invoke <= stuck.complete),
                        key=lambda op: op.invoke)
    lines = [f"not linearizable (times from the first invocation; the register starts at {initial!r})",
             f"  linearized {depth} of {len(ops)} operations, the register then holding {state!r}; the last ones:"]
    lines += [f"    {_describe(op, t0)}" for op in order[-5:]] or ["    (none)"]
    lines.append("  then no order places this one before its answer:")
    lines.append(f"    {_describe(stuck, t0)}")
    lines.append("  of what may take effect before it:" if candidates else "  with nothing left that may precede it")
    lines += [f"    {_describe(op, t0)}" for op in candidates[:12]]
    if len(candidates) > 12:
        lines.append(f"    ... and {len(candidates) - 12} more")
    if stuck.kind == "get":
        writers = [op for op in ops if op.kind != "get" and (op.value if op.kind == "put" else None) == stuck.value]
        if writers:
            lines.append("  what wrote the value it read:")
            lines += [f"    {_describe(op, t0)}" for op in writers[:12]]
        else:
            lines.append("  nothing wrote the value it read" + (" (the initial state)" if stuck.value == initial else ""))
    return "\n".join(lines)


def _by_key(history):
    keys = defaultdict(list)
    for o in history:
        op = _op(o)
        keys[op.key].append(op)
    return keys


def check(history):
    """Every key's register checked: a list of problems (strings naming the key), empty when
    the history is linearizable."""
    problems = []
    for key, ops in _by_key(history).items():
        ok, why = check_register(ops)
        if not ok:
            problems.append(f"key {key!r}: {why}")
    return problems


def check_final(history, final_state):
    """`check`, with the state read after the run (a dict key -> value; a key missing or None
    is absent) as a read at +infinity of every key, which the unknown writes may or may not
    precede. Besides the search's explanation, names plainly:

    - "present but never written": a final value no put wrote (acknowledged or unknown);
    - "acknowledged write lost": a key whose last acknowledged write (put or delete) is
      certainly the last (every other write to the key, acknowledged or unknown, completed
      before it was invoked) and whose final state is not what it wrote.
    """
    problems = []
    keys = _by_key(history)
    for key in set(keys) | set(final_state):
        ops = keys.get(key, [])
        final = final_state.get(key)
        written = {op.value for op in ops if op.kind == "put" and op.ok is not False}
        if final is not None and final not in written:
            problems.append(f"key {key!r}: present but never written: the final state holds {final!r}")
        lost = _lost_write(ops, final)
        if lost:
            problems.append(f"key {key!r}: {lost}")
        ok, why = check_register(ops + [Op(FINAL_CLIENT, "get", key, final, INF, INF, True)])
        if not ok:
            problems.append(f"key {key!r}: {why}")
    return problems


def _lost_write(ops, final):
    writes = [op for op in _relevant(ops) if op.kind != "get"]
    acked = [op for op in writes if op.ok is True]
    if not acked:
        return None
    last = max(acked, key=lambda op: op.complete)
    if any(op is not last and op.complete >= last.invoke for op in writes):
        return None  # another write overlaps it or follows it: either may be the last
    want = last.value if last.kind == "put" else None
    if final == want:
        return None
    t0 = min(op.invoke for op in ops)
    return (f"acknowledged write lost: {_describe(last, t0)} is the last write, "
            f"and the final state holds {final!r}")
