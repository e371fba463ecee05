from dataclasses import replace
from datetime import datetime, timedelta, timezone

from services.relationship.domain.people import Person, supersedes

T0 = datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8)))
EMPLOYEE = Person("1", "张三", "h", "01", "310", "1", "440300", True, T0)


def test_an_employee_with_a_personal_account_in_normal_status_may_provide() -> None:
    assert EMPLOYEE.may_provide
    assert not replace(EMPLOYEE, has_personal_account=False).may_provide, "pooling only: no personal account"
    assert not replace(EMPLOYEE, psn_insu_stas="2").may_provide
    assert not replace(EMPLOYEE, insutype="390").may_provide


def test_employee_and_resident_members_in_normal_status_may_receive() -> None:
    assert replace(EMPLOYEE, insutype="390", has_personal_account=False).may_receive
    assert not replace(EMPLOYEE, insutype="410").may_receive
    assert not replace(EMPLOYEE, psn_insu_stas="4").may_receive


def test_an_older_enrolment_change_arriving_late_changes_nothing() -> None:
    later = replace(EMPLOYEE, effective_at=T0 + timedelta(days=1))
    assert supersedes(later, EMPLOYEE)
    assert not supersedes(EMPLOYEE, later)
    assert supersedes(EMPLOYEE, None)
