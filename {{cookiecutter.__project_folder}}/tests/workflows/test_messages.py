"""Inbound messages are validated as data: every bad field is named with what it expects."""

from typing import Annotated

import pytest
from pydantic import Field

from workflows.messages import (
    BadStartMessageError,
    InboundMessage,
    NonEmptyText,
    expected_fields,
    parse_start_message,
)


class Order(InboundMessage):
    item: NonEmptyText
    quantity: Annotated[int, Field(ge=1)]
    note: str = ""


def test_a_matching_body_becomes_the_model() -> None:
    assert parse_start_message(Order, {"item": "lamp", "quantity": 2}) == Order(
        item="lamp", quantity=2
    )


def test_a_model_passes_through_unchanged() -> None:
    order = Order(item="lamp", quantity=2)

    assert parse_start_message(Order, order) is order


def test_every_bad_field_is_named_with_the_value_received() -> None:
    with pytest.raises(BadStartMessageError) as raised:
        parse_start_message(Order, {"item": " ", "quantity": "three", "qty": 2})

    message = str(raised.value)
    assert 'item: String should have at least 1 character, got " "' in message
    assert 'quantity: Input should be a valid integer, got "three"' in message
    assert "qty is not a field of Order" in message


def test_missing_fields_are_named() -> None:
    with pytest.raises(BadStartMessageError, match="quantity is missing"):
        parse_start_message(Order, {"item": "lamp"})


def test_numbers_are_not_guessed_from_other_types() -> None:
    for quantity in ("2", 2.5, True):
        with pytest.raises(BadStartMessageError, match="quantity: Input should be"):
            parse_start_message(Order, {"item": "lamp", "quantity": quantity})


def test_domain_rules_are_part_of_the_model() -> None:
    with pytest.raises(BadStartMessageError, match="quantity: Input should be greater than or"):
        parse_start_message(Order, {"item": "lamp", "quantity": 0})


@pytest.mark.parametrize("body", [["lamp"], "lamp", 3, None])
def test_a_body_that_is_not_an_object_gets_the_same_readable_error(body: object) -> None:
    with pytest.raises(BadStartMessageError, match="must be a JSON object, got "):
        parse_start_message(Order, body)


def test_the_error_says_what_to_send() -> None:
    with pytest.raises(BadStartMessageError) as raised:
        parse_start_message(Order, {})

    assert str(raised.value).endswith(
        "Expected a JSON object with item (string, non-empty, required), "
        "quantity (integer, at least 1, required), note (string, optional)."
    )


def test_expected_fields_describe_the_model_for_people() -> None:
    assert expected_fields(Order) == {
        "item": "string, non-empty, required",
        "quantity": "integer, at least 1, required",
        "note": "string, optional",
    }
