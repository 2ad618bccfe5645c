"""The decision task end to end: the uniform default, a bandit trained on logged offers (CLI, Python, HTTP),
off-policy evaluation with `modelbay eval`, and agents trained in the pricing environment."""

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from modelbay.cli import app
from modelbay.core.errors import BadInput

pytestmark = pytest.mark.models("decision")

OFFERS = ["free_shipping", "ten_percent_off", "bundle_deal"]
#: conversion probability per segment and offer: each segment has its own best offer
CONVERSION = {"new": (0.10, 0.45, 0.05), "loyal": (0.10, 0.05, 0.50), "returning": (0.40, 0.10, 0.10)}


def _log(path, n, seed):
    """Decisions logged by a uniform policy (propensity 1/3) in a simulated shop."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["segment", "basket_eur", "action", "reward", "propensity"])
        for _ in range(n):
            segment = str(rng.choice(list(CONVERSION)))
            a = int(rng.integers(3))
            writer.writerow([segment, round(float(rng.uniform(5, 80)), 2), OFFERS[a],
                             int(rng.random() < CONVERSION[segment][a]), round(1 / 3, 6)])
    return path


def test_default_policy_is_uniform_and_replayable(loaded_task):
    task = loaded_task("decision")
    item = task.coerce({"context": {"segment": "new"}, "actions": OFFERS, "event_id": "order-7"})
    first, again = task([item])[0], task([item])[0]
    assert first.method == "uniform" and first.probabilities == {a: pytest.approx(1 / 3) for a in OFFERS}
    assert first.action == again.action and first.propensity == pytest.approx(1 / 3) and first.scores is None
    drawn = {out.action for out in task([task.coerce({"context": {}, "actions": OFFERS, "event_id": f"e{i}"})
                                         for i in range(60)])}
    assert drawn == set(OFFERS)                           # different events, different draws
    fresh = task([task.coerce({"context": {}, "actions": OFFERS})] * 2)
    assert fresh[0].event_id != fresh[1].event_id          # a new id when none is given
    with pytest.raises(BadInput, match="needs the candidate actions"):
        task([task.coerce({"context": {"segment": "new"}})])


def test_train_run_eval_and_serve_a_bandit(fresh_settings, tmp_path):
    train_csv, holdout_csv = _log(tmp_path / "logged.csv", 1500, 1), _log(tmp_path / "holdout.csv", 1500, 2)
    runner = CliRunner()
    result = runner.invoke(app, ["train", "decision", "--data", str(train_csv), "--name", "offers", "--json",
                                 "--param", "method=thompson"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.output)["card"]
    assert card["training"]["actions"] == sorted(OFFERS) and card["data"]["n_decisions"] == 1500
    validation = card["metrics"]["validation"]
    assert validation["n_holdout"] == 300 and validation["snips"] > 1.5 * validation["logging_value"]

    import modelbay

    task = modelbay.pipeline("decision", model="offers")
    best = {seg: OFFERS[int(np.argmax(p))] for seg, p in CONVERSION.items()}
    for segment, offer in best.items():
        out = task([{"context": {"segment": segment, "basket_eur": 40}, "event_id": "x"}])[0]
        assert out.method == "thompson" and max(out.probabilities, key=out.probabilities.get) == offer
        assert out.propensity == out.probabilities[out.action] and set(out.scores) == set(OFFERS)
        assert out.scores[offer] == pytest.approx(max(CONVERSION[segment]), abs=0.12)
    two = task([{"context": {"segment": "new"}, "actions": ["free_shipping", "bundle_deal"], "event_id": "y"}])[0]
    assert set(two.probabilities) == {"free_shipping", "bundle_deal"}
    with pytest.raises(BadInput, match=r"actions \['gift_card'\] are not actions of this policy"):
        task([{"context": {}, "actions": ["gift_card"]}])

    evaluated = runner.invoke(app, ["eval", "offers", "--data", str(holdout_csv), "--json", "--no-report",
                                    "--bootstrap", "200"])
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.output)
    m = report["metrics"]
    assert report["headline"] == "dr" and report["n"] == 1500
    true_best = np.mean([max(p) for p in CONVERSION.values()])   # segments are equally likely
    assert m["dr"] == pytest.approx(true_best, abs=0.08) and m["snips"] > 1.5 * m["logging_value"]
    assert report["ci"]["low"] < m["dr"] < report["ci"]["high"]

    from fastapi.testclient import TestClient

    from modelbay.serve.app import create_app

    with TestClient(create_app()) as client:
        ok = client.post("/v1/tasks/decision", json={"model": "offers", "inputs": [
            {"context": {"segment": "loyal", "basket_eur": 20}, "event_id": "order-1"}]})
        assert ok.status_code == 200, ok.text
        assert ok.json()["outputs"][0]["probabilities"] == pytest.approx(
            task([{"context": {"segment": "loyal", "basket_eur": 20}, "event_id": "order-1"}])[0].probabilities)
        bad = client.post("/v1/tasks/decision", json={"inputs": [{"context": {}, "actions": ["a", "a"]}]})
        assert bad.status_code == 422 and "actions must be distinct" in bad.json()["error"]["message"]


def test_rewards_are_learnt_online_and_survive_a_reload(fresh_settings, tmp_path):
    from modelbay.core.loading import load_task
    from modelbay.tasks.decision.task import Decision

    runner = CliRunner()
    trained = runner.invoke(app, ["train", "decision", "--data", str(_log(tmp_path / "logged.csv", 600, 4)),
                                  "--name", "offers", "--param", "method=epsilon-greedy"])
    assert trained.exit_code == 0, trained.output
    task = load_task("decision", "offers")
    new = {"segment": "new", "basket_eur": 30}
    before = task([Decision.coerce({"context": new, "event_id": "d0"})])[0]
    assert max(before.probabilities, key=before.probabilities.get) == "ten_percent_off" and not before.learned
    # the shop changed: new customers now take the bundle and ignore the discount
    feedback = [{"context": new, "action": "bundle_deal", "reward": 1.0, "event_id": f"b{i}"} for i in range(150)]
    feedback += [{"context": new, "action": "ten_percent_off", "reward": 0.0, "event_id": f"t{i}"} for i in range(150)]
    outs = task([Decision.coerce(f) for f in feedback])
    assert all(out.learned for out in outs)
    after = task([Decision.coerce({"context": new, "event_id": "d1"})])[0]
    assert max(after.probabilities, key=after.probabilities.get) == "bundle_deal"
    again = task([Decision.coerce(feedback[0])])[0]
    assert not again.learned                              # a retried event is stored and learnt once
    reloaded = load_task("decision", "offers")            # a restart (or another process) replays the stored rewards
    replayed = reloaded([Decision.coerce({"context": new, "event_id": "d1"})])[0]
    assert replayed.probabilities == pytest.approx(after.probabilities)
    assert replayed.scores == pytest.approx(task([Decision.coerce({"context": new, "event_id": "d1"})])[0].scores)
    with pytest.raises(BadInput, match=r"actions \['gift_card'\] are not actions of this policy"):
        task([Decision.coerce({"context": new, "action": "gift_card", "reward": 1.0})])
    with pytest.raises(BadInput, match="feedback needs both action"):
        Decision.coerce({"context": new, "reward": 1.0})
    uniform = load_task("decision")
    with pytest.raises(BadInput, match="the uniform policy does not learn online"):
        uniform([Decision.coerce({"context": new, "actions": OFFERS, "action": "bundle_deal", "reward": 1.0})])


@pytest.mark.parametrize("options, needle", [
    ({"method": "ucb2"}, "choose one of thompson, linucb, epsilon-greedy"),
    ({"holdout_fraction": 1.5}, "holdout_fraction must be in [0, 1)"),
    ({"epochs": 3}, "unknown training option(s) epochs"),
    ({"timesteps": 10}, "are for agents (method=q-learning, dqn or ppo)"),
    ({"reward_col": "click"}, "no column(s) ['click']"),
])
def test_bandit_training_errors_name_the_problem(tmp_path, options, needle):
    from modelbay.tasks.decision.task import Decision

    data = _log(tmp_path / "logged.csv", 20, 3)
    with pytest.raises(BadInput) as info:
        Decision.fit(data, tmp_path / "out", options)
    assert needle in str(info.value)
    assert not (tmp_path / "out").exists()


def test_q_learning_agent_in_the_pricing_environment(fresh_settings, tmp_path):
    env_file = tmp_path / "pricing.json"
    env_file.write_text(json.dumps({"env": "modelbay/DynamicPricing-v0", "params": {"season_days": 10}}))
    result = CliRunner().invoke(app, ["train", "decision", "--data", str(env_file), "--name", "pricing", "--json",
                                      "--param", "method=q-learning", "--param", "timesteps=3000",
                                      "--param", "eval_episodes=20"])
    assert result.exit_code == 0, result.output
    validation = json.loads(result.output)["card"]["metrics"]["validation"]
    assert validation["eval_episodes"] == 20 and validation["best_fixed_action"].startswith("price_")
    assert validation["mean_episode_reward"] > 0 and len(validation["fixed_action_mean_reward"]) == 7

    import modelbay

    task = modelbay.pipeline("decision", model="pricing")
    out = task([{"context": {"stock_left": 1.0, "days_left": 1.0}, "event_id": "day-1"}])[0]   # every episode's start
    assert out.method == "q-learning" and out.action.startswith("price_") and out.propensity == 1.0   # greedy
    assert set(out.scores) == set(out.probabilities) and len(out.scores) == 7
    assert out.scores[out.action] == max(out.scores.values()) > 0
    unseen = task([{"context": {"stock_left": 0.9, "days_left": 0.05}}])[0]     # ties (all 0) share the probability
    assert sum(unseen.probabilities.values()) == pytest.approx(1.0)
    with pytest.raises(BadInput, match=r"context needs numbers for \['days_left'\]"):
        task([{"context": {"stock_left": 0.5}}])
    with pytest.raises(BadInput, match="no \"env\""):
        from modelbay.tasks.decision.task import Decision

        (tmp_path / "bad.json").write_text("{}")
        Decision.fit(tmp_path / "bad.json", tmp_path / "out", {"method": "ppo"})


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ppo", "dqn"])
def test_stable_baselines3_agents_train_save_and_serve(fresh_settings, tmp_path, method):
    env_file = tmp_path / "pricing.json"
    env_file.write_text(json.dumps({"env": "modelbay/DynamicPricing-v0", "params": {"season_days": 5}}))
    from modelbay.tasks.decision.task import Decision

    card = Decision.fit(env_file, tmp_path / "agent", {"method": method, "timesteps": 600, "eval_episodes": 5})
    assert card["metrics"]["validation"]["eval_episodes"] == 5 and card["options"]["backend"] == method
    from modelbay.tasks.decision.model import load_policy

    policy = load_policy(tmp_path / "agent")
    (probs, scores), = policy.decide([{"stock_left": 0.5, "days_left": 0.5}], [None])
    assert sum(probs.values()) == pytest.approx(1.0) and len(probs) == 7
    assert (scores is None) == (method == "ppo")
