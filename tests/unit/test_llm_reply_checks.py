"""What both LLM runtimes refuse before scoring candidate replies (``contract.check_replies``)."""

from __future__ import annotations

import pytest

from modelbay.core.errors import BadInput
from modelbay.ml.llm.contract import check_replies


def test_an_empty_reply_or_one_past_the_context_is_refused_and_a_fitting_one_passes():
    check_replies([1, 2, 3], [[4], [5, 6]], context_tokens=5)
    with pytest.raises(BadInput, match="at least one token"):
        check_replies([1, 2, 3], [[4], []], context_tokens=5)
    with pytest.raises(BadInput, match="are 6 tokens; the model reads at most 5"):
        check_replies([1, 2, 3], [[4], [5, 6, 7]], context_tokens=5)
