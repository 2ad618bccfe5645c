"""The transformers runtime: a causal LM from a GGUF (converted once) or a Hugging Face checkpoint directory.

Generation is the hand-written loop of ``torch_decoding`` run in the caller's thread:
batched with per-row parameters, cancelled between steps through ``core.cancel``.
Calls from several threads each run their own loop (torch inference is re-entrant).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from ...core.cancel import all_cancelled
from ...core.errors import BadInput
from .contract import BatchCompletion, Generated, GenerationSettings, Message, check_replies

#: tokens that end a reply as surely as the tokenizer's own end-of-sequence token
END_TOKENS = ("<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end|>")


class TransformersLM(BatchCompletion):
    """A :class:`~modelbay.ml.llm.api.LanguageModel` running on transformers/torch."""

    runtime = "transformers"

    def __init__(self, name: str, lm, tokenizer, context_tokens: int | None = None,
                 default_repetition_penalty: float = 1.0) -> None:
        self.name = name
        self.default_repetition_penalty = default_repetition_penalty
        self.lm, self.tokenizer = lm, tokenizer
        gen = lm.generation_config
        eos = gen.eos_token_id if isinstance(gen.eos_token_id, list) else [gen.eos_token_id]
        vocab = tokenizer.get_vocab()
        ends = [tokenizer.eos_token, *END_TOKENS]
        self.eos_ids = {i for i in eos if i is not None} | {vocab[t] for t in ends if t in vocab}
        self.pad_id = gen.pad_token_id if gen.pad_token_id is not None else min(self.eos_ids)
        trained = int(getattr(lm.config, "max_position_embeddings", 2048))
        self.context_tokens = min(trained, context_tokens or trained)
        #: called after every model call (tests count steps with it)
        self.step_listeners: list[Callable[[], None]] = []
        lm.register_forward_hook(self._after_step)

    def _after_step(self, *_) -> None:  # a forward hook: returning None keeps the model's output
        for listener in list(self.step_listeners):
            listener()

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """Token ids of ``messages`` with the chat template and the generation prompt applied."""
        text = self.tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return len(self.prompt_tokens(messages))

    def _request(self, messages: Sequence[Message], settings: GenerationSettings):
        from .torch_decoding import GenerationRequest

        if settings.repetition_penalty is None:
            settings = replace(settings, repetition_penalty=self.default_repetition_penalty)
        ids = self.prompt_tokens(messages)
        room = self.context_tokens - len(ids)
        if room < 1:
            raise BadInput(f"the conversation is {len(ids)} tokens; the model reads at most {self.context_tokens}",
                           hint="drop or shorten earlier messages")
        return GenerationRequest(
            prompt_ids=ids, max_new_tokens=min(settings.max_new_tokens, room), temperature=settings.temperature,
            top_p=settings.top_p, top_k=settings.top_k, repetition_penalty=settings.repetition_penalty,
            seed=settings.seed, stop=list(settings.stop), penalise_prompt=settings.penalise_prompt,
        )

    def stream(self, messages: Sequence[Message], settings: GenerationSettings) -> Iterator[tuple[str, Generated | None]]:
        from .torch_decoding import decode

        emitted, row = 0, None
        for (row,) in decode(self.lm, self.tokenizer, [self._request(messages, settings)], self.eos_ids, self.pad_id):
            text = row.settled_text()
            if len(text) > emitted and not row.done:
                yield text[emitted:], None
                emitted = len(text)
        yield row.text[emitted:], _generated(row)

    def complete_batch(self, conversations: Sequence[Sequence[Message]],
                       settings: Sequence[GenerationSettings]) -> list[Generated]:
        from .torch_decoding import GenerationRequest, decode

        self.check_batch(conversations, settings)
        if not conversations:
            return []
        requests = []
        for messages, one in zip(conversations, settings):
            if all_cancelled():  # every request is gone (server): tokenise no more; generation stops at once
                placeholder = GenerationRequest(prompt_ids=[self.pad_id], max_new_tokens=1)
                requests += [placeholder] * (len(conversations) - len(requests))
                break
            requests.append(self._request(messages, one))  # one at a time: a too-long one fails before the rest
        rows = None
        for rows in decode(self.lm, self.tokenizer, requests, self.eos_ids, self.pad_id):
            pass
        return [_generated(row) for row in rows]

    def token_logprobs(self, text: str) -> list[float]:
        """Natural-log likelihood of each token of ``text`` given the ones before (the first is not scored)."""
        import torch

        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"][: self.context_tokens]
        if len(ids) < 2:
            raise BadInput(f"text {text[:40]!r} is under 2 tokens; scoring needs at least 2")
        with torch.inference_mode():
            logits = self.lm(torch.tensor([ids], device=self.lm.device)).logits[0, :-1].float()
        logp = torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(ids[1:], device=logits.device)[:, None])
        return logp[:, 0].tolist()

    def reply_logprobs(self, messages: Sequence[Message], replies: Sequence[str]) -> list[float]:
        """log P(reply | messages) for each candidate reply, summed over its tokens: the prompt is read once,
        each reply after a copy of its KV cache."""
        import copy

        import torch

        prompt = self.prompt_tokens(messages)
        coded = [self.tokenizer(reply, add_special_tokens=False)["input_ids"] for reply in replies]
        check_replies(prompt, coded, self.context_tokens)
        device, scores = self.lm.device, []
        with torch.inference_mode():
            read = self.lm(torch.tensor([prompt], device=device), use_cache=True)
            first = torch.log_softmax(read.logits[0, -1].float(), dim=-1)
            for ids in coded:
                total = float(first[ids[0]])
                if len(ids) > 1:
                    logits = self.lm(torch.tensor([ids[:-1]], device=device), use_cache=True,
                                     past_key_values=copy.deepcopy(read.past_key_values)).logits[0]
                    logp = torch.log_softmax(logits.float(), dim=-1)
                    total += float(logp.gather(1, torch.tensor(ids[1:], device=device)[:, None]).sum())
                scores.append(total)
        return scores


def _generated(row) -> Generated:
    return Generated(text=row.text, finish_reason=row.finish_reason, prompt_tokens=len(row.request.prompt_ids),
                     completion_tokens=row.completion_tokens)


def load_transformers_lm(resolved, device: str = "cpu") -> TransformersLM:
    """A catalog model for transformers: ``options.gguf_file`` (converted once, cached) or a checkpoint directory."""
    options = resolved.spec.options
    gguf_file = options.get("gguf_file")
    if gguf_file:
        from .gguf_convert import load_causal_lm

        lm, tokenizer = load_causal_lm(resolved, gguf_file, device)
    else:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(resolved.path, local_files_only=True)
        lm = AutoModelForCausalLM.from_pretrained(resolved.path, dtype=torch.float32, local_files_only=True)
        lm = lm.to(device).eval()
    if getattr(tokenizer, "chat_template", None) is None:
        raise BadInput(f"model {resolved.spec.name!r} has no chat template; an instruction-tuned model is needed",
                       hint="pick a chat model: `modelbay models chat`")
    return TransformersLM(resolved.spec.name, lm, tokenizer, options.get("context_tokens"),
                          float(options.get("repetition_penalty", 1.0)))
