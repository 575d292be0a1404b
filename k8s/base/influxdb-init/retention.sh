# Run once by the official InfluxDB 1.x image on its first start (it sources every *.sh in
# /docker-entrypoint-initdb.d after creating INFLUXDB_DB and the users, with the server
# listening on 127.0.0.1:$INFLUXDB_INIT_PORT). Makes the DEFAULT retention policy "cronflux"
# of the database, with the duration in cronflux-settings INFLUXDB_RETENTION (the container
# has it as CRONFLUX_RETENTION), so the jobs
# (which name no retention policy) and the dashboards (which name none either) meet in it.
# Also run by tests/integration/test_dashboards.sh against a real influxd.
rp_duration=${CRONFLUX_RETENTION:-90d}
case "$rp_duration" in
    INF | [0-9]*[mhdw]) ;;
    *) echo "retention.sh: INFLUXDB_RETENTION (settings) $rp_duration is not an InfluxQL duration (90d, 52w, INF)" >&2; exit 78 ;;
esac
rp_db=${INFLUXDB_DB:?INFLUXDB_DB}
# (sourced by the image's init script: no "set --", no exit but for a bad setting)
rp_influx() {
    if [ -n "${INFLUXDB_ADMIN_USER:-}" ]; then
        influx -host 127.0.0.1 -port "${INFLUXDB_INIT_PORT:-8086}" -username "$INFLUXDB_ADMIN_USER" \
            -password "$INFLUXDB_ADMIN_PASSWORD" -execute "$1"
    else
        influx -host 127.0.0.1 -port "${INFLUXDB_INIT_PORT:-8086}" -execute "$1"
    fi
}
rp_influx "CREATE RETENTION POLICY \"cronflux\" ON \"$rp_db\" DURATION $rp_duration REPLICATION 1 DEFAULT" ||
    rp_influx "ALTER RETENTION POLICY \"cronflux\" ON \"$rp_db\" DURATION $rp_duration DEFAULT"
echo "retention.sh: DEFAULT retention policy cronflux on $rp_db: $rp_duration"
