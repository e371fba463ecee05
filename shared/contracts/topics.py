"""Topic names. `<owner>.<stream>.v<major>`; record key = the aggregate's id."""

from __future__ import annotations

# Ingress (provinces write, the platform reads): the province interface v1.
INGRESS_ENROLLMENT = "ingress.enrollment.v1"
INGRESS_REGISTRY = "ingress.registry.v1"
INGRESS_RELATIONSHIP = "ingress.relationship.v1"
INGRESS_WALLET = "ingress.wallet.v1"
INGRESS_SETTLEMENT = "ingress.settlement.v1"
INGRESS_CLEARING = "ingress.clearing.v1"
INGRESS_TOPICS: tuple[str, ...] = (
    INGRESS_ENROLLMENT,
    INGRESS_REGISTRY,
    INGRESS_RELATIONSHIP,
    INGRESS_WALLET,
    INGRESS_SETTLEMENT,
    INGRESS_CLEARING,
)

# Each service's stream of typed state-change events (analytics, and other services).
WALLET_EVENTS = "wallet.events.v1"
RELATIONSHIP_EVENTS = "relationship.events.v1"
PAYMENT_EVENTS = "payment.events.v1"
CLEARING_EVENTS = "clearing.events.v1"
EVENT_TOPICS: dict[str, str] = {
    "wallet": WALLET_EVENTS,
    "relationship": RELATIONSHIP_EVENTS,
    "payment": PAYMENT_EVENTS,
    "clearing": CLEARING_EVENTS,
}

# Each service's claims of the (sender, msgid) pairs it answered (ADR 0013): read by the other services.
MSGID_TOPICS: dict[str, str] = {service: f"{service}.msgids.v1" for service in EVENT_TOPICS}


def msgids_topic(service: str) -> str:
    return MSGID_TOPICS[service]


PLATFORM_SENDER = "000000"

# GB/T 2260 provinces: the 31 provincial-level regions of the mainland.
PROVINCES: dict[str, str] = {
    "110000": "Beijing",
    "120000": "Tianjin",
    "130000": "Hebei",
    "140000": "Shanxi",
    "150000": "Inner Mongolia",
    "210000": "Liaoning",
    "220000": "Jilin",
    "230000": "Heilongjiang",
    "310000": "Shanghai",
    "320000": "Jiangsu",
    "330000": "Zhejiang",
    "340000": "Anhui",
    "350000": "Fujian",
    "360000": "Jiangxi",
    "370000": "Shandong",
    "410000": "Henan",
    "420000": "Hubei",
    "430000": "Hunan",
    "440000": "Guangdong",
    "450000": "Guangxi",
    "460000": "Hainan",
    "500000": "Chongqing",
    "510000": "Sichuan",
    "520000": "Guizhou",
    "530000": "Yunnan",
    "540000": "Tibet",
    "610000": "Shaanxi",
    "620000": "Gansu",
    "630000": "Qinghai",
    "640000": "Ningxia",
    "650000": "Xinjiang",
}


def province_of(admdvs: str) -> str:
    """'440300' -> '440000'. Raises ValueError for a code outside the 31 provinces."""
    province = admdvs[:2] + "0000"
    if len(admdvs) != 6 or not (admdvs.isascii() and admdvs.isdigit()) or province not in PROVINCES:
        raise ValueError(f"{admdvs!r} is not a region code of one of the 31 provinces")
    return province


def province_topic(admdvs: str) -> str:
    """The notification topic of the province a region belongs to."""
    return f"province.{province_of(admdvs)}.notifications.v1"


PROVINCE_TOPICS: tuple[str, ...] = tuple(f"province.{p}.notifications.v1" for p in PROVINCES)


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def same_province(sender: str, admdvs: str) -> bool:
    """The sender is a system of the province `admdvs` belongs to (a region's registry is its province's to keep)."""
    return sender[:2] == admdvs[:2]


def speaks_for(sender: str, party_admdvs: str, trusted_senders: frozenset[str]) -> bool:
    """Only a system of the party's insured province (or a trusted national gateway) acts for the party."""
    return sender in trusted_senders or sender[:2] == party_admdvs[:2]


def may_ask_about(sender: str, party_admdvs: str | None, trusted_senders: frozenset[str]) -> bool:
    """The sender may be told anything of a person: whether they are enrolled, eligible, frozen, have a wallet.
    `party_admdvs` is where the person is insured, None when they were never enrolled: then only a trusted national
    gateway may learn that, so that a province that may not ask gets the same NOT_A_PARTY for a person enrolled
    elsewhere and for nobody (README, "Who may send what")."""
    if party_admdvs is None:
        return sender in trusted_senders
    return speaks_for(sender, party_admdvs, trusted_senders)
