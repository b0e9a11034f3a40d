// A node-opcua SERVER (an independent OPC UA stack) laid out like our plant simulator, for
// factory_twin's client interop tests (tests/opcua/test_client_interop.py).
//
//   node server.js PORT
//
// Objects/Machines/ETCH-01 (ns "urn:factory-twin:plant", string node ids "<id>.Parameters.<tag>")
// with Parameters chamber_pressure (Double, EURange, ramps every 100 ms), rf_power (Double),
// step (Int32), door_open (Boolean); State/E10State (Int32) etc.; methods Hold and Resume
// (Boolean out); an ExclusiveLimitAlarm "chamber_pressure.hi" on chamber_pressure whose events
// reach the Server object (SourceName = ETCH-01).
// Reads commands from stdin, one JSON per line: {"cmd": "set", "tag": ..., "value": ...},
// {"cmd": "stop"}. Prints JSON lines: {"ready": url}, {"method": name}, {"ack": comment}.
// node-opcua comes from tests/interop/node_modules (npm ci --prefix tests/interop).
"use strict";
const { opcua, out, newServer, serve, run } = require("./common.js");
const { Variant, DataType, StatusCodes } = opcua;

run(async () => {
    const server = newServer("/interop", "factory_twin node-opcua interop server", 48400);
    await server.initialize();
    const addressSpace = server.engine.addressSpace;
    addressSpace.installAlarmsAndConditionsService();
    const ns = addressSpace.registerNamespace("urn:factory-twin:plant");
    const serverObj = addressSpace.rootFolder.objects.server;

    const machines = ns.addFolder(addressSpace.rootFolder.objects, {
        browseName: "Machines",
        nodeId: "s=Machines",
    });
    const id = "ETCH-01";
    const machine = ns.addObject({
        browseName: id,
        nodeId: `s=${id}`,
        organizedBy: machines,
        eventNotifier: 1,
        eventSourceOf: serverObj,
    });
    const params = ns.addObject({ componentOf: machine, browseName: "Parameters", nodeId: `s=${id}.Parameters` });
    const vars = {};
    vars.chamber_pressure = ns.addAnalogDataItem({
        componentOf: params,
        browseName: "chamber_pressure",
        nodeId: `s=${id}.Parameters.chamber_pressure`,
        dataType: "Double",
        engineeringUnitsRange: { low: 0, high: 20 },
        engineeringUnits: opcua.standardUnits.pascal,
        value: new Variant({ dataType: DataType.Double, value: 1.0 }),
        accessLevel: "CurrentRead | CurrentWrite",
        userAccessLevel: "CurrentRead | CurrentWrite",
    });
    const plain = (name, dataType, value) =>
        ns.addVariable({
            componentOf: params,
            browseName: name,
            nodeId: `s=${id}.Parameters.${name}`,
            dataType,
            value: new Variant({ dataType: DataType[dataType], value }),
            accessLevel: "CurrentRead | CurrentWrite",
            userAccessLevel: "CurrentRead | CurrentWrite",
        });
    vars.rf_power = plain("rf_power", "Double", 0.0);
    vars.step = plain("step", "Int32", 0);
    vars.door_open = plain("door_open", "Boolean", false);

    const state = ns.addObject({ componentOf: machine, browseName: "State", nodeId: `s=${id}.State` });
    for (const [name, dt, v] of [
        ["E10State", "Int32", 1],
        ["E10StateName", "String", "standby"],
        ["CurrentLot", "String", ""],
        ["Recipe", "String", ""],
        ["WaferCount", "UInt32", 0],
        ["OperationMode", "Int32", 3],
    ]) {
        ns.addVariable({
            componentOf: state,
            browseName: name,
            nodeId: `s=${id}.State.${name}`,
            dataType: dt,
            value: new Variant({ dataType: DataType[dt], value: v }),
        });
    }
    for (const name of ["Hold", "Resume"]) {
        const m = ns.addMethod(machine, {
            browseName: name,
            nodeId: `s=${id}.${name}`,
            inputArguments: [],
            outputArguments: [{ name: "ok", dataType: DataType.Boolean }],
        });
        m.bindMethod((inputArguments, context, callback) => {
            out({ method: name });
            callback(null, {
                statusCode: StatusCodes.Good,
                outputArguments: [{ dataType: DataType.Boolean, value: true }],
            });
        });
    }

    const alarm = ns.instantiateExclusiveLimitAlarm("ExclusiveLimitAlarmType", {
        browseName: "chamber_pressure.hi",
        nodeId: `s=${id}.Alarms.chamber_pressure.hi`,
        componentOf: machine,
        conditionSource: machine,
        conditionName: "chamber_pressure.hi",
        inputNode: vars.chamber_pressure,
        highLimit: 8.0,
        lowLimit: -1000.0,
        severity: 600,
    });
    alarm.on("acknowledged", (eventId, comment) => out({ ack: comment ? comment.text : "" }));

    let ramp = 0;
    const timer = setInterval(() => {
        ramp += 1;
        vars.rf_power.setValueFromSource({ dataType: DataType.Double, value: 100 + (ramp % 50) });
    }, 100);

    await serve(server, timer, (msg) => {
        if (msg.cmd === "set") {
            const v = vars[msg.tag];
            const dt = v.dataType.value;
            v.setValueFromSource({ dataType: dt, value: msg.value });
            out({ set: msg.tag, value: msg.value });
        }
    });
});
