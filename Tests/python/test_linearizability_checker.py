"""The linearizability checker the cluster's fault tests judge their histories with, on
histories made by hand (each a case the checker must get right, for the right reason) and on
random histories of a register that is linearizable by construction: every one must pass,
and one with a read made stale on purpose must fail."""
import random

import pytest

from linearizability import Op, check, check_final, check_register


def put(value, invoke, complete, ok=True, client="c1", key="k"):
    return Op(client, "put", key, value, invoke, complete, ok)


def get(value, invoke, complete, ok=True, client="c2", key="k"):
    return Op(client, "get", key, value, invoke, complete, ok)


def delete(invoke, complete, ok=True, client="c1", key="k"):
    return Op(client, "delete", key, None, invoke, complete, ok)


def test_a_sequential_history_is_linearizable():
    h = [get(None, 0, 1), put("a", 2, 3), get("a", 4, 5), put("b", 6, 7), get("b", 8, 9), delete(10, 11), get(None, 12, 13)]
    assert check_register(h) == (True, "")
    assert check(h) == [] and check_final(h, {}) == []


def test_a_read_concurrent_with_a_put_may_see_either_value():
    for seen in ("a", "b"):
        h = [put("a", 0, 1), put("b", 2, 5), get(seen, 3, 4)]
        assert check(h) == [], seen
    # Operations that merely touch (one's answer at the instant of the other's call) are concurrent.
    assert check([put("a", 0, 1), put("b", 2, 3), get("a", 3, 4)]) == []
    # Two concurrent puts and two reads after both: both reads must agree on the order.
    both = [put("a", 0, 2), put("b", 1, 3, client="c3")]
    assert check(both + [get("a", 4, 5), get("a", 6, 7)]) == []
    assert check(both + [get("b", 4, 5), get("b", 6, 7)]) == []
    assert check(both + [get("a", 4, 5), get("b", 6, 7)]) != []


def test_a_stale_read_after_an_acknowledged_put_fails_with_an_explanation():
    h = [put("a", 0, 1), put("b", 2, 3), get("a", 4, 5)]
    ok, why = check_register(h)
    assert not ok
    assert "linearized 2 of 3 operations, the register then holding 'b'" in why
    assert "c2: get -> 'a' [+4.000s .. +5.000s]" in why
    problems = check(h)
    assert len(problems) == 1 and problems[0].startswith("key 'k': not linearizable")


def test_a_write_that_failed_is_never_seen():
    assert check([put("a", 0, 1), put("b", 2, 3, ok=False), get("a", 4, 5)]) == []
    assert check([put("a", 0, 1), put("b", 2, 3, ok=False), get("b", 4, 5)]) != []
    assert check_final([put("a", 0, 1), put("b", 2, 3, ok=False)], {"k": "b"}) != []


def test_reads_that_failed_or_timed_out_say_nothing():
    assert check([put("a", 0, 1), get("zzz", 2, 3, ok=False), get("zzz", 4, 5, ok=None)]) == []


def test_a_lost_acknowledged_write_is_named():
    h = [put("a", 0, 1), put("b", 2, 3)]
    problems = check_final(h, {"k": "a"})
    assert any("acknowledged write lost: c1: put 'b' [+2.000s .. +3.000s] is the last write, "
               "and the final state holds 'a'" in p for p in problems), problems
    assert any("not linearizable" in p for p in problems), problems  # the search agrees
    assert any("acknowledged write lost" in p for p in check_final(h, {}))
    assert check_final(h, {"k": "b"}) == []
    # A delete is a write too: the key must stay absent.
    assert any("acknowledged write lost" in p for p in check_final([put("a", 0, 1), delete(2, 3)], {"k": "a"}))
    assert check_final([put("a", 0, 1), delete(2, 3)], {"k": None}) == []


def test_the_last_write_is_not_named_lost_when_another_may_follow_it():
    # An unknown put, invoked before the acknowledged one, may land after it.
    h = [put("x", 0, 0.5, ok=None, client="c3"), put("a", 1, 2)]
    assert check_final(h, {"k": "x"}) == []
    assert check_final(h, {"k": "a"}) == []
    assert check_final(h, {}) != []  # neither put lost: something deleted the key


def test_an_unknown_write_may_appear_late_or_never():
    late = [put("a", 0, 1), put("b", 2, 2.5, ok=None), get("a", 3, 4), get("b", 5, 6)]
    assert check(late) == [] and check_final(late, {"k": "b"}) == []
    never = [put("a", 0, 1), put("b", 2, 2.5, ok=None), get("a", 3, 4), get("a", 5, 6)]
    assert check(never) == [] and check_final(never, {"k": "a"}) == []
    # Seen, it stays: once a read saw b, a later read cannot see a again.
    assert check([put("a", 0, 1), put("b", 2, 2.5, ok=None), get("b", 3, 4), get("a", 5, 6)]) != []
    # But not before it was sent.
    assert check([put("a", 0, 1), get("b", 2, 3), put("b", 4, 5, ok=None)]) != []
    # Its completion time means nothing: it may even be missing (None).
    assert check_final([put("b", 2, None, ok=None)], {"k": "b"}) == []


def test_a_value_never_written_is_named():
    problems = check_final([put("a", 0, 1)], {"k": "a", "other": "zzz"})
    assert problems and all(p.startswith("key 'other':") for p in problems)
    assert "key 'other': present but never written: the final state holds 'zzz'" in problems
    assert check([put("a", 0, 1), get("zzz", 2, 3)]) != []
    assert check_final([], {"gone": None}) == []


def test_delete_then_get_reads_absent():
    assert check([put("a", 0, 1), delete(2, 3), get(None, 4, 5)]) == []
    assert check([put("a", 0, 1), delete(2, 3), get("a", 4, 5)]) != []
    assert check([put("a", 0, 1), delete(2, 4), get("a", 3, 5), get(None, 6, 7)]) == []


def test_keys_are_checked_apart_and_dicts_are_accepted():
    h = [dict(client="c1", kind="put", key="x", value=1, invoke=0, complete=1, ok=True),
         dict(client="c1", kind="put", key="y", value=2, invoke=2, complete=3, ok=True),
         dict(client="c2", kind="get", key="x", value=1, invoke=4, complete=5, ok=True),
         dict(client="c2", kind="get", key="y", value=1, invoke=4, complete=5, ok=True)]
    problems = check(h)
    assert len(problems) == 1 and problems[0].startswith("key 'y':")
    with pytest.raises(ValueError):
        check([dict(client="c", kind="cas", key="x", value=1, invoke=0, complete=1, ok=True)])


def test_a_long_history_does_not_recurse():
    h = []
    for i in range(5000):
        h += [put(i, 2 * i, 2 * i + 0.5), get(i, 2 * i + 1, 2 * i + 1.5)]
    assert check_register(h) == (True, "")


def linearizable_history(seed, clients=5, keys=3, ops_per_client=40, unknown=6):
    """What clients of a linearizable store would record: each client sends one operation at
    a time; each takes effect at a random instant between its call and its answer, in the
    order of those instants. Some writes fail before doing anything; some time out, and take
    effect at a random instant after their call (perhaps after the client gave up) or never;
    some reads time out. Every put writes a value of its own. Returns (history, final state)."""
    rng = random.Random(seed)
    events = []  # (instant, op index, kind); gets read the register at their instant
    history = []
    for c in range(clients):
        t = rng.uniform(0, 0.01)
        for n in range(ops_per_client):
            kind = rng.choices(["put", "get", "delete"], [4, 5, 1])[0]
            key = f"k{rng.randrange(keys)}"
            latency = rng.expovariate(1 / 0.01)
            instant = t + rng.uniform(0, latency)
            ok = rng.choices([True, False, None], [90, 4, unknown])[0]
            value = f"c{c}-{n}" if kind == "put" else None
            if kind != "get" and ok is None:
                instant = t + rng.uniform(0, 3 * latency) if rng.random() < 0.5 else None
            if ok is not False and instant is not None:
                events.append((instant, len(history)))
            history.append(Op(f"c{c}", kind, key, value, t, t + latency, ok))
            t += latency + rng.uniform(0, 0.005)
    register = {}
    for _, i in sorted(events):
        op = history[i]
        if op.kind == "put":
            register[op.key] = op.value
        elif op.kind == "delete":
            register.pop(op.key, None)
        else:
            history[i] = Op(op.client, "get", op.key, register.get(op.key), op.invoke, op.complete, op.ok)
    return history, register


def make_a_read_stale(history):
    """Makes one acknowledged read return the value of an acknowledged put p1 that a second
    acknowledged put p2 had overwritten before the read: p1 answered before p2 was sent and
    p2 answered before the read was sent, so no linearization lets the read see p1's value.
    Returns (mutated history, key), or None when the history has no such three."""
    acked = [op for op in history if op.ok is True]
    for gi, g in enumerate(history):
        if g.kind != "get" or g.ok is not True:
            continue
        for p2 in acked:
            if p2.kind != "put" or p2.key != g.key or p2.complete >= g.invoke:
                continue
            for p1 in acked:
                if p1.kind == "put" and p1.key == g.key and p1.complete < p2.invoke and p1.value != g.value:
                    mutated = list(history)
                    mutated[gi] = Op(g.client, "get", g.key, p1.value, g.invoke, g.complete, True)
                    return mutated, g.key
    return None


def test_random_histories_of_a_linearizable_register_pass():
    for seed in range(200):
        history, final = linearizable_history(seed)
        assert check(history) == [], f"seed {seed}"
        assert check_final(history, final) == [], f"seed {seed}"


def test_random_histories_with_a_stale_read_fail():
    mutated = 0
    for seed in range(200):
        history, _ = linearizable_history(seed)
        stale = make_a_read_stale(history)
        if stale is None:
            continue
        mutated += 1
        history, key = stale
        problems = check(history)
        assert len(problems) == 1 and problems[0].startswith(f"key {key!r}: not linearizable"), f"seed {seed}: {problems}"
    assert mutated >= 150, f"only {mutated} of 200 histories had a read to make stale"


def test_a_few_thousand_operations_over_fifty_keys():
    """The size of a fault test's history: 3,000 operations of 6 clients over 50 keys."""
    history, final = linearizable_history(7, clients=6, keys=50, ops_per_client=500)
    assert check_final(history, final) == []
