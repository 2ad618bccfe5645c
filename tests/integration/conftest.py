"""Fixtures the integration tests share."""

import csv

import pytest

#: support tickets by intent: small, separable, enough for a head to learn in seconds
TICKETS = {
    "billing": ["my card was charged twice", "I was billed two times this month", "refund the double charge",
                "why is there an extra fee on my invoice", "the payment went through twice", "you overcharged me"],
    "delivery": ["my parcel has not arrived", "where is my package", "the delivery is three days late",
                 "the courier never showed up", "my order is stuck in transit", "the box arrived damaged"],
    "login": ["I cannot log in", "password reset email never arrives", "my account is locked",
              "two factor code does not work", "I forgot my password", "cannot sign in after the update"],
}


@pytest.fixture
def tickets(tmp_path):
    """tickets.csv with columns message,intent: every ticket as written and in capitals (36 rows)."""
    path = tmp_path / "tickets.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["message", "intent"])
        for label, texts in TICKETS.items():
            for text in texts:
                writer.writerows([[text, label], [text.upper(), label]])
    return path
