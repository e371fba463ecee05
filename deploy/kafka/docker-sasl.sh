#!/usr/bin/env bash
# Entry point of the apache/kafka image with the platform's security (docker-compose.yml, testcontainers):
# SASL/SCRAM-SHA-512 for clients, PLAIN for the controller listener, StandardAuthorizer, `admin` the super user.
# The passwords come from the secrets file mounted at $MEDAID_SECRETS_FILE (JSON, written on the host by
# `python -m tools.acls secrets --local`); the ACLs and other principals are applied afterwards by tools.acls.
set -euo pipefail
secret() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" "$MEDAID_SECRETS_FILE"; }
ADMIN_PW="$(secret admin)"; CONTROLLER_PW="$(secret controller)"
[[ -n "$ADMIN_PW" && -n "$CONTROLLER_PW" ]] || { echo "no admin/controller password in $MEDAID_SECRETS_FILE" >&2; exit 1; }
export KAFKA_SASL_ENABLED_MECHANISMS=SCRAM-SHA-512
export KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL=SCRAM-SHA-512
export KAFKA_SASL_MECHANISM_CONTROLLER_PROTOCOL=PLAIN
export KAFKA_LISTENER_NAME_CONTROLLER_SASL_ENABLED_MECHANISMS=PLAIN
export KAFKA_LISTENER_NAME_CONTROLLER_PLAIN_SASL_JAAS_CONFIG="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"controller\" password=\"$CONTROLLER_PW\" user_controller=\"$CONTROLLER_PW\";"
JAAS="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$ADMIN_PW\";"
for listener in ${MEDAID_SASL_LISTENERS:-SASL_PLAINTEXT}; do
  # the image maps KAFKA_A_B to a.b, "__" to "_" and "___" to "-" (and lower-cases the name)
  export "KAFKA_LISTENER_NAME_${listener//_/__}_SCRAM___SHA___512_SASL_JAAS_CONFIG=$JAAS"
done
export KAFKA_AUTHORIZER_CLASS_NAME=org.apache.kafka.metadata.authorizer.StandardAuthorizer
export KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND=false
export KAFKA_SUPER_USERS="User:admin;User:controller"
# The image's own start (its `run`), with one step more: new storage is formatted with the super user's SCRAM
# credentials (KRaft keeps them in the metadata log), before `launch` finds it formatted.
. /etc/kafka/docker/bash-config
. /etc/kafka/docker/configureDefaults
/etc/kafka/docker/configure
result=$(/opt/kafka/bin/kafka-storage.sh format --cluster-id="$CLUSTER_ID" -c /etc/kafka/kafka.properties \
  --add-scram "SCRAM-SHA-512=[name=admin,password=$ADMIN_PW]" 2>&1) || echo "$result" | grep -qi "already formatted" \
  || { echo "$result" >&2; exit 1; }
exec /etc/kafka/docker/launch
