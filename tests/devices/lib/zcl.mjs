/* Builders of the ZCL frames a device sends, written with zigbee-herdsman's own Zcl.Frame writer (the
 * exception: Xiaomi's 0xFF01 struct, which herdsman only reads, is laid out by hand here, see lumiStruct).
 * Each builder returns { clusterID, data, ep, describe } for Harness.receive(). */

export class FrameBuilder {
        constructor(harness, dev) {
                this.h = harness;
                this.dev = dev;
                this.tuyaSeq = 0;
        }

        get Zcl() {
                return this.h.Zcl;
        }

        cluster(name, manufacturerCode) {
                return this.Zcl.Utils.getCluster(name, manufacturerCode, this.dev.zh.customClusters);
        }

        finish(frame, ep, describe) {
                return { clusterID: frame.cluster.ID, data: frame.toBuffer(), ep, describe };
        }

        /* Global "report attributes" (0x0a), server to client, as a sensor sends it. attrs: {name: value}
         * or {name: [value, dataType]} / {"0x0142": [value, dataType]} for attributes herdsman does not know. */
        report(clusterName, attrs, { ep = 1, manufacturerCode } = {}) {
                const Zcl = this.Zcl;
                const cluster = this.cluster(clusterName, manufacturerCode);
                const payload = [];
                for (const [key, spec] of Object.entries(attrs)) {
                        const [value, type] = Array.isArray(spec) ? spec : [spec, undefined];
                        let attrId, dataType;
                        if (key.startsWith("0x")) {
                                attrId = Number.parseInt(key, 16);
                                dataType = type;
                        } else {
                                const a = cluster.attributes[key];
                                if (!a)
                                        throw new Error(`${clusterName} has no attribute ${key}`);
                                attrId = a.ID;
                                dataType = type ?? a.type;
                        }
                        payload.push({ attrId, dataType, attrData: value });
                }
                const frame = Zcl.Frame.create(Zcl.FrameType.GLOBAL, Zcl.Direction.SERVER_TO_CLIENT, true, manufacturerCode,
                        this.h.nextTsn(), "report", cluster, payload, this.dev.zh.customClusters);
                return this.finish(frame, ep, `${clusterName} report ${JSON.stringify(attrs)}`);
        }

        /* A cluster-specific command. Server-to-client ones (IAS zone status change, Tuya data report)
         * are what sensors send; client-to-server ones (genOnOff toggle, IAS ACE emergency) are what
         * remotes and buttons send. */
        command(clusterName, commandName, payload, { ep = 1, toClient = true, manufacturerCode } = {}) {
                const Zcl = this.Zcl;
                const cluster = this.cluster(clusterName, manufacturerCode);
                const dir = toClient ? Zcl.Direction.SERVER_TO_CLIENT : Zcl.Direction.CLIENT_TO_SERVER;
                const frame = Zcl.Frame.create(Zcl.FrameType.SPECIFIC, dir, !toClient ? false : true, manufacturerCode,
                        this.h.nextTsn(), commandName, cluster, payload, this.dev.zh.customClusters);
                return this.finish(frame, ep, `${clusterName}.${commandName} ${JSON.stringify(payload)}`);
        }

        /* IAS zone status change notification with the given ZoneStatus bits. */
        zone(zonestatus, opts = {}) {
                const f = this.command("ssIasZone", "statusChangeNotification",
                                       { zonestatus, extendedstatus: 0, zoneID: 1, delay: 0 }, opts);
                f.describe = `ssIasZone.statusChangeNotification zonestatus=0x${zonestatus.toString(16).padStart(4, "0")}`;
                return f;
        }

        /* Tuya's manuSpecificTuya dataReport with datapoints [{dp, type, value}]; type is bool, value
         * (4-byte big-endian), enum (1 byte) or raw. */
        tuya(dps, { command = "dataReport" } = {}) {
                const types = { raw: 0, bool: 1, value: 2, string: 3, enum: 4, bitmap: 5 };
                const dpValues = dps.map(({ dp, type, value }) => {
                        let data;
                        if (type === "bool" || type === "enum")
                                data = Buffer.from([Number(value)]);
                        else if (type === "value") {
                                data = Buffer.alloc(4);
                                data.writeInt32BE(value);
                        } else
                                data = Buffer.from(value);
                        return { dp, datatype: types[type], data };
                });
                this.tuyaSeq = (this.tuyaSeq + 1) & 0xffff;
                const f = this.command("manuSpecificTuya", command, { seq: this.tuyaSeq, dpValues });
                f.describe = `manuSpecificTuya.${command} ` + dps.map((d) => `dp${d.dp}(${d.type})=${JSON.stringify(d.value)}`).join(" ");
                return f;
        }

        /* Xiaomi's heartbeat: genBasic attribute 0xFF01, a CHAR_STR whose bytes are tag/type/value triplets.
         * zigbee-herdsman parses it (readMiStruct) but cannot write it, so the bytes are laid out here:
         * ZCL header (herdsman's writer), attribute id, type 0x42, length, then the triplets. */
        lumiStruct(entries, { ep = 1 } = {}) {
                const Zcl = this.Zcl;
                const sizes = { 0x10: 1, 0x20: 1, 0x21: 2, 0x23: 4, 0x24: 5, 0x28: 1, 0x39: 4 };
                const parts = [];
                for (const [tag, type, value] of entries) {
                        const b = Buffer.alloc(2 + sizes[type]);
                        b[0] = tag;
                        b[1] = type;
                        if (type === 0x21)
                                b.writeUInt16LE(value, 2);
                        else if (type === 0x23)
                                b.writeUInt32LE(value, 2);
                        else if (type === 0x24)
                                b.writeUIntLE(value, 2, 5);
                        else if (type === 0x28)
                                b.writeInt8(value, 2);
                        else if (type === 0x39)
                                b.writeFloatLE(value, 2);
                        else
                                b[2] = Number(value);
                        parts.push(b);
                }
                const body = Buffer.concat(parts);
                /* ZCL header: frame control 0x18 (global, server to client, no default response), sequence
                 * number, command 0x0a (report attributes); then attribute 0xff01, type 0x42, length. */
                const data = Buffer.concat([Buffer.from([0x18, this.h.nextTsn(), 0x0a, 0x01, 0xff, 0x42, body.length]), body]);
                return { clusterID: 0, data, ep, describe: `genBasic report 0xff01 (Xiaomi struct) ${JSON.stringify(entries.map(([t, , v]) => [t, v]))}` };
        }
}
