"""The decision capability's logic without a served model: off-policy estimators, the linear bandits, the
context encoder, the logged-table reader, the pricing environment and the input schema."""

import numpy as np
import pytest

from modelbay.core.errors import BadInput
from modelbay.ml.metrics import bootstrap_ci, compute
from modelbay.tasks.decision.data import LoggedColumns, read_logged
from modelbay.tasks.decision.features import ContextEncoder
from modelbay.tasks.decision.linear import BanditConfig, LinearBandit
from modelbay.tasks.decision.task import Decision


def test_estimators_by_hand():
    truths = [{"action": "a", "reward": 1, "propensity": 0.5}, {"action": "b", "reward": 0, "propensity": 0.25},
              {"action": "a", "reward": 0, "propensity": 0.5}]
    preds = [{"probabilities": {"a": 0.8, "b": 0.2}, "scores": {"a": 0.6, "b": 0.1}}] * 3
    m = compute("decision", truths, preds)
    w = [0.8 / 0.5, 0.2 / 0.25, 0.8 / 0.5]
    assert m["ips"] == pytest.approx(w[0] / 3)
    assert m["snips"] == pytest.approx(w[0] / sum(w))
    dm = 0.8 * 0.6 + 0.2 * 0.1
    assert m["dm"] == pytest.approx(dm)
    assert m["dr"] == pytest.approx(dm + (w[0] * 0.4 + w[1] * -0.1 + w[2] * -0.6) / 3)
    assert m["logging_value"] == pytest.approx(1 / 3) and m["headline"] == "dr" and m["match_rate"] == 1.0
    assert m["ess"] == pytest.approx(sum(w) ** 2 / sum(x * x for x in w))
    no_scores = compute("decision", truths, [{"probabilities": {"a": 1.0}}] * 3)
    assert no_scores["headline"] == "snips" and no_scores["dr"] is None


def test_estimators_recover_a_known_value_and_bootstrap():
    rng = np.random.default_rng(0)
    n, k = 20_000, 4
    means = np.array([0.1, 0.3, 0.5, 0.2])
    logged = rng.integers(k, size=n)                       # uniform logging, propensity 1/4
    rewards = (rng.random(n) < means[logged]).astype(float)
    target = {"probabilities": {"0": 0.1, "1": 0.2, "2": 0.6, "3": 0.1}, "scores": {str(i): 0.25 for i in range(k)}}
    truths = [{"action": str(a), "reward": r, "propensity": 0.25} for a, r in zip(logged, rewards)]
    m = compute("decision", truths, [target] * n)
    true_value = 0.1 * 0.1 + 0.2 * 0.3 + 0.6 * 0.5 + 0.1 * 0.2
    for key in ("ips", "snips", "dr"):
        assert m[key] == pytest.approx(true_value, abs=0.015), key
    assert m["dm"] == pytest.approx(0.25)                  # the (wrong) reward model alone is off
    ci = bootstrap_ci("decision", truths, [target] * n, n=200, seed=1)
    assert ci["metric"] == "dr" and ci["low"] < true_value < ci["high"]


def test_estimators_reject_bad_logs():
    with pytest.raises(BadInput, match="propensity 0.0 is not in"):
        compute("decision", [{"action": "a", "reward": 1, "propensity": 0}], [{"probabilities": {"a": 1.0}}])
    with pytest.raises(BadInput, match="expected {'action', 'reward', 'propensity'}"):
        compute("decision", [{"action": "a", "reward": 1}], [{"probabilities": {"a": 1.0}}])


def test_online_updates_equal_a_batch_fit():
    rng = np.random.default_rng(1)
    x = np.column_stack([np.ones(300), rng.normal(size=(300, 3))])
    actions = rng.integers(3, size=300)
    rewards = x @ np.array([0.2, 0.5, -0.3, 0.1]) + 0.1 * rng.normal(size=300)
    config = BanditConfig(method="thompson", ridge=2.0)
    batch = LinearBandit.fit(x, actions, rewards, ["a", "b", "c"], config)
    online = LinearBandit.empty(["a", "b", "c"], 4, config, offset=batch.offset)
    for row, a, r in zip(x, actions, rewards):
        online.update(row, "abc"[a], r)
    np.testing.assert_allclose(online.a_inv, batch.a_inv, atol=1e-9)
    np.testing.assert_allclose(online.b, batch.b, atol=1e-9)
    assert online.counts.tolist() == batch.counts.tolist()


@pytest.mark.parametrize("method", ["thompson", "linucb", "epsilon-greedy"])
def test_probabilities_are_distributions_that_prefer_the_better_action(method):
    rng = np.random.default_rng(2)
    x = np.ones((400, 1))
    actions = rng.integers(2, size=400)
    rewards = np.where(actions == 1, 0.8, 0.2) + 0.05 * rng.normal(size=400)
    bandit = LinearBandit.fit(x, actions, rewards, ["worse", "better"], BanditConfig(method=method, epsilon=0.2))
    probs = bandit.probabilities(np.ones((3, 1)), [0, 1])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert (probs[:, 1] > probs[:, 0]).all()
    if method == "epsilon-greedy":
        np.testing.assert_allclose(probs[0], [0.1, 0.9])
    np.testing.assert_array_equal(probs, bandit.probabilities(np.ones((3, 1)), [0, 1]))  # the same every time


def test_bandit_options_are_checked():
    with pytest.raises(BadInput, match="choose one of thompson, linucb, epsilon-greedy"):
        BanditConfig(method="ucb2")
    with pytest.raises(BadInput, match="epsilon must be between 0 and 1"):
        BanditConfig(method="epsilon-greedy", epsilon=1.5)
    with pytest.raises(BadInput, match="ridge must be a positive number or 'auto'"):
        BanditConfig(ridge="lots")


def test_encoder_numbers_categories_and_unseen_values():
    enc = ContextEncoder.fit([{"segment": "new", "basket": 10.0, "position": 1},
                              {"segment": "loyal", "basket": 30.0, "position": "2"}])
    assert enc.names == ["1", "basket", "position=1", "position=2", "segment=loyal", "segment=new"]
    rows = enc.transform([{"segment": "new", "basket": 20.0, "position": 1.0},
                          {"segment": "unknown", "basket": 1e9},        # unseen category, an extreme number
                          {}])
    assert rows[0].tolist() == [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]           # 1.0 and "1" are one category
    assert rows[1].tolist() == [1.0, 5.0, 0.0, 0.0, 0.0, 0.0]           # clipped at 5 standard deviations
    assert rows[2].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    again = ContextEncoder.from_json(enc.to_json())
    np.testing.assert_array_equal(again.transform([{"segment": "loyal", "basket": 25}]),
                                  enc.transform([{"segment": "loyal", "basket": 25}]))


@pytest.mark.parametrize("content, columns, needle", [
    ("offer,reward,propensity\na,1,0.5\n", LoggedColumns(), "no column(s) ['action']"),
    ("action,reward,propensity\na,1,0\n", LoggedColumns(), ":2: 'propensity' is 0.0; expected a probability"),
    ("action,reward,propensity\na,yes,0.5\n", LoggedColumns(), ":2: 'reward' is 'yes'; expected a number"),
    ("action,reward,propensity\n,1,0.5\n", LoggedColumns(), ":2: empty 'action'"),
])
def test_logged_table_errors_name_the_line(tmp_path, content, columns, needle):
    path = tmp_path / "logged.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadInput) as info:
        read_logged(path, columns, need_propensity=True)
    assert needle in str(info.value)


def test_logged_table_reads_contexts_as_numbers_and_categories(tmp_path):
    path = tmp_path / "logged.csv"
    path.write_text("segment,pos,basket,click,item,p\nnew,1,12.5,0,7,0.25\nloyal,2,,1,3,0.25\n", encoding="utf-8")
    logged = read_logged(path, LoggedColumns(action_col="item", reward_col="click", propensity_col="p",
                                             categorical_cols=("pos",)))
    assert logged.contexts == [{"segment": "new", "pos": "1", "basket": 12.5}, {"segment": "loyal", "pos": "2", "basket": None}]
    assert logged.actions == ["7", "3"] and logged.rewards == [0.0, 1.0] and logged.propensities == [0.25, 0.25]
    assert logged.action_set() == ["3", "7"]


def test_pricing_environment_is_seeded_and_sells_what_it_has():
    from modelbay.tasks.decision.envs import DynamicPricingEnv, run_episodes

    env = DynamicPricingEnv(inventory_units=10, season_days=5)
    cheap = run_episodes(env, lambda obs: 0, 3, seed=5)
    assert cheap == run_episodes(env, lambda obs: 0, 3, seed=5)
    assert all(total <= 10 * env.prices_eur[0] for total in cheap)
    obs, _ = env.reset(seed=1)
    _, reward, _, _, info = env.step(len(env.prices_eur) - 1)
    assert reward == info["sold"] * env.prices_eur[-1] and 0 <= obs[0] <= 1
    assert env.expected_demand(6, 0) > env.expected_demand(18, 0) and env.expected_demand(10, 4) > env.expected_demand(10, 0)


def test_input_schema():
    item = Decision.coerce('{"context": {"segment": "new"}, "actions": ["a", "b"], "event_id": "e1"}')
    assert item.context == {"segment": "new"} and item.actions == ["a", "b"] and item.event_id == "e1"
    assert Decision.coerce('{"segment": "new"}').context == {"segment": "new"}    # a bare context
    with pytest.raises(BadInput, match="actions must be distinct"):
        Decision.coerce({"context": {}, "actions": ["a", "a"]})
    with pytest.raises(BadInput, match="context"):
        Decision.coerce({"context": [1, 2]})
