#!/usr/bin/env bash
# A provincial system's client in the shell: kcat, openssl and jq, nothing of medaid's.
#
# It signs one `registry.query-requested` (docs/signing.md) with openssl, stamps `sent_at` with the platform's
# business time, publishes it with kcat to `ingress.registry.v1` keyed by the region asked about, then reads
# its province's notifications until the `request.result` whose `omsgid` is its msgid, and checks the
# platform's signature on it. docs/integrators.md walks through it; tests/e2e/test_integrators.py runs it.
#
#   STATE_DIR=.run ./client.sh          # a local stack (`make up`): its files give the secrets
#
# Settings (environment): STATE_DIR (.run), BOOTSTRAP (127.0.0.1:9092), SENDER (440300), ADMDVS (440000),
# WAIT (60 s), KCAT (kcat). kcat must run on librdkafka 2.6.1 or later (`kcat -V`): Kafka 4 refuses the SCRAM
# login of older ones, such as Debian 12's kcat on librdkafka 2.0.2 (docs/integrators.md says what to do).
set -euo pipefail
STATE_DIR="${STATE_DIR:-.run}" BOOTSTRAP="${BOOTSTRAP:-127.0.0.1:9092}" SENDER="${SENDER:-440300}"
ADMDVS="${ADMDVS:-440000}" WAIT="${WAIT:-60}" KCAT="${KCAT:-kcat}"
PROVINCE="${SENDER:0:2}0000"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

b64url_decode() { local s; s="$(tr -- '-_' '+/')"; while (( ${#s} % 4 )); do s+="="; done; base64 -d <<<"$s"; }
b64url_encode() { base64 -w0 | tr -- '+/' '-_' | tr -d '='; }
signing_input() {  # key id, msgid, type, sender, sent_at, value file: six lines, then the value's exact bytes
  printf 'medaid-sig-v1\n%s\n%s\n%s\n%s\n%s\n' "$1" "$2" "$3" "$4" "$5"
  cat "$6"
}

# The local stack's files (in production the platform's operators give you these).
PASSWORD="$(jq -r --arg p "province-$PROVINCE" '.[$p]' "$STATE_DIR/secrets/kafka.json")"
KEY_ID="$(jq -r --arg p "$PROVINCE" 'to_entries[] | select(.value.signs_for == $p) | .key' "$STATE_DIR/secrets/signing.json")"
SEED="$(jq -r --arg k "$KEY_ID" '.[$k].seed' "$STATE_DIR/secrets/signing.json")"
OFFSET="$(cat "$STATE_DIR/clock-offset" 2>/dev/null || echo 0)"

# An Ed25519 private key for openssl: the 32-byte seed behind the fixed PKCS#8 prefix of RFC 8410.
{ printf '\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20'; b64url_decode <<<"$SEED"; } >"$work/key.der"
openssl pkey -inform DER -in "$work/key.der" -out "$work/key.pem"

kafka=(-b "$BOOTSTRAP" -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=SCRAM-SHA-512
  -X "sasl.username=province-$PROVINCE" -X "sasl.password=$PASSWORD")

# sent_at: business time = real time + the platform's offset, Asia/Shanghai, to the second.
now=$(( $(date +%s) + $(printf '%.0f' "$OFFSET") ))
SENT_AT="$(TZ=Asia/Shanghai date -d "@$now" +%Y-%m-%dT%H:%M:%S+08:00)"
MSGID="$SENDER$(TZ=Asia/Shanghai date -d "@$now" +%Y%m%d%H%M%S)$(printf '%06d' $(( (RANDOM << 15 | RANDOM) % 1000000 )))"
TYPE=registry.query-requested
printf '{"msgid":"%s","type":"%s","sender":"%s","sent_at":"%s","body":{"what":"regions","admdvs":"%s"}}' \
  "$MSGID" "$TYPE" "$SENDER" "$SENT_AT" "$ADMDVS" >"$work/value.json"

signing_input "$KEY_ID" "$MSGID" "$TYPE" "$SENDER" "$SENT_AT" "$work/value.json" >"$work/input"
openssl pkeyutl -sign -inkey "$work/key.pem" -rawin -in "$work/input" -out "$work/signature"
SIGNATURE="$(b64url_encode <"$work/signature")"

since_ms=$(( $(date +%s) * 1000 - 1000 ))  # our answer is written after this (the record's timestamp)
"$KCAT" "${kafka[@]}" -P -t ingress.registry.v1 -k "$ADMDVS" -X acks=all \
  -H medaid-sig-alg=ed25519 -H "medaid-key-id=$KEY_ID" -H "medaid-signature=$SIGNATURE" "$work/value.json"
echo "sent $MSGID at $SENT_AT"

# The platform's public keys (sender 000000), as openssl public keys: the fixed SPKI prefix of RFC 8410.
platform_key_pem() {
  jq -r --arg k "$1" '.keys[] | select(.key_id == $k and .signs_for == "000000" and .algorithm == "ed25519")
    | .public_key' "$STATE_DIR/keys/registry.json" >"$work/pub.b64"
  [[ -s "$work/pub.b64" ]] || return 1
  { printf '\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00'; b64url_decode <"$work/pub.b64"; } >"$work/pub.der"
  openssl pkey -pubin -inform DER -in "$work/pub.der" -out "$work/pub.pem"
}

# Read the notifications written since we sent until our request.result comes, each checked for the platform's
# signature. -J prints each record as JSON: headers as [name, value, ...], the value as a string.
header() {  # the value of header $1 of $record
  jq -r --arg name "$1" '.headers as $h | [range(0; $h | length; 2) | select($h[.] == $name) | $h[. + 1]][0] // ""' \
    <<<"$record"
}
deadline=$(( SECONDS + WAIT ))
while (( SECONDS < deadline )); do
  "$KCAT" "${kafka[@]}" -C -t "province.$PROVINCE.notifications.v1" -o "s@$since_ms" -e -q -J >"$work/read" || true
  jq -c --arg m "$MSGID" 'select((.payload | fromjson? | .type == "request.result" and .body.omsgid == $m))' \
    "$work/read" >"$work/answers"
  while IFS= read -r record; do
    jq -j '.payload' <<<"$record" >"$work/answer.json"
    [[ "$(header medaid-sig-alg)" == ed25519 ]] || continue
    key_id="$(header medaid-key-id)"
    platform_key_pem "$key_id" || continue
    header medaid-signature | b64url_decode >"$work/answer.sig"
    jq -j '.msgid, "\n", .type, "\n", .sender, "\n", .sent_at' "$work/answer.json" >"$work/fields"
    mapfile -t f <"$work/fields"
    signing_input "$key_id" "${f[0]}" "${f[1]}" "${f[2]}" "${f[3]}" "$work/answer.json" >"$work/answer.input"
    if openssl pkeyutl -verify -pubin -inkey "$work/pub.pem" -rawin -in "$work/answer.input" \
      -sigfile "$work/answer.sig" >/dev/null && [[ "${f[2]}" == 000000 ]]; then
      status="$(jq -r '.body.status' "$work/answer.json")"
      code="$(jq -r '.body.reason_code // ""' "$work/answer.json")"
      echo "answer $status${code:+ $code} (signature verified)"
      [[ "$status" == completed ]] && exit 0 || exit 2
    fi
    echo "answer to $MSGID not signed by the platform: ignored" >&2
  done <"$work/answers"
  sleep 1
done
echo "no answer to $MSGID within $WAIT s" >&2
exit 1
