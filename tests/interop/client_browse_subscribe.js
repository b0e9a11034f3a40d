// node-opcua client against factory_twin's plant simulator server (an independent OPC UA stack).
//
// usage: node client_browse_subscribe.js URL EQUIPMENT [none|sign|sign-encrypt] [SECONDS] [ack]
//
// Connects, browses Objects/Machines, reads EQUIPMENT's Identification, subscribes to its
// Parameters and to alarm events on the Server object, then prints one JSON object per line:
//   {"type":"browse","machines":[...],"parameters":[...],"location":"...","ns":N}
//   {"type":"ready"}                      -- subscriptions are live; the test may act now
//   {"type":"data","tag":"...","value":x}
//   {"type":"event","sourceName":"...","severity":n,"conditionName":"...","message":"...","active":true}
//   {"type":"done","data":n,"events":n}
//   {"type":"ack","status":"Good"}       -- with "ack": Acknowledge called on the first alarm
// It stops after SECONDS (default 20) or once it saw an event of EQUIPMENT and 3+ data changes
// (with "ack": and the acknowledged state of that alarm).
"use strict";

const os = require("os");
const path = require("path");
const {
  OPCUAClient,
  MessageSecurityMode,
  SecurityPolicy,
  AttributeIds,
  TimestampsToReturn,
  ClientMonitoredItem,
  constructEventFilter,
  OPCUACertificateManager,
  DataType,
} = require("node-opcua");

const NS_URI = "urn:factory-twin:plant";

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

async function main() {
  const [url, equipment, security = "none", seconds = "20", ack = ""] = process.argv.slice(2);
  if (!url || !equipment) {
    console.error("usage: node client_browse_subscribe.js URL EQUIPMENT [none|sign|sign-encrypt] [SECONDS]");
    process.exit(2);
  }
  const modes = {
    none: [MessageSecurityMode.None, SecurityPolicy.None],
    sign: [MessageSecurityMode.Sign, SecurityPolicy.Basic256Sha256],
    "sign-encrypt": [MessageSecurityMode.SignAndEncrypt, SecurityPolicy.Basic256Sha256],
  };
  const [securityMode, securityPolicy] = modes[security];
  const pkiRoot = process.env.NODE_OPCUA_PKI || path.join(os.tmpdir(), "factory_twin_node_opcua_pki");
  const clientCertificateManager = new OPCUACertificateManager({
    rootFolder: pkiRoot,
    automaticallyAcceptUnknownCertificate: true, // the simulator's self-signed certificate
  });
  await clientCertificateManager.initialize();

  const client = OPCUAClient.create({
    applicationName: "factory_twin interop client",
    applicationUri: "urn:factory-twin:interop-client",
    securityMode,
    securityPolicy,
    endpointMustExist: false,
    clientCertificateManager,
    connectionStrategy: { maxRetry: 3, initialDelay: 500, maxDelay: 2000 },
  });
  await client.connect(url);
  const session = await client.createSession();
  try {
    const nsArray = await session.readNamespaceArray();
    const ns = nsArray.indexOf(NS_URI);
    if (ns < 0) throw new Error(`namespace ${NS_URI} not on the server`);

    const objects = await session.browse("ns=0;i=85");
    const machinesRef = objects.references.find((r) => r.browseName.name === "Machines");
    if (!machinesRef) throw new Error("Objects/Machines not found");
    const machines = await session.browse(machinesRef.nodeId);
    const names = machines.references.map((r) => r.browseName.name);
    const tool = machines.references.find((r) => r.browseName.name === equipment);
    if (!tool) throw new Error(`machine ${equipment} not found under Machines`);

    const children = await session.browse(tool.nodeId);
    const params = children.references.find((r) => r.browseName.name === "Parameters");
    const ident = children.references.find((r) => r.browseName.name === "Identification");
    const tags = (await session.browse(params.nodeId)).references;
    const identRefs = (await session.browse(ident.nodeId)).references;
    const locRef = identRefs.find((r) => r.browseName.name === "Location");
    const location = (await session.read({ nodeId: locRef.nodeId, attributeId: AttributeIds.Value })).value.value;
    out({ type: "browse", ns, machines: names, parameters: tags.map((r) => r.browseName.name), location });

    const sub = await session.createSubscription2({
      requestedPublishingInterval: 100,
      requestedLifetimeCount: 600,
      requestedMaxKeepAliveCount: 20,
      maxNotificationsPerPublish: 1000,
      publishingEnabled: true,
      priority: 1,
    });
    let data = 0;
    let events = 0;
    let ownEvent = false;
    for (const t of tags) {
      const item = ClientMonitoredItem.create(
        sub,
        { nodeId: t.nodeId, attributeId: AttributeIds.Value },
        { samplingInterval: 0, discardOldest: true, queueSize: 10 },
        TimestampsToReturn.Both
      );
      item.on("changed", (dv) => {
        data += 1;
        out({ type: "data", tag: t.browseName.name, value: dv.value.value, status: dv.statusCode.name });
      });
    }
    const fields = [
      "EventId", "SourceName", "Severity", "Message", "ConditionName", "ActiveState.Id",
      "AckedState.Id", "Retain", "ConditionId",
    ];
    const filter = constructEventFilter(fields);
    const evItem = ClientMonitoredItem.create(
      sub,
      { nodeId: "ns=0;i=2253", attributeId: AttributeIds.EventNotifier },
      { samplingInterval: 0, discardOldest: true, queueSize: 100, filter },
      TimestampsToReturn.Both
    );
    let toAck = null;
    let acked = false;
    evItem.on("changed", (values) => {
      const v = values.map((x) => x.value);
      events += 1;
      if (v[1] === equipment) ownEvent = true;
      if (v[1] === equipment && v[5] === true && v[6] === false && !toAck) toAck = { eventId: v[0], conditionId: v[8] };
      if (v[1] === equipment && v[6] === true) acked = true;
      out({
        type: "event",
        sourceName: v[1],
        severity: v[2],
        message: v[3] ? v[3].text : null,
        conditionName: v[4],
        active: v[5],
        acked: v[6],
        retain: v[7],
      });
    });
    await new Promise((r) => setTimeout(r, 300)); // let the items be created
    out({ type: "ready" });

    const deadline = Date.now() + Number(seconds) * 1000;
    let ackSent = false;
    while (Date.now() < deadline && !(ownEvent && data >= 3 && (!ack || acked))) {
      if (ack && toAck && !ackSent) {
        ackSent = true;
        const result = await session.call({
          objectId: toAck.conditionId,
          methodId: "ns=0;i=9111", // AcknowledgeableConditionType.Acknowledge
          inputArguments: [
            { dataType: DataType.ByteString, value: toAck.eventId },
            { dataType: DataType.LocalizedText, value: { text: "acknowledged from node-opcua" } },
          ],
        });
        out({ type: "ack", status: result.statusCode.name });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    out({ type: "done", data, events });
    await sub.terminate();
  } finally {
    await session.close();
    await client.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`interop client failed: ${err && err.message ? err.message : err}`);
    process.exit(1);
  }
);
