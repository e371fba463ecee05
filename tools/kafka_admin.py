"""Kafka admin requests aiokafka's admin client does not offer: SCRAM credentials, ACLs and client quotas (KIP-554,
KIP-140, KIP-546).

Built on aiokafka's protocol structs and sent with `AIOKafkaAdminClient` (its connection, SASL and version
negotiation). Used by tools/acls.py only.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    CreateAclsResponse_v1,
    DeleteAclsRequest_v1,
    DeleteAclsResponse_v1,
    DescribeAclsRequest_v1,
    DescribeAclsResponse_v1,
)
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    Array,
    Boolean,
    CompactArray,
    CompactBytes,
    CompactString,
    Float64,
    Int8,
    Int16,
    Int32,
    Schema,
    String,
    TaggedFields,
)

SCRAM_SHA_512 = 2  # ScramMechanism
SCRAM_ITERATIONS = 8192

# AclResourceType, PatternType, AclOperation, AclPermissionType (org.apache.kafka.common.acl / resource)
TOPIC, GROUP, CLUSTER = 2, 3, 4
ANY_RESOURCE, ANY_PATTERN, MATCH_PATTERN, LITERAL, PREFIXED = 1, 1, 2, 3, 4
ANY_OPERATION, READ, WRITE, DESCRIBE = 1, 3, 4, 8
ANY_PERMISSION, ALLOW = 1, 3
OPERATIONS = {"read": READ, "write": WRITE, "describe": DESCRIBE}


@dataclass(frozen=True, order=True)
class AclBinding:
    principal: str  # "User:wallet"
    resource_type: int
    name: str
    pattern_type: int
    operation: int
    host: str = "*"
    """The manifest grants from any host; a binding found with another host is not the manifest's (deleted)."""
    permission: int = ALLOW
    """The manifest only allows; a DENY found on the cluster is not the manifest's either (deleted)."""

    @property
    def row(self) -> tuple[int, str, int, str, str, int, int]:
        return (
            self.resource_type,
            self.name,
            self.pattern_type,
            self.principal,
            self.host,
            self.operation,
            self.permission,
        )


class AlterUserScramCredentialsResponseV0(Response):  # type: ignore[misc]  # aiokafka.protocol is untyped
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequestV0(RequestStruct):  # type: ignore[misc]  # aiokafka.protocol is untyped
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = AlterUserScramCredentialsResponseV0
    SCHEMA = Schema(
        ("deletions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields))),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScram(Request[AlterUserScramCredentialsRequestV0]):  # type: ignore[misc]  # aiokafka.protocol is untyped
    API_KEY = 51

    def __init__(self, upsertions: list[tuple[str, int, int, bytes, bytes, dict[int, bytes]]]) -> None:
        self._upsertions = upsertions

    def build(
        self, request_struct_class: type[AlterUserScramCredentialsRequestV0]
    ) -> AlterUserScramCredentialsRequestV0:
        return request_struct_class([], self._upsertions, {})


class _CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc]  # aiokafka.protocol is untyped
    API_KEY = 30

    def __init__(self, rows: list[tuple[int, str, int, str, str, int, int]]) -> None:
        self._rows = rows

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(self._rows)


class _DescribeAllAcls(Request[DescribeAclsRequest_v1]):  # type: ignore[misc]  # aiokafka.protocol is untyped
    API_KEY = 29

    def build(self, request_struct_class: type[DescribeAclsRequest_v1]) -> DescribeAclsRequest_v1:
        return request_struct_class(ANY_RESOURCE, None, MATCH_PATTERN, None, None, ANY_OPERATION, ANY_PERMISSION)


class _DeleteAcls(Request[DeleteAclsRequest_v1]):  # type: ignore[misc]  # aiokafka.protocol is untyped
    API_KEY = 31

    def __init__(self, rows: list[tuple[int, str, int, str, str, int, int]]) -> None:
        self._rows = rows

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class(self._rows)


_ENTITY = Array(("entity_type", String("utf-8")), ("entity_name", String("utf-8")))


class AlterClientQuotasResponseV0(Response):  # type: ignore[misc]  # aiokafka.protocol is untyped
    API_KEY = 49
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("entries", Array(("error_code", Int16), ("error_message", String("utf-8")), ("entity", _ENTITY))),
    )


class AlterClientQuotasRequestV0(RequestStruct):  # type: ignore[misc]  # aiokafka.protocol is untyped
    API_KEY = 49
    API_VERSION = 0
    RESPONSE_TYPE = AlterClientQuotasResponseV0
    SCHEMA = Schema(
        (
            "entries",
            Array(
                ("entity", _ENTITY),
                ("ops", Array(("key", String("utf-8")), ("value", Float64), ("remove", Boolean))),
            ),
        ),
        ("validate_only", Boolean),
    )


class DescribeClientQuotasResponseV0(Response):  # type: ignore[misc]  # aiokafka.protocol is untyped
    API_KEY = 48
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("error_message", String("utf-8")),
        ("entries", Array(("entity", _ENTITY), ("values", Array(("key", String("utf-8")), ("value", Float64))))),
    )


class DescribeClientQuotasRequestV0(RequestStruct):  # type: ignore[misc]  # aiokafka.protocol is untyped
    API_KEY = 48
    API_VERSION = 0
    RESPONSE_TYPE = DescribeClientQuotasResponseV0
    SCHEMA = Schema(
        ("components", Array(("entity_type", String("utf-8")), ("match_type", Int8), ("match", String("utf-8")))),
        ("strict", Boolean),
    )


class _AlterQuotas(Request[AlterClientQuotasRequestV0]):  # type: ignore[misc]  # aiokafka.protocol is untyped
    API_KEY = 49

    def __init__(self, entries: list[tuple[list[tuple[str, str]], list[tuple[str, float, bool]]]]) -> None:
        self._entries = entries

    def build(self, request_struct_class: type[AlterClientQuotasRequestV0]) -> AlterClientQuotasRequestV0:
        return request_struct_class(self._entries, False)


class _DescribeUserQuotas(Request[DescribeClientQuotasRequestV0]):  # type: ignore[misc]  # aiokafka.protocol is untyped
    API_KEY = 48

    def build(self, request_struct_class: type[DescribeClientQuotasRequestV0]) -> DescribeClientQuotasRequestV0:
        return request_struct_class([("user", 2, None)], False)  # match_type 2: any specified user


async def set_user_quotas(admin: AIOKafkaAdminClient, quotas: dict[str, dict[str, float | None]]) -> None:
    """Client quotas per user principal (`producer_byte_rate` and the like); a value of None removes one."""
    entries = [
        (
            [("user", user)],
            [(key, 0.0 if value is None else float(value), value is None) for key, value in sorted(values.items())],
        )
        for user, values in sorted(quotas.items())
    ]
    if not entries:
        return
    response: Any = await _send(admin, _AlterQuotas(entries))
    failed = [(entity, code, msg) for code, msg, entity in response.entries if code != 0]
    if failed:
        raise RuntimeError(f"client quotas refused: {failed[:5]}")


async def user_quotas(admin: AIOKafkaAdminClient) -> dict[str, dict[str, float]]:
    """The quotas set on the cluster for each user principal."""
    response: Any = await _send(admin, _DescribeUserQuotas())
    if response.error_code:
        raise RuntimeError(f"DescribeClientQuotas failed: {response.error_code} {response.error_message}")
    found: dict[str, dict[str, float]] = {}
    for entity, values in response.entries or ():
        users = [name for kind, name in entity if kind == "user"]
        if len(users) == 1 and len(entity) == 1:
            found[users[0]] = dict(values)
    return found


def salted_password(password: str, salt: bytes, iterations: int = SCRAM_ITERATIONS) -> bytes:
    """SCRAM's Hi(): PBKDF2 with HMAC-SHA-512 (RFC 5802; what Kafka's ScramFormatter computes)."""
    return hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)


async def upsert_scram_users(admin: AIOKafkaAdminClient, passwords: dict[str, str]) -> None:
    upsertions: list[tuple[str, int, int, bytes, bytes, dict[int, bytes]]] = []
    for name, password in sorted(passwords.items()):
        salt = secrets.token_bytes(32)
        upsertions.append((name, SCRAM_SHA_512, SCRAM_ITERATIONS, salt, salted_password(password, salt), {}))
    response: Any = await _send_to_controller(admin, _AlterScram(upsertions))
    failed = [(u, code, msg) for u, code, msg, _tags in response.results if code != 0]
    if failed:
        raise RuntimeError(f"SCRAM credentials refused: {failed[:5]}")


async def acls(admin: AIOKafkaAdminClient) -> set[AclBinding]:
    response: Any = await _send(admin, _DescribeAllAcls())
    assert isinstance(response, DescribeAclsResponse_v1)
    if response.error_code:
        raise RuntimeError(f"DescribeAcls failed: {response.error_code} {response.error_message}")
    found = set()
    for resource_type, name, pattern_type, entries in response.resources:
        for principal, host, operation, permission in entries:
            found.add(AclBinding(principal, resource_type, name, pattern_type, operation, host, permission))
    return found


async def create_acls(admin: AIOKafkaAdminClient, bindings: list[AclBinding]) -> None:
    for i in range(0, len(bindings), 500):
        response: Any = await _send(admin, _CreateAcls([b.row for b in bindings[i : i + 500]]))
        assert isinstance(response, CreateAclsResponse_v1)
        failed = [(code, msg) for code, msg in response.creation_responses if code != 0]
        if failed:
            raise RuntimeError(f"ACLs refused: {failed[:5]}")


async def delete_acls(admin: AIOKafkaAdminClient, bindings: list[AclBinding]) -> None:
    for i in range(0, len(bindings), 500):
        response: Any = await _send(admin, _DeleteAcls([b.row for b in bindings[i : i + 500]]))
        assert isinstance(response, DeleteAclsResponse_v1)
        failed = [(r[0], r[1]) for r in response.filter_responses if r[0] != 0]
        if failed:
            raise RuntimeError(f"ACL deletion refused: {failed[:5]}")


async def _send(admin: AIOKafkaAdminClient, request: Request[Any]) -> Response:
    return await admin._send_request(request)


async def _send_to_controller(admin: AIOKafkaAdminClient, request: Request[Any]) -> Response:
    return await admin._send_to_controller(request)
