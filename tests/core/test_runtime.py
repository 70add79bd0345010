"""The effect system: message layout, stack order, stop, frames, thread-locality."""

from __future__ import annotations

import threading
import typing

import pytest

import polyro
import polyro.distributions as dist
from polyro import handlers
from polyro.core.runtime import (
    Message,
    Messenger,
    MissingKeyError,
    apply_stack,
    get_stack,
    new_message,
)


class Recorder(Messenger):
    def __init__(self, label, log, stop=False):
        super().__init__(None)
        self.label, self.log, self.stop = label, log, stop

    def process_message(self, msg):
        self.log.append(("process", self.label))
        if self.stop:
            msg["stop"] = True

    def postprocess_message(self, msg):
        self.log.append(("post", self.label))


def test_message_has_every_documented_key():
    msg = new_message("sample", "x", None)
    assert set(msg) == set(typing.get_type_hints(Message))
    for key in msg:
        assert f"``{key}``" in Message.__doc__, key


def test_order_inner_first_then_outer_first_on_the_way_up():
    log = []
    with Recorder("outer", log), Recorder("inner", log):
        apply_stack(new_message("deterministic", "d", None, value=1))
    assert log == [("process", "inner"), ("process", "outer"),
                   ("post", "outer"), ("post", "inner")]


def test_stop_skips_outer_handlers_but_not_ignores_stop():
    log = []

    class Structural(Recorder):
        ignores_stop = True

    with Structural("seedlike", log), Recorder("outer", log), Recorder("inner", log, stop=True):
        apply_stack(new_message("deterministic", "d", None, value=1))
    assert log == [("process", "inner"), ("process", "seedlike"), ("post", "inner")]


def test_continuation_called_after_postprocess():
    seen = []

    class Cont(Messenger):
        def _pyro_custom(self, msg):
            msg["continuation"] = lambda m: seen.append(m["name"])

    with Cont():
        apply_stack(new_message("custom", "c", None))
    assert seen == ["c"]


def test_stack_push_pop_and_reuse_does_not_mutate_handler():
    h = handlers.trace()
    before = dict(vars(h))
    with h as t1:
        with h as t2:  # the same object nested: two frames, two traces
            polyro.deterministic("a", 1.0)
            assert len(get_stack()) == 2
        polyro.deterministic("b", 2.0)
    assert get_stack() == ()
    assert list(t2) == ["a"] and list(t1) == ["a", "b"]
    assert vars(h) == before


def test_stack_is_thread_local():
    seen = {}

    def worker():
        seen["stack"] = get_stack()

    with handlers.trace():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert len(get_stack()) == 1
    assert seen["stack"] == ()


def test_exception_inside_handler_restores_stack():
    with pytest.raises(ZeroDivisionError):
        with handlers.trace(), handlers.seed(rng_seed=0):
            raise ZeroDivisionError("inside handlers")
    assert get_stack() == ()


def test_handler_wraps_function_late():
    h = handlers.trace()

    def model():
        return polyro.deterministic("d", 3.0)

    wrapped = h(model)
    assert wrapped() == 3.0
    assert list(wrapped.get_trace()) == ["d"]
    with pytest.raises(TypeError, match="trace"):
        h.get_trace()


def test_sampling_without_seed_raises_on_every_backend(backend):
    with pytest.raises(MissingKeyError, match=r"'x'.*polyro\.handlers\.seed"):
        polyro.sample("x", dist.Normal(0.0, 1.0))
    with pytest.raises(MissingKeyError, match="seed"):
        polyro.prng_key()


def test_stack_is_task_local_under_asyncio():
    import asyncio

    async def task(label, wait):
        with handlers.scope(prefix=label):
            await asyncio.sleep(wait)
            with handlers.trace() as tr:
                polyro.deterministic("d", 1.0)
            return list(tr), len(get_stack())

    async def main():
        return await asyncio.gather(task("a", 0.02), task("b", 0.0))

    (ta, na), (tb, nb) = asyncio.run(main())
    assert ta == ["a/d"] and tb == ["b/d"] and na == nb == 1
    assert get_stack() == ()
