"""The knowledge graph of triples: deduplicated nodes, and its JSON, CSV, GraphML and HTML exports."""

import csv
import io
import json

import networkx as nx
import pytest

from modelbay.core.errors import BadInput
from modelbay.tasks.relation_extraction.graph import build_graph, export_graph, write_graph

TRIPLES = [
    {"subject": "Apple", "relation": "acquire", "object": "Beats", "subject_label": "ORG", "sentence": "Apple acquired Beats."},
    {"subject": "the Apple", "relation": "acquire", "object": "Beats"},      # the same fact again
    {"subject": "ＡＰＰＬＥ", "relation": "based in", "object": "Cupertino", "object_label": "LOC"},
    {"subject": "华为", "relation": "位于", "object": "深圳", "subject_id": "Q1", "subject_name": "Huawei"},
    {"subject": "Huawei", "relation": "rival of", "object": "Apple", "subject_id": "Q1", "subject_name": "Huawei"},
]


def test_names_that_differ_only_in_case_width_or_article_are_one_node_and_repeats_one_edge():
    graph = build_graph(TRIPLES)
    assert sorted(graph.nodes) == ["apple", "beats", "cupertino", "entity:Q1", "深圳"]
    assert graph.nodes["apple"]["name"] == "Apple" and graph.nodes["apple"]["type"] == "ORG"
    assert graph.nodes["apple"]["mentions"] == 4
    assert graph.number_of_edges() == 4
    # linked mentions in two languages are one entity
    assert graph.nodes["entity:Q1"]["name"] == "Huawei" and graph.nodes["entity:Q1"]["mentions"] == 2


def test_json_and_csv_exports_hold_every_edge():
    graph = build_graph(TRIPLES)
    shaped = json.loads(export_graph(graph, "json"))
    assert len(shaped["nodes"]) == 5 and len(shaped["edges"]) == 4
    rows = list(csv.DictReader(io.StringIO(export_graph(graph, "csv"))))
    assert {(r["subject"], r["relation"], r["object"]) for r in rows} >= {("Apple", "acquire", "Beats"),
                                                                          ("Huawei", "位于", "深圳")}


def test_graphml_reads_back_with_labels_for_viewers(tmp_path):
    path = tmp_path / "kg.graphml"
    assert write_graph([{"triples": TRIPLES}], path) == "graphml"
    back = nx.read_graphml(path)
    assert back.number_of_nodes() == 5 and back.number_of_edges() == 4
    assert back.nodes["entity:Q1"]["label"] == "Huawei"
    assert {d["label"] for _s, _o, d in back.edges(data=True)} == {"acquire", "based in", "位于", "rival of"}


def test_html_is_a_standalone_svg_page_and_the_same_graph_draws_the_same():
    page = export_graph(build_graph(TRIPLES), "html")
    assert page.startswith("<!doctype html>") and "<svg" in page and "<script" not in page
    assert "5 entities, 4 relations" in page and "深圳" in page
    assert page == export_graph(build_graph(TRIPLES), "html")


def test_unknown_formats_are_refused(tmp_path):
    with pytest.raises(BadInput, match="unknown graph format"):
        write_graph([{"triples": TRIPLES}], tmp_path / "kg.dot")
    with pytest.raises(BadInput, match="expected one of json, csv, graphml, html"):
        export_graph(build_graph(TRIPLES), "xml")
