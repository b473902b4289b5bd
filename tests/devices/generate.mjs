#!/usr/bin/env node
/* Generates tests/devices/corpus/: for every device of devices.mjs, the exact MQTT messages Zigbee2MQTT
 * publishes when that device sends realistic ZCL frames, each with the decision anju must take.
 * Run it through ./generate (npm ci first); README.md says what is real and what is imitated.
 *
 *   node generate.mjs [--out DIR] [--only ID,ID]
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { mock } from "node:test";

import { BASE_TOPIC, Harness, LINKQUALITY, seedRandom } from "./lib/harness.mjs";
import { FrameBuilder } from "./lib/zcl.mjs";
import { DEVICES } from "./devices.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/* A Thursday morning in January; the clock only moves when the generator advances it. */
const T0 = Date.UTC(2026, 0, 15, 7, 0, 0);
const OFFLINE_AFTER = 26 * 3600;        /* past the passive availability timeout (1500 min) */

export const EXPECT_WORDS = [
        "none", "fire", "fire_clear", "self_test", "water_leak", "water_clear", "sos", "fall_prealarm",
        "fall_warning", "battery_low", "tamper", "device_fault", "activity", "presence_home", "presence_clear",
        "door_open", "door_closed", "offline", "online", "relay_off_confirmed", "relay_on_confirmed",
        "bed_exit", "bed_back",
];
export const KINDS = ["smoke", "motion", "door", "water", "button", "relay", "presence", "fall", "bed"];

function args() {
        const a = process.argv.slice(2);
        const o = { out: path.join(HERE, "corpus"), only: null };
        for (let i = 0; i < a.length; i++) {
                if (a[i] === "--out")
                        o.out = a[++i];
                else if (a[i] === "--only")
                        o.only = a[++i].split(",");
                else
                        throw new Error(`unknown argument ${a[i]}`);
        }
        return o;
}

function versions() {
        const v = (name) => require(`${name}/package.json`).version;
        return {
                "zigbee2mqtt": v("zigbee2mqtt"),
                "zigbee-herdsman-converters": v("zigbee-herdsman-converters"),
                "zigbee-herdsman": v("zigbee-herdsman"),
        };
}

/* Network identity: stable IEEE and network addresses from the device's position in the list. */
function identify(devs) {
        return devs.map((d, i) => ({
                ...d,
                name: d.id,
                ieee: `0x00158d0000${(0xa00001 + i).toString(16)}`,
                nwk: 0x2000 + i,
        }));
}

/* The definition version Zigbee2MQTT stores as meta.configured once it has configured a device:
 * stored up front so the Configure extension leaves the fake network alone. */
async function configuredVersions(devs) {
        const zhc = require("zigbee-herdsman-converters");
        const quiet = () => {};
        zhc.setLogger({ debug: quiet, info: quiet, warning: (m) => process.stderr.write(`zhc: ${m}\n`),
                        error: (m) => process.stderr.write(`zhc: ${m}\n`) });
        for (const d of devs) {
                const fake = {
                        ieeeAddr: d.ieee, networkAddress: d.nwk, modelID: d.modelID, manufacturerName: d.manufacturerName,
                        type: d.type, powerSource: d.powerSource, applicationVersion: d.applicationVersion,
                        endpoints: d.endpoints.map((e) => ({ ID: e.ID, profileID: e.profileID ?? 260, deviceID: e.deviceID,
                                inputClusters: e.inputClusters, outputClusters: e.outputClusters ?? [],
                                getInputClusters: () => [], getOutputClusters: () => [] })),
                        getEndpoint(id) { return this.endpoints.find((e) => e.ID === id); },
                        customClusters: {},
                };
                const def = await zhc.findByDevice(fake);
                if (!def)
                        throw new Error(`${d.id}: zigbee-herdsman-converters has no definition for ${d.modelID}/${d.manufacturerName}`);
                d.configured = def.version;
        }
}

function checkExpect(words, where) {
        for (const w of words)
                if (!EXPECT_WORDS.includes(w))
                        throw new Error(`${where}: unknown expect word ${w}`);
}

async function main() {
        const opt = args();
        seedRandom(13);
        let devs = identify(DEVICES);
        if (opt.only)
                devs = devs.filter((d) => opt.only.includes(d.id));
        for (const d of devs)
                if (!KINDS.includes(d.kind))
                        throw new Error(`${d.id}: unknown kind ${d.kind}`);
        await configuredVersions(devs);

        const h = new Harness({ t0: T0, devices: devs });
        process.once("exit", () => h.dir && fs.rmSync(h.dir, { recursive: true, force: true }));
        const rec = new Map(devs.map((d) => [d.id, { messages: [], commands: [], silent: [] }]));
        const deviceTopic = (d) => `${BASE_TOPIC}/${d.name}`;
        const bridge = [];
        let mark = 0;

        /* Takes what arrived since the last call: device messages go to their device, bridge/state to
         * the bridge list, everything else (bridge/info, bridge/devices, ...) is not anju's business. */
        const take = (label, cause) => {
                const got = h.captured.slice(mark);
                mark = h.captured.length;
                const per = new Map();
                for (const m of got) {
                        if (m.topic === `${BASE_TOPIC}/bridge/state`) {
                                bridge.push({ label, topic: "bridge/state", payload: m.payload, retain: m.retain });
                                continue;
                        }
                        const d = devs.find((x) => m.topic === deviceTopic(x) || m.topic.startsWith(`${deviceTopic(x)}/`));
                        if (!d)
                                continue;
                        const topic = m.topic.slice(deviceTopic(d).length);
                        if (!per.has(d.id))
                                per.set(d.id, []);
                        per.get(d.id).push({ label, topic, payload: m.payload, retain: m.retain, cause });
                }
                return per;
        };
        const assign = (d, msgs, expects, where) => {
                if (msgs.length !== expects.length) {
                        throw new Error(`${d.id}: "${where}" produced ${msgs.length} message(s), the spec expects ` +
                                `${expects.length}:\n${msgs.map((m) => `  ${m.topic} ${m.payload}`).join("\n")}`);
                }
                msgs.forEach((m, i) => {
                        checkExpect(expects[i], `${d.id}: ${where}`);
                        rec.get(d.id).messages.push({ ...m, expect: expects[i] });
                });
        };

        await h.start(mock.timers);
        const wrong = devs.filter((d) => d.definition.model !== d.model);
        if (wrong.length)
                throw new Error(wrong.map((d) => `${d.id}: Zigbee2MQTT resolved ${d.definition.model}, the spec says ${d.model}`).join("\n"));
        {
                const per = take("Zigbee2MQTT starts", "Zigbee2MQTT start-up (Availability extension)");
                for (const d of devs)
                        assign(d, per.get(d.id) ?? [], [["online"]], "start-up");
        }

        for (const d of devs) {
                const f = new FrameBuilder(h, d);
                for (const step of d.steps) {
                        let cause;
                        const sentBefore = h.sent.length;
                        if (step.frame) {
                                const fr = step.frame(f);
                                cause = `${fr.describe} (endpoint ${fr.ep}, frame ${fr.data.toString("hex")})`;
                                await h.receive(d, fr.data, { ep: fr.ep, clusterID: fr.clusterID });
                        } else if (step.advance) {
                                cause = `clock +${step.advance} s`;
                                await h.advance(step.advance);
                        } else if (step.set) {
                                const payload = JSON.stringify(step.set);
                                cause = `MQTT ${deviceTopic(d)}/set ${payload}`;
                                await h.command(`${d.name}/set`, payload);
                                const frames = h.sent.slice(sentBefore).filter((s) => s.ieee === d.ieee);
                                rec.get(d.id).commands.push({
                                        label: step.label, topic: "/set", payload,
                                        zcl: frames.map((s) => ({ endpoint: s.endpoint, cluster: s.cluster, command: s.command,
                                                                  payload: s.payload, frame: s.hex })),
                                        answered: !h.unreachable.has(d.ieee),
                                });
                        } else if ("unreachable" in step) {
                                cause = step.unreachable ? "the device stops answering" : "the device answers again";
                                if (step.unreachable)
                                        h.unreachable.add(d.ieee);
                                else
                                        h.unreachable.delete(d.ieee);
                        } else
                                throw new Error(`${d.id}: step ${step.label} does nothing`);
                        const per = take(step.label, cause);
                        for (const [id, msgs] of per)
                                if (id !== d.id)
                                        throw new Error(`${d.id}: step ${step.label} made ${id} publish: ${msgs[0].payload}`);
                        assign(d, per.get(d.id) ?? [], step.expect, step.label);
                        if (step.expect.length === 0 && !("unreachable" in step))
                                rec.get(d.id).silent.push({ label: step.label, cause });
                }
        }

        /* Everyone goes quiet for 26 hours: battery devices pass the passive timeout, mains devices stop
         * answering Zigbee2MQTT's availability ping. */
        for (const d of devs)
                if (d.offlineByPing)
                        h.unreachable.add(d.ieee);
        await h.advance(OFFLINE_AFTER, 600);
        {
                const per = take("silent for 26 h (availability timeout, or a failed ping for a mains device)", `clock +${OFFLINE_AFTER} s`);
                for (const d of devs)
                        assign(d, per.get(d.id) ?? [], [["offline"]], "offline");
        }
        h.unreachable.clear();
        for (const d of devs) {
                const fr = d.comeBack(new FrameBuilder(h, d));
                await h.receive(d, fr.data, { ep: fr.ep, clusterID: fr.clusterID });
                const per = take("the device speaks again", `${fr.describe} (endpoint ${fr.ep}, frame ${fr.data.toString("hex")})`);
                assign(d, per.get(d.id) ?? [], [["online"], d.comeBackExpect], "come back");
        }

        await h.dropBridgeConnection();
        take("the broker loses Zigbee2MQTT's connection (last will), then Zigbee2MQTT reconnects", "TCP connection dropped");
        await h.stop();
        take("Zigbee2MQTT stops", "Controller.stop()");

        /* Write the corpus. */
        const ver = versions();
        fs.mkdirSync(opt.out, { recursive: true });
        for (const d of devs) {
                const def = d.definition;
                const r = rec.get(d.id);
                const doc = {
                        generated_by: "tests/devices/generate (do not edit by hand)",
                        versions: ver,
                        vendor: def.vendor,
                        model: def.model,
                        description: def.description,
                        zigbee: { modelID: d.modelID, manufacturerName: d.manufacturerName, type: d.type, powerSource: d.powerSource },
                        kind: d.kind,
                        config: { kind: d.kind, topic: deviceTopic(d), ...(d.config ?? {}) },
                        linkquality: LINKQUALITY,
                        messages: r.messages,
                };
                if (r.commands.length)
                        doc.commands = r.commands;
                if (r.silent.length)
                        doc.not_published = r.silent;
                fs.writeFileSync(path.join(opt.out, `${d.id}.json`), `${JSON.stringify(doc, null, 2)}\n`);
        }
        fs.writeFileSync(path.join(opt.out, "bridge.json"), `${JSON.stringify({
                generated_by: "tests/devices/generate (do not edit by hand)",
                versions: ver,
                base_topic: BASE_TOPIC,
                expect_note: "bridge/state offline: every device behind this bridge is unknown (not offline, not online)",
                messages: bridge.map((b) => ({ ...b, expect: [JSON.parse(b.payload).state === "online" ? "online" : "offline"] })),
        }, null, 2)}\n`);
        process.stdout.write(`${devs.length} devices, ${[...rec.values()].reduce((n, r) => n + r.messages.length, 0)} messages, ` +
                             `${bridge.length} bridge messages -> ${path.relative(process.cwd(), opt.out) || "."}\n`);
}

main().then(() => process.exit(0), (e) => {
        process.stderr.write(`generate: ${e.stack ?? e}\n`);
        process.exit(1);
});
