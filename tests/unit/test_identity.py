from shared.identity import certno_hash, mask_certno, redact, redact_text

CERTNO = "610102195503031234"


def test_certno_hash_is_stable_keyed_and_case_insensitive() -> None:
    assert certno_hash(CERTNO, b"k1") == certno_hash(CERTNO, b"k1")
    assert certno_hash(CERTNO, b"k1") != certno_hash(CERTNO, b"k2")
    assert certno_hash("11010519491231002x", b"k") == certno_hash("11010519491231002X", b"k")
    assert CERTNO not in certno_hash(CERTNO, b"k")


def test_certno_is_masked_keeping_region_and_last_four() -> None:
    assert mask_certno(CERTNO) == "610102********1234"


def test_redact_masks_certno_fields_and_id_numbers_in_free_text() -> None:
    value = {"body": {"to_certno": CERTNO, "note": f"id {CERTNO} seen", "psn_no": "44030000000000012345"}}
    out = redact(value)
    assert out["body"]["to_certno"] == "610102********1234"
    assert CERTNO not in out["body"]["note"]
    assert out["body"]["psn_no"] == "44030000000000012345", "a 20-digit personnel number is not an ID number"


def test_redact_text_catches_the_old_15_digit_form() -> None:
    assert "110105491231002" not in redact_text("old card 110105491231002 here")


def test_a_certno_sent_as_a_json_number_is_masked_too() -> None:
    out = redact({"certno": 610102195503031234, "other": 610102195503031234, "amount": 12})
    assert out == {"certno": "610102********1234", "other": "610102********1234", "amount": 12}


def test_twelve_digit_numbers_are_not_taken_for_id_numbers() -> None:
    assert redact_text("institution 440300123456 and msgid 440300202611221030150001") == (
        "institution 440300123456 and msgid 440300202611221030150001"
    )


def test_names_compare_in_one_normal_form_across_services() -> None:
    from shared.identity import name_hash, normalize_name

    assert normalize_name(" 阿依古丽•买买提 ") == normalize_name("阿依古丽·买买提")
    assert normalize_name("Ｗａｎｇ  fang") == "WANG FANG", "full-width letters and doubled spaces"
    assert name_hash("王芳", b"k") == name_hash(" 王芳", b"k") != name_hash("王芳", b"other")
