#!/usr/bin/env bash
# The deploy side, offline: kustomize builds k8s/ (the base) and each overlay
# (k8s/overlays/{openshift,existing-grafana,external-influxdb}), and tests/deploy/check.mjs
# validates every object (kubernetes-models + tsc for unknown fields), the containers'
# security settings, what the deployment and each overlay promise, the dashboards
# (@grafana/schema via tsc), the provisioning YAML and the alert rules. The backfill Jobs
# make backfill renders are checked with the base; make backfill's argument checks (GNU and
# BSD date) and make secrets' refusals and generation are run. Then the checker is shown to
# catch what it claims to: a misspelt field, a root container, a bad enum value.
. "$(dirname "$0")/../lib/common.sh"
D=$ROOT/tests/deploy
# installed as package-lock.json pins them (a tree installed for an older pin is installed again)
want=$(cd "$D" && node -p 'require("./package.json").dependencies["@grafana/schema"]' 2>/dev/null)
have=$(cd "$D" && node -p 'require("@grafana/schema/package.json").version' 2>/dev/null)
if [ ! -d "$D/node_modules/kubernetes-models" ] || [ "$want" != "$have" ]; then
    (cd "$D" && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 || { cat "$T/npm.log"; not_ok "npm ci in tests/deploy"; finish; }
fi
# the base (k8s/ = k8s/base) with the backfill Jobs make backfill renders, and each overlay
for profile in base openshift existing-grafana external-influxdb; do
    dir=$ROOT/k8s/overlays/$profile
    [ "$profile" = base ] && dir=$ROOT/k8s
    if kubectl kustomize "$dir" >"$T/built-$profile.yaml" 2>"$T/kustomize.err"; then
        ok "kubectl kustomize ${dir#"$ROOT"/} builds offline"
    else
        not_ok "kubectl kustomize ${dir#"$ROOT"/}: $(head -1 "$T/kustomize.err")"; continue
    fi
    if [ "$profile" = base ]; then
        cp "$T/built-base.yaml" "$T/built.yaml"
        for args in "prom-metrics -30d now 1" "twitter-stats 2026-01-01 2026-02-01T00:00:00Z 4"; do
            # shellcheck disable=SC2086
            { echo "---"; "$ROOT/k8s/backfill/render.sh" $args 2>/dev/null; } >>"$T/built-base.yaml" ||
                not_ok "k8s/backfill/render.sh $args renders"
        done
    fi
    if [ "$profile" = openshift ]; then
        { echo "---"; OPENSHIFT=1 "$ROOT/k8s/backfill/render.sh" prom-metrics -1d 2>/dev/null; } >>"$T/built-$profile.yaml"
    fi
    dash=1; [ "$profile" = base ] || dash=0   # the same dashboard files: checked with the base
    (cd "$D" && DASHBOARDS=$dash node check.mjs "$T/built-$profile.yaml" "$profile") | sed "s/^\(not \)\{0,1\}ok - deploy: /&[$profile] /"
    [ "${PIPESTATUS[0]}" = 0 ] || not_ok "check.mjs [$profile] reported failures (see above)"
done

# make backfill: the image named in k8s/base/kustomization.yaml, FROM/TO checked, TO defaults to now
img=$(awk '/- name: cronflux$/ {m = 1} m && /newName:/ {n = $2} m && /newTag:/ {gsub(/"/, "", $2); print n ":" $2; exit}' "$ROOT/k8s/base/kustomization.yaml")
check_eq "k8s/base/kustomization.yaml names the image of the VERSION file (make image-tag)" "${img##*:}" "$(cat "$ROOT/VERSION")"
out=$(cd "$ROOT" && make -s backfill JOB=prom-metrics FROM=-2h 2>"$T/bf.err")
check_eq "make backfill: the image of k8s/base/kustomization.yaml" "$(grep -m1 'image:' <<<"$out" | awk '{print $2}')" "$img"
grep -q '"--to", "20[0-9][0-9]-' <<<"$out" && ok "make backfill: TO defaults to now (an absolute time)" || not_ok "make backfill: TO defaults to now"
out=$(cd "$ROOT" && IMAGE=reg.example/cronflux:9.9.9 make -s backfill JOB=prom-metrics FROM=-2h 2>/dev/null)
check_eq "make backfill: IMAGE= overrides it" "$(grep -m1 'image:' <<<"$out" | awk '{print $2}')" "reg.example/cronflux:9.9.9"
grep -q 'emptyDir' <<<"$out" && ! grep -q 'claimName' <<<"$out" && grep -q 'cronflux", "flush"' <<<"$out" &&
    ok "make backfill: its own state (emptyDir), not the CronJob's PVC, and it ends with cronflux flush" ||
    not_ok "make backfill: its own state (emptyDir), not the CronJob's PVC, and it ends with cronflux flush"
while IFS='|' read -r args want why; do
    # shellcheck disable=SC2086
    "$ROOT/k8s/backfill/render.sh" $args >/dev/null 2>"$T/bf.err"
    rc=$?
    [ "$rc" = "$want" ] && grep -q "$why" "$T/bf.err" && ok "render.sh $args: exit $want ($why)" ||
        not_ok "render.sh $args: exit $rc, want $want with '$why' ($(cat "$T/bf.err"))"
done <<'CASES'
prom-metrics 2026-13-01|64|not a date and time
prom-metrics 2026-10-02 2026-10-01|64|must be before TO
prom-metrics yesterday|64|give RFC 3339 UTC
prom-metrics -3x|64|give RFC 3339 UTC
cluster-metrics -1d|64|no history to backfill
prom-metrics -1d now 0|64|SLICES must be a number
twitter-stats 1700000000 2023-11-20T00:00:00Z|0|2023-11-14T22:13:20Z
CASES
# BSD date (macOS) has no -d: a date that fails on -d and answers -r must do
mkdir -p "$T/bsd"
cat >"$T/bsd/date" <<'BSD'
#!/bin/sh
for a in "$@"; do case "$a" in -d) exit 1 ;; esac; done
if [ "$2" = -r ]; then s=$3; shift 3; exec /bin/date -u -d "@$s" "$@"; fi
exec /bin/date "$@"
BSD
chmod +x "$T/bsd/date"
out=$(PATH="$T/bsd:$PATH" "$ROOT/k8s/backfill/render.sh" prom-metrics -1d 2>&1 >/dev/null)
grep -q 'from 20[0-9-]*T[0-9:]*Z to 20' <<<"$out" && ok "render.sh works with BSD date (date -r)" || not_ok "render.sh with BSD date: $out"

# make secrets: refuses empty, default and short values, the same user twice; generates
S=$T/secrets
mkdir -p "$S" && cp "$ROOT"/secrets-templates/*.template "$ROOT/secrets-templates/create.sh" "$S/"
sec() { "$S/create.sh" --dry-run "$@" >"$T/sec.out" 2>"$T/sec.err"; echo $?; }
check_eq "make secrets with no filled copy: exit 64" "$(sec)" 64
printf 'GF_SECURITY_ADMIN_USER=boss\nGF_SECURITY_ADMIN_PASSWORD=\n' >"$S/grafana-creds.env"
check_eq "an empty Grafana admin password is refused (exit 65)" "$(sec)" 65
grep -q 'GF_SECURITY_ADMIN_PASSWORD is empty' "$T/sec.err" && ok "... naming the key" || not_ok "... naming the key: $(cat "$T/sec.err")"
for bad in admin Password root changeme short-but-9; do
    printf 'GF_SECURITY_ADMIN_USER=boss\nGF_SECURITY_ADMIN_PASSWORD=%s\n' "$bad" >"$S/grafana-creds.env"
    check_eq "the Grafana admin password '$bad' is refused" "$(sec)" 65
done
printf 'INFLUXDB_DATABASE=cronflux\nINFLUXDB_USERNAME=same\nINFLUXDB_PASSWORD=0123456789abcdefXYZ\n' >"$S/influxdb-creds.env"
printf 'INFLUXDB_READ_USER=same\nINFLUXDB_READ_USER_PASSWORD=abcdefXYZ0123456789\n' >"$S/grafana-influxdb.env"
rm -f "$S/grafana-creds.env"
check_eq "the jobs' writer and Grafana's reader as one user is refused" "$(sec)" 65
rm -f "$S"/*.env
check_eq "--generate: every password made, the Secrets printed" "$(sec --generate)" 0
check_eq "--generate: influxdb-admin, influxdb-creds, grafana-influxdb, grafana-creds (no twitter-creds: from X)" \
    "$(grep '^  name:' "$T/sec.out" | awk '{print $2}' | tr '\n' ' ')" "influxdb-admin influxdb-creds grafana-influxdb grafana-creds "
pw=$(sed -n 's/^GF_SECURITY_ADMIN_PASSWORD=//p' "$S/grafana-creds.env")
[ "${#pw}" -ge 32 ] && [ "$(stat -c %a "$S/grafana-creds.env")" = 600 ] && ok "--generate: 32 random characters, kept in the filled copy (mode 600)" ||
    not_ok "--generate: 32 random characters, kept in the filled copy (mode 600)"
check_eq "the generated copies pass the check on a second run" "$(sec --existing-grafana monitoring)" 0
grep -q 'grafana_datasource: "1"' "$T/sec.out" && ok "--existing-grafana: the datasource Secret for the chart's sidecar" ||
    not_ok "--existing-grafana: the datasource Secret for the chart's sidecar"
check "secrets-templates: *.key, *.crt, *.pem and filled *.env are git-ignored" \
    bash -c "cd '$ROOT' && git check-ignore -q x.key && git check-ignore -q k8s/x.crt && git check-ignore -q a/b.pem && git check-ignore -q secrets-templates/grafana-creds.env"

# The checker must catch a misspelt field (validate() alone would let it through) ...
sed '0,/restartPolicy: Never/s//restartPolicyy: Never/' "$T/built.yaml" >"$T/typo.yaml"
if (cd "$D" && DASHBOARDS=0 node check.mjs "$T/typo.yaml") >"$T/typo.out" 2>&1; then
    not_ok "a misspelt field (restartPolicyy) is caught"
else
    grep -q "restartPolicyy" "$T/typo.out" && ok "a misspelt field (restartPolicyy) is caught by tsc" || not_ok "typo caught, but not named"
fi
# ... a container that may run as root ...
sed 's/runAsNonRoot: true/runAsNonRoot: false/' "$T/built.yaml" >"$T/root.yaml"
if (cd "$D" && DASHBOARDS=0 node check.mjs "$T/root.yaml") | grep -q "^not ok.*runs as non-root"; then
    ok "a container allowed to run as root is caught"
else
    not_ok "a container allowed to run as root is caught"
fi
# ... and a wrong enum value (validate() checks enums).
sed '0,/concurrencyPolicy: Forbid/s//concurrencyPolicy: Sometimes/' "$T/built.yaml" >"$T/enum.yaml"
if (cd "$D" && DASHBOARDS=0 node check.mjs "$T/enum.yaml") | grep -q "^not ok.*CronJob"; then
    ok "a bad enum value (concurrencyPolicy: Sometimes) is caught"
else
    not_ok "a bad enum value (concurrencyPolicy: Sometimes) is caught"
fi
finish
