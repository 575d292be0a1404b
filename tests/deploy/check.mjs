// Offline checks of what `kubectl apply -k k8s/` would send and of the Grafana provisioning:
//  1. every built object passes kubernetes-models' validate() (types, enums, required fields);
//  2. every object type-checks against its TypeScript interface with tsc, which catches unknown
//     or misspelt fields (object-literal excess property checks) that validate() lets through;
//  3. every container runs non-root with a read-only root filesystem, no capabilities,
//     no privilege escalation and the RuntimeDefault seccomp profile;
//  4. dashboards: fixed uid, the provisioned datasource by uid on every panel and target, no
//     __inputs / ${DS_...}, each ConfigMap small enough for client-side apply; tsc against
//     @grafana/schema (enums widened to their values) and the panel plugins' option types;
//  5. provisioning YAML uses only keys Grafana reads.
//  6. the deployment's promises: podFailurePolicy, timeZone, run deadline, settings read last,
//     fsGroupChangePolicy, default-deny NetworkPolicy, headless Service, InfluxDB and Grafana
//     pins and settings, Secrets reaching only who needs them (least privilege); per profile
//     (base, openshift, existing-grafana, external-influxdb) what that overlay promises;
//  7. alert rules (dashboards/provisioning/alerting/*.yaml): only keys Grafana reads, each
//     condition a refId of the rule, datasources known.
// Usage: node check.mjs BUILT_YAML [PROFILE]  (from tests/deploy, after npm ci; PROFILE
// defaults to base; DASHBOARDS=0 leaves out the dashboards' checks). Prints ok/not ok lines.
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import YAML from "yaml";

const require = createRequire(import.meta.url);
const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, "../..");
let passed = 0, failed = 0;
const ok = (m) => { passed++; console.log(`ok - deploy: ${m}`); };
const notOk = (m) => { failed++; console.log(`not ok - deploy: ${m}`); };
const check = (cond, m) => (cond ? ok(m) : notOk(m));

const built = fs.readFileSync(process.argv[2], "utf8");
const profile = process.argv[3] || "base";
const docs = YAML.parseAllDocuments(built).map((d) => d.toJSON()).filter(Boolean);
check(docs.length > 0, `kustomize built ${docs.length} objects`);

// --- 1. kubernetes-models validate()
function modelPath(o) {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  return group ? `kubernetes-models/${group}/${version}/${o.kind}` : `kubernetes-models/${version}/${o.kind}`;
}
for (const o of docs) {
  const id = `${o.kind}/${o.metadata?.name}`;
  let Cls;
  try {
    Cls = require(modelPath(o))[o.kind];
  } catch (e) {
    notOk(`${id}: no schema for ${o.apiVersion} ${o.kind}`);
    continue;
  }
  try {
    new Cls(o).validate();
    ok(`${id} validates against the Kubernetes OpenAPI schema`);
  } catch (e) {
    notOk(`${id}: ${String(e.message).split("\n").slice(0, 3).join(" | ")}`);
  }
}

// --- 2 and 4. TypeScript checks
const gen = path.join(here, ".gen");
fs.rmSync(gen, { recursive: true, force: true });
fs.mkdirSync(gen);
const widen = `
// Grafana's enums widened to their values (JSON has the values, not the enum members).
type Widen<T> = T extends string ? string : T extends number ? number : T extends boolean ? boolean
  : T extends Array<infer U> ? Array<Widen<U>> : T extends object ? { [K in keyof T]: Widen<T[K]> } : T;
`;
let k8sTs = "";
docs.forEach((o, i) => {
  const p = modelPath(o);
  k8sTs += `// ${o.kind}/${o.metadata?.name}\nimport type { I${o.kind} as T${i} } from "${p}";\n`;
  k8sTs += `export const o${i}: T${i} = ${JSON.stringify(o, null, 2)};\n`;
});
fs.writeFileSync(path.join(gen, "manifests.ts"), k8sTs);

const DS_UID = "cronflux-influxdb";
const panelTypes = {
  // panel type: [module, has its own custom FieldConfig type]
  timeseries: ["timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen", true],
  stat: ["stat/panelcfg/x/StatPanelCfg_types.gen", false],
  table: ["table/panelcfg/x/TablePanelCfg_types.gen", true],
  barchart: ["barchart/panelcfg/x/BarChartPanelCfg_types.gen", true],
};
const influxQuery = `
// The InfluxQL query model of Grafana's influxdb datasource (raw query mode).
interface InfluxQuery { refId: string; datasource?: { type?: string; uid?: string }; query?: string;
  rawQuery?: boolean; resultFormat?: "time_series" | "table" | "logs"; alias?: string; hide?: boolean; }
`;
const dashDir = path.join(root, "dashboards");
const dashFiles = fs.readdirSync(dashDir).filter((f) => f.endsWith(".json"));
const cmSizes = {};
for (const cm of docs.filter((o) => o.kind === "ConfigMap" && o.metadata.name.startsWith("grafana-dashboard-"))) {
  cmSizes[cm.metadata.name] = Buffer.byteLength(JSON.stringify(cm));
}
for (const [name, size] of Object.entries(cmSizes)) {
  check(size < 262144 - 4096, `${name} is ${size} bytes: fits kubectl apply's last-applied annotation (262144)`);
}
check(dashFiles.length >= 3, `three dashboards or more (${dashFiles.join(", ")})`);
const uids = new Set();
// DASHBOARDS=0: the dashboards are the same files for every overlay: type-check them once
const withDash = process.env.DASHBOARDS !== "0";
for (const f of withDash ? dashFiles : []) {
  const text = fs.readFileSync(path.join(dashDir, f), "utf8");
  const d = JSON.parse(text);
  check(typeof d.uid === "string" && /^[a-zA-Z0-9_-]{1,40}$/.test(d.uid) && !uids.has(d.uid), `${f}: fixed, unique uid ${d.uid}`);
  uids.add(d.uid);
  check(!("__inputs" in d) && !/\$\{DS_/.test(text), `${f}: no __inputs or \${DS_...} placeholders`);
  check(d.id === undefined || d.id === null, `${f}: no numeric id (provisioning assigns it)`);
  const panels = (d.panels || []).flatMap((p) => (p.type === "row" ? p.panels || [] : [p]));
  let named = true, why = "";
  for (const p of panels) {
    if (p.datasource?.uid !== DS_UID) { named = false; why = `panel ${p.title}`; }
    for (const t of p.targets || []) {
      if (t.datasource?.uid !== DS_UID) { named = false; why = `panel ${p.title} target ${t.refId}`; }
    }
  }
  for (const v of d.templating?.list || []) {
    if (v.type === "query" && v.datasource?.uid !== DS_UID) { named = false; why = `variable ${v.name}`; }
  }
  check(named && panels.length > 0, `${f}: every panel, target and query variable names datasource ${DS_UID}${why ? " (not: " + why + ")" : ""}`);
  const ids = panels.map((p) => p.id);
  check(new Set(ids).size === ids.length, `${f}: panel ids unique`);

  const base = path.basename(f, ".json").replace(/[^a-zA-Z0-9]/g, "_");
  let ts = `import type { Dashboard, FieldConfigSource } from "@grafana/schema";\n${widen}${influxQuery}`;
  const dNoPanels = { ...d, panels: [] };
  ts += `export const dashboard: Widen<Dashboard> = ${JSON.stringify(dNoPanels, null, 2)};\n`;
  panels.forEach((p, i) => {
    const [mod, hasField] = panelTypes[p.type] || [];
    if (!mod) { notOk(`${f}: panel "${p.title}" has type ${p.type} with no schema to check`); return; }
    const { options, fieldConfig, targets, ...rest } = p;
    ts += `import type { Options as O${i}${hasField ? `, FieldConfig as F${i}` : ""} } from "@grafana/schema/dist/esm/raw/composable/${mod}.js";\n`;
    if (!hasField) ts += `type F${i} = Record<string, never>;\n`;
    ts += `export const panel${i}: Widen<NonNullable<Dashboard["panels"]>[number]> = ${JSON.stringify({ ...rest, targets: [] })};\n`;
    ts += `export const options${i}: Widen<Partial<O${i}>> = ${JSON.stringify(options || {})};\n`;
    ts += `export const fieldConfig${i}: Widen<FieldConfigSource<Partial<F${i}>>> = ${JSON.stringify(fieldConfig || { defaults: {}, overrides: [] })};\n`;
    ts += `export const targets${i}: InfluxQuery[] = ${JSON.stringify(targets || [])};\n`;
  });
  fs.writeFileSync(path.join(gen, `dashboard_${base}.ts`), ts);
}
fs.writeFileSync(path.join(gen, "tsconfig.json"), JSON.stringify({
  compilerOptions: { strict: true, noEmit: true, target: "es2020", module: "nodenext", moduleResolution: "nodenext",
    skipLibCheck: true, types: [], baseUrl: "." },
  include: ["*.ts"],
}));
try {
  execFileSync(path.join(here, "node_modules/.bin/tsc"), ["-p", gen], { stdio: "pipe", encoding: "utf8" });
  ok(`tsc: every built object matches its Kubernetes type (no unknown or misspelt fields)`);
  if (withDash) ok(`tsc: every dashboard and panel matches @grafana/schema and its panel plugin's types`);
} catch (e) {
  const out = (e.stdout || "") + (e.stderr || "");
  const lines = out.split("\n").filter((l) => l.includes("error TS"));
  const k8s = lines.filter((l) => l.startsWith("manifests.ts") || l.includes("/manifests.ts"));
  const dash = lines.filter((l) => !k8s.includes(l));
  check(k8s.length === 0, `tsc: built objects match their Kubernetes types${k8s.length ? ":\n# " + k8s.slice(0, 10).join("\n# ") : ""}`);
  check(dash.length === 0, `tsc: dashboards match @grafana/schema${dash.length ? ":\n# " + dash.slice(0, 10).join("\n# ") : ""}`);
}

const settings = docs.find((o) => o.kind === "ConfigMap" && o.metadata.name === "cronflux-settings")?.data || {};
// --- 3. container security
function podSpecs(o) {
  if (o.kind === "CronJob") return [o.spec.jobTemplate.spec.template.spec];
  if (["Deployment", "StatefulSet", "Job", "DaemonSet"].includes(o.kind)) return [o.spec.template.spec];
  if (o.kind === "Pod") return [o.spec];
  return [];
}
let workloads = 0;
for (const o of docs) {
  for (const spec of podSpecs(o)) {
    workloads++;
    const id = `${o.kind}/${o.metadata.name}`;
    const psc = spec.securityContext || {};
    for (const c of [...(spec.initContainers || []), ...spec.containers]) {
      const sc = c.securityContext || {};
      const nonRoot = (sc.runAsNonRoot ?? psc.runAsNonRoot) === true && (sc.runAsUser ?? psc.runAsUser ?? 1) !== 0;
      check(nonRoot, `${id} container ${c.name}: runs as non-root`);
      check(sc.readOnlyRootFilesystem === true, `${id} container ${c.name}: read-only root filesystem`);
      check(sc.allowPrivilegeEscalation === false, `${id} container ${c.name}: no privilege escalation`);
      check(Array.isArray(sc.capabilities?.drop) && sc.capabilities.drop.includes("ALL") && !(sc.capabilities.add || []).length,
        `${id} container ${c.name}: all capabilities dropped`);
      const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
      check(seccomp === "RuntimeDefault", `${id} container ${c.name}: seccompProfile RuntimeDefault`);
      check(/[:@]/.test(c.image) || c.image === "cronflux" || /^ghcr\.io\/cronflux\//.test(c.image),
        `${id} container ${c.name}: image pinned (${c.image})`);
      check(!/:latest$/.test(c.image), `${id} container ${c.name}: no :latest tag`);
      check(!!(c.resources?.requests && c.resources?.limits), `${id} container ${c.name}: resource requests and limits`);
      const envs = c.env || [];
      const literalSecret = envs.find((e) => /(PASSWORD|TOKEN|SECRET|_KEY)$/.test(e.name) && e.value !== undefined);
      check(!literalSecret, `${id} container ${c.name}: secrets only from Secrets${literalSecret ? " (" + literalSecret.name + ")" : ""}`);
    }
  }
}
const wantWorkloads = { base: 5, openshift: 5, "existing-grafana": 4, "external-influxdb": 4 }[profile];
check(workloads >= wantWorkloads, `${workloads} workloads checked (${profile}: at least ${wantWorkloads})`);
const cjs = docs.filter((o) => o.kind === "CronJob");
for (const cj of cjs) {
  const s = cj.spec, js = s.jobTemplate.spec;
  check(s.concurrencyPolicy === "Forbid" && s.startingDeadlineSeconds > 0 && s.successfulJobsHistoryLimit >= 0 &&
    s.failedJobsHistoryLimit >= 0 && js.backoffLimit >= 0 && js.activeDeadlineSeconds > 0,
    `CronJob/${cj.metadata.name}: Forbid, startingDeadlineSeconds, history limits, backoffLimit, activeDeadlineSeconds`);
  const vols = js.template.spec.volumes || [];
  check(vols.some((v) => v.persistentVolumeClaim), `CronJob/${cj.metadata.name}: state on a PVC`);
  const c = js.template.spec.containers[0];
  const failNow = new Set((js.podFailurePolicy?.rules || []).filter((r) => r.action === "FailJob" &&
    r.onExitCodes?.operator === "In" && r.onExitCodes.containerName === c.name).flatMap((r) => r.onExitCodes.values));
  check([64, 65, 73, 77, 78].every((v) => failNow.has(v)) && js.template.spec.restartPolicy === "Never",
    `CronJob/${cj.metadata.name}: podFailurePolicy fails the Job at once on 64, 65, 73, 77, 78 (${[...failNow].join(",")})`);
  check(typeof s.timeZone === "string" && s.timeZone.length > 0 && s.timeZone === settings.TIME_ZONE,
    `CronJob/${cj.metadata.name}: timeZone from the settings (${s.timeZone})`);
  const dl = (c.env || []).find((e) => e.name === "CRONFLUX_DEADLINE");
  const dlSecs = dl && /^(\d+)([smh])$/.test(dl.value) ? Number(RegExp.$1) * { s: 1, m: 60, h: 3600 }[RegExp.$2] : 0;
  check(dlSecs > 0 && dlSecs < js.activeDeadlineSeconds,
    `CronJob/${cj.metadata.name}: run deadline CRONFLUX_DEADLINE (${dl?.value}) below activeDeadlineSeconds (${js.activeDeadlineSeconds})`);
  const ef = c.envFrom || [];
  check(ef.length > 0 && ef[ef.length - 1].configMapRef?.name === "cronflux-settings",
    `CronJob/${cj.metadata.name}: cronflux-settings is read last (its INFLUXDB_URL wins over a Secret's)`);
}
const sched = Object.fromEntries(cjs.map((c) => [c.metadata.name, c.spec.schedule]));
check(sched["twitter-stats"] === "*/15 * * * *" && sched["cluster-metrics"] === "*/5 * * * *" && sched["prom-metrics"] === "*/5 * * * *",
  `CronJob schedules: twitter-stats every 15 min, cluster-metrics and prom-metrics every 5 (${JSON.stringify(sched)})`);
// ---- 6. the deployment's promises
const byKind = (k, n) => docs.find((o) => o.kind === k && (!n || o.metadata.name === n));
for (const o of docs) {
  for (const spec of podSpecs(o)) {
    const psc = spec.securityContext || {};
    if (psc.fsGroup !== undefined) {
      check(psc.fsGroupChangePolicy === "OnRootMismatch", `${o.kind}/${o.metadata.name}: fsGroupChangePolicy OnRootMismatch`);
    }
    if (profile === "openshift") {
      const fixed = ["runAsUser", "runAsGroup", "fsGroup"].filter((k) => psc[k] !== undefined ||
        spec.containers.some((c) => c.securityContext?.[k] !== undefined));
      check(fixed.length === 0, `${o.kind}/${o.metadata.name}: no fixed ${fixed.join(", ") || "runAsUser/runAsGroup/fsGroup"} (restricted-v2 assigns them)`);
    }
  }
}
const deny = byKind("NetworkPolicy", "default-deny");
check(deny && Object.keys(deny.spec.podSelector || {}).length === 0 && ["Ingress", "Egress"].every((t) => deny.spec.policyTypes.includes(t)) &&
  !deny.spec.ingress && !deny.spec.egress, "NetworkPolicy default-deny: every pod, ingress and egress");
const jobsEgress = byKind("NetworkPolicy", "jobs-egress");
const egressPorts = new Set((jobsEgress?.spec.egress || []).flatMap((r) => (r.ports || []).map((p) => p.port)));
const dnsOk = docs.some((o) => o.kind === "NetworkPolicy" && (o.spec.egress || []).some((r) => (r.ports || []).some((p) => p.port === 53)));
check(dnsOk && [443, 6443, 8086].every((p) => egressPorts.has(p)) && (egressPorts.has(9090) || egressPorts.has(80)),
  `NetworkPolicy: the jobs may reach DNS, HTTPS (443), the API server (443/6443), InfluxDB (8086), Prometheus (${[...egressPorts].join(",")})`);
const influx = byKind("StatefulSet", "influxdb");
const grafana = byKind("Deployment", "grafana");
const envOf = (c) => Object.fromEntries((c.env || []).map((e) => [e.name, e]));
if (profile === "external-influxdb") {
  check(!influx && !byKind("Service", "influxdb") && !docs.some((o) => o.kind === "ConfigMap" && o.metadata.name.startsWith("influxdb-init")),
    "external-influxdb: no InfluxDB of ours (StatefulSet, Service, init script)");
  check(settings.INFLUXDB_URL && !/^http:\/\/influxdb:8086/.test(settings.INFLUXDB_URL), `external-influxdb: the URL in the settings is the external one (${settings.INFLUXDB_URL})`);
} else {
  const svc = byKind("Service", influx?.spec.serviceName);
  check(svc && svc.spec.clusterIP === "None", `StatefulSet/influxdb: serviceName ${influx?.spec.serviceName} is a headless Service`);
  const c = influx.spec.template.spec.containers[0];
  const e = envOf(c);
  check(/^docker\.io\/library\/influxdb:1\.1[12]\.\d+$/.test(c.image), `InfluxDB: a current 1.x image, pinned (${c.image})`);
  check(c.startupProbe && c.startupProbe.failureThreshold * c.startupProbe.periodSeconds >= 300, "InfluxDB: a startupProbe allowing a long load (>= 5 min)");
  check(e.INFLUXDB_DATA_INDEX_VERSION?.value === "tsi1", "InfluxDB: tsi1 index");
  check(e.INFLUXDB_MONITOR_STORE_ENABLED?.value === "false", "InfluxDB: the _internal monitor store off");
  check(Number(e.INFLUXDB_DATA_MAX_VALUES_PER_TAG?.value) >= 150000, `InfluxDB: max-values-per-tag takes 150,000 pods (${e.INFLUXDB_DATA_MAX_VALUES_PER_TAG?.value})`);
  check((c.volumeMounts || []).some((m) => m.mountPath === "/docker-entrypoint-initdb.d") && e.CRONFLUX_RETENTION?.valueFrom?.configMapKeyRef?.key === "INFLUXDB_RETENTION",
    "InfluxDB: the init script (DEFAULT retention policy, duration from the settings) is mounted");
  check(e.INFLUXDB_WRITE_USER?.valueFrom?.secretKeyRef?.name === "influxdb-creds" && e.INFLUXDB_READ_USER?.valueFrom?.secretKeyRef?.name === "grafana-influxdb" &&
    e.INFLUXDB_ADMIN_PASSWORD?.valueFrom?.secretKeyRef?.name === "influxdb-admin",
    "InfluxDB: creates the admin (influxdb-admin), the jobs' write-only user (influxdb-creds), Grafana's read-only one (grafana-influxdb)");
}
if (profile === "existing-grafana") {
  check(!grafana && !byKind("Ingress"), "existing-grafana: no Grafana of ours (Deployment, Ingress)");
  const dash = docs.filter((o) => o.kind === "ConfigMap" && o.metadata.name.startsWith("grafana-dashboard-"));
  check(dash.length >= 4 && dash.every((o) => o.metadata.labels?.grafana_dashboard === "1"), `existing-grafana: ${dash.length} dashboard ConfigMaps labelled grafana_dashboard: "1"`);
  check(docs.some((o) => o.kind === "ConfigMap" && o.metadata.name.startsWith("grafana-alerting") && o.metadata.labels?.grafana_alert === "1"),
    `existing-grafana: the alert rules labelled grafana_alert: "1"`);
} else {
  const c = grafana.spec.template.spec.containers[0];
  const e = envOf(c);
  const major = Number((/:(\d+)\./.exec(c.image) || [])[1]);
  check(major >= 12 && /:\d+\.\d+\.\d+$/.test(c.image), `Grafana: 12.x or newer, pinned (${c.image})`);
  check(c.readinessProbe?.timeoutSeconds > 1 && c.livenessProbe?.timeoutSeconds >= 30 && c.livenessProbe?.failureThreshold >= 10,
    "Grafana: probe timeouts as the official chart (liveness 30 s, 10 failures)");
  check(e.GF_SECURITY_COOKIE_SECURE?.value === "true", "Grafana: cookie_secure");
  check(e.INFLUXDB_URL?.value === settings.INFLUXDB_URL && e.GRAFANA_HOST?.value === settings.GRAFANA_HOST,
    `Grafana: INFLUXDB_URL and GRAFANA_HOST are the settings' values in the pod template (a change rolls it): ${e.INFLUXDB_URL?.value}`);
  const refs = (c.env || []).map((x) => x.valueFrom?.secretKeyRef).filter(Boolean);
  check(refs.every((r) => r.name === "grafana-creds" || r.name === "grafana-influxdb" || (r.name === "influxdb-creds" && r.key === "INFLUXDB_DATABASE")),
    `Grafana: only its own and the read-only user's Secrets (${refs.map((r) => r.name + "." + r.key).join(", ")})`);
  const ing = byKind("Ingress");
  check(ing.spec.ingressClassName === settings.INGRESS_CLASS_NAME && ing.spec.ingressClassName, `Ingress: ingressClassName from the settings (${ing.spec.ingressClassName})`);
}
// least privilege: the admin Secret reaches InfluxDB only; the jobs get neither admin nor Grafana's
for (const o of docs) {
  for (const spec of podSpecs(o)) {
    const names = new Set(spec.containers.concat(spec.initContainers || []).flatMap((c) =>
      (c.env || []).map((e) => e.valueFrom?.secretKeyRef?.name).concat((c.envFrom || []).map((e) => e.secretRef?.name))).filter(Boolean));
    if (o.kind === "StatefulSet") continue;
    check(!names.has("influxdb-admin"), `${o.kind}/${o.metadata.name}: no InfluxDB admin credentials`);
    if (o.kind !== "Deployment") {
      check(!names.has("grafana-influxdb") && !names.has("grafana-creds"), `${o.kind}/${o.metadata.name}: no Grafana credentials`);
    }
  }
}

const role = docs.find((o) => o.kind === "ClusterRole");
const verbs = new Set((role?.rules || []).flatMap((r) => r.verbs));
check(role && [...verbs].every((v) => v === "get" || v === "list") &&
  role.rules.every((r) => r.resources.every((x) => x === "nodes" || x === "pods")),
  `ClusterRole: only get/list on nodes and pods (core and metrics.k8s.io)`);
const ing = docs.find((o) => o.kind === "Ingress");
if (ing) check(ing && ing.spec.tls?.[0]?.hosts?.[0] === ing.spec.rules?.[0]?.host && !/FROM-SETTINGS/.test(ing.spec.rules[0].host),
  `Ingress: TLS host equals rule host, set from cronflux-settings (${ing?.spec.rules?.[0]?.host})`);

// --- 5. provisioning YAML: only keys Grafana reads (it ignores misspelt ones silently)
const dsKeys = new Set(["name", "type", "access", "orgId", "uid", "url", "user", "database", "basicAuth", "basicAuthUser",
  "withCredentials", "isDefault", "jsonData", "secureJsonData", "version", "editable"]);
const influxJson = new Set(["dbName", "httpMode", "timeInterval", "tlsSkipVerify", "tlsAuth", "tlsAuthWithCACert",
  "version", "organization", "defaultBucket", "maxSeries", "httpHeaderName1"]);
const ds = YAML.parse(fs.readFileSync(path.join(dashDir, "provisioning/datasources/influxdb.yaml"), "utf8"));
check(ds.apiVersion === 1 && Object.keys(ds).every((k) => ["apiVersion", "datasources", "deleteDatasources", "prune"].includes(k)),
  "datasource provisioning: top-level keys");
for (const d of ds.datasources) {
  const bad = Object.keys(d).filter((k) => !dsKeys.has(k));
  check(bad.length === 0, `datasource ${d.name}: known keys only${bad.length ? " (unknown: " + bad + ")" : ""}`);
  const badJ = Object.keys(d.jsonData || {}).filter((k) => !influxJson.has(k));
  check(badJ.length === 0, `datasource ${d.name}: jsonData keys known to the influxdb plugin${badJ.length ? " (unknown: " + badJ + ")" : ""}`);
  check(d.uid === DS_UID, `datasource ${d.name}: fixed uid ${DS_UID}`);
  check(typeof d.secureJsonData?.password === "string" && /^\$\{?[A-Z_]+\}?$/.test(d.secureJsonData.password) && !("password" in d),
    `datasource ${d.name}: password only in secureJsonData, from an environment variable`);
}
const prov = YAML.parse(fs.readFileSync(path.join(dashDir, "provisioning/dashboards/cronflux.yaml"), "utf8"));
const provKeys = new Set(["name", "orgId", "folder", "folderUid", "type", "disableDeletion", "updateIntervalSeconds",
  "allowUiUpdates", "options"]);
for (const p of prov.providers) {
  const bad = Object.keys(p).filter((k) => !provKeys.has(k));
  const badO = Object.keys(p.options || {}).filter((k) => !["path", "foldersFromFilesStructure"].includes(k));
  check(bad.length === 0 && badO.length === 0, `dashboard provider ${p.name}: known keys only${bad.concat(badO).length ? " (unknown: " + bad.concat(badO) + ")" : ""}`);
  const graf = docs.find((o) => o.kind === "Deployment" && o.metadata.name === "grafana");
  if (!graf) continue;
  const mounts = graf.spec.template.spec.containers[0].volumeMounts.map((m) => m.mountPath);
  check(mounts.includes(p.options.path), `dashboard provider ${p.name}: path ${p.options.path} is mounted in Grafana`);
  check(mounts.includes("/etc/grafana/provisioning/alerting"), "the alert rules are mounted in Grafana's provisioning/alerting");
}

// --- 7. alert rules: the keys Grafana's file provisioning reads (pkg/services/provisioning/alerting)
const alertDir = path.join(dashDir, "provisioning/alerting");
const groupKeys = new Set(["orgId", "name", "folder", "interval", "rules"]);
const ruleKeys = new Set(["uid", "title", "condition", "data", "dashboardUid", "panelId", "noDataState", "execErrState", "for",
  "keepFiringFor", "annotations", "labels", "isPaused", "notification_settings", "record", "missingSeriesEvalsToResolve"]);
const dataKeys = new Set(["refId", "queryType", "relativeTimeRange", "datasourceUid", "model"]);
const exprTypes = new Set(["math", "reduce", "resample", "classic_conditions", "threshold", "sql"]);
const ruleUids = new Set();
for (const f of fs.readdirSync(alertDir).filter((x) => /\.ya?ml$/.test(x))) {
  const a = YAML.parse(fs.readFileSync(path.join(alertDir, f), "utf8"));
  check(a.apiVersion === 1 && Object.keys(a).every((k) => ["apiVersion", "groups", "deleteRules", "contactPoints", "policies",
    "templates", "muteTimes", "deleteContactPoints", "deletePolicies", "deleteTemplates", "deleteMuteTimes"].includes(k)),
    `alerting/${f}: apiVersion 1, known top-level keys`);
  for (const g of a.groups || []) {
    const badG = Object.keys(g).filter((k) => !groupKeys.has(k));
    check(badG.length === 0 && g.name && g.folder && /^\d+[smh]$/.test(g.interval), `alerting/${f} group ${g.name}: known keys, name, folder, interval${badG.length ? " (unknown: " + badG + ")" : ""}`);
    for (const r of g.rules || []) {
      const bad = Object.keys(r).filter((k) => !ruleKeys.has(k));
      const refs = (r.data || []).map((d) => d.refId);
      const badD = (r.data || []).flatMap((d) => Object.keys(d).filter((k) => !dataKeys.has(k)));
      const dsOk = (r.data || []).every((d) => d.datasourceUid === DS_UID ? typeof d.model?.query === "string" && d.model.rawQuery === true
        : d.datasourceUid === "__expr__" && exprTypes.has(d.model?.type) && refs.includes(d.model.expression?.replace(/^\$/, "")) ||
          d.model?.type === "math");
      const mathOk = (r.data || []).filter((d) => d.model?.type === "math").every((d) =>
        (d.model.expression.match(/\$\{?([A-Z]+)\}?/g) || []).every((v) => refs.includes(v.replace(/[${}]/g, ""))));
      check(bad.length === 0 && badD.length === 0, `alert ${r.uid}: known keys only${bad.concat(badD).length ? " (unknown: " + bad.concat(badD) + ")" : ""}`);
      check(typeof r.uid === "string" && r.uid.length <= 40 && /^[a-zA-Z0-9_-]+$/.test(r.uid) && !ruleUids.has(r.uid), `alert ${r.uid}: uid of at most 40 characters, unique`);
      ruleUids.add(r.uid);
      check(refs.includes(r.condition) && new Set(refs).size === refs.length, `alert ${r.uid}: condition ${r.condition} is one of its refIds`);
      check(dsOk && mathOk, `alert ${r.uid}: each query on datasource ${DS_UID} (raw InfluxQL), each expression on __expr__ naming refIds it has`);
      check(["Alerting", "NoData", "OK", "KeepLast"].includes(r.noDataState) && ["Alerting", "Error", "OK", "KeepLast"].includes(r.execErrState) &&
        /^\d+[smh]$/.test(r.for) && r.title, `alert ${r.uid}: title, noDataState, execErrState, for`);
      check((r.data || []).every((d) => d.relativeTimeRange && Number.isInteger(d.relativeTimeRange.from) && Number.isInteger(d.relativeTimeRange.to)),
        `alert ${r.uid}: every query has a relativeTimeRange`);
    }
  }
}
console.log(`# deploy checks: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
