#!/usr/bin/env bash
# Creates (or updates) the Secrets from the filled copies of the templates in this folder:
#   secrets-templates/NAME.env  ->  Secret NAME in the namespace (default cronflux)
# after checking every value: none empty; no password that is a default (admin, root,
# password, changeme, ...), equal to its user name, or shorter than 16 characters; the three
# InfluxDB users (admin, jobs' writer, Grafana's reader) distinct.
#
#   secrets-templates/create.sh [--generate] [--dry-run] [--namespace NS] [--only NAME,...]
#
#   --generate   first copy each missing NAME.env from its template (except twitter-creds,
#                whose values come from the X developer portal), and fill every empty
#                *PASSWORD value with a random one (32 characters), written back to NAME.env
#                (mode 600; git ignores *.env) so you keep it
#   --dry-run    check and print the Secrets as YAML; apply nothing
#   --only       only these Secrets (e.g. --only twitter-creds after rotating X credentials)
#   --existing-grafana NS   (overlay existing-grafana) also the Secret cronflux-datasource,
#                labelled grafana_datasource: "1", in your Grafana's namespace NS: the
#                datasource (URL $INFLUXDB_URL, default http://influxdb.cronflux.svc:8086;
#                the read-only user of grafana-influxdb.env) for the chart's sidecar
# Secrets without a filled copy are skipped with a note (an overlay may not need them:
# existing-grafana has no grafana-creds, external-influxdb no influxdb-admin).
# Exit codes: 0 done, 64 usage, 65 a value refused (nothing applied), 69 kubectl failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ns=cronflux
generate=0
dry=0
only=
grafana_ns=
while [ $# -gt 0 ]; do
    case "$1" in
        --generate) generate=1 ;;
        --dry-run) dry=1 ;;
        --namespace) ns=${2:?--namespace NS}; shift ;;
        --only) only=${2:?--only NAME,...}; shift ;;
        --existing-grafana) grafana_ns=${2:?--existing-grafana NAMESPACE}; shift ;;
        -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "create.sh: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
    shift
done
NAMES="influxdb-admin influxdb-creds grafana-influxdb grafana-creds twitter-creds"
MIN=16
DEFAULTS=" admin root password changeme change-me secret cronflux influxdb grafana 123456 12345678 "

random_value() {
    # 32 characters from [A-Za-z0-9], from the kernel's random source
    # (every stage reads to its end: no SIGPIPE under pipefail)
    head -c 2048 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c1-32
}

# value KEY FILE: the value of KEY in an env file (the last one), as kubectl reads it
value() { sed -n "s/^$1=//p" "$2" | tail -1; }

fail=0
refuse() { echo "create.sh: $1" >&2; fail=1; }

selected() {
    [ -z "$only" ] && return 0
    case ",$only," in *",$1,"*) return 0 ;; esac
    return 1
}

todo=()
for name in $NAMES; do
    selected "$name" || continue
    f=$here/$name.env
    if [ ! -f "$f" ] && [ "$generate" = 1 ] && [ "$name" != twitter-creds ]; then
        (umask 077 && cp "$here/$name.env.template" "$f")
        echo "create.sh: $name.env made from its template" >&2
    fi
    if [ ! -f "$f" ]; then
        echo "create.sh: skipping Secret $name (no secrets-templates/$name.env: copy the template and fill it)" >&2
        continue
    fi
    if [ "$generate" = 1 ]; then
        for key in $(sed -n 's/^\([A-Z_]*PASSWORD\)=$/\1/p' "$f"); do
            v=$(random_value)
            sed -i.bak "s/^$key=\$/$key=$v/" "$f" && rm -f "$f.bak"
            chmod 600 "$f"
            echo "create.sh: $name: $key generated (kept in secrets-templates/$name.env)" >&2
        done
    fi
    # every key=value line: none empty; passwords strong enough
    while IFS= read -r line; do
        case "$line" in '' | '#'*) continue ;; esac
        key=${line%%=*}
        v=${line#*=}
        if [ -z "$v" ]; then
            case "$key" in
                TWITTER_USERS | TWITTER_USER) continue ;;   # empty: the token's own account
                *PASSWORD) refuse "$name: $key is empty in secrets-templates/$name.env (fill it, or use --generate)" ;;
                *) refuse "$name: $key is empty in secrets-templates/$name.env" ;;
            esac
            continue
        fi
        case "$key" in
            *PASSWORD)
                lower=$(printf '%s' "$v" | tr '[:upper:]' '[:lower:]')
                user_key=${key%_PASSWORD}
                case "$key" in
                    GF_SECURITY_ADMIN_PASSWORD) user_key=GF_SECURITY_ADMIN_USER ;;
                    INFLUXDB_PASSWORD) user_key=INFLUXDB_USERNAME ;;
                    INFLUXDB_ADMIN_PASSWORD) user_key=INFLUXDB_ADMIN_USER ;;
                esac
                if [[ "$DEFAULTS" == *" $lower "* ]]; then
                    refuse "$name: $key is a default value: choose another (or empty it and use --generate)"
                elif [ "${#v}" -lt "$MIN" ]; then
                    refuse "$name: $key is ${#v} characters: at least $MIN (or empty it and use --generate)"
                elif [ "$v" = "$(value "$user_key" "$f")" ]; then
                    refuse "$name: $key equals $user_key"
                fi
                ;;
        esac
    done <"$f"
    todo+=("$name")
done
# the three InfluxDB users must be three: the jobs never hold admin rights, Grafana never writes
admin=$( [ -f "$here/influxdb-admin.env" ] && value INFLUXDB_ADMIN_USER "$here/influxdb-admin.env" || true)
writer=$( [ -f "$here/influxdb-creds.env" ] && value INFLUXDB_USERNAME "$here/influxdb-creds.env" || true)
reader=$( [ -f "$here/grafana-influxdb.env" ] && value INFLUXDB_READ_USER "$here/grafana-influxdb.env" || true)
if [ -n "$admin" ] && { [ "$admin" = "$writer" ] || [ "$admin" = "$reader" ]; }; then
    refuse "influxdb-admin: INFLUXDB_ADMIN_USER must differ from the jobs' and Grafana's users"
fi
if [ -n "$writer" ] && [ "$writer" = "$reader" ]; then
    refuse "grafana-influxdb: INFLUXDB_READ_USER must differ from influxdb-creds INFLUXDB_USERNAME (read-only vs write-only)"
fi
[ "$fail" = 0 ] || { echo "create.sh: nothing applied" >&2; exit 65; }
[ ${#todo[@]} -gt 0 ] || { echo "create.sh: no filled copies found in secrets-templates/" >&2; exit 64; }

for name in "${todo[@]}"; do
    yaml=$(kubectl create secret generic "$name" --namespace "$ns" \
        --from-env-file="$here/$name.env" --dry-run=client -o yaml) || exit 69
    if [ "$dry" = 1 ]; then
        printf -- '---\n%s\n' "$yaml"
    else
        printf '%s\n' "$yaml" | kubectl apply -f - || exit 69
    fi
done
if [ -n "$grafana_ns" ]; then
    f=$here/grafana-influxdb.env
    [ -f "$f" ] || { echo "create.sh: --existing-grafana needs secrets-templates/grafana-influxdb.env" >&2; exit 64; }
    db=$( [ -f "$here/influxdb-creds.env" ] && value INFLUXDB_DATABASE "$here/influxdb-creds.env" || echo cronflux)
    ds=$(mktemp)
    trap 'rm -f "$ds"' EXIT
    cat >"$ds" <<DS
# made by secrets-templates/create.sh --existing-grafana: cronflux's InfluxDB, read-only
apiVersion: 1
datasources:
  - name: cronflux InfluxDB
    uid: cronflux-influxdb
    type: influxdb
    access: proxy
    url: ${INFLUXDB_URL:-http://influxdb.cronflux.svc:8086}
    user: $(value INFLUXDB_READ_USER "$f")
    editable: false
    jsonData:
      dbName: $db
      httpMode: GET
      timeInterval: 1m
    secureJsonData:
      password: $(value INFLUXDB_READ_USER_PASSWORD "$f")
DS
    yaml=$(kubectl create secret generic cronflux-datasource --namespace "$grafana_ns" \
        --from-file=cronflux-datasource.yaml="$ds" --dry-run=client -o yaml |
        kubectl label --local -f - grafana_datasource=1 -o yaml) || exit 69
    if [ "$dry" = 1 ]; then
        printf -- '---\n%s\n' "$yaml"
    else
        printf '%s\n' "$yaml" | kubectl apply -f - || exit 69
    fi
    todo+=("cronflux-datasource (namespace $grafana_ns)")
fi
echo "create.sh: ${todo[*]}: $([ "$dry" = 1 ] && echo "checked (dry run)" || echo "applied to namespace $ns")" >&2
