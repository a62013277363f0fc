#!/usr/bin/env bash
# Drives every servicediscovery operation of the aws CLI against a Trellis
# server, as a user's script would. Usage: cloudmap-cli.sh <endpoint URL>.
# Region, credentials and AWS_DISABLE_HOST_PREFIX_INJECTION=true come from
# the environment (see docs/cloud-map.md). Prints one line per step and
# exits non-zero at the first unexpected answer.
set -euo pipefail
EP="$1"
sd() { aws servicediscovery --endpoint-url "$EP" --output text "$@"; }
step() { echo "-- $*"; }
want() { # want <description> <expected> <actual>
  if [ "$2" != "$3" ]; then echo "FAIL: $1: got [$3], want [$2]" >&2; exit 1; fi
}
fails_with() { # fails_with <error code> <command...>
  local code=$1; shift
  local out
  if out=$("$@" 2>&1); then echo "FAIL: [$*] succeeded, want $code" >&2; exit 1; fi
  case "$out" in *"($code)"*) ;; *) echo "FAIL: [$*]: want $code, got: $out" >&2; exit 1 ;; esac
}
target() { sd get-operation --operation-id "$1" --query "Operation.Targets.$2"; }

step create namespaces
op=$(sd create-http-namespace --name apps.local --tags Key=env,Value=dev --query OperationId)
NS=$(target "$op" NAMESPACE)
op=$(sd create-private-dns-namespace --name svc.internal --vpc vpc-1 --query OperationId)
PRIV=$(target "$op" NAMESPACE)
op=$(sd create-public-dns-namespace --name example.com --properties 'DnsProperties={SOA={TTL=60}}' --query OperationId)
PUB=$(target "$op" NAMESPACE)
want "namespaces" 3 "$(sd list-namespaces --query 'length(Namespaces)')"
want "public SOA TTL" 60 "$(sd get-namespace --id "$PUB" --query Namespace.Properties.DnsProperties.SOA.TTL)"

step update namespaces
sd update-http-namespace --id "$NS" --namespace Description=apps --query OperationId >/dev/null
want "http description" apps "$(sd get-namespace --id "$NS" --query Namespace.Description)"
sd update-private-dns-namespace --id "$PRIV" --namespace 'Properties={DnsProperties={SOA={TTL=30}}}' >/dev/null
want "private SOA TTL" 30 "$(sd get-namespace --id "$PRIV" --query Namespace.Properties.DnsProperties.SOA.TTL)"
sd update-public-dns-namespace --id "$PUB" --namespace 'Description=public,Properties={DnsProperties={SOA={TTL=120}}}' >/dev/null
want "public SOA TTL" 120 "$(sd get-namespace --id "$PUB" --query Namespace.Properties.DnsProperties.SOA.TTL)"
fails_with InvalidInput sd update-http-namespace --id "$PRIV" --namespace Description=x

step services
fails_with InvalidInput sd create-service --name bad --namespace-id "$NS" --dns-config 'DnsRecords=[{Type=A,TTL=60}]'
SVC=$(sd create-service --name color --namespace-id "$NS" --health-check-custom-config '{}' --tags Key=team,Value=a --query Service.Id)
SVCARN=$(sd get-service --id "$SVC" --query Service.Arn)
want "services in namespace" color "$(sd list-services --filters Name=NAMESPACE_ID,Values="$NS",Condition=EQ --query 'Services[0].Name')"
DB=$(sd create-service --name db --namespace-id "$PRIV" --dns-config 'DnsRecords=[{Type=A,TTL=60}]' --query Service.Id)
op=$(sd update-service --id "$DB" --service 'Description=database,DnsConfig={DnsRecords=[{Type=A,TTL=10}]}' --query OperationId)
want "update-service operation" UPDATE_SERVICE "$(sd get-operation --operation-id "$op" --query Operation.Type)"
want "updated record TTL" 10 "$(sd get-service --id "$DB" --query 'Service.DnsConfig.DnsRecords[0].TTL')"

step service attributes
sd update-service-attributes --service-id "$SVC" --attributes team=a,tier=web
want "service attribute" web "$(sd get-service-attributes --service-id "$SVC" --query ServiceAttributes.Attributes.tier)"
sd delete-service-attributes --service-id "$SVC" --attributes tier
want "deleted attribute" None "$(sd get-service-attributes --service-id "$SVC" --query ServiceAttributes.Attributes.tier)"

step tags
want "tags from create" a "$(sd list-tags-for-resource --resource-arn "$SVCARN" --query "Tags[?Key=='team'].Value | [0]")"
sd tag-resource --resource-arn "$SVCARN" --tags Key=owner,Value=me
sd untag-resource --resource-arn "$SVCARN" --tag-keys team
want "tags after tag/untag" owner "$(sd list-tags-for-resource --resource-arn "$SVCARN" --query 'Tags[*].Key')"
fails_with ResourceNotFoundException sd list-tags-for-resource --resource-arn "${SVCARN%/*}/srv-nope"

step instances
sd register-instance --service-id "$SVC" --instance-id blue-1 --attributes AWS_INSTANCE_IPV4=10.0.0.1,AWS_INSTANCE_PORT=8080,version=blue >/dev/null
sd register-instance --service-id "$SVC" --instance-id green-1 --attributes AWS_INSTANCE_IPV4=10.0.0.2,AWS_INSTANCE_PORT=8080,version=green >/dev/null
want "instances" 2 "$(sd list-instances --service-id "$SVC" --query 'length(Instances)')"
want "instance ip" 10.0.0.2 "$(sd get-instance --service-id "$SVC" --instance-id green-1 --query Instance.Attributes.AWS_INSTANCE_IPV4)"
REV=$(sd discover-instances-revision --namespace-name apps.local --service-name color --query InstancesRevision)
sd update-instance-custom-health-status --service-id "$SVC" --instance-id green-1 --status UNHEALTHY
want "health" UNHEALTHY "$(sd get-instances-health-status --service-id "$SVC" --query Status.\"green-1\")"
want "revision after a health update" "$REV" "$(sd discover-instances-revision --namespace-name apps.local --service-name color --query InstancesRevision)"
want "healthy instances" blue-1 "$(sd discover-instances --namespace-name apps.local --service-name color --query 'Instances[*].InstanceId')"

step operations
want "register operations" 2 "$(sd list-operations --filters Name=TYPE,Values=REGISTER_INSTANCE,Condition=EQ --query 'length(Operations)')"
fails_with InvalidInput sd list-operations --filters Name=NAMESPACE_ID,Values=a,b,Condition=IN

step clean up
sd deregister-instance --service-id "$SVC" --instance-id blue-1 >/dev/null
sd deregister-instance --service-id "$SVC" --instance-id green-1 >/dev/null
if [ "$(sd discover-instances-revision --namespace-name apps.local --service-name color --query InstancesRevision)" = "$REV" ]; then
  echo "FAIL: revision unchanged after deregistering" >&2; exit 1
fi
sd delete-service --id "$SVC"
sd delete-service --id "$DB"
for id in "$NS" "$PRIV" "$PUB"; do sd delete-namespace --id "$id" >/dev/null; done
want "namespaces left" 0 "$(sd list-namespaces --query 'length(Namespaces)')"
echo "OK: all 30 servicediscovery operations"
