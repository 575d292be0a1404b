#!/usr/bin/env bash
# The deploy side, offline: kustomize builds k8s/, and tests/deploy/check.mjs validates every
# object (kubernetes-models + tsc for unknown fields), the containers' security settings, the
# dashboards (@grafana/schema via tsc) and the provisioning YAML. Then the checker is shown
# to catch what it claims to: a misspelt field, a root container, a dashboard placeholder.
. "$(dirname "$0")/../lib/common.sh"
D=$ROOT/tests/deploy
if [ ! -d "$D/node_modules/kubernetes-models" ] || [ ! -d "$D/node_modules/@grafana/schema" ]; then
    (cd "$D" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 || { cat "$T/npm.log"; not_ok "npm ci in tests/deploy"; finish; }
fi
if kubectl kustomize "$ROOT/k8s" >"$T/built.yaml" 2>"$T/kustomize.err"; then
    ok "kubectl kustomize k8s/ builds offline"
else
    not_ok "kubectl kustomize k8s/: $(head -1 "$T/kustomize.err")"; finish
fi
(cd "$D" && node check.mjs "$T/built.yaml") || not_ok "check.mjs reported failures (see above)"

# The checker must catch a misspelt field (validate() alone would let it through) ...
sed '0,/restartPolicy: Never/s//restartPolicyy: Never/' "$T/built.yaml" >"$T/typo.yaml"
if (cd "$D" && node check.mjs "$T/typo.yaml") >"$T/typo.out" 2>&1; then
    not_ok "a misspelt field (restartPolicyy) is caught"
else
    grep -q "restartPolicyy" "$T/typo.out" && ok "a misspelt field (restartPolicyy) is caught by tsc" || not_ok "typo caught, but not named"
fi
# ... a container that may run as root ...
sed 's/runAsNonRoot: true/runAsNonRoot: false/' "$T/built.yaml" >"$T/root.yaml"
if (cd "$D" && node check.mjs "$T/root.yaml") | grep -q "^not ok.*runs as non-root"; then
    ok "a container allowed to run as root is caught"
else
    not_ok "a container allowed to run as root is caught"
fi
# ... and a wrong enum value (validate() checks enums).
sed '0,/concurrencyPolicy: Forbid/s//concurrencyPolicy: Sometimes/' "$T/built.yaml" >"$T/enum.yaml"
if (cd "$D" && node check.mjs "$T/enum.yaml") | grep -q "^not ok.*CronJob"; then
    ok "a bad enum value (concurrencyPolicy: Sometimes) is caught"
else
    not_ok "a bad enum value (concurrencyPolicy: Sometimes) is caught"
fi
finish
