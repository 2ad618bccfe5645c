"""Which KV stream each running sequence uses, and what the free streams still hold.

With ``kv_unified = False`` every sequence id has a KV stream of its own. This module decides
which stream a new sequence takes and moves cells between streams, so that the engine
(``llamacpp_engine``) reads as few prompt tokens as it can and llama.cpp runs each batch as one
pass over the weights:

* **Kept cells.** A finished sequence's cells stay in its stream. A new sequence takes the free
  stream holding the longest prefix of its prompt and reads only the rest, as llama.cpp's own
  server does: a chat's next turn re-reads only its new messages.
* **Shared prefixes.** A new sequence whose prompt starts like a running one's (the same system
  prompt, the same passages) copies that stream and reads only the rest. Requests that arrive
  together wait one step for the first of them to read the common part (:meth:`Slots.defer`).
* **No gaps.** llama.cpp runs the streams of a batch as one pass only when their ids are
  consecutive (8 sequences as ids 0-2, 4-7: 104 ms a step; 7 as 0-6: 90 ms; 4 as 0, 2, 4, 6:
  141 ms against 53 ms as 0-3, Qwen 0.5B on 2 cores). A new sequence takes the lowest free id on
  a tie, and when one ends below others the highest moves into its stream (:meth:`Slots.close_gaps`).

llama.cpp copies between streams only whole (a part aborts the process): ~8 ms for a 4,096-token
stream of Qwen 0.5B, about what reading two prompt tokens costs in a batch, once.
"""

from __future__ import annotations

from os.path import commonprefix  # any sequences, not only paths
from typing import Protocol

#: a new sequence copies a running one's stream when that saves reading at least this many prompt tokens
MIN_SHARED_TOKENS = 8
#: steps a new sequence may wait for another to read a common prompt start (each wait copies a longer one)
MAX_WAITS = 2


class Holder(Protocol):
    """What the slot table reads and sets on a sequence (``llamacpp_engine.Sequence``)."""

    prompt_ids: list[int]
    fed: list[int]
    slot: int | None
    read: int
    reused: int
    waits: int


def cells(seq: Holder) -> list[int]:
    """The tokens whose cells a sequence has in its stream, from position 0."""
    return seq.prompt_ids[: seq.read] + seq.fed


class Slots:
    """The free stream ids of a ``NativeModel`` and the tokens each free stream still holds."""

    def __init__(self, native) -> None:
        self.native = native
        self.free = list(range(native.sequences - 1))  # the last id is kept for scoring text
        self.kept: dict[int, list[int]] = {}  # a free stream -> the tokens whose cells it holds, from position 0

    def take(self, seq: Holder) -> None:
        """Give ``seq`` the free stream holding the longest prefix of its prompt, the lowest id on a tie."""
        shared = [len(commonprefix([self.kept.get(slot, []), seq.prompt_ids])) for slot in self.free]
        best = max(range(len(shared)), key=lambda i: (shared[i], -self.free[i]))
        seq.slot = self.free.pop(best)
        kept = self.kept.pop(seq.slot, [])
        seq.read = seq.reused = 0
        if kept:
            self._keep_prefix(seq, shared[best])

    def release(self, seq: Holder, keep: bool) -> None:
        """``seq`` left: its stream is free, holding its cells for a next prompt that starts the same way."""
        if keep:
            self.kept[seq.slot] = cells(seq)
        else:
            with self.native.lock:
                self.native.forget(seq.slot)
        self.free.append(seq.slot)

    def drop_kept(self) -> None:
        """Forget every free stream's cells (the next prompts are read whole)."""
        with self.native.lock:
            for slot in self.kept:
                self.native.forget(slot)
        self.kept.clear()

    def share_prefixes(self, running: list[Holder]) -> None:
        """Each sequence that has read nothing yet copies the stream of the running sequence whose cells
        hold the longest prefix of its prompt, when that saves at least ``MIN_SHARED_TOKENS``."""
        for seq in running:
            if not _fresh(seq):
                continue  # already reading: its own cells are in its stream
            donor, shared = _longest_prefix(seq, [other for other in running if other is not seq], cells)
            if donor is None or not _worth_copying(seq, shared):
                continue
            with self.native.lock:
                self.native.copy_sequence(donor.slot, seq.slot)
            self._keep_prefix(seq, shared)

    def defer(self, seq: Holder, readers: list[Holder]) -> bool:
        """True when ``seq`` has read nothing yet and one of this step's ``readers`` (their ``read`` already
        counting this step's tokens) will hold a prefix of its prompt that it can copy at the next step."""
        if not _fresh(seq) or seq.waits >= MAX_WAITS:
            return False
        _, shared = _longest_prefix(seq, readers, cells)
        if not _worth_copying(seq, shared):
            return False
        seq.waits += 1
        return True

    def close_gaps(self, running: list[Holder]) -> None:
        """Move the highest running sequence into the lowest free stream below it until the running
        ids are consecutive; the stream it leaves keeps its cells."""
        while running:
            top = max(running, key=lambda seq: seq.slot)
            lowest = min(seq.slot for seq in running)
            gaps = [slot for slot in self.free if lowest < slot < top.slot]
            if not gaps:
                return
            target, held = min(gaps), cells(top)
            with self.native.lock:
                if held:
                    self.native.copy_sequence(top.slot, target)
                else:
                    self.native.forget(target)
            self.free.remove(target)
            self.kept.pop(target, None)
            self.kept[top.slot] = held
            self.free.append(top.slot)
            top.slot = target

    def _keep_prefix(self, seq: Holder, shared: int) -> None:
        """Keep the first ``shared`` cells of ``seq``'s stream (all but its prompt's last token, which is read
        for its logits) and drop the rest."""
        reuse = min(shared, len(seq.prompt_ids) - 1)
        with self.native.lock:
            if not self.native.forget_from(seq.slot, reuse):
                self.native.forget(seq.slot)
                reuse = 0
        seq.read = seq.reused = reuse


def _fresh(seq: Holder) -> bool:
    """Nothing read into its stream yet beyond the cells it took over (kept or copied)."""
    return seq.read == seq.reused and not seq.fed


def _worth_copying(seq: Holder, shared: int) -> bool:
    """A copy of ``shared`` cells saves at least ``MIN_SHARED_TOKENS`` over what ``seq`` already holds
    (its prompt's last token is always read, for its logits)."""
    return min(shared, len(seq.prompt_ids) - 1) >= seq.read + MIN_SHARED_TOKENS


def _longest_prefix(seq: Holder, others: list[Holder], tokens_of) -> tuple[Holder | None, int]:
    best, length = None, 0
    for other in others:
        shared = len(commonprefix([tokens_of(other), seq.prompt_ids]))
        if shared > length:
            best, length = other, shared
    return best, length
