// What the node-opcua test servers (server.js, odd_server.js) share: node-opcua from
// tests/interop/node_modules (npm ci --prefix tests/interop), a server on 127.0.0.1 that
// accepts any client certificate, JSON lines out, and commands in (one JSON per line on
// stdin: {"cmd": "stop"} ends the server, as does the end of stdin; others go to the script).
"use strict";
const os = require("os");
const path = require("path");
const readline = require("readline");
const { createRequire } = require("module");

const req = createRequire(path.join(__dirname, "..", "..", "interop", "package.json"));
const opcua = req("node-opcua");

// Print one JSON line (the tests read them).
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// A server on the port given as the first argument (or `defaultPort`), not started yet.
function newServer(resourcePath, productName, defaultPort) {
    return new opcua.OPCUAServer({
        port: parseInt(process.argv[2] || String(defaultPort), 10),
        hostname: "127.0.0.1",
        resourcePath,
        nodeset_filename: [opcua.nodesets.standard],
        buildInfo: { productName },
        serverCertificateManager: new opcua.OPCUACertificateManager({
            automaticallyAcceptUnknownCertificate: true,
            rootFolder: process.env.NODE_OPCUA_PKI || path.join(os.tmpdir(), "ft-node-pki"),
        }),
    });
}

// Start `server`, print {"ready": url}, and hand each stdin command but "stop" to
// `onCommand(msg)`; on "stop" or the end of stdin, clear `timer`, shut down and exit.
async function serve(server, timer, onCommand) {
    await server.start();
    out({ ready: server.getEndpointUrl() });
    const stop = async () => {
        clearInterval(timer);
        await server.shutdown(0);
        out({ stopped: true });
        process.exit(0);
    };
    const rl = readline.createInterface({ input: process.stdin });
    rl.on("line", async (line) => {
        let msg;
        try {
            msg = JSON.parse(line);
        } catch (e) {
            return;
        }
        if (msg.cmd === "stop") await stop();
        else await onCommand(msg);
    });
    rl.on("close", stop);
}

// Run the async `body`; a failure is printed and exits 1.
function run(body) {
    body().catch((err) => {
        process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
        process.exit(1);
    });
}

module.exports = { opcua, out, newServer, serve, run };
