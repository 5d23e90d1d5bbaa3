#!/bin/sh
# One-shot init (docker-compose service "certs"): creates the CurveZMQ
# certificates that are missing in the shared /certs volume.
#   /certs/routing.cert, /certs/routing.cert_secret   the platform's key pair
#   /certs/<ID>.cert, /certs/<ID>.cert_secret         each simulated partner
#   /certs/partners/<ID>.cert                         the public certs routing accepts
#   /bus/keys/<svc>/<svc>.cert(_secret)               each service's bus key pair
#                                                     (one volume per service)
#   /bus/trusted/<svc>.cert                           the public certs every bus
#                                                     inbox accepts (ASP_BUS_CERT_DIR)
# Partner ids come from ASP_INIT_PARTNERS (space separated). Existing
# certificates are kept, so partners and services keep their identity
# across restarts.
set -eu
dir=${ASP_CERT_DIR:-/certs}
mkdir -p "$dir/partners"
if [ ! -f "$dir/routing.cert_secret" ]; then
    asp-certgen --name routing --out "$dir"
fi
for id in ${ASP_INIT_PARTNERS:-P001 P002}; do
    if [ ! -f "$dir/$id.cert_secret" ]; then
        asp-certgen --partner-id "$id" --out "$dir"
    fi
    cp "$dir/$id.cert" "$dir/partners/$id.cert"
done
# The bus (common/asp_curve.h): service names as in common/asp_events.c.
bus=${ASP_INIT_BUS_DIR:-/bus}
mkdir -p "$bus/trusted"
for name in intake routing sla notification feedback; do
    mkdir -p "$bus/keys/$name"
    if [ ! -f "$bus/keys/$name/$name.cert_secret" ]; then
        asp-certgen --name "$name" --out "$bus/keys/$name"
    fi
    cp "$bus/keys/$name/$name.cert" "$bus/trusted/$name.cert"
done
echo "certificates ready in $dir and $bus"
