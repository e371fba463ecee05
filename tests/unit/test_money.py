from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from shared.money import Money, format_money


class Priced(BaseModel):
    amount: Money


def test_money_string_with_two_decimals_becomes_a_decimal() -> None:
    assert Priced.model_validate({"amount": "2000.00"}).amount == Decimal("2000.00")


@pytest.mark.parametrize(
    "wire",
    [2000, 2000.0, "2000", "2000.0", "2000.000", "1e3", "", " 1.00", "1,000.00", "２０００.００", "٢٠٠٠.٠٠", "2000.٠٠"],
)
def test_money_in_any_other_form_is_refused(wire: object) -> None:
    with pytest.raises(ValidationError):
        Priced.model_validate({"amount": wire})


def test_money_is_written_as_a_string_with_two_decimals() -> None:
    assert Priced(amount=Decimal("5.1")).model_dump(mode="json") == {"amount": "5.10"}
    assert format_money(Decimal("0")) == "0.00"


def test_money_keeps_every_fen_of_large_amounts() -> None:
    assert Priced.model_validate({"amount": "99999999999999.99"}).amount == Decimal("99999999999999.99")
