// Node-RED settings for anju's latency comparison (bench/latency.c --nodered).
// Headless: no editor, no admin API, no HTTP nodes -- Node-RED's leanest
// configuration, so the comparison is with its best case. The flow file and
// the user directory are given on the command line (a temp dir per run).
module.exports = {
    uiHost: "127.0.0.1",
    httpAdminRoot: false,
    httpNodeRoot: false,
    credentialSecret: false,
    flowFilePretty: true,
    functionExternalModules: false,
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    telemetry: { enabled: false },
    diagnostics: { enabled: false },
    runtimeState: { enabled: false },
    logging: { console: { level: "info", metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false } }
};
