#!/bin/sh
# One-shot init (docker-compose service "certs"): creates the CurveZMQ
# certificates that are missing in the shared /certs volume.
#   /certs/routing.cert, /certs/routing.cert_secret   the platform's key pair
#   /certs/<ID>.cert, /certs/<ID>.cert_secret         each simulated partner
#   /certs/partners/<ID>.cert                         the public certs routing accepts
# Partner ids come from ASP_INIT_PARTNERS (space separated). Existing
# certificates are kept, so partners keep their identity across restarts.
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
echo "certificates ready in $dir"
