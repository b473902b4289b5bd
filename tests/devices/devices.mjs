/* The devices of the corpus (GitHub issue 13): how each one identifies itself on the network (what
 * Zigbee2MQTT resolves its definition from), the frames it sends in a realistic life, and for every message
 * Zigbee2MQTT publishes as a result, the decision anju must take (README.md, "expect").
 *
 * No payload is written here: a step gives the frame the device sends (or a clock advance, or a command
 * anjud publishes), and the generator records whatever Zigbee2MQTT publishes. `expect` has one entry per
 * message the step must produce, each a list of decision words; a step that produces a different number of
 * messages fails the generator, so a converter change cannot slip through unnoticed.
 *
 * Endpoint and cluster lists are the ones these devices typically report in their interview; they matter only
 * where a definition looks at them (fingerprints, endpoint names). */

const HA = 260;
const B = "Battery", M = "Mains (single phase)";
const E = "EndDevice", R = "Router";
const LUMI = 0x115f;

/* Zone status bits (ZCL 8.2.2.2.1.3). */
const ALARM1 = 0x0001, ALARM2 = 0x0002, TAMPER = 0x0004, BATLOW = 0x0008, TROUBLE = 0x0040, TEST = 0x0100;

const ias = (inputs = [0, 1, 3, 0x500]) => [{ ID: 1, deviceID: 0x402, inputClusters: inputs, outputClusters: [0x19] }];
const tuyaEp = [{ ID: 1, deviceID: 0x51, inputClusters: [0, 4, 5, 0xef00], outputClusters: [0x19, 0x0a] }];
const lumiEp = (inputs, outputs = [0, 4, 0xffff]) => [{ ID: 1, deviceID: 0x107, inputClusters: inputs, outputClusters: outputs }];
const battery = (pct, mv) => (f) => f.report("genPowerCfg", { batteryPercentageRemaining: pct * 2, batteryVoltage: mv / 100 });

export const DEVICES = [
        /* ----------------------------------------------------------------- smoke */
        {
                id: "heiman_hs1sa_e", kind: "smoke", model: "HS1SA-E",
                modelID: "SmokeSensor-EF-3.0", manufacturerName: "HEIMAN", type: E, powerSource: B,
                endpoints: ias([0, 1, 3, 0x500, 0x502]),
                steps: [
                        { label: "battery report", frame: battery(100, 3000), expect: [["none"]] },
                        { label: "zone status idle", frame: (f) => f.zone(0), expect: [["none"]] },
                        { label: "smoke (alarm1)", frame: (f) => f.zone(ALARM1), expect: [["fire"]] },
                        { label: "smoke gone", frame: (f) => f.zone(0), expect: [["fire_clear"]] },
                        { label: "test button pressed (test bit)", frame: (f) => f.zone(TEST), expect: [["self_test"]] },
                        { label: "test over", frame: (f) => f.zone(0), expect: [["none"]] },
                        { label: "battery low bit", frame: (f) => f.zone(BATLOW), expect: [["battery_low"]] },
                        { label: "trouble bit with battery low", frame: (f) => f.zone(BATLOW | TROUBLE), expect: [["device_fault"]] },
                        { label: "smoke while battery low and trouble", frame: (f) => f.zone(ALARM1 | BATLOW | TROUBLE), expect: [["fire"]] },
                ],
                comeBack: (f) => f.zone(0), comeBackExpect: ["fire_clear"],
        },
        {
                id: "heiman_hs3sa", kind: "smoke", model: "HS3SA/HS1SA",
                modelID: "SmokeSensor-N", manufacturerName: "HEIMAN", type: E, powerSource: B,
                endpoints: ias([0, 1, 3, 0x500, 0x502]),
                steps: [
                        { label: "zone status idle", frame: (f) => f.zone(0), expect: [["none"]] },
                        { label: "smoke (alarm1)", frame: (f) => f.zone(ALARM1), expect: [["fire"]] },
                        { label: "smoke gone", frame: (f) => f.zone(0), expect: [["fire_clear"]] },
                        { label: "tamper (cover removed)", frame: (f) => f.zone(TAMPER), expect: [["tamper"]] },
                        { label: "cover back", frame: (f) => f.zone(0), expect: [["none"]] },
                        { label: "test button pressed (test bit)", frame: (f) => f.zone(TEST), expect: [["self_test"]] },
                ],
                comeBack: battery(85, 2900), comeBackExpect: ["none"],
        },
        {
                id: "xiaomi_jtyj_gd_01lm_bw", kind: "smoke", model: "JTYJ-GD-01LM/BW",
                modelID: "lumi.sensor_smoke", manufacturerName: "LUMI", type: E, powerSource: B,
                endpoints: lumiEp([0, 1, 3, 0x0c, 0x12, 0x500], [0x19]),
                steps: [
                        { label: "heartbeat (0xff01 struct: voltage, temperature, density 0)",
                          frame: (f) => f.lumiStruct([[1, 0x21, 3005], [3, 0x28, 23], [4, 0x21, 5032], [5, 0x21, 4], [6, 0x24, 0], [10, 0x21, 0], [100, 0x20, 0]]),
                          expect: [["none"]] },
                        { label: "smoke (alarm1)", frame: (f) => f.zone(ALARM1), expect: [["fire"]] },
                        { label: "smoke gone", frame: (f) => f.zone(0), expect: [["fire_clear"]] },
                        { label: "self-test from the button (alarm2: zhc reads it as test)", frame: (f) => f.zone(ALARM2), expect: [["self_test"]] },
                        { label: "self-test over", frame: (f) => f.zone(0), expect: [["none"]] },
                        { label: "battery low bit", frame: (f) => f.zone(BATLOW), expect: [["battery_low"]] },
                ],
                comeBack: (f) => f.lumiStruct([[1, 0x21, 2855], [3, 0x28, 22], [4, 0x21, 5032], [5, 0x21, 4], [6, 0x24, 0], [10, 0x21, 0], [100, 0x20, 0]]),
                comeBackExpect: ["none"],
        },
        {
                id: "aqara_jy_gz_01aq", kind: "smoke", model: "JY-GZ-01AQ",
                modelID: "lumi.sensor_smoke.acn03", manufacturerName: "LUMI", type: E, powerSource: B,
                endpoints: lumiEp([0, 1, 3, 0xfcc0], [0x19]),
                steps: [
                        { label: "battery voltage", frame: (f) => f.report("genPowerCfg", { batteryVoltage: 30 }), expect: [["none"]] },
                        { label: "smoke (0x013a = 1)", frame: (f) => f.report("manuSpecificLumi", { "0x013a": [1, 0x20], "0x013b": [6, 0x20] }, { manufacturerCode: LUMI }), expect: [["fire"]] },
                        { label: "smoke gone (0x013a = 0)", frame: (f) => f.report("manuSpecificLumi", { "0x013a": [0, 0x20], "0x013b": [0, 0x20] }, { manufacturerCode: LUMI }), expect: [["fire_clear"]] },
                        { label: "self-test result (0x0127 = 1)", frame: (f) => f.report("manuSpecificLumi", { "0x0127": [1, 0x10] }, { manufacturerCode: LUMI }), expect: [["self_test"]] },
                        { label: "self-test over (0x0127 = 0)", frame: (f) => f.report("manuSpecificLumi", { "0x0127": [0, 0x10] }, { manufacturerCode: LUMI }), expect: [["none"]] },
                ],
                comeBack: (f) => f.report("genPowerCfg", { batteryVoltage: 29 }), comeBackExpect: ["none"],
        },
        {
                id: "tuya_ts0601_tze200_ntcy3xu1", kind: "smoke", model: "TS0601_smoke_6",
                modelID: "TS0601", manufacturerName: "_TZE200_ntcy3xu1", type: E, powerSource: B, endpoints: tuyaEp,
                steps: [
                        { label: "normal, battery high (dp1=1, dp14=2)", frame: (f) => f.tuya([{ dp: 1, type: "enum", value: 1 }, { dp: 14, type: "enum", value: 2 }]), expect: [["none"]] },
                        { label: "smoke (dp1=0)", frame: (f) => f.tuya([{ dp: 1, type: "enum", value: 0 }]), expect: [["fire"]] },
                        { label: "smoke gone (dp1=1)", frame: (f) => f.tuya([{ dp: 1, type: "enum", value: 1 }]), expect: [["fire_clear"]] },
                        { label: "battery medium (dp14=1)", frame: (f) => f.tuya([{ dp: 14, type: "enum", value: 1 }]), expect: [["none"]] },
                        { label: "battery low (dp14=0: battery_state \"low\")", frame: (f) => f.tuya([{ dp: 14, type: "enum", value: 0 }]), expect: [["battery_low"]] },
                        { label: "tamper (dp4=true)", frame: (f) => f.tuya([{ dp: 4, type: "bool", value: 1 }]), expect: [["tamper"]] },
                        { label: "tamper over (dp4=false)", frame: (f) => f.tuya([{ dp: 4, type: "bool", value: 0 }]), expect: [["none"]] },
                ],
                comeBack: (f) => f.tuya([{ dp: 14, type: "enum", value: 2 }]), comeBackExpect: ["none"],
        },
        {
                id: "tuya_ts0601_tze204_ntcy3xu1", kind: "smoke", model: "TS0601_smoke_1",
                modelID: "TS0601", manufacturerName: "_TZE204_ntcy3xu1", type: E, powerSource: B, endpoints: tuyaEp,
                steps: [
                        { label: "normal, battery ok (dp1=1, dp14=1)", frame: (f) => f.tuya([{ dp: 1, type: "enum", value: 1 }, { dp: 14, type: "enum", value: 1 }]), expect: [["none"]] },
                        { label: "smoke (dp1=0)", frame: (f) => f.tuya([{ dp: 1, type: "enum", value: 0 }]), expect: [["fire"]] },
                        { label: "smoke gone (dp1=1)", frame: (f) => f.tuya([{ dp: 1, type: "enum", value: 1 }]), expect: [["fire_clear"]] },
                        { label: "battery low (dp14=0: battery_low true)", frame: (f) => f.tuya([{ dp: 14, type: "enum", value: 0 }]), expect: [["battery_low"]] },
                ],
                comeBack: (f) => f.tuya([{ dp: 1, type: "enum", value: 1 }]), comeBackExpect: ["none"],
        },
        {
                id: "tuya_ts0205", kind: "smoke", model: "TS0205",
                modelID: "TS0205", manufacturerName: "_TYZB01_dsjszp0x", type: E, powerSource: B,
                endpoints: ias([0, 1, 3, 0x500]),
                steps: [
                        { label: "battery report", frame: battery(100, 3000), expect: [["none"]] },
                        { label: "smoke (alarm1)", frame: (f) => f.zone(ALARM1), expect: [["fire"]] },
                        { label: "smoke gone", frame: (f) => f.zone(0), expect: [["fire_clear"]] },
                        { label: "tamper", frame: (f) => f.zone(TAMPER), expect: [["tamper"]] },
                        { label: "battery 10 %", frame: battery(10, 2400), expect: [["battery_low"]] },
                ],
                comeBack: (f) => f.zone(0), comeBackExpect: ["none"],
        },
        {
                id: "frient_smszb_120", kind: "smoke", model: "SMSZB-120",
                modelID: "SMSZB-120", manufacturerName: "frient A/S", type: E, powerSource: B,
                endpoints: [{ ID: 35, deviceID: 0x402, inputClusters: [0, 1, 3, 0x0f, 0x20, 0x500, 0x502], outputClusters: [0x0a, 0x19] },
                            { ID: 38, deviceID: 0x302, inputClusters: [0, 3, 0x402], outputClusters: [3] }],
                steps: [
                        { label: "zone status idle", frame: (f) => f.zone(0, { ep: 35 }), expect: [["none"]] },
                        { label: "smoke (alarm1)", frame: (f) => f.zone(ALARM1, { ep: 35 }), expect: [["fire"]] },
                        { label: "smoke gone", frame: (f) => f.zone(0, { ep: 35 }), expect: [["fire_clear"]] },
                        { label: "test (test bit)", frame: (f) => f.zone(TEST, { ep: 35 }), expect: [["self_test"]] },
                        { label: "test over", frame: (f) => f.zone(0, { ep: 35 }), expect: [["none"]] },
                        { label: "sensor fault (genBinaryInput statusFlags=1)", frame: (f) => f.report("genBinaryInput", { statusFlags: 1 }, { ep: 35 }), expect: [["device_fault"]] },
                        { label: "battery low bit", frame: (f) => f.zone(BATLOW, { ep: 35 }), expect: [["battery_low"]] },
                ],
                comeBack: (f) => f.report("msTemperatureMeasurement", { measuredValue: 2150 }, { ep: 38 }), comeBackExpect: ["none"],
        },

        /* ----------------------------------------------------------------- motion */
        {
                id: "aqara_rtcgq11lm", kind: "motion", model: "RTCGQ11LM",
                modelID: "lumi.sensor_motion.aq2", manufacturerName: "LUMI", type: E, powerSource: B,
                endpoints: lumiEp([0, 0xffff, 0x406, 0x400, 0x500, 1, 3], [0, 0x19]),
                steps: [
                        { label: "illuminance report (the sensor only sends it on motion, so zhc sets occupancy too)",
                          frame: (f) => f.report("msIlluminanceMeasurement", { measuredValue: 76 }), expect: [["activity"]] },
                        { label: "motion (occupancy=1) while occupancy is already true: no new decision",
                          frame: (f) => f.report("msOccupancySensing", { occupancy: 1 }), expect: [["none"]] },
                        { label: "zhc's occupancy_timeout (90 s) ends the occupancy", advance: 91, expect: [["none"]] },
                        { label: "motion again", frame: (f) => f.report("msOccupancySensing", { occupancy: 1 }), expect: [["activity"]] },
                        { label: "heartbeat while occupancy still true (cached occupancy repeated)",
                          frame: (f) => f.lumiStruct([[1, 0x21, 3025], [3, 0x28, 21], [5, 0x21, 12], [100, 0x10, 1], [11, 0x21, 76]]), expect: [["none"]] },
                        { label: "occupancy timeout", advance: 91, expect: [["none"]] },
                ],
                comeBack: (f) => f.report("msOccupancySensing", { occupancy: 1 }), comeBackExpect: ["activity"],
        },
        {
                id: "philips_sml001", kind: "motion", model: "9290012607",
                modelID: "SML001", manufacturerName: "Signify Netherlands B.V.", type: E, powerSource: B,
                endpoints: [{ ID: 1, profileID: 0xc05e, deviceID: 0x850, inputClusters: [0], outputClusters: [0, 3, 4, 6, 8, 0x300, 5] },
                            { ID: 2, deviceID: 0x107, inputClusters: [0, 1, 3, 0x406, 0x400, 0x402], outputClusters: [0x19] }],
                steps: [
                        { label: "battery 100 %", frame: (f) => f.report("genPowerCfg", { batteryPercentageRemaining: 200 }, { ep: 2 }), expect: [["none"]] },
                        { label: "motion (occupancy=1)", frame: (f) => f.report("msOccupancySensing", { occupancy: 1 }, { ep: 2 }), expect: [["activity"]] },
                        { label: "no motion (occupancy=0)", frame: (f) => f.report("msOccupancySensing", { occupancy: 0 }, { ep: 2 }), expect: [["none"]] },
                        { label: "temperature report", frame: (f) => f.report("msTemperatureMeasurement", { measuredValue: 2237 }, { ep: 2 }), expect: [["none"]] },
                ],
                comeBack: (f) => f.report("msOccupancySensing", { occupancy: 1 }, { ep: 2 }), comeBackExpect: ["activity"],
        },
        {
                id: "ikea_e1745", kind: "motion", model: "E1525/E1745",
                modelID: "TRADFRI motion sensor", manufacturerName: "IKEA of Sweden", type: E, powerSource: B,
                endpoints: [{ ID: 1, deviceID: 0x850, inputClusters: [0, 1, 3, 9, 0x1000, 0xfc7c], outputClusters: [3, 4, 6, 8, 0x19, 0x1000] }],
                steps: [
                        { label: "battery 87 %", frame: (f) => f.report("genPowerCfg", { batteryPercentageRemaining: 174 }), expect: [["none"]] },
                        { label: "motion in the dark (genOnOff onWithTimedOff, ctrlbits 0, on time 180 s)",
                          frame: (f) => f.command("genOnOff", "onWithTimedOff", { ctrlbits: 0, ontime: 1800, offwaittime: 0 }, { toClient: false }),
                          expect: [["activity"]] },
                        { label: "motion in daylight (ctrlbits 1: accept only when on) while zhc's timer still runs: occupancy stays true",
                          frame: (f) => f.command("genOnOff", "onWithTimedOff", { ctrlbits: 1, ontime: 1800, offwaittime: 0 }, { toClient: false }),
                          expect: [["none"]] },
                        { label: "the on time runs out (zhc's timer)", advance: 181, expect: [["none"]] },
                        { label: "motion in daylight with no timer running: zhc drops it (illuminance_below_threshold_check defaults to true), nothing is published",
                          frame: (f) => f.command("genOnOff", "onWithTimedOff", { ctrlbits: 1, ontime: 1800, offwaittime: 0 }, { toClient: false }),
                          expect: [] },
                ],
                comeBack: (f) => f.command("genOnOff", "onWithTimedOff", { ctrlbits: 0, ontime: 1800, offwaittime: 0 }, { toClient: false }),
                comeBackExpect: ["activity"],
        },
        {
                id: "tuya_ts0202", kind: "motion", model: "TS0202",
                modelID: "TS0202", manufacturerName: "_TYZB01_ef5xlc9q", type: E, powerSource: B,
                endpoints: ias([0, 1, 3, 0x500]),
                steps: [
                        { label: "battery report", frame: battery(100, 3000), expect: [["none"]] },
                        { label: "motion (alarm1)", frame: (f) => f.zone(ALARM1), expect: [["activity"]] },
                        { label: "motion over (zone status 0)", frame: (f) => f.zone(0), expect: [["none"]] },
                        { label: "tamper", frame: (f) => f.zone(TAMPER), expect: [["tamper"]] },
                        { label: "motion with battery low", frame: (f) => f.zone(ALARM1 | BATLOW), expect: [["activity", "battery_low"]] },
                ],
                /* occupancy was still true (no "motion over" since): the
                 * same level again, after offline too, is no movement. */
                comeBack: (f) => f.zone(ALARM1), comeBackExpect: ["none"],
        },
        {
                id: "hobeian_zg_204zm", kind: "presence", model: "ZG-204ZM",
                modelID: "ZG-204ZM", manufacturerName: "HOBEIAN", type: E, powerSource: B, endpoints: tuyaEp,
                steps: [
                        { label: "battery (dp121)", frame: (f) => f.tuya([{ dp: 121, type: "value", value: 90 }]), expect: [["none"]] },
                        { label: "someone moves (dp1 presence=1, dp101 motion_state=large)",
                          frame: (f) => f.tuya([{ dp: 1, type: "enum", value: 1 }, { dp: 101, type: "enum", value: 1 }]),
                          expect: [["presence_home", "activity"]] },
                        { label: "small movement (dp101=small)", frame: (f) => f.tuya([{ dp: 101, type: "enum", value: 2 }]), expect: [["activity"]] },
                        { label: "still, present (dp101=static)", frame: (f) => f.tuya([{ dp: 101, type: "enum", value: 3 }]), expect: [["none"]] },
                        { label: "nobody (dp1=0, dp101=none)", frame: (f) => f.tuya([{ dp: 1, type: "enum", value: 0 }, { dp: 101, type: "enum", value: 0 }]), expect: [["presence_clear"]] },
                ],
                comeBack: (f) => f.tuya([{ dp: 121, type: "value", value: 88 }]), comeBackExpect: ["none"],
        },

        /* ----------------------------------------------------------------- door */
        {
                id: "aqara_mccgq11lm", kind: "door", model: "MCCGQ11LM",
                modelID: "lumi.sensor_magnet.aq2", manufacturerName: "LUMI", type: E, powerSource: B,
                endpoints: lumiEp([0, 3, 0xffff, 6], [0, 4, 0xffff]),
                steps: [
                        { label: "closed (genOnOff onOff=0)", frame: (f) => f.report("genOnOff", { onOff: 0 }), expect: [["door_closed"]] },
                        { label: "opened (onOff=1)", frame: (f) => f.report("genOnOff", { onOff: 1 }), expect: [["door_open"]] },
                        { label: "closed", frame: (f) => f.report("genOnOff", { onOff: 0 }), expect: [["door_closed"]] },
                        { label: "heartbeat (0xff01: voltage, contact 0)", frame: (f) => f.lumiStruct([[1, 0x21, 3015], [3, 0x28, 20], [5, 0x21, 2], [100, 0x10, 0]]), expect: [["none"]] },
                ],
                comeBack: (f) => f.report("genOnOff", { onOff: 1 }), comeBackExpect: ["door_open"],
        },
        {
                id: "sonoff_snzb_04", kind: "door", model: "SNZB-04",
                modelID: "DS01", manufacturerName: "eWeLink", type: E, powerSource: B,
                endpoints: ias([0, 1, 3, 0x500]),
                steps: [
                        { label: "closed (zone status 0)", frame: (f) => f.zone(0), expect: [["door_closed"]] },
                        { label: "opened (alarm1)", frame: (f) => f.zone(ALARM1), expect: [["door_open"]] },
                        { label: "closed", frame: (f) => f.zone(0), expect: [["door_closed"]] },
                        { label: "battery report", frame: battery(95, 3000), expect: [["none"]] },
                ],
                comeBack: (f) => f.zone(ALARM1), comeBackExpect: ["door_open"],
        },
        {
                id: "tuya_ts0203", kind: "door", model: "TS0203",
                modelID: "TS0203", manufacturerName: "_TZ3000_26fmupbb", type: E, powerSource: B,
                endpoints: ias([0, 1, 3, 0x500]),
                steps: [
                        { label: "closed (zone status 0)", frame: (f) => f.zone(0), expect: [["door_closed"]] },
                        { label: "opened (alarm1)", frame: (f) => f.zone(ALARM1), expect: [["door_open"]] },
                        { label: "closed", frame: (f) => f.zone(0), expect: [["door_closed"]] },
                        { label: "tamper", frame: (f) => f.zone(TAMPER), expect: [["tamper"]] },
                        { label: "battery low bit", frame: (f) => f.zone(BATLOW), expect: [["battery_low"]] },
                ],
                comeBack: (f) => f.zone(0), comeBackExpect: ["none"],
        },

        /* ----------------------------------------------------------------- water */
        {
                id: "aqara_sjcgq11lm", kind: "water", model: "SJCGQ11LM",
                modelID: "lumi.sensor_wleak.aq1", manufacturerName: "LUMI", type: E, powerSource: B,
                endpoints: lumiEp([0, 3, 1, 0x500], [0x19]),
                steps: [
                        { label: "dry (zone status 0)", frame: (f) => f.zone(0), expect: [["none"]] },
                        { label: "leak (alarm1)", frame: (f) => f.zone(ALARM1), expect: [["water_leak"]] },
                        { label: "dry again", frame: (f) => f.zone(0), expect: [["water_clear"]] },
                        { label: "heartbeat (0xff01 with leak flag 0)", frame: (f) => f.lumiStruct([[1, 0x21, 2985], [3, 0x28, 19], [5, 0x21, 3], [100, 0x10, 0]]), expect: [["none"]] },
                ],
                comeBack: (f) => f.zone(0), comeBackExpect: ["none"],
        },
        {
                id: "sonoff_snzb_05p", kind: "water", model: "SNZB-05P",
                modelID: "SNZB-05P", manufacturerName: "SONOFF", type: E, powerSource: B,
                endpoints: ias([0, 1, 3, 0x20, 0x500, 0xfc57]),
                steps: [
                        { label: "dry", frame: (f) => f.zone(0), expect: [["none"]] },
                        { label: "leak (alarm1)", frame: (f) => f.zone(ALARM1), expect: [["water_leak"]] },
                        { label: "battery report during the leak (cached water_leak repeated)", frame: battery(98, 3000), expect: [["none"]] },
                        { label: "dry again", frame: (f) => f.zone(0), expect: [["water_clear"]] },
                ],
                comeBack: (f) => f.zone(0), comeBackExpect: ["none"],
        },
        {
                id: "tuya_ts0207", kind: "water", model: "TS0207_water_leak_detector_1",
                modelID: "TS0207", manufacturerName: "_TZ3000_upgcbody", type: E, powerSource: B,
                endpoints: ias([0, 1, 3, 0x500]),
                steps: [
                        { label: "dry", frame: (f) => f.zone(0), expect: [["none"]] },
                        { label: "leak (alarm1)", frame: (f) => f.zone(ALARM1), expect: [["water_leak"]] },
                        { label: "dry again", frame: (f) => f.zone(0), expect: [["water_clear"]] },
                        { label: "battery low bit", frame: (f) => f.zone(BATLOW), expect: [["battery_low"]] },
                ],
                comeBack: (f) => f.zone(0), comeBackExpect: ["none"],
        },

        /* ----------------------------------------------------------------- SOS and buttons */
        {
                id: "heiman_hs1eb", kind: "button", model: "HS1EB/HS1EB-E",
                config: { sos_actions: "single, double, hold" },
                modelID: "SOS-EF-3.0", manufacturerName: "HEIMAN", type: E, powerSource: B,
                endpoints: ias([0, 1, 3, 0x500]),
                steps: [
                        { label: "battery report", frame: battery(100, 3000), expect: [["none"]] },
                        { label: "press (zone status 1: action single)", frame: (f) => f.zone(1), expect: [["sos"]] },
                        { label: "zone status 0 (action off)", frame: (f) => f.zone(0), expect: [["none"]] },
                        { label: "double press (zone status 2)", frame: (f) => f.zone(2), expect: [["sos"]] },
                        { label: "long press (zone status 3)", frame: (f) => f.zone(3), expect: [["sos"]] },
                        { label: "press with the battery-low bit (zone status 0x0009): zhc maps no action and no battery_low; the payload is the same as a battery report",
                          frame: (f) => f.zone(ALARM1 | BATLOW), expect: [["none"]] },
                        { label: "genPowerCfg batteryAlarmState bit 0", frame: (f) => f.report("genPowerCfg", { batteryAlarmState: 1 }), expect: [["battery_low"]] },
                ],
                comeBack: battery(20, 2500), comeBackExpect: ["none"],
        },
        {
                id: "tuya_ts0215a_sos", kind: "button", model: "TS0215A_sos",
                modelID: "TS0215A", manufacturerName: "_TZ3000_4fsgukof", type: E, powerSource: B,
                endpoints: [{ ID: 1, deviceID: 0x401, inputClusters: [0, 1, 3, 0x500, 0xb05], outputClusters: [0x19, 0x501] }],
                steps: [
                        { label: "battery report", frame: battery(100, 3000), expect: [["none"]] },
                        { label: "press (ssIasAce emergency)", frame: (f) => f.command("ssIasAce", "emergency", {}, { toClient: false }), expect: [["sos"]] },
                        { label: "battery report after the press (action is not cached)", frame: battery(99, 3000), expect: [["none"]] },
                        { label: "press again", frame: (f) => f.command("ssIasAce", "emergency", {}, { toClient: false }), expect: [["sos"]] },
                ],
                comeBack: battery(95, 2900), comeBackExpect: ["none"],
        },
        {
                id: "tuya_ts0601_sos", kind: "button", model: "TS0601_sos",
                modelID: "TS0601", manufacturerName: "_TZE284_2baujqot", type: E, powerSource: B, endpoints: tuyaEp,
                steps: [
                        { label: "battery (dp3)", frame: (f) => f.tuya([{ dp: 3, type: "value", value: 100 }]), expect: [["none"]] },
                        { label: "press (dp23)", frame: (f) => f.tuya([{ dp: 23, type: "enum", value: 0 }]), expect: [["sos"]] },
                        { label: "battery (dp3) after the press", frame: (f) => f.tuya([{ dp: 3, type: "value", value: 98 }]), expect: [["none"]] },
                ],
                comeBack: (f) => f.tuya([{ dp: 3, type: "value", value: 97 }]), comeBackExpect: ["none"],
        },
        {
                id: "hobeian_zg_101z", kind: "button", model: "ZG-101Z",
                modelID: "ZG-101Z", manufacturerName: "HOBEIAN", type: E, powerSource: B,
                endpoints: [{ ID: 1, deviceID: 0x402, inputClusters: [0, 1, 3, 0x500, 0xef00], outputClusters: [0x19, 0x0a] }],
                steps: [
                        { label: "zone status idle", frame: (f) => f.zone(0), expect: [["none"]] },
                        { label: "press (dp26 = 0: action sos)", frame: (f) => f.tuya([{ dp: 26, type: "enum", value: 0 }]), expect: [["sos"]] },
                        { label: "long press (dp29 = 0: action emergency)", frame: (f) => f.tuya([{ dp: 29, type: "enum", value: 0 }]), expect: [["sos"]] },
                        { label: "battery low bit", frame: (f) => f.zone(BATLOW), expect: [["battery_low"]] },
                ],
                comeBack: (f) => f.zone(0), comeBackExpect: ["none"],
        },
        {
                id: "feibit_seb01zb", kind: "button", model: "SEB01ZB",
                modelID: "FNB56-SOS03FB1.5", manufacturerName: "feibit", type: E, powerSource: B,
                endpoints: ias([0, 1, 3, 0x500]),
                steps: [
                        { label: "battery report", frame: battery(100, 3000), expect: [["none"]] },
                        { label: "press (alarm2: sos true)", frame: (f) => f.zone(ALARM2), expect: [["sos"]] },
                        { label: "battery report while sos is still true (cached sos repeated: not a new press)", frame: battery(99, 3000), expect: [["none"]] },
                        { label: "released (zone status 0: sos false)", frame: (f) => f.zone(0), expect: [["none"]] },
                        { label: "pressed again", frame: (f) => f.zone(ALARM2), expect: [["sos"]] },
                        { label: "released", frame: (f) => f.zone(0), expect: [["none"]] },
                ],
                comeBack: (f) => f.zone(0), comeBackExpect: ["none"],
        },
        {
                id: "sonoff_snzb_01", kind: "button", model: "SNZB-01",
                config: { sos_actions: "double, long" },
                modelID: "WB01", manufacturerName: "eWeLink", type: E, powerSource: B,
                endpoints: [{ ID: 1, deviceID: 0, inputClusters: [0, 1, 3], outputClusters: [3, 6] }],
                steps: [
                        { label: "single press (genOnOff toggle)", frame: (f) => f.command("genOnOff", "toggle", {}, { toClient: false }), expect: [["none"]] },
                        { label: "double press (genOnOff on)", frame: (f) => f.command("genOnOff", "on", {}, { toClient: false }), expect: [["sos"]] },
                        { label: "long press (genOnOff off)", frame: (f) => f.command("genOnOff", "off", {}, { toClient: false }), expect: [["sos"]] },
                        { label: "battery report", frame: battery(100, 3100), expect: [["none"]] },
                ],
                comeBack: battery(90, 3000), comeBackExpect: ["none"],
        },
        {
                id: "aqara_wxkg11lm", kind: "button", model: "WXKG11LM",
                config: { sos_actions: "double, hold" },
                modelID: "lumi.remote.b1acn01", manufacturerName: "LUMI", type: E, powerSource: B,
                endpoints: lumiEp([0, 3, 1, 0x12], [0, 0x19]),
                steps: [
                        { label: "single (genMultistateInput presentValue 1)", frame: (f) => f.report("genMultistateInput", { presentValue: 1 }), expect: [["none"]] },
                        { label: "double (presentValue 2)", frame: (f) => f.report("genMultistateInput", { presentValue: 2 }), expect: [["sos"]] },
                        { label: "hold (presentValue 0)", frame: (f) => f.report("genMultistateInput", { presentValue: 0 }), expect: [["sos"]] },
                        { label: "release (presentValue 255)", frame: (f) => f.report("genMultistateInput", { presentValue: 255 }), expect: [["none"]] },
                ],
                comeBack: (f) => f.lumiStruct([[1, 0x21, 3025], [3, 0x28, 22], [5, 0x21, 1]]), comeBackExpect: ["none"],
        },

        /* ----------------------------------------------------------------- relay plugs */
        {
                id: "tuya_ts011f_plug", kind: "relay", model: "TS011F_plug_1",
                modelID: "TS011F", manufacturerName: "_TZ3000_w0qqde0g", type: R, powerSource: M,
                endpoints: [{ ID: 1, deviceID: 0x51, inputClusters: [0, 3, 4, 5, 6, 0x702, 0xb04, 0xe000, 0xe001], outputClusters: [0x0a, 0x19] }],
                readValues: { genBasic: { zclVersion: 3 } },
                steps: [
                        { label: "on, drawing power (genOnOff onOff=1)", frame: (f) => f.report("genOnOff", { onOff: 1 }), expect: [["relay_on_confirmed"]] },
                        { label: "anjud cuts the charger: {\"state\":\"OFF\"} to <topic>/set; Zigbee2MQTT's optimistic state after the device's default response",
                          set: { state: "OFF" }, expect: [["relay_off_confirmed"]] },
                        { label: "the plug's own report (onOff=0)", frame: (f) => f.report("genOnOff", { onOff: 0 }), expect: [["relay_off_confirmed"]] },
                        { label: "anjud restores: {\"state\":\"ON\"}; optimistic state", set: { state: "ON" }, expect: [["relay_on_confirmed"]] },
                        { label: "the plug's own report (onOff=1)", frame: (f) => f.report("genOnOff", { onOff: 1 }), expect: [["relay_on_confirmed"]] },
                        { label: "the plug stops answering", unreachable: true, expect: [] },
                        { label: "{\"state\":\"OFF\"} to an unreachable plug: no state is published (no confirmation)", set: { state: "OFF" }, expect: [] },
                        { label: "the plug answers again", unreachable: false, expect: [] },
                ],
                offlineByPing: true,
                comeBack: (f) => f.report("genOnOff", { onOff: 1 }), comeBackExpect: ["relay_on_confirmed"],
        },
        {
                id: "aqara_sp_euc01", kind: "relay", model: "SP-EUC01",
                modelID: "lumi.plug.maeu01", manufacturerName: "LUMI", type: R, powerSource: M,
                endpoints: [{ ID: 1, deviceID: 0x51, inputClusters: [0, 2, 3, 4, 5, 6, 9, 0x702, 0xb04, 0xfcc0], outputClusters: [0x0a, 0x19] },
                            { ID: 21, deviceID: 0x0b, inputClusters: [0x0c], outputClusters: [] }],
                readValues: { genBasic: { zclVersion: 3 } },
                steps: [
                        { label: "on (genOnOff onOff=1)", frame: (f) => f.report("genOnOff", { onOff: 1 }), expect: [["relay_on_confirmed"]] },
                        { label: "anjud cuts: {\"state\":\"OFF\"}; optimistic state", set: { state: "OFF" }, expect: [["relay_off_confirmed"]] },
                        { label: "the plug's own report (onOff=0)", frame: (f) => f.report("genOnOff", { onOff: 0 }), expect: [["relay_off_confirmed"]] },
                        { label: "anjud restores: {\"state\":\"ON\"}; optimistic state", set: { state: "ON" }, expect: [["relay_on_confirmed"]] },
                        { label: "the plug's own report (onOff=1)", frame: (f) => f.report("genOnOff", { onOff: 1 }), expect: [["relay_on_confirmed"]] },
                ],
                offlineByPing: true,
                comeBack: (f) => f.report("genOnOff", { onOff: 1 }), comeBackExpect: ["relay_on_confirmed"],
        },

        /* ----------------------------------------------------------------- mmWave presence */
        {
                id: "aqara_fp1", kind: "presence", model: "RTCZCGQ11LM",
                modelID: "lumi.motion.ac01", manufacturerName: "aqara", type: R, powerSource: M, applicationVersion: 54,
                endpoints: lumiEp([0, 3, 0xfcc0], [3, 0x19]),
                readValues: { genBasic: { zclVersion: 3 } },
                steps: [
                        { label: "someone enters (0x0142 presence=1, 0x0143 event=enter)",
                          frame: (f) => f.report("manuSpecificLumi", { "0x0142": [1, 0x20], "0x0143": [0, 0x20] }, { manufacturerCode: LUMI }),
                          expect: [["presence_home", "activity"]] },
                        { label: "approaches (0x0143 = approach)", frame: (f) => f.report("manuSpecificLumi", { "0x0143": [6, 0x20] }, { manufacturerCode: LUMI }), expect: [["activity"]] },
                        { label: "leaves (0x0143 = leave, 0x0142 = 0)",
                          frame: (f) => f.report("manuSpecificLumi", { "0x0143": [1, 0x20], "0x0142": [0, 0x20] }, { manufacturerCode: LUMI }),
                          expect: [["presence_clear", "activity"]] },
                ],
                offlineByPing: true,
                comeBack: (f) => f.report("manuSpecificLumi", { "0x0142": [1, 0x20] }, { manufacturerCode: LUMI }), comeBackExpect: ["presence_home"],
        },
        {
                id: "aqara_fp1e", kind: "presence", model: "FP1E",
                modelID: "lumi.sensor_occupy.agl1", manufacturerName: "aqara", type: R, powerSource: M,
                endpoints: lumiEp([0, 3, 0xfcc0], [3, 0x19]),
                readValues: { genBasic: { zclVersion: 3 } },
                steps: [
                        { label: "presence with movement (0x0142=1, 0x0160=movement)",
                          frame: (f) => f.report("manuSpecificLumi", { "0x0142": [1, 0x20], "0x0160": [3, 0x20] }, { manufacturerCode: LUMI }),
                          expect: [["presence_home", "activity"]] },
                        { label: "target distance (0x015f)", frame: (f) => f.report("manuSpecificLumi", { "0x015f": [187, 0x23] }, { manufacturerCode: LUMI }), expect: [["none"]] },
                        { label: "present, not moving (0x0160=no_movement)", frame: (f) => f.report("manuSpecificLumi", { "0x0160": [4, 0x20] }, { manufacturerCode: LUMI }), expect: [["none"]] },
                        { label: "moves again", frame: (f) => f.report("manuSpecificLumi", { "0x0160": [3, 0x20] }, { manufacturerCode: LUMI }), expect: [["activity"]] },
                        { label: "nobody (0x0142=0, 0x0160=no_presence)",
                          frame: (f) => f.report("manuSpecificLumi", { "0x0142": [0, 0x20], "0x0160": [2, 0x20] }, { manufacturerCode: LUMI }),
                          expect: [["presence_clear"]] },
                ],
                offlineByPing: true,
                comeBack: (f) => f.report("manuSpecificLumi", { "0x0142": [1, 0x20] }, { manufacturerCode: LUMI }), comeBackExpect: ["presence_home"],
        },
        {
                id: "tuya_ts0601_tze200_ztc6ggyl", kind: "presence", model: "TS0601_smart_human_presence_sensor_1",
                modelID: "TS0601", manufacturerName: "_TZE200_ztc6ggyl", type: R, powerSource: M, endpoints: tuyaEp,
                readValues: { genBasic: { zclVersion: 3 } },
                steps: [
                        { label: "self-test passed (dp6=1)", frame: (f) => f.tuya([{ dp: 6, type: "enum", value: 1 }], { command: "dataResponse" }), expect: [["none"]] },
                        { label: "presence (dp1=1)", frame: (f) => f.tuya([{ dp: 1, type: "enum", value: 1 }]), expect: [["presence_home"]] },
                        { label: "target distance (dp9)", frame: (f) => f.tuya([{ dp: 9, type: "value", value: 215 }]), expect: [["none"]] },
                        { label: "illuminance (dp104)", frame: (f) => f.tuya([{ dp: 104, type: "value", value: 64 }]), expect: [["none"]] },
                        { label: "nobody (dp1=0)", frame: (f) => f.tuya([{ dp: 1, type: "enum", value: 0 }]), expect: [["presence_clear"]] },
                ],
                offlineByPing: true,
                comeBack: (f) => f.tuya([{ dp: 1, type: "enum", value: 1 }]), comeBackExpect: ["presence_home"],
        },

        /* ----------------------------------------------------------------- room fall detectors */
        {
                id: "heiman_hs2fd_ef1", kind: "fall", model: "HS2FD-EF1-3.0",
                modelID: "HS2FD-EF1-3.0", manufacturerName: "HEIMAN", type: R, powerSource: M,
                endpoints: [{ ID: 1, deviceID: 0x107, inputClusters: [0, 3, 0x406, 0xfc8b], outputClusters: [3, 0x19] }],
                readValues: { genBasic: { zclVersion: 3 } },
                steps: [
                        { label: "someone there, active (occupancy bitmap 0x03)", frame: (f) => f.report("msOccupancySensing", { occupancy: 0x03 }), expect: [["presence_home", "activity"]] },
                        { label: "fall warning (bits 4-5 = 1: 0x11)", frame: (f) => f.report("msOccupancySensing", { occupancy: 0x11 }), expect: [["fall_warning"]] },
                        { label: "fall alarm (bits 4-5 = 2: 0x21)", frame: (f) => f.report("msOccupancySensing", { occupancy: 0x21 }), expect: [["fall_prealarm"]] },
                        { label: "back to normal, still present (0x01)", frame: (f) => f.report("msOccupancySensing", { occupancy: 0x01 }), expect: [["none"]] },
                        { label: "nobody (0x00)", frame: (f) => f.report("msOccupancySensing", { occupancy: 0x00 }), expect: [["presence_clear"]] },
                ],
                offlineByPing: true,
                comeBack: (f) => f.report("msOccupancySensing", { occupancy: 0x01 }), comeBackExpect: ["presence_home"],
        },
        {
                id: "tuya_mir_he200_ty", kind: "fall", model: "MIR-HE200-TY",
                modelID: "TS0601", manufacturerName: "_TZE200_lu01t0zl", type: R, powerSource: M, endpoints: tuyaEp,
                readValues: { genBasic: { zclVersion: 3 } },
                steps: [
                        { label: "someone there (dp1 presence=1, dp102 occupancy=1, dp114 moving_forward)",
                          frame: (f) => f.tuya([{ dp: 1, type: "enum", value: 1 }, { dp: 102, type: "enum", value: 1 }, { dp: 114, type: "enum", value: 1 }]),
                          expect: [["presence_home", "activity"]] },
                        { label: "maybe a fall (dp116=1)", frame: (f) => f.tuya([{ dp: 116, type: "enum", value: 1 }]), expect: [["fall_warning"]] },
                        { label: "fall (dp116=2)", frame: (f) => f.tuya([{ dp: 116, type: "enum", value: 2 }]), expect: [["fall_prealarm"]] },
                        { label: "fall status none (dp116=0)", frame: (f) => f.tuya([{ dp: 116, type: "enum", value: 0 }]), expect: [["none"]] },
                        { label: "standing still (dp114=0)", frame: (f) => f.tuya([{ dp: 114, type: "enum", value: 0 }]), expect: [["none"]] },
                        { label: "nobody (dp1=0, dp102=0)", frame: (f) => f.tuya([{ dp: 1, type: "enum", value: 0 }, { dp: 102, type: "enum", value: 0 }]), expect: [["presence_clear"]] },
                ],
                offlineByPing: true,
                comeBack: (f) => f.tuya([{ dp: 1, type: "enum", value: 1 }]), comeBackExpect: ["presence_home"],
        },
        {
                id: "owon_fds315", kind: "fall", model: "FDS315",
                modelID: "FDS315", manufacturerName: "OWON", type: R, powerSource: M,
                endpoints: [{ ID: 1, deviceID: 0x107, inputClusters: [0, 3, 0xfd00], outputClusters: [3, 0x19] }],
                readValues: { genBasic: { zclVersion: 3 } },
                steps: [
                        { label: "occupied (status 1), breathing 16", frame: (f) => f.report("fallDetectionOwon", { status: 1, breathing_rate: 16 }), expect: [["presence_home"]] },
                        { label: "sitting (status 2)", frame: (f) => f.report("fallDetectionOwon", { status: 2 }), expect: [["none"]] },
                        { label: "low posture (status 4)", frame: (f) => f.report("fallDetectionOwon", { status: 4 }), expect: [["none"]] },
                        { label: "falling (status 5)", frame: (f) => f.report("fallDetectionOwon", { status: 5 }), expect: [["fall_prealarm"]] },
                        { label: "occupied again (status 1)", frame: (f) => f.report("fallDetectionOwon", { status: 1 }), expect: [["none"]] },
                        { label: "unoccupied (status 0)", frame: (f) => f.report("fallDetectionOwon", { status: 0 }), expect: [["presence_clear"]] },
                ],
                offlineByPing: true,
                comeBack: (f) => f.report("fallDetectionOwon", { status: 1 }), comeBackExpect: ["presence_home"],
        },

        /* ----------------------------------------------------------------- vibration, bed pad */
        {
                id: "aqara_djt11lm", kind: "motion", model: "DJT11LM",
                modelID: "lumi.vibration.aq1", manufacturerName: "LUMI", type: E, powerSource: B,
                endpoints: lumiEp([0, 3, 0x19, 0x101], [0, 4, 3, 5, 0x19, 0x101]),
                steps: [
                        { label: "vibration (closuresDoorLock 0x0055 = 1)", frame: (f) => f.report("closuresDoorLock", { "0x0055": [1, 0x21] }), expect: [["activity"]] },
                        { label: "vibration_timeout (90 s) ends vibration", advance: 91, expect: [["none"]] },
                        { label: "tilt (0x0055 = 2)", frame: (f) => f.report("closuresDoorLock", { "0x0055": [2, 0x21] }), expect: [["activity"]] },
                        { label: "drop (0x0055 = 3): the sensor fell, not a person", frame: (f) => f.report("closuresDoorLock", { "0x0055": [3, 0x21] }), expect: [["none"]] },
                ],
                comeBack: (f) => f.lumiStruct([[1, 0x21, 3045], [3, 0x28, 21], [5, 0x21, 7]]), comeBackExpect: ["none"],
        },
        {
                id: "owon_spm915", kind: "bed", model: "SPM915",
                modelID: "SPM915", manufacturerName: "OWON", type: E, powerSource: B,
                endpoints: ias([0, 1, 3, 0x500]),
                steps: [
                        { label: "battery report", frame: battery(100, 3000), expect: [["none"]] },
                        { label: "in bed (zone status 0: contact true)", frame: (f) => f.zone(0), expect: [["bed_back"]] },
                        { label: "out of bed (alarm1: contact false)", frame: (f) => f.zone(ALARM1), expect: [["bed_exit"]] },
                        { label: "back in bed", frame: (f) => f.zone(0), expect: [["bed_back"]] },
                        { label: "tamper", frame: (f) => f.zone(TAMPER), expect: [["tamper"]] },
                ],
                comeBack: (f) => f.zone(0), comeBackExpect: ["none"],
        },
];
