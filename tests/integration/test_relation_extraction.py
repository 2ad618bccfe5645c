"""Relation extraction with the real spaCy pipeline and jieba: triples, the graph, exports, linking, the LLM path."""

import networkx as nx
import pytest

pytestmark = pytest.mark.models("relation-extraction")


@pytest.fixture(scope="module")
def relations(loaded_task):
    return loaded_task("relation-extraction")


def _facts(out):
    return {(t.subject, t.relation, t.object) for t in out.triples}


def test_english_dependency_patterns(relations):
    text = "Steve Jobs and Steve Wozniak founded Apple. Apple was founded in California. Tim Cook, the CEO of Apple, lives in Palo Alto."
    (out,) = relations([relations.coerce(text)])
    assert {("Steve Jobs", "found", "Apple"), ("Steve Wozniak", "found", "Apple"), ("Apple", "found in", "California"),
            ("Tim Cook", "is", "CEO of Apple"), ("Tim Cook", "live in", "Palo Alto")} <= _facts(out)
    assert out.method == "patterns"
    for t in out.triples:
        assert text[t.subject_start:t.subject_end] == t.subject and text[t.object_start:t.object_end] == t.object
    jobs = next(t for t in out.triples if t.subject == "Steve Jobs")
    assert jobs.subject_label == "PER" and jobs.sentence == "Steve Jobs and Steve Wozniak founded Apple."
    # "Apple" is one node however often it is mentioned
    assert [n.name for n in out.nodes].count("Apple") == 1


def test_passive_agent_and_pronouns_dropped(relations):
    (out,) = relations([relations.coerce("GitHub was acquired by Microsoft. It moved to Redmond.")])
    assert ("GitHub", "acquire by", "Microsoft") in _facts(out)
    assert all(t.subject != "It" for t in out.triples)


def test_chinese_and_english_in_one_batch_match_one_at_a_time(relations):
    items = [relations.coerce(t) for t in ("华为总部位于深圳。", "Microsoft acquired GitHub.")]
    together = relations(items)
    assert [o.model_dump() for o in together] == [relations([i])[0].model_dump() for i in items]
    assert _facts(together[0]) == {("华为总部", "位于", "深圳")}


def test_graphml_export_opens_as_a_graph(relations):
    (out,) = relations([relations.coerce({"text": "Microsoft acquired GitHub.", "export": "graphml"})])
    graph = nx.parse_graphml(out.document)
    assert {d["label"] for _n, d in graph.nodes(data=True)} == {"Microsoft", "GitHub"}


def test_linking_merges_mentions_of_one_entity(relations):
    text = "Tim Cook visited Germany. 马云访问了德国。"
    (out,) = relations([relations.coerce({"text": text, "link_model": "entity-linking-countries"})])
    linked = [t for t in out.triples if t.object_id == "DE"]
    assert len(linked) == 2 and {t.object_name for t in linked} == {"Germany"}
    assert [n.entity_id for n in out.nodes].count("DE") == 1
    assert all(t.subject_id is None for t in out.triples)  # people are not countries: NIL, not "Cook Islands"


@pytest.mark.slow
def test_the_llm_path_runs_the_default_llm_and_keeps_only_grounded_triples():
    from modelbay.core.loading import load_task

    task = load_task("relation-extraction", "relation-extraction-llm")
    texts = ["Microsoft acquired GitHub in 2018.", "马云创办了阿里巴巴。"]
    outputs = task([task.coerce(t) for t in texts])
    assert [o.method for o in outputs] == ["llm", "llm"]
    for text, out in zip(texts, outputs):
        assert all(t.subject in text and t.object in text for t in out.triples)
    (patterns,) = task([task.coerce({"text": texts[0], "method": "patterns"})])
    assert patterns.method == "patterns" and ("Microsoft", "acquire", "GitHub") in _facts(patterns)
