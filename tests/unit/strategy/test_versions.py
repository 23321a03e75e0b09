"""Versions: numbered, immutable, hashed by content, with a diff; rollback is a new version."""

from __future__ import annotations

from datetime import timedelta

import pytest

from omoitrade.core.errors import Conflict, NotFound
from omoitrade.core.ids import IdGenerator
from omoitrade.model.identifiers import StrategyId
from omoitrade.strategy.versions import content_hash, document_diff, next_version, rollback_version
from omoitrade.testing.factories import T0

DOC = {
    "name": "sma_cross",
    "version": 1,
    "parameters": {"fast": 10, "slow": 20},
    "entry_rules": {"all": [{"position": "flat"}, {"crosses_above": ["a", "b"]}]},
    "risk_parameters": {"direction": "long_only", "sizing": {"percent_of_equity": "100"}},
}


def test_the_diff_names_each_change_by_its_path() -> None:
    new = {
        **DOC,
        "parameters": {"fast": 12, "slow": 20},
        "entry_rules": {"all": [{"position": "flat"}, {"crosses_above": ["a", "c"]}]},
        "risk_parameters": {"direction": "long_only"},
        "description": "faster",
    }
    assert document_diff(DOC, new) == [
        {"op": "add", "path": "description", "new": "faster"},
        {"op": "replace", "path": "entry_rules.all[1].crosses_above[1]", "old": "b", "new": "c"},
        {"op": "replace", "path": "parameters.fast", "old": 10, "new": 12},
        {
            "op": "remove",
            "path": "risk_parameters.sizing",
            "old": {"percent_of_equity": "100"},
        },
    ]


def test_the_hash_is_of_the_content_not_the_version_number_or_key_order() -> None:
    reordered = dict(reversed(list(DOC.items()))) | {"version": 7}
    assert content_hash(reordered) == content_hash(DOC)
    assert content_hash(DOC | {"parameters": {"fast": 11, "slow": 20}}) != content_hash(DOC)


def test_versions_count_up_and_an_unchanged_document_is_refused() -> None:
    ids, strategy_id = IdGenerator(seed=3), StrategyId.new()
    first = next_version([], strategy_id, DOC, author="ann", at=T0, ids=ids)
    assert (first.version, first.diff, first.restored_from) == (1, [], None)
    changed = DOC | {"parameters": {"fast": 5, "slow": 20}}
    second = next_version(
        [first], strategy_id, changed, author="bob", at=T0 + timedelta(1), ids=ids, note="faster"
    )
    assert second.version == 2 and second.document["version"] == 2
    assert second.diff == [{"op": "replace", "path": "parameters.fast", "old": 10, "new": 5}]
    assert (second.author, second.change_note) == ("bob", "faster")
    with pytest.raises(Conflict, match="equals version 2"):
        next_version([first, second], strategy_id, changed, author="bob", at=T0, ids=ids)


def test_a_rollback_is_a_new_version_with_the_old_content() -> None:
    ids, strategy_id = IdGenerator(seed=3), StrategyId.new()
    v1 = next_version([], strategy_id, DOC, author="ann", at=T0, ids=ids)
    v2 = next_version(
        [v1],
        strategy_id,
        DOC | {"parameters": {"fast": 5, "slow": 20}},
        author="bob",
        at=T0,
        ids=ids,
    )
    v3 = rollback_version([v1, v2], 1, author="carol", at=T0, ids=ids)
    assert (v3.version, v3.restored_from, v3.content_hash) == (3, 1, v1.content_hash)
    assert v3.change_note == "rollback to version 1"
    assert v3.diff == [{"op": "replace", "path": "parameters.fast", "old": 5, "new": 10}]
    with pytest.raises(NotFound):
        rollback_version([v1, v2, v3], 9, author="carol", at=T0, ids=ids)
    with pytest.raises(Conflict):  # version 3 already has version 1's content
        rollback_version([v1, v2, v3], 1, author="carol", at=T0, ids=ids)
