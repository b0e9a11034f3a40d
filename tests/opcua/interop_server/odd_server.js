// A node-opcua SERVER whose address space is unlike our plant simulator's, for the tests of
// factory_twin's client, browse, import and record against foreign stacks
// (tests/opcua/test_client_odd_server.py).
//
//   node odd_server.js PORT
//
// Under Objects/OddPlant (namespaces urn:odd:a and urn:odd:b, numeric, GUID, opaque and
// string node ids, some with spaces, ';' and '/'):
//   Scalars      one variable per built-in type (Boolean .. StatusCode), mixed node id kinds
//   Arrays       Double[] (ns b, i=2001) and a 2x3 Double matrix (i=2002)
//   Trouble      BadValue (Double, status BadSensorFailure), NullValue (BaseDataType, null),
//                AnyValue (BaseDataType, an Int16) and AnyEmpty (BaseDataType, null), both
//                writable, each write printed as {"written": name, "dataType": ..., "value": ...},
//                Shifter (Double; {"cmd": "shift", "to": "String", "value": "x"} changes its
//                DataType and value at run time),
//                StringForNumber (String "12.5"), WriteOnly (no read access),
//                Denied (readable for nobody: user access level 0), Reset (a Method)
//   Loop         an object with Organizes references back to OddPlant and to itself
//   Deep         Level01/Level02/.../Level14/Bottom (Double)
//   Big          1000 Double variables (ns b, i=10000..10999)
//   Pump 7       an object with Parameters (Speed Double with EURange/EngineeringUnits,
//                Running Boolean, Count UInt32, Label LocalizedText)
// Prints {"ready": url} (and the writes); reads {"cmd": "stop"} and {"cmd": "shift", ...}
// on stdin.
"use strict";
const { opcua, out, newServer, serve, run } = require("./common.js");
const { Variant, DataType, StatusCodes, VariantArrayType } = opcua;

run(async () => {
    const server = newServer("/odd", "factory_twin odd node-opcua server", 48401);
    await server.initialize();
    const addressSpace = server.engine.addressSpace;
    const a = addressSpace.registerNamespace("urn:odd:a");
    const b = addressSpace.registerNamespace("urn:odd:b");
    const objects = addressSpace.rootFolder.objects;
    const rw = { accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite" };

    const plant = a.addFolder(objects, { browseName: "OddPlant", nodeId: "s=OddPlant" });

    // ---- scalars of every built-in type, node ids of every kind
    const scalars = b.addObject({ organizedBy: plant, browseName: "Scalars", nodeId: "i=1000" });
    const guid = (n) => `g=1e2d3c4b-0000-4000-8000-${String(n).padStart(12, "0")}`;
    const opaque = (text) => "b=" + Buffer.from(text).toString("base64");
    const scalarDefs = [
        ["Bool", "Boolean", true, "i=1001", b],
        ["Byte", "Byte", 200, guid(1), b],
        ["SByte", "SByte", -100, opaque("sbyte"), b],
        ["Int16", "Int16", -12345, "s=Scalars/Int16 (signed)", a],
        ["UInt16", "UInt16", 54321, "i=1005", b],
        ["Int32", "Int32", -2000000000, guid(6), b],
        ["UInt32", "UInt32", 4000000000, opaque("uint32"), b],
        ["Int64", "Int64", [0xffffffff, 0xfffffffe], "s=Scalars;Int64", a],
        ["UInt64", "UInt64", [0x1, 0x0], "i=1009", b],
        ["Float", "Float", 1.5, "s=Scalars.Float", a],
        ["Double", "Double", 3.25, "i=1011", b],
        ["String", "String", "héllo, wörld", "s=Scalars String", a],
        ["DateTime", "DateTime", new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), "i=1013", b],
        ["Text", "LocalizedText", { locale: "de", text: "Pumpe läuft" }, guid(14), b],
        ["Bytes", "ByteString", Buffer.from([0, 1, 2, 255]), opaque("bytes"), b],
        ["Guid", "Guid", "72962b91-fa75-4ae6-8d28-b404dc7daf63", "i=1016", b],
        ["Status", "StatusCode", StatusCodes.BadOutOfRange, "i=1017", b],
    ];
    for (const [name, dt, value, nodeId, ns] of scalarDefs) {
        ns.addVariable({
            componentOf: scalars,
            browseName: name,
            nodeId,
            dataType: dt,
            value: new Variant({ dataType: DataType[dt], arrayType: VariantArrayType.Scalar, value }),
            ...rw,
        });
    }

    // ---- arrays
    const arrays = b.addObject({ organizedBy: plant, browseName: "Arrays", nodeId: "i=2000" });
    b.addVariable({
        componentOf: arrays,
        browseName: "Spectrum",
        nodeId: "i=2001",
        dataType: "Double",
        valueRank: 1,
        arrayDimensions: [5],
        value: new Variant({
            dataType: DataType.Double,
            arrayType: VariantArrayType.Array,
            value: new Float64Array([1, 2, 3, 4, 5]),
        }),
    });
    b.addVariable({
        componentOf: arrays,
        browseName: "Matrix",
        nodeId: "i=2002",
        dataType: "Double",
        valueRank: 2,
        arrayDimensions: [2, 3],
        value: new Variant({
            dataType: DataType.Double,
            arrayType: VariantArrayType.Matrix,
            dimensions: [2, 3],
            value: new Float64Array([1, 2, 3, 4, 5, 6]),
        }),
    });

    // ---- trouble makers
    const trouble = a.addObject({ organizedBy: plant, browseName: "Trouble", nodeId: "s=Trouble" });
    const badValue = a.addVariable({
        componentOf: trouble,
        browseName: "BadValue",
        nodeId: "s=Trouble.BadValue",
        dataType: "Double",
        ...rw,
    });
    badValue.setValueFromSource(
        new Variant({ dataType: DataType.Double, value: 0 }),
        StatusCodes.BadSensorFailure
    );
    a.addVariable({
        componentOf: trouble,
        browseName: "NullValue",
        nodeId: "s=Trouble.NullValue",
        dataType: "BaseDataType",
        value: new Variant({ dataType: DataType.Null }),
    });
    // BaseDataType variables a client may write (AnyValue holds an Int16, AnyEmpty nothing);
    // each write is printed as {"written": name, "dataType": ..., "value": ...}
    for (const [name, value] of [
        ["AnyValue", new Variant({ dataType: DataType.Int16, value: 5 })],
        ["AnyEmpty", new Variant({ dataType: DataType.Null })],
    ]) {
        const any = a.addVariable({
            componentOf: trouble,
            browseName: name,
            nodeId: `s=Trouble.${name}`,
            dataType: "BaseDataType",
            value,
            ...rw,
        });
        any.on("value_changed", (dv) =>
            out({ written: name, dataType: DataType[dv.value.dataType], value: dv.value.value })
        );
    }
    const shifter = a.addVariable({
        componentOf: trouble,
        browseName: "Shifter",
        nodeId: "s=Trouble.Shifter",
        dataType: "Double",
        value: new Variant({ dataType: DataType.Double, value: 10 }),
    });
    a.addVariable({
        componentOf: trouble,
        browseName: "StringForNumber",
        nodeId: "s=Trouble.StringForNumber",
        dataType: "String",
        value: new Variant({ dataType: DataType.String, value: "12.5" }),
    });
    a.addVariable({
        componentOf: trouble,
        browseName: "WriteOnly",
        nodeId: "s=Trouble.WriteOnly",
        dataType: "Double",
        accessLevel: "CurrentWrite",
        userAccessLevel: "CurrentWrite",
        value: new Variant({ dataType: DataType.Double, value: 1 }),
    });
    a.addVariable({
        componentOf: trouble,
        browseName: "Denied",
        nodeId: "s=Trouble.Denied",
        dataType: "Double",
        accessLevel: "CurrentRead",
        userAccessLevel: 0,
        value: new Variant({ dataType: DataType.Double, value: 2 }),
    });
    const reset = a.addMethod(trouble, {
        browseName: "Reset",
        nodeId: "s=Trouble.Reset",
        inputArguments: [{ name: "level", dataType: DataType.Int32 }],
        outputArguments: [{ name: "ok", dataType: DataType.Boolean }],
    });
    reset.bindMethod((inputArguments, context, callback) => {
        callback(null, {
            statusCode: StatusCodes.Good,
            outputArguments: [{ dataType: DataType.Boolean, value: true }],
        });
    });

    // ---- a reference loop
    const loop = a.addObject({ organizedBy: plant, browseName: "Loop", nodeId: "s=Loop" });
    loop.addReference({ referenceType: "Organizes", nodeId: plant.nodeId });
    loop.addReference({ referenceType: "Organizes", nodeId: loop.nodeId });
    a.addVariable({
        componentOf: loop,
        browseName: "InLoop",
        nodeId: "s=Loop.InLoop",
        dataType: "Int32",
        value: new Variant({ dataType: DataType.Int32, value: 7 }),
    });

    // ---- a deep hierarchy
    let parent = a.addObject({ organizedBy: plant, browseName: "Deep", nodeId: "s=Deep" });
    for (let i = 1; i <= 14; i++) {
        const name = `Level${String(i).padStart(2, "0")}`;
        parent = a.addObject({ componentOf: parent, browseName: name, nodeId: `s=Deep.${name}` });
    }
    a.addVariable({
        componentOf: parent,
        browseName: "Bottom",
        nodeId: "s=Deep.Bottom",
        dataType: "Double",
        value: new Variant({ dataType: DataType.Double, value: 42 }),
    });

    // ---- a big folder
    const big = b.addFolder(plant, { browseName: "Big", nodeId: "i=9999" });
    for (let i = 0; i < 1000; i++) {
        b.addVariable({
            organizedBy: big,
            browseName: `V${String(i).padStart(4, "0")}`,
            nodeId: `i=${10000 + i}`,
            dataType: "Double",
            value: new Variant({ dataType: DataType.Double, value: i / 10 }),
        });
    }

    // ---- a machine-like object with plain parameters
    const pump = a.addObject({ organizedBy: plant, browseName: "Pump 7", nodeId: "s=Pump 7" });
    const pparams = a.addObject({ componentOf: pump, browseName: "Parameters", nodeId: "s=Pump 7/Parameters" });
    let speedRamp = 0;
    const speed = a.addAnalogDataItem({
        componentOf: pparams,
        browseName: "Speed",
        nodeId: "s=Pump 7/Parameters/Speed",
        dataType: "Double",
        engineeringUnitsRange: { low: 0, high: 3000 },
        engineeringUnits: opcua.standardUnits.revolutions_per_minute || opcua.standardUnits.hertz,
        value: new Variant({ dataType: DataType.Double, value: 1000 }),
    });
    for (const [name, dt, v, id] of [
        ["Running", "Boolean", true, "s=Pump 7/Parameters/Running"],
        ["Count", "UInt32", 17, guid(99)],
        ["Label", "LocalizedText", { text: "pump seven" }, opaque("label")],
    ]) {
        (id.startsWith("s=") ? a : b).addVariable({
            componentOf: pparams,
            browseName: name,
            nodeId: id,
            dataType: dt,
            value: new Variant({ dataType: DataType[dt], value: v }),
        });
    }

    const timer = setInterval(() => {
        speedRamp += 1;
        speed.setValueFromSource({ dataType: DataType.Double, value: 1000 + (speedRamp % 50) });
    }, 300);

    await serve(server, timer, (msg) => {
        if (msg.cmd === "shift") {
            // the variable changes its DataType (and value) at run time
            shifter.dataType = opcua.resolveNodeId(msg.to);
            shifter.$$dataType = undefined;
            shifter._basicDataType = null; // node-opcua caches the built-in type
            shifter.setValueFromSource(new Variant({ dataType: DataType[msg.to], value: msg.value }));
            out({ shifted: msg.to });
        }
    });
});
