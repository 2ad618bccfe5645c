"""Dedicated translation checkpoints (Marian/OPUS-MT, NLLB-200, M2M-100) run by transformers.

A Marian checkpoint translates one fixed direction (``opus-mt-en-zh``); NLLB and M2M are many
to many and are told the languages by codes (``eng_Latn``/``zho_Hans``, ``en``/``zh``): the
source on the tokenizer, the target as the first generated token.
"""

from __future__ import annotations

from pathlib import Path

from ...core.errors import BadInput, ModelUnavailable

FAMILIES = ("marian", "nllb", "m2m100")
#: modelbay's language codes -> NLLB's (FLORES-200) codes
NLLB_CODES = {"en": "eng_Latn", "zh": "zho_Hans", "ja": "jpn_Jpan", "ko": "kor_Hang", "fr": "fra_Latn",
              "de": "deu_Latn", "es": "spa_Latn"}
#: most source tokens per piece (these models were trained on sentences; 512 positions at most)
MAX_PIECE_TOKENS = 200


class Seq2SeqTranslator:
    """A translation checkpoint directory loaded with transformers (local files only)."""

    def __init__(self, path: Path, family: str, options: dict, device: str = "cpu") -> None:
        import torch  # noqa: F401  # transformers needs it for the model classes below

        if family not in FAMILIES:
            raise ModelUnavailable(f"translation backend {family!r} is unknown; use one of {', '.join(FAMILIES)}")
        self.family = family
        self.device = device
        self.num_beams = int(options.get("num_beams", 1))
        if family == "marian":
            from transformers import MarianMTModel, MarianTokenizer

            self.tokenizer = MarianTokenizer.from_pretrained(str(path), local_files_only=True)
            self.model = MarianMTModel.from_pretrained(str(path), local_files_only=True)
            pair = (options.get("source_lang"), options.get("target_lang"))
            if not all(pair):
                raise ModelUnavailable(f"Marian model at {path}: options.source_lang and options.target_lang are "
                                       "required (a Marian checkpoint translates one direction)")
            self.pairs = {pair}
        else:
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self.model = AutoModelForSeq2SeqLM.from_pretrained(str(path), local_files_only=True)
            languages = list(options.get("languages") or (NLLB_CODES if family == "nllb" else ["en", "zh"]))
            self.pairs = {(a, b) for a in languages for b in languages if a != b}
        self.model.to(device).eval()
        self.positions = int(getattr(self.model.config, "max_position_embeddings", 512))
        self.max_piece_tokens = min(MAX_PIECE_TOKENS, self.positions // 2)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text)["input_ids"])

    def check_pair(self, source_lang: str, target_lang: str) -> None:
        if (source_lang, target_lang) not in self.pairs:
            known = ", ".join(f"{a}->{b}" for a, b in sorted(self.pairs))
            raise BadInput(f"this model cannot translate {source_lang}->{target_lang}; it translates {known}",
                           hint="choose another model with --model (modelbay models lists them)")

    def _codes(self, lang: str) -> str:
        return NLLB_CODES.get(lang, lang) if self.family == "nllb" else lang

    def translate_many(self, jobs: list[tuple[str, str, str]]) -> list[str]:
        """Translations of ``(piece, source_lang, target_lang)`` jobs: one batch per direction."""
        done = [""] * len(jobs)
        for pair in sorted({job[1:] for job in jobs}):
            idx = [i for i, job in enumerate(jobs) if job[1:] == pair]
            for i, text in zip(idx, self.translate([jobs[i][0] for i in idx], *pair)):
                done[i] = text
        return done

    def translate(self, pieces: list[str], source_lang: str, target_lang: str) -> list[str]:
        """Translations of ``pieces`` (one direction), in one padded batch."""
        import torch

        self.check_pair(source_lang, target_lang)
        kwargs = {}
        if self.family != "marian":
            self.tokenizer.src_lang = self._codes(source_lang)
            target = self._codes(target_lang)
            kwargs["forced_bos_token_id"] = (self.tokenizer.get_lang_id(target) if self.family == "m2m100"
                                             else self.tokenizer.convert_tokens_to_ids(target))
        encoded = self.tokenizer(pieces, return_tensors="pt", padding=True, truncation=True,
                                 max_length=self.positions).to(self.device)
        longest = int(encoded["attention_mask"].sum(dim=1).max())
        with torch.inference_mode():
            out = self.model.generate(**encoded, num_beams=self.num_beams, do_sample=False,
                                      max_new_tokens=min(2 * longest + 16, self.positions - 1), **kwargs)
        return [t.strip() for t in self.tokenizer.batch_decode(out, skip_special_tokens=True)]


__all__ = ["FAMILIES", "MAX_PIECE_TOKENS", "NLLB_CODES", "Seq2SeqTranslator"]
