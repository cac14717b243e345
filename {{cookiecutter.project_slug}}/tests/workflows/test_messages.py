"""Start messages are built from the run route's JSON body, or the run says what is wrong."""

from dataclasses import dataclass

import pytest

from workflows.messages import BadStartMessageError, parse_message


@dataclass
class Order:
    item: str
    quantity: int
    note: str = ""


def test_a_matching_body_becomes_the_dataclass() -> None:
    assert parse_message(Order, {"item": "lamp", "quantity": 2}) == Order("lamp", 2)


def test_a_dataclass_passes_through_unchanged() -> None:
    order = Order("lamp", 2)

    assert parse_message(Order, order) is order


def test_missing_and_unknown_fields_are_named() -> None:
    with pytest.raises(BadStartMessageError) as raised:
        parse_message(Order, {"item": "lamp", "qty": 2})

    assert (
        str(raised.value) == "Order missing quantity; unknown qty (fields: item, quantity, note)."
    )


def test_a_body_that_is_not_an_object_is_rejected() -> None:
    with pytest.raises(BadStartMessageError, match="Order must be a JSON object, not str"):
        parse_message(Order, "lamp")
