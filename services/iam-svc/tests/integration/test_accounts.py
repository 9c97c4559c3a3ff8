"""Accounts: real-name verification (ACC-REQ-1), rename (ACC-REQ-2), site (ACC-REQ-4)."""

from __future__ import annotations

from datetime import timedelta

ENTERPRISE = {"verification_type": "enterprise", "legal_name": "腾讯科技（深圳）有限公司",
              "uscc": "9144030071526726XG"}


async def test_acc_req_1_account_created_unverified_with_event(iam):
    uin = await iam.account()
    account = await iam.ok("GET", "/v1/account", uin=uin)
    assert account["verification_type"] == "none"
    assert account["legal_name"] is None and account["uscc"] is None
    [created] = await iam.events("billing.account.created.v1")
    assert created["subject"] == uin and created["source"] == "/services/iam-svc"
    assert created["data"]["uin"] == uin
    assert created["data"]["verification_type"] == "none"
    assert created["data"]["site"] == "mainland"


async def test_acc_req_1_enterprise_verification_publishes_account_verified(iam):
    uin = await iam.account()
    verified = await iam.ok("POST", "/v1/account/verification", uin=uin,
                            json_body=ENTERPRISE | {"uscc": "9144 0300 7152 6726 xg"})
    assert verified["verification_type"] == "enterprise"
    assert verified["uscc"] == "9144030071526726XG"  # normalised
    assert verified["legal_name"] == ENTERPRISE["legal_name"]
    [event] = await iam.events("billing.account.verified.v1")
    assert event["data"] | {"verified_at": None} == {
        "uin": uin, "kind": "customer", "site": "mainland", "is_international": False,
        "verification_type": "enterprise", "legal_name": ENTERPRISE["legal_name"],
        "uscc": "9144030071526726XG", "verified_at": None}
    assert event["data"]["verified_at"].startswith("2025-03-03T02:00")


async def test_acc_req_1_invalid_uscc_rejected_and_nothing_changes(iam):
    uin = await iam.account()
    before = await iam.snapshot()
    for bad, reason in (("9144030071526726XH", "checksum"), ("91440300715267", "length"),
                        ("9144A30071526726XG", "format")):
        answer = await iam.call("POST", "/v1/account/verification", uin=uin,
                                json_body=ENTERPRISE | {"uscc": bad})
        assert answer.status_code == 400, answer.text
        problem = answer.json()
        assert problem["code"] == "InvalidParameterValue.UnifiedSocialCreditCode"
        assert problem["reason"] == reason and problem["field"] == "uscc"
    assert await iam.snapshot() == before
    assert (await iam.ok("GET", "/v1/account", uin=uin))["verification_type"] == "none"


async def test_acc_req_1_personal_and_organization_verification(iam):
    person = await iam.account()
    answer = await iam.ok("POST", "/v1/account/verification", uin=person, json_body={
        "verification_type": "personal", "legal_name": "张三"})
    assert answer["verification_type"] == "personal" and answer["uscc"] is None
    refused = await iam.call("POST", "/v1/account/verification", uin=await iam.account(),
                             json_body={"verification_type": "personal", "legal_name": "李四",
                                        "uscc": "9144030071526726XG"})
    assert refused.json()["code"] == "InvalidParameter.UsccNotApplicable"

    school = await iam.account()
    missing = await iam.call("POST", "/v1/account/verification", uin=school, json_body={
        "verification_type": "organization", "legal_name": "某某大学"})
    assert missing.status_code == 400 and missing.json()["code"] == "MissingParameter"
    answer = await iam.ok("POST", "/v1/account/verification", uin=school, json_body={
        "verification_type": "organization", "legal_name": "某某大学",
        "uscc": "12100000400000624D"})
    assert answer["verification_type"] == "organization"
    assert answer["uscc"] == "12100000400000624D"


async def test_acc_req_1_verification_happens_once(iam):
    uin = await iam.account(verification=ENTERPRISE)
    again = await iam.call("POST", "/v1/account/verification", uin=uin, json_body=ENTERPRISE)
    assert again.status_code == 409
    assert again.json()["code"] == "FailedOperation.AccountAlreadyVerified"


async def test_acc_req_1_mainland_legal_name_must_be_printable_on_an_invoice(iam):
    uin = await iam.account()
    answer = await iam.call("POST", "/v1/account/verification", uin=uin,
                            json_body=ENTERPRISE | {"legal_name": "腾讯科技😀有限公司"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "InvalidParameterValue.LegalNameCharset"
    too_long = await iam.call("POST", "/v1/account/verification", uin=uin,
                              json_body=ENTERPRISE | {"legal_name": "名" * 101})
    assert too_long.json()["code"] == "InvalidParameterValue.LegalNameTooLong"


async def test_acc_req_2_rename_publishes_old_and_new_name(iam):
    uin = await iam.account(verification=ENTERPRISE)
    iam.clock.advance(timedelta(days=3))
    renamed = await iam.ok("POST", "/v1/account/rename", uin=uin,
                           json_body={"legal_name": "腾讯云计算（北京）有限责任公司"})
    assert renamed["legal_name"] == "腾讯云计算（北京）有限责任公司"
    assert renamed["uscc"] == ENTERPRISE["uscc"]
    [event] = await iam.events("billing.account.renamed.v1")
    assert event["subject"] == uin
    data = event["data"]
    assert data["old_legal_name"] == ENTERPRISE["legal_name"]
    assert data["new_legal_name"] == "腾讯云计算（北京）有限责任公司"
    assert data["legal_name"] == data["new_legal_name"]
    assert data["effective_at"] == "2025-03-06T02:00:00Z"
    assert data["uscc"] == data["old_uscc"] == ENTERPRISE["uscc"]
    assert data["verification_type"] == data["old_verification_type"] == "enterprise"
    assert data["site"] == "mainland"


async def test_acc_req_2_personal_to_enterprise_is_a_change_with_the_same_interval(iam):
    uin = await iam.account(verification={"verification_type": "personal",
                                          "legal_name": "张三"})
    missing = await iam.call("POST", "/v1/account/rename", uin=uin, json_body={
        "legal_name": "张三科技有限公司", "verification_type": "enterprise"})
    assert missing.status_code == 400 and missing.json()["code"] == "MissingParameter"
    bad = await iam.call("POST", "/v1/account/rename", uin=uin, json_body={
        "legal_name": "张三科技有限公司", "verification_type": "enterprise",
        "uscc": "91440300708461136X"})
    assert bad.json()["code"] == "InvalidParameterValue.UnifiedSocialCreditCode"
    changed = await iam.ok("POST", "/v1/account/rename", uin=uin, json_body={
        "legal_name": "张三科技有限公司", "verification_type": "enterprise",
        "uscc": "91440300708461136T"})
    assert changed["verification_type"] == "enterprise"
    assert changed["uscc"] == "91440300708461136T"
    [event] = await iam.events("billing.account.renamed.v1")
    assert (event["data"]["old_verification_type"], event["data"]["old_uscc"]) == (
        "personal", None)
    assert (event["data"]["verification_type"], event["data"]["uscc"]) == (
        "enterprise", "91440300708461136T")
    iam.clock.advance(timedelta(days=10))
    again = await iam.call("POST", "/v1/account/rename", uin=uin, json_body={
        "legal_name": "张三科技有限公司", "uscc": "91110000600037341L"})
    assert again.json()["code"] == "FailedOperation.RenameIntervalNotReached"


async def test_acc_req_2_rename_refused_within_30_days(iam):
    uin = await iam.account(verification=ENTERPRISE)
    await iam.ok("POST", "/v1/account/rename", uin=uin,
                 json_body={"legal_name": "第一名称有限公司"})
    iam.clock.advance(timedelta(days=30) - timedelta(seconds=1))
    refused = await iam.call("POST", "/v1/account/rename", uin=uin,
                             json_body={"legal_name": "第二名称有限公司"})
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "FailedOperation.RenameIntervalNotReached"
    assert problem["next_rename_allowed_at"] == "2025-04-02T02:00:00Z"
    account = await iam.ok("GET", "/v1/account", uin=uin)
    assert account["legal_name"] == "第一名称有限公司"
    assert len(await iam.events("billing.account.renamed.v1")) == 1

    iam.clock.advance(timedelta(seconds=1))
    await iam.ok("POST", "/v1/account/rename", uin=uin,
                 json_body={"legal_name": "第二名称有限公司"})
    events = await iam.events("billing.account.renamed.v1")
    assert [e["data"]["new_legal_name"] for e in events] == ["第一名称有限公司", "第二名称有限公司"]


async def test_acc_req_2_rename_needs_verification_and_same_name_is_no_change(iam):
    unverified = await iam.account()
    answer = await iam.call("POST", "/v1/account/rename", uin=unverified,
                            json_body={"legal_name": "某公司"})
    assert answer.json()["code"] == "FailedOperation.AccountNotVerified"
    uin = await iam.account(verification=ENTERPRISE)
    await iam.ok("POST", "/v1/account/rename", uin=uin,
                 json_body={"legal_name": ENTERPRISE["legal_name"]})
    assert await iam.events("billing.account.renamed.v1") == []
    assert (await iam.ok("GET", "/v1/account", uin=uin))["name_changed_at"] is None


async def test_acc_req_4_international_site_flagged_everywhere(iam):
    uin = await iam.account(site="international", verification={
        "verification_type": "enterprise", "legal_name": "Example Pte. Ltd."})
    account = await iam.ok("GET", "/v1/account", uin=uin)
    assert account["site"] == "international" and account["is_international"] is True
    assert account["verification_type"] == "enterprise" and account["uscc"] is None
    for event_type in ("billing.account.created.v1", "billing.account.verified.v1"):
        [event] = await iam.events(event_type)
        assert event["data"]["site"] == "international"
        assert event["data"]["is_international"] is True
    iam.clock.advance(timedelta(days=1))
    await iam.ok("POST", "/v1/account/rename", uin=uin,
                 json_body={"legal_name": "Example Holdings Pte. Ltd."})
    [renamed] = await iam.events("billing.account.renamed.v1")
    assert renamed["data"]["is_international"] is True


async def test_acc_req_4_mainland_is_the_default_site(iam):
    uin = await iam.account()
    account = await iam.ok("GET", "/v1/account", uin=uin)
    assert account["site"] == "mainland" and account["is_international"] is False


async def test_unknown_customer_account_is_not_found(iam):
    answer = await iam.call("GET", "/v1/account", uin="999999999999")
    assert answer.status_code == 404
    assert answer.json()["code"] == "ResourceNotFound.Account"


async def test_internal_account_creation_with_explicit_uin_and_conflict(iam):
    uin = await iam.account(uin="100000000777")
    assert uin == "100000000777"
    again = await iam.call("POST", "/internal/v1/accounts", json_body={"uin": uin})
    assert again.status_code == 409 and again.json()["code"] == "FailedOperation.AccountExists"
    operator = await iam.ok("POST", "/internal/v1/accounts", kind="operator",
                            json_body={"kind": "operator"})
    assert operator["kind"] == "operator"
