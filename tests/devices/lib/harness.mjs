/* The harness: a real Zigbee2MQTT Controller (its compiled dist/ modules, not a copy) on a real mosquitto
 * broker on 127.0.0.1, whose zigbee-herdsman Controller talks to a fake adapter instead of a radio.
 *
 * The device side is the only imitation: the fake adapter hands zigbee-herdsman raw ZCL frames built with
 * zigbee-herdsman's own Zcl.Frame writer (exactly what an adapter does when a frame arrives over the air),
 * and records the frames zigbee-herdsman asks it to send (the plug's genOnOff.off, Tuya time sync, ...),
 * answering them as a device would (a default response, a read response, or no answer at all).
 * Everything after that is Zigbee2MQTT's own code: herdsman parses the frame, updates linkquality/lastSeen,
 * Zigbee2MQTT picks the device's definition from zigbee-herdsman-converters, runs its fromZigbee converters
 * (Receive extension), merges the state cache, sorts the keys and adds linkquality (Controller.
 * publishEntityState), publishes availability (Availability extension) and bridge/state (Mqtt), and
 * handles <topic>/set (Publish extension, toZigbee converters).
 *
 * Time is Node's mock timer (node:test MockTimers): Date and setTimeout/setInterval only move when the
 * generator says so, so occupancy timeouts and the 25 h availability timeout are reached in milliseconds
 * and the output does not depend on the wall clock. Math.random is replaced by a fixed-seed generator. */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/* Real timers, taken before the mock replaces them: the broker and the sockets live in real time. */
const realSetTimeout = globalThis.setTimeout;
const realSetImmediate = globalThis.setImmediate;
const realSleep = (ms) => new Promise((r) => realSetTimeout(r, ms));

export const BASE_TOPIC = "zigbee2mqtt";
export const COORDINATOR_IEEE = "0x00124b0000c0ffee";
/* Every frame arrives with this link quality, so linkquality in the payloads is stable. */
export const LINKQUALITY = 116;

function freePort() {
        return new Promise((resolve, reject) => {
                const srv = net.createServer();
                srv.unref();
                srv.on("error", reject);
                srv.listen(0, "127.0.0.1", () => {
                        const { port } = srv.address();
                        srv.close(() => resolve(port));
                });
        });
}

async function waitForPort(port, child) {
        for (let i = 0; i < 200; i++) {
                if (child.exitCode !== null)
                        throw new Error(`mosquitto exited with ${child.exitCode}`);
                const ok = await new Promise((resolve) => {
                        const s = net.connect(port, "127.0.0.1");
                        s.on("connect", () => { s.destroy(); resolve(true); });
                        s.on("error", () => resolve(false));
                });
                if (ok)
                        return;
                await realSleep(25);
        }
        throw new Error("mosquitto did not start listening");
}

/* Starts a private mosquitto on 127.0.0.1 on a free port. */
export async function startBroker(dir) {
        const port = await freePort();
        const conf = path.join(dir, "mosquitto.conf");
        fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
        const bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((p) => fs.existsSync(p)) ?? "mosquitto";
        const child = spawn(bin, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        child.stderr.on("data", (d) => { err += d; });
        /* Whatever happens to the generator, the broker goes with it. */
        const kill = () => child.kill("SIGTERM");
        process.once("exit", kill);
        try {
                await waitForPort(port, child);
        } catch (e) {
                child.kill();
                throw new Error(`${e.message}: ${err}`);
        }
        return { port, stop: () => new Promise((r) => { process.off("exit", kill); child.once("exit", r); child.kill("SIGTERM"); }) };
}

/* A deterministic Math.random (mulberry32): availability jitter and the like must not vary. */
export function seedRandom(seed) {
        let a = seed >>> 0;
        Math.random = () => {
                a = (a + 0x6d2b79f5) >>> 0;
                let t = a;
                t = Math.imul(t ^ (t >>> 15), t | 1);
                t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
                return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
        };
}

/* The adapter zigbee-herdsman is given instead of a radio. */
function makeFakeAdapter(Adapter, hooks) {
        class FakeAdapter extends Adapter {
                constructor(...args) {
                        super(...args);
                        this.manufacturerID = 0;
                }
                async start() { return "resumed"; }
                async stop() {}
                async getCoordinatorIEEE() { return COORDINATOR_IEEE; }
                async getCoordinatorVersion() { return { type: "fake (anju corpus generator)", meta: {} }; }
                async reset() {}
                async supportsBackup() { return false; }
                async backup() { throw new Error("not supported"); }
                async getNetworkParameters() {
                        return { panID: 0x1a62, extendedPanID: "0xdddddddddddddddd", channel: 11, nwkUpdateID: 0 };
                }
                async addInstallCode() {}
                waitFor() { return { promise: new Promise(() => {}), cancel: () => {} }; }
                async sendZdo() { throw new Error("fake adapter: no ZDO"); }
                async permitJoin() {}
                async sendZclFrameToEndpoint(ieeeAddr, networkAddress, endpoint, zclFrame, timeout, disableResponse) {
                        return hooks.onSend({ ieeeAddr, networkAddress, endpoint, zclFrame, disableResponse });
                }
                async sendZclFrameToGroup() {}
                async sendZclFrameToAll() {}
                async setChannelInterPAN() {}
                async sendZclFrameInterPANToIeeeAddr() {}
                async sendZclFrameInterPANBroadcast() { throw new Error("not supported"); }
                async restoreChannelInterPAN() {}
        }
        return FakeAdapter;
}

/* One line of zigbee-herdsman's database.db for a device that has been interviewed. */
export function databaseEntry(id, dev) {
        const endpoints = {};
        for (const ep of dev.endpoints) {
                endpoints[ep.ID] = {
                        profId: ep.profileID ?? 260, epId: ep.ID, devId: ep.deviceID ?? 0,
                        inClusterList: ep.inputClusters, outClusterList: ep.outputClusters ?? [],
                        clusters: {}, binds: [], configuredReportings: [], meta: {},
                };
        }
        return {
                id, type: dev.type, ieeeAddr: dev.ieee, nwkAddr: dev.nwk, manufId: dev.manufacturerID ?? 0,
                manufName: dev.manufacturerName, powerSource: dev.powerSource, modelId: dev.modelID,
                epList: dev.endpoints.map((e) => e.ID), endpoints,
                appVersion: dev.applicationVersion, interviewCompleted: true, interviewState: "SUCCESSFUL",
                meta: { configured: dev.configured }, lastSeen: dev.lastSeen,
        };
}

export class Harness {
        constructor({ t0, devices }) {
                this.t0 = t0;
                this.devices = devices;
                this.captured = [];     /* {topic, payload, retain} in arrival order */
                this.sent = [];         /* frames zigbee-herdsman asked the fake adapter to send */
                this.unreachable = new Set();
                this.tsn = 0;
                this.published = 0;     /* what Zigbee2MQTT handed its MQTT client */
                this.extra = 0;         /* what the broker delivered that Zigbee2MQTT did not publish (its will) */
        }

        async start(mockTimers) {
                this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "anju-z2m-"));
                this.broker = await startBroker(this.dir);
                const dev = {};
                for (const d of this.devices)
                        dev[d.ieee] = { friendly_name: d.name };
                /* Zigbee2MQTT's defaults except: no frontend/HA, fixed network, availability on, no files,
                 * a long MQTT keepalive (the mocked clock jumps; pings only go out when it moves). */
                const configuration = {
                        version: 5,
                        homeassistant: { enabled: false },
                        frontend: { enabled: false },
                        mqtt: { base_topic: BASE_TOPIC, server: `mqtt://127.0.0.1:${this.broker.port}`, keepalive: 3600 },
                        serial: { port: "/dev/null", adapter: "zstack" },
                        availability: { enabled: true },
                        advanced: {
                                log_level: "error", log_output: ["console"], channel: 11,
                                pan_id: 0x1a62, ext_pan_id: [221, 221, 221, 221, 221, 221, 221, 221],
                                network_key: [1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13],
                                cache_state_persistent: false, enable_external_js: false,
                        },
                        devices: dev,
                };
                fs.writeFileSync(path.join(this.dir, "configuration.yaml"), JSON.stringify(configuration, null, 2));
                const lines = [databaseEntry(1, {
                        type: "Coordinator", ieee: COORDINATOR_IEEE, nwk: 0, modelID: undefined,
                        endpoints: [{ ID: 1, deviceID: 5, inputClusters: [], outputClusters: [] }],
                        configured: undefined, lastSeen: undefined,
                })];
                this.devices.forEach((d, i) => lines.push(databaseEntry(i + 2, { ...d, lastSeen: this.t0 })));
                fs.writeFileSync(path.join(this.dir, "database.db"), lines.map((l) => JSON.stringify(l)).join("\n"));
                process.env.ZIGBEE2MQTT_DATA = this.dir;

                mockTimers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: this.t0 });
                this.mockTimers = mockTimers;

                const zh = require("zigbee-herdsman");
                const adapterModule = require(require.resolve("zigbee-herdsman/dist/adapter/adapter.js"));
                const FakeAdapter = makeFakeAdapter(adapterModule.Adapter, { onSend: (s) => this.onSend(s) });
                adapterModule.Adapter.create = async (...args) => {
                        this.adapter = new FakeAdapter(...args);
                        return this.adapter;
                };
                this.Zcl = zh.Zcl;

                /* The subscriber that records what reaches the broker: MQTT 5 with retain-as-published (the
                 * retain flag is the one Zigbee2MQTT set) and no-local (anjud's own /set is not recorded). */
                const mqtt = require("mqtt");
                this.sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${this.broker.port}`,
                                                   { protocolVersion: 5, keepalive: 3600, clientId: "anju-corpus" });
                this.sub.on("message", (topic, payload, packet) => {
                        this.captured.push({ topic, payload: payload.toString(), retain: !!packet.retain });
                });
                await this.sub.subscribeAsync(`${BASE_TOPIC}/#`, { qos: 1, rap: true, nl: true });

                const { Controller } = require("zigbee2mqtt/dist/controller.js");
                this.controller = new Controller(async () => {}, async (code) => { this.exitCode = code; });
                this.controller.eventBus.onMQTTMessagePublished(this, () => { this.published++; });
                await this.pump(this.controller.start());
                await this.settle();
                for (const d of this.devices) {
                        const z = this.controller.zigbee.resolveEntity(d.ieee);
                        if (!z?.definition)
                                throw new Error(`${d.name}: Zigbee2MQTT found no definition`);
                        d.definition = z.definition;
                        d.zh = z.zh;
                }
        }

        /* Waits for a promise while the mocked clock stands still and real I/O runs. */
        async pump(promise) {
                let done = false, error, value;
                promise.then((v) => { done = true; value = v; }, (e) => { done = true; error = e; });
                for (let i = 0; !done; i++) {
                        if (i > 4000)
                                throw new Error("timed out waiting for Zigbee2MQTT");
                        await realSleep(2);
                }
                if (error)
                        throw error;
                return value;
        }

        /* Waits until everything Zigbee2MQTT published has arrived at the subscriber and nothing more
         * happens for a while (real time: the processing is asynchronous but not timer-driven). */
        async settle() {
                let quiet = 0, last = "";
                for (let i = 0; quiet < 6; i++) {
                        if (i > 5000)
                                throw new Error(`never settled (published ${this.published} + ${this.extra}, received ${this.captured.length})`);
                        await realSleep(3);
                        await new Promise((r) => realSetImmediate(r));
                        const now = `${this.published}/${this.captured.length}/${this.sent.length}`;
                        if (now === last && this.published + this.extra === this.captured.length)
                                quiet++;
                        else
                                quiet = 0;
                        last = now;
                }
        }

        /* Moves the mocked clock forward in steps no longer than `step` seconds, settling after each. */
        async advance(seconds, step = 60) {
                let left = seconds * 1000;
                while (left > 0) {
                        const ms = Math.min(left, step * 1000);
                        this.mockTimers.tick(ms);
                        left -= ms;
                        await this.settle();
                }
        }

        nextTsn() {
                this.tsn = (this.tsn + 1) & 0xff;
                return this.tsn;
        }

        /* zigbee-herdsman wants to send a frame: record it and answer as the device would. */
        onSend({ ieeeAddr, endpoint, zclFrame, disableResponse }) {
                const Zcl = this.Zcl;
                this.sent.push({
                        ieee: ieeeAddr, endpoint, cluster: zclFrame.cluster.name, command: zclFrame.command.name,
                        payload: zclFrame.payload, hex: zclFrame.toBuffer().toString("hex"),
                });
                if (this.unreachable.has(ieeeAddr))
                        throw new Error("fake adapter: the device does not answer (MAC no ACK)");
                if (disableResponse)
                        return undefined;
                const dev = this.devices.find((d) => d.ieee === ieeeAddr);
                let frame;
                const tsn = zclFrame.header.transactionSequenceNumber;
                if (zclFrame.header.frameControl.frameType === Zcl.FrameType.GLOBAL && zclFrame.command.name === "read") {
                        const values = dev?.readValues?.[zclFrame.cluster.name] ?? {};
                        frame = Zcl.Frame.create(Zcl.FrameType.GLOBAL, Zcl.Direction.SERVER_TO_CLIENT, true, undefined, tsn,
                                "readRsp", zclFrame.cluster.ID, zclFrame.payload.map(({ attrId }) => {
                                        const attr = Object.values(zclFrame.cluster.attributes).find((a) => a.ID === attrId);
                                        const v = attr && values[attr.name];
                                        return v === undefined ? { attrId, status: Zcl.Status.UNSUPPORTED_ATTRIBUTE }
                                                : { attrId, status: Zcl.Status.SUCCESS, dataType: attr.type, attrData: v };
                                }), {});
                } else {
                        frame = Zcl.Frame.create(Zcl.FrameType.GLOBAL, Zcl.Direction.SERVER_TO_CLIENT, true, undefined, tsn,
                                "defaultRsp", zclFrame.cluster.ID, { cmdId: zclFrame.command.ID, statusCode: Zcl.Status.SUCCESS }, {});
                }
                const data = frame.toBuffer();
                return { clusterID: zclFrame.cluster.ID, header: Zcl.Header.fromBuffer(data), data, address: dev?.nwk,
                         endpoint, linkquality: LINKQUALITY, groupID: 0, wasBroadcast: false, destinationEndpoint: 1 };
        }

        /* A frame from the device arrives at the coordinator, as an adapter reports it. */
        async receive(dev, data, { ep = 1, clusterID }) {
                this.adapter.emit("zclPayload", {
                        clusterID, header: this.Zcl.Header.fromBuffer(data), data, address: dev.nwk, endpoint: ep,
                        linkquality: LINKQUALITY, groupID: 0, wasBroadcast: false, destinationEndpoint: 1,
                });
                await this.settle();
        }

        /* Publishes a command to Zigbee2MQTT the way anjud would. */
        /* A command to a device's /set: it travels broker -> Zigbee2MQTT -> converter -> adapter, so
         * settle() (which only sees Zigbee2MQTT's own publications) must not start before the frame
         * reached the fake adapter, or a loaded machine ends it early and the answer is missed. */
        async command(topic, payload) {
                const before = this.sent.length;
                await this.sub.publishAsync(`${BASE_TOPIC}/${topic}`, payload, { qos: 1 });
                for (let i = 0; this.sent.length === before; i++) {
                        if (i > 2000)
                                throw new Error(`${topic} ${payload}: no frame reached the device`);
                        await realSleep(3);
                }
                await this.settle();
        }

        /* The broker loses Zigbee2MQTT's connection without a DISCONNECT and publishes its last will;
         * mqtt.js reconnects after reconnectPeriod (1 s, a mocked timer) and Zigbee2MQTT's onConnect
         * publishes bridge/state online again. */
        async dropBridgeConnection() {
                const client = this.controller.mqtt.client;
                client.stream.destroy();
                await realSleep(50);
                for (let i = 0; i < 200 && !client.connected; i++) {
                        this.mockTimers.tick(250);
                        await realSleep(20);
                }
                if (!client.connected)
                        throw new Error("Zigbee2MQTT did not reconnect");
                let last = -1;
                for (let quiet = 0; quiet < 10;) {
                        await realSleep(10);
                        quiet = this.captured.length === last ? quiet + 1 : 0;
                        last = this.captured.length;
                }
                this.extra = this.captured.length - this.published;
        }

        async stop() {
                await this.pump(this.controller.stop());
                await this.settle();
                await this.sub.endAsync();
                this.mockTimers.reset();
                await this.broker.stop();
                fs.rmSync(this.dir, { recursive: true, force: true });
        }
}
